// SPDX-License-Identifier: Apache-2.0
/**
 * The {@code "vector"} backend: SGD-SaI kernels on the Vector API ({@code jdk.incubator.vector}), spread over
 * an owned pool of threads in fixed chunks so that results do not depend on the thread count.
 *
 * <p>Nothing here is called directly: with this module on the module path (or its jar on the class path and
 * {@code --add-modules jdk.incubator.vector}), {@link io.github.sgdsai.cpu.VectorBackendProvider} is found by
 * {@link java.util.ServiceLoader} and chosen ahead of the scalar reference.
 */
package io.github.sgdsai.cpu;
