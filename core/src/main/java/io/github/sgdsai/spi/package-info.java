// SPDX-License-Identifier: Apache-2.0
/**
 * The backend SPI: what a module implements to run the optimizer's kernels on other hardware.
 *
 * <p>A backend module provides a {@link io.github.sgdsai.spi.BackendProvider} (found with
 * {@link java.util.ServiceLoader}); the optimizer picks the runnable provider of highest priority, or the one
 * named by {@code -Dsgdsai.backend} or the builder. The {@link io.github.sgdsai.spi.Backend} it creates runs
 * the non-finite check, the g-SNR moments and the update over a {@link io.github.sgdsai.spi.StepBatch}, whose
 * documentation is the normative statement of the arithmetic. {@link io.github.sgdsai.spi.ScalarBackend} is
 * the reference every backend must match bit for bit on the update.
 *
 * <p>Applications do not need this package; it is for backend authors.
 */
package io.github.sgdsai.spi;
