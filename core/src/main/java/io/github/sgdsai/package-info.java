// SPDX-License-Identifier: Apache-2.0
/**
 * The SGD-SaI optimizer: what an application uses to train with it.
 *
 * <p>{@link io.github.sgdsai.SgdSai} is built with {@link io.github.sgdsai.SgdSai#builder()} over parameter and
 * gradient storage ({@code float[]} or {@link java.nio.FloatBuffer}, wrapped as {@link io.github.sgdsai.FloatSpan}),
 * in parameter groups ({@link io.github.sgdsai.GroupSpec}) with their own learning rate, momentum, eps and
 * weight decay. Each {@link io.github.sgdsai.SgdSai#step()} applies, per tensor,
 * {@code p ← p·(1 − λη) − η·s·m}, where {@code s} is the tensor's g-SNR, {@code ‖g‖₂ / (σ + ε)}, taken once
 * from its first gradient ({@link io.github.sgdsai.Scaling}), and {@code m} its momentum.
 * Non-finite gradients are handled as {@link io.github.sgdsai.NonFinitePolicy} says; optimizer state is saved
 * and restored with {@link io.github.sgdsai.SgdSai#save} and {@link io.github.sgdsai.SgdSai#load}.
 *
 * <p>The kernels come from the fastest backend present (see {@link io.github.sgdsai.spi}); results do not
 * depend on which one runs.
 */
package io.github.sgdsai;
