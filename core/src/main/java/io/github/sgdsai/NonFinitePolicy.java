// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

/** What {@link SgdSai#step()} does when a gradient taking part holds a NaN or an infinity. */
public enum NonFinitePolicy {
    /** Throw {@link NonFiniteGradientException} before any tensor is touched (default). */
    THROW,
    /**
     * Skip the whole step, touching nothing, and report it: {@link SgdSai#step()} returns {@code false} and
     * {@link SgdSai#lastSkip()} names the tensor and index (what a mixed-precision loss scaler expects).
     */
    SKIP_STEP,
    /** Do not look (fastest). Non-finite values then flow into parameters and momentum. */
    UNCHECKED
}
