// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

/** How a tensor's learning-rate scale {@code s} is derived from its g-SNR. */
public enum Scaling {
    /** {@code s = g-SNR}, the official {@code SGD-SaI} package's rule (default). */
    GSNR,
    /**
     * {@code s = g-SNR / max g-SNR}, the paper's Algorithm 1 (line 14). The maximum is taken once, over the
     * tensors of all groups in this mode that take part in the first step at which any of them does, and
     * then stays fixed so that every scale stays fixed: a tensor joining later is divided by that same
     * maximum (its scale may exceed 1).
     */
    GSNR_MAX_NORMALIZED,
    /** {@code s = 1}: plain SGD with momentum and decoupled weight decay. The g-SNR is still computed and reported. */
    NONE
}
