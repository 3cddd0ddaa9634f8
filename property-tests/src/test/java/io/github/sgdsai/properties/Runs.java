// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.Backends;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.GroupSpec;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.properties.Gens.Algo;
import io.github.sgdsai.properties.Gens.BlockTensor;
import io.github.sgdsai.properties.Gens.Hyper;
import io.github.sgdsai.properties.Gens.OptHyper;
import io.github.sgdsai.properties.Gens.OptScenario;
import io.github.sgdsai.properties.Gens.Scenario;
import io.github.sgdsai.spi.BackendProvider;
import io.github.sgdsai.spi.ScalarBackend;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

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
     * An {@link OptScenario} running in the library, as {@code algo} (which may differ from the scenario's own, to run
     * the same values through another optimizer), optionally clipping at {@code maxNorm}, with each tensor's Adam-mini
     * partition given by {@code partition} (null: the scenario's).
     */
    static final class OptLive implements AutoCloseable {
        final OptScenario sc;
        final Optimizer opt;
        final FloatSpan[] params;
        final FloatSpan[] grads;

        OptLive(OptScenario sc, Target target, NonFinitePolicy policy) {
            this(sc, sc.algo(), target, policy, sc.clips() ? sc.clipMax() : Double.NaN, null);
        }

        OptLive(OptScenario sc, Algo algo, Target target, NonFinitePolicy policy, double maxNorm,
                IntFunction<AdamMini.Partition> partition) {
            this.sc = sc;
            int n = sc.tensors().size();
            params = new FloatSpan[n];
            grads = new FloatSpan[n];
            for (int t = 0; t < n; t++) {
                BlockTensor tc = sc.tensors().get(t);
                params[t] = tc.paramStorage().of(sc.initialParam(t));
                grads[t] = tc.gradStorage().of(new float[tc.length()]);
            }
            opt = switch (algo) {
                case SGD_SAI -> {
                    SgdSai.Builder b = SgdSai.builder().lr(1);
                    for (int g = 0; g < sc.groups().size(); g++) {
                        OptHyper h = sc.groups().get(g);
                        int group = g;
                        b.group(gb -> addGroup(gb.momentum(h.beta1()), h, group));
                    }
                    yield finish(b, target, policy, maxNorm);
                }
                case ADAMW -> {
                    AdamW.Builder b = AdamW.builder().lr(1);
                    for (int g = 0; g < sc.groups().size(); g++) {
                        OptHyper h = sc.groups().get(g);
                        int group = g;
                        b.group(gb -> addGroup(gb.betas(h.beta1(), h.beta2()).amsgrad(h.amsgrad()), h, group));
                    }
                    yield finish(b, target, policy, maxNorm);
                }
                case ADAM_MINI -> {
                    AdamMini.Builder b = AdamMini.builder().lr(1);
                    for (int g = 0; g < sc.groups().size(); g++) {
                        OptHyper h = sc.groups().get(g);
                        int group = g;
                        b.group(gb -> addGroup(gb.betas(h.beta1(), h.beta2()), h, group));
                    }
                    for (int t = 0; t < n; t++) {
                        b.partition("t" + t, partition != null ? partition.apply(t) : sc.tensors().get(t).partition());
                    }
                    yield finish(b, target, policy, maxNorm);
                }
            };
        }

        private <G extends GroupSpec<G>> void addGroup(G gb, OptHyper h, int group) {
            gb.lr(h.lr()).eps(h.eps()).weightDecay(h.weightDecay()).maximize(h.maximize());
            for (int t = 0; t < params.length; t++) {
                if (sc.tensors().get(t).group() == group) {
                    gb.add("t" + t, params[t], grads[t]);
                }
            }
        }

        private static <B extends Optimizer.Builder<B, G, O>, G extends GroupSpec<G>, O extends Optimizer> O finish(
                B b, Target target, NonFinitePolicy policy, double maxNorm) {
            b.backend(target.backend()).threads(target.threads()).nonFinite(policy);
            if (!Double.isNaN(maxNorm)) {
                b.clipGradNorm(maxNorm);
            }
            return b.build();
        }

        /** Loads step k's gradients, frozen flags and lrs, and steps; returns what step() returned. */
        boolean step(int k) {
            prepare(k, 1f);
            return opt.step();
        }

        /** Loads step k's gradients multiplied by {@code c} (each product rounded to float), frozen flags and lrs. */
        void prepare(int k, float c) {
            for (int t = 0; t < params.length; t++) {
                float[] g = sc.grad(t, k);
                if (c != 1f) {
                    for (int i = 0; i < g.length; i++) {
                        g[i] *= c;
                    }
                }
                grads[t].copyFrom(g);
                opt.tensor("t" + t).setFrozen(sc.frozen(t, k));
            }
            for (int g = 0; g < sc.groups().size(); g++) {
                opt.group(g).setLr(sc.lr(g, k));
            }
        }

        /**
         * The global norm of the gradients loaded now, as documented for clipping: the square root of the sum, over the
         * tensors taking part in the optimizer's order, of {@link ScalarBackend#sumSquares}{@code (g, 1, 0, n)}; NaN
         * if none takes part.
         */
        double gradNorm() {
            double total = 0;
            boolean any = false;
            for (Optimizer.Tensor t : opt.tensors()) {
                if (!t.isFrozen()) {
                    total += ScalarBackend.sumSquares(t.grad(), 1f, 0, t.length());
                    any = true;
                }
            }
            return any ? Math.sqrt(total) : Double.NaN;
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
     * A checkpoint with every NaN among its state-buffer floats made the canonical NaN and its two CRCs zeroed, so that
     * two states can be compared bit for bit up to NaN payloads (which IEEE 754 leaves open). Follows the version-3
     * layout documented in {@code docs/checkpoints.md}.
     */
    static byte[] canonicalState(byte[] checkpoint) {
        return walk(checkpoint, null);
    }

    /**
     * {@code checkpoint} with every tensor's g-SNR scalar set to 0, the g-SNRs appended to {@code gsnrs} in tensor
     * order (NaN for the Adam family, whose tensors store none).
     */
    static byte[] withoutGsnr(byte[] checkpoint, List<Double> gsnrs) {
        return walk(checkpoint, gsnrs);
    }

    /** The values of a version-3 checkpoint: every state buffer's floats, without header and checksums. */
    static byte[] values(byte[] checkpoint) {
        int from = 16 + ByteBuffer.wrap(checkpoint).getInt(12) + 4;
        return java.util.Arrays.copyOfRange(checkpoint, from, checkpoint.length - 4);
    }

    /** Where a version-3 checkpoint keeps its skipped-steps count (after magic, version, header length, id, steps). */
    static int skippedOffset(byte[] checkpoint) {
        return 16 + 4 + ByteBuffer.wrap(checkpoint).getInt(16) + 8;
    }

    private static String string(ByteBuffer b) {
        byte[] s = new byte[b.getInt()];
        b.get(s);
        return new String(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static byte[] walk(byte[] checkpoint, List<Double> gsnrs) {
        byte[] out = checkpoint.clone();
        ByteBuffer b = ByteBuffer.wrap(out);
        int headerEnd = 16 + b.getInt(12);
        b.position(16);
        string(b); // optimizer id
        b.position(b.position() + 16); // steps, skipped
        for (int n = b.getInt(); n > 0; n--) {
            string(b);
            b.getDouble();
        }
        for (int groups = b.getInt(); groups > 0; groups--) {
            for (int n = b.getInt(); n > 0; n--) {
                string(b);
                if (b.get() == 0) {
                    b.getDouble();
                } else {
                    string(b);
                }
            }
        }
        List<Long> lengths = new ArrayList<>();
        for (int tensors = b.getInt(); tensors > 0; tensors--) {
            string(b);
            b.position(b.position() + 4 + 8 + 8); // group, length, steps
            boolean sawGsnr = false;
            for (int n = b.getInt(); n > 0; n--) {
                String name = string(b);
                if (name.equals("gsnr") && gsnrs != null) {
                    gsnrs.add(b.getDouble(b.position()));
                    b.putDouble(b.position(), 0.0);
                    sawGsnr = true;
                }
                b.getDouble();
            }
            if (gsnrs != null && !sawGsnr) {
                gsnrs.add(Double.NaN);
            }
            for (int n = b.getInt(); n > 0; n--) {
                string(b);
                b.get();
                lengths.add(b.getLong());
            }
        }
        if (b.position() != headerEnd) {
            throw new AssertionError("checkpoint layout changed: header ends at " + b.position() + ", not " + headerEnd);
        }
        b.putInt(0); // header CRC
        for (long len : lengths) {
            for (long i = 0; i < len; i++) {
                int at = b.position();
                if (Float.isNaN(b.getFloat())) {
                    b.putFloat(at, Float.NaN);
                }
            }
        }
        if (b.remaining() != 4) {
            throw new AssertionError("checkpoint layout changed: " + b.remaining() + " bytes after the values");
        }
        b.putInt(0);
        return out;
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
