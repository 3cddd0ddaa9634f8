// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.Backends;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.properties.Gens.Hyper;
import io.github.sgdsai.properties.Gens.Scenario;
import io.github.sgdsai.spi.BackendProvider;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** Runs scenarios through the library, and through a textbook SGDM written here without library code. */
final class Runs {
    private Runs() {
    }

    /** A backend and a thread count to run on. */
    record Target(String backend, int threads) {
        @Override
        public String toString() {
            return backend + "/" + threads;
        }
    }

    /**
     * Every real backend present and runnable here (test-only mutants excluded), on 1, 2 and 3 threads; scalar and
     * tornado (a device: threads do not apply) on one.
     */
    static List<Target> targets() {
        List<Target> out = new ArrayList<>();
        for (BackendProvider p : Backends.providers()) {
            if (p.unavailableReason() == null && !p.name().startsWith("mutant-")) {
                for (int threads : p.name().equals("scalar") || p.name().equals("tornado") ? new int[] {1} : new int[] {1, 2, 3}) {
                    out.add(new Target(p.name(), threads));
                }
            }
        }
        return out;
    }

    /** A scenario running in the library. */
    static final class Live implements AutoCloseable {
        final Scenario sc;
        final SgdSai opt;
        final FloatSpan[] params;
        final FloatSpan[] grads;

        Live(Scenario sc, Scaling scaling, String backend, int threads, NonFinitePolicy policy) {
            this.sc = sc;
            int n = sc.tensors().size();
            params = new FloatSpan[n];
            grads = new FloatSpan[n];
            SgdSai.Builder b = SgdSai.builder().lr(1).backend(backend).threads(threads).nonFinite(policy);
            for (int g = 0; g < sc.groups().size(); g++) {
                int group = g;
                Hyper h = sc.groups().get(g);
                b.group(gb -> {
                    gb.lr(h.lr()).momentum(h.momentum()).weightDecay(h.weightDecay()).eps(h.eps()).maximize(h.maximize())
                            .scaling(scaling);
                    for (int t = 0; t < n; t++) {
                        Gens.TensorCase tc = sc.tensors().get(t);
                        if (tc.group() == group) {
                            params[t] = tc.paramStorage().of(sc.initialParam(t));
                            grads[t] = tc.gradStorage().of(new float[tc.length()]);
                            gb.add("t" + t, params[t], grads[t]);
                        }
                    }
                });
            }
            opt = b.build();
        }

        /** Loads step k's gradients, frozen flags and lrs, and steps; returns what step() returned. */
        boolean step(int k) {
            prepare(k);
            return opt.step();
        }

        void prepare(int k) {
            for (int t = 0; t < params.length; t++) {
                grads[t].copyFrom(sc.grad(t, k));
                opt.tensor("t" + t).setFrozen(sc.frozen(t, k));
            }
            for (int g = 0; g < sc.groups().size(); g++) {
                opt.group(g).setLr(sc.lr(g, k));
            }
        }

        float[] param(int t) {
            return Gens.values(params[t]);
        }

        byte[] state() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                opt.save(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out.toByteArray();
        }

        @Override
        public void close() {
            opt.close();
        }
    }

    /**
     * Textbook SGD with momentum and decoupled weight decay, in the documented float arithmetic, on plain
     * arrays: m = g at a tensor's first step, then m = fma(g, 1 − μ, m·μ); p = fma(m, −η·s, p·(1 − λη)).
     * It shares no code with the library.
     */
    static final class Textbook {
        final Scenario sc;
        final float[][] p;
        final float[][] m;
        final boolean[] started;

        Textbook(Scenario sc) {
            this.sc = sc;
            int n = sc.tensors().size();
            p = new float[n][];
            m = new float[n][];
            started = new boolean[n];
            for (int t = 0; t < n; t++) {
                p[t] = sc.initialParam(t);
            }
        }

        /** Step k, with {@code scale[t]} the step-size multiplier of tensor t (1 for plain SGDM). */
        void step(int k, float[] scale) {
            for (int t = 0; t < p.length; t++) {
                if (sc.frozen(t, k)) {
                    continue;
                }
                int gi = sc.tensors().get(t).group();
                Hyper h = sc.groups().get(gi);
                double lr = sc.lr(gi, k);
                float[] g = sc.grad(t, k);
                for (int i = 0; i < g.length; i++) {
                    g[i] = h.maximize() ? -g[i] : g[i];
                }
                if (h.momentum() == 0) {
                    m[t] = g;
                } else if (!started[t]) {
                    m[t] = g.clone();
                } else {
                    for (int i = 0; i < g.length; i++) {
                        m[t][i] = Math.fma(g[i], (float) (1 - h.momentum()), m[t][i] * (float) h.momentum());
                    }
                }
                started[t] = true;
                float step = (float) lr * scale[t];
                float decay = (float) (1 - h.weightDecay() * lr);
                for (int i = 0; i < g.length; i++) {
                    p[t][i] = Math.fma(m[t][i], -step, p[t][i] * decay);
                }
            }
        }
    }
}
