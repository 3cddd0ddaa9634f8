// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

/**
 * What {@link Optimizer#step()} does when a gradient taking part holds a NaN or an infinity.
 *
 * <p>Example: skip bad steps, as a mixed-precision loop with a loss scaler does, and count them.
 * <pre>{@code
 * try (AdamW opt = AdamW.builder().lr(3e-4).nonFinite(NonFinitePolicy.SKIP_STEP).add("w", w, dw).build()) {
 *     if (!opt.step()) {
 *         Optimizer.Skip s = opt.lastSkip();      // which tensor, which index, which value
 *         System.out.println("skipped step " + s.step() + ": " + s.tensor() + "[" + s.index() + "] = " + s.value());
 *         lossScale /= 2;
 *     }
 * }
 * }</pre>
 */
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
