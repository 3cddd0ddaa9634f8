// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.BackendProvider;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;

/**
 * Deliberately broken copies of the reference kernels, registered (test class path only) as backends named
 * {@code mutant-*} with a negative priority so they are never chosen automatically. {@link NonVacuityTest}
 * runs each property against one of them and expects it to fail.
 */
final class Mutants {
    private Mutants() {
    }

    /** The reference, with one piece replaced by a subclass. */
    abstract static class Mutant implements Backend, BackendProvider {
        final ScalarBackend ref = new ScalarBackend();

        @Override
        public int priority() {
            return -100;
        }

        @Override
        public String unavailableReason() {
            return null;
        }

        @Override
        public Backend create(BackendOptions options) {
            return this;
        }

        /** Every feature, like the reference it copies (so the Adam family and clipping can be built on it). */
        @Override
        public boolean supports(Feature feature) {
            return true;
        }

        @Override
        public int firstNonFiniteTensor(StepBatch batch) {
            return ref.firstNonFiniteTensor(batch);
        }

        @Override
        public void moments(FloatSpan grad, double[] out) {
            ref.moments(grad, out);
        }

        @Override
        public void update(StepBatch batch) {
            ref.update(batch);
        }
    }

    /** The update with separate multiplies and adds instead of fused multiply-adds (two roundings). */
    public static final class NoFma extends Mutant {
        @Override
        public String name() {
            return "mutant-nofma";
        }

        @Override
        public void update(StepBatch b) {
            for (int t = 0; t < b.size(); t++) {
                FloatSpan p = b.param(t);
                FloatSpan g = b.grad(t);
                FloatSpan m = b.momentum(t);
                for (int i = 0; i < p.length(); i++) {
                    float d = switch (b.kind(t)) {
                        case SGD -> g.get(i) * (b.sign(t) * b.negStep(t));
                        case INIT -> {
                            m.set(i, b.sign(t) * g.get(i));
                            yield g.get(i) * (b.sign(t) * b.negStep(t));
                        }
                        case MOMENTUM -> {
                            float mi = g.get(i) * b.gradCoef(t) + m.get(i) * b.mu(t);
                            m.set(i, mi);
                            yield mi * b.negStep(t);
                        }
                        default -> throw new UnsupportedOperationException("this mutant breaks SGD only");
                    };
                    p.set(i, d + p.get(i) * b.decay(t));
                }
            }
        }
    }

    /** σ from the biased variance (divide by n): a classic slip. */
    public static final class BiasedSigma extends Mutant {
        @Override
        public String name() {
            return "mutant-biased";
        }

        @Override
        public void moments(FloatSpan grad, double[] out) {
            ref.moments(grad, out);
            int n = grad.length();
            out[1] = n > 1 ? out[1] * (n - 1) / n : out[1];
        }
    }

    /** The moments kept in float: squares overflow and underflow, so scaling the gradient changes g-SNR. */
    public static final class FloatMoments extends Mutant {
        @Override
        public String name() {
            return "mutant-float";
        }

        @Override
        public void moments(FloatSpan grad, double[] out) {
            ref.moments(grad, out);
            out[0] = (float) out[0];
            out[1] = (float) out[1];
        }
    }

    /** Never finds a non-finite gradient: the step goes ahead and poisons the weights. */
    public static final class NoCheck extends Mutant {
        @Override
        public String name() {
            return "mutant-nocheck";
        }

        @Override
        public int firstNonFiniteTensor(StepBatch batch) {
            return -1;
        }

        /** The sums of squares for clipping are computed, but a non-finite one is not reported either. */
        @Override
        public int firstNonFiniteTensor(StepBatch batch, double[] sumSquares) {
            for (int t = 0; t < batch.size(); t++) {
                sumSquares[t] = ScalarBackend.sumSquares(batch.grad(t), 1f, 0, batch.grad(t).length());
            }
            return -1;
        }
    }

    /** Steps up the gradient instead of down. */
    public static final class Ascent extends Mutant {
        @Override
        public String name() {
            return "mutant-ascent";
        }

        @Override
        public void update(StepBatch b) {
            for (int t = 0; t < b.size(); t++) {
                b.setRule(t, b.kind(t), -b.sign(t), -b.gradCoef(t), b.mu(t), b.negStep(t), b.decay(t));
            }
            ref.update(b);
        }
    }

    /** AdamW's second moment with a separate multiply and add, {@code v = b2c·g·g + β₂·v} (two roundings), not torch's fma. */
    public static final class UnfusedV extends Mutant {
        @Override
        public String name() {
            return "mutant-unfused-v";
        }

        @Override
        public void update(StepBatch b) {
            for (int t = 0; t < b.size(); t++) {
                if (b.kind(t) != StepBatch.Kind.ADAMW) {
                    ScalarBackend.update(b, t, 0, b.param(t).length());
                    continue;
                }
                FloatSpan p = b.param(t), g = b.grad(t), m = b.momentum(t), v = b.second(t), vmax = b.maxSecond(t);
                float gs = b.gradScale(t);
                for (int i = 0; i < p.length(); i++) {
                    float gi = g.get(i) * gs;
                    float mi = ScalarBackend.lerp(m.get(i), gi, b.b1c(t));
                    float vi = b.b2c(t) * gi * gi + v.get(i) * b.beta2(t);
                    m.set(i, mi);
                    v.set(i, vi);
                    if (vmax != null) {
                        vi = Math.max(vmax.get(i), vi);
                        vmax.set(i, vi);
                    }
                    float d = (float) Math.sqrt(vi) / b.sqrtBc2(t) + b.eps(t);
                    p.set(i, p.get(i) * b.decay(t) + (b.negStepBc(t) * mi) / d);
                }
            }
        }
    }

    /** Adam-mini's block second moment from the block's sum of squares instead of its mean. */
    public static final class MiniSum extends Mutant {
        @Override
        public String name() {
            return "mutant-mini-sum";
        }

        @Override
        public void update(StepBatch b) {
            for (int t = 0; t < b.size(); t++) {
                if (b.kind(t) != StepBatch.Kind.ADAM_MINI) {
                    ScalarBackend.update(b, t, 0, b.param(t).length());
                    continue;
                }
                FloatSpan p = b.param(t), g = b.grad(t), m = b.momentum(t), v = b.second(t);
                float gs = b.gradScale(t);
                int size = b.blockSize(t);
                for (int f = 0; f < p.length(); f += size) {
                    float q = (float) ScalarBackend.sumSquares(g, gs, f, f + size); // the slip: no division by size
                    float vb = Math.fma(b.b2c(t), q, v.get(f / size) * b.beta2(t));
                    v.set(f / size, vb);
                    float d = (float) Math.sqrt(vb) / b.sqrtBc2(t) + b.eps(t);
                    for (int i = f; i < f + size; i++) {
                        float mi = ScalarBackend.lerp(m.get(i), g.get(i) * gs, b.b1c(t));
                        m.set(i, mi);
                        p.set(i, p.get(i) * b.decay(t) + (b.negStepBc(t) * mi) / d);
                    }
                }
            }
        }
    }

    /**
     * Per-element blocks through Adam-mini's block kernel: AdamW entries without amsgrad get
     * {@code v = fma(b2c, (float) g², β₂·v)} (the square rounded first) instead of {@code fma(b2c·g, g, β₂·v)}.
     */
    public static final class MiniPerElementBlocks extends Mutant {
        @Override
        public String name() {
            return "mutant-mini-blocks-of-one";
        }

        @Override
        public void update(StepBatch b) {
            for (int t = 0; t < b.size(); t++) {
                if (b.kind(t) == StepBatch.Kind.ADAMW && !b.amsgrad(t)) {
                    for (int i = 0; i < b.param(t).length(); i++) {
                        ScalarBackend.adamMiniBlock(b, t, i, i + 1);
                    }
                } else {
                    ScalarBackend.update(b, t, 0, b.param(t).length());
                }
            }
        }
    }

    /**
     * Clipping applied after the moments: entries with a clipping coefficient c (|gradScale| ≠ 1) are updated from the
     * unclipped (signed) gradient, with the step size multiplied by c instead.
     */
    public static final class LateClip extends Mutant {
        @Override
        public String name() {
            return "mutant-late-clip";
        }

        @Override
        public void update(StepBatch b) {
            for (int t = 0; t < b.size(); t++) {
                float gs = b.gradScale(t);
                float c = Math.abs(gs);
                if (c == 1f) {
                    continue;
                }
                float sign = Math.copySign(1f, gs);
                switch (b.kind(t)) {
                    case ADAMW, ADAM_MINI -> b.setAdam(t, b.kind(t), sign, b.decay(t), b.b1c(t), b.beta2(t), b.b2c(t),
                            b.sqrtBc2(t), b.eps(t), b.negStepBc(t) * c, b.second(t), b.maxSecond(t), b.blockSize(t));
                    default -> b.setRule(t, b.kind(t), sign, b.gradCoef(t), b.mu(t), b.negStep(t) * c, b.decay(t));
                }
            }
            ref.update(b);
        }
    }
}
