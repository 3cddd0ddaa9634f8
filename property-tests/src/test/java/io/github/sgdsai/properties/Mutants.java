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
}
