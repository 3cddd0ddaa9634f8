// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.CheckpointException;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.properties.Gens.Scenario;
import io.github.sgdsai.properties.Gens.Storage;
import io.github.sgdsai.properties.Runs.Live;
import io.github.sgdsai.properties.Runs.Target;
import io.github.sgdsai.properties.Runs.Textbook;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.StepBatch;
import io.github.sgdsai.Backends;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;

/**
 * The properties, each a method that runs QuickTheories against one backend (or one way of restoring a
 * checkpoint), so the same statement runs against every real backend and, in {@link NonVacuityTest}, against
 * deliberately broken ones that it must reject.
 */
final class Properties {
    private Properties() {
    }

    /** How many examples each property tries (per backend and thread count). */
    static final int EXAMPLES = Integer.getInteger("sgdsai.properties.examples", 300);
    /** TornadoVM compiles kernels for every optimizer an example builds (about a second on PoCL): it runs 1/N of the examples. */
    static final int TORNADO_DIVISOR = Integer.getInteger("sgdsai.properties.tornado.divisor", 5);

    /** The examples a property runs on {@code target}: {@code base}, or base / {@link #TORNADO_DIVISOR} (at least 2) on TornadoVM. */
    static int examples(Target target, int base) {
        return target.backend().equals("tornado") ? Math.max(2, base / TORNADO_DIVISOR) : base;
    }

    /** g-SNR of {@code g} as the optimizer computes it at a first step on {@code target}. */
    static double gsnr(Target target, Storage storage, float[] g, double eps) {
        // Scaling.NONE: the g-SNR is computed and kept as ever, but a g-SNR beyond float does not refuse the step
        try (SgdSai opt = SgdSai.builder().lr(0).eps(eps).scaling(io.github.sgdsai.Scaling.NONE).backend(target.backend())
                .threads(target.threads()).nonFinite(NonFinitePolicy.UNCHECKED)
                .add("g", FloatSpan.of(new float[g.length]), storage.of(g)).build()) {
            opt.step();
            return opt.tensor("g").gsnr();
        }
    }

    // 1. Scale invariance ------------------------------------------------------------------------------------

    /** Gradients whose elements stay normal floats when scaled by 2^±30: |g| in [2^-90, 2^90], or zero. */
    static Gen<float[]> scalableGradient() {
        Gen<Float> element = Generate.frequency(org.quicktheories.api.Pair.of(9, Gens.bits(127 - 90, 127 + 90)),
                org.quicktheories.api.Pair.of(1, Generate.constant(0f)));
        return Gens.floats(Gens.length(), element);
    }

    /**
     * g-SNR(c·g, ε = c·ε₀) equals g-SNR(g, ε₀) bit for bit for c = 2^k, |k| ≤ 30 (and with ε = 0), and
     * g-SNR(−g) = g-SNR(g) bit for bit.
     */
    static void scaleInvarianceExact(Target target) {
        qt().withExamples(examples(target, EXAMPLES)).forAll(scalableGradient(), Generate.range(-30, 30), Gens.storage(),
                        Generate.pick(List.of(0.0, 1e-8, 1e-3)))
                .assuming((g, k, st, eps) -> eps > 0 || spread(g))
                .checkAssert((g, k, st, eps) -> {
                    float c = Math.scalb(1f, k);
                    float[] cg = scaled(g, c);
                    double base = gsnr(target, st, g, eps);
                    assertEquals(base, gsnr(target, st, cg, eps * c), 0.0, "2^" + k + " scaling");
                    assertEquals(base, gsnr(target, st, scaled(g, -1f), eps), 0.0, "sign flip");
                });
    }

    /**
     * For other c > 0, g-SNR(c·g, c·ε) is within 1e-6 of g-SNR(g, ε); with ε not scaled it equals g-SNR(g, ε/c)
     * to 1e-6, which bounds its deviation by |ε − ε/c| / σ; a permutation changes it by at most 1e-6.
     */
    static void scaleInvarianceApproximate(Target target) {
        qt().withExamples(examples(target, EXAMPLES)).forAll(scalableGradient(), Generate.range(-3000, 3000).map(e -> Math.pow(10, e / 1000.0)),
                        Generate.longRange(0, Long.MAX_VALUE), Generate.pick(List.of(1e-8, 1e-3)))
                .assuming((g, c, seed, eps) -> spread(g) && relativeSpread(g) > 1e-3)
                .checkAssert((g, c, seed, eps) -> {
                    float[] cg = scaled(g, (float) (double) c);
                    assumeRepresentable(g, cg);
                    double base = gsnr(target, Storage.ARRAY_OFFSET, g, eps);
                    double scaledEps = gsnr(target, Storage.ARRAY_OFFSET, cg, eps * c);
                    assertEquals(base, scaledEps, 1e-6 * base, "c = " + c);
                    double fixedEps = gsnr(target, Storage.ARRAY_OFFSET, cg, eps);
                    double expected = gsnr(target, Storage.ARRAY_OFFSET, g, eps / c);
                    assertEquals(expected, fixedEps, 1e-6 * expected, "eps does not scale");
                    double sigma = sigma(g);
                    assertTrue(Math.abs(fixedEps / base - 1) <= Math.abs(eps - eps / c) / sigma + 1e-6,
                            "deviation bounded by |ε − ε/c| / σ");
                    float[] shuffled = g.clone();
                    shuffle(shuffled, new Random(seed));
                    assertEquals(base, gsnr(target, Storage.DIRECT_BIG, shuffled, eps), 1e-6 * base, "permutation");
                });
    }

    private static boolean spread(float[] g) {
        for (float x : g) {
            if (x != g[0]) {
                return true;
            }
        }
        return false;
    }

    /** σ / max|g|: how far from constant the gradient is. */
    private static double relativeSpread(float[] g) {
        double max = 0;
        for (float x : g) {
            max = Math.max(max, Math.abs(x));
        }
        return max == 0 ? 0 : sigma(g) / max;
    }

    private static double sigma(float[] g) {
        if (g.length < 2) {
            return 0;
        }
        double mean = 0;
        for (float x : g) {
            mean += x;
        }
        mean /= g.length;
        double m2 = 0;
        for (float x : g) {
            m2 += (x - mean) * (x - mean);
        }
        return Math.sqrt(m2 / (g.length - 1));
    }

    private static void assumeRepresentable(float[] g, float[] cg) {
        for (int i = 0; i < g.length; i++) {
            if (g[i] != 0 && (cg[i] == 0 || Float.isInfinite(cg[i]) || Math.abs(cg[i]) < Float.MIN_NORMAL)) {
                throw new AssertionError("generator produced an unscalable value"); // cannot happen for |g| in 2^±90
            }
        }
    }

    static float[] scaled(float[] g, float c) {
        float[] out = new float[g.length];
        for (int i = 0; i < g.length; i++) {
            out[i] = g[i] * c;
        }
        return out;
    }

    private static void shuffle(float[] a, Random r) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            float t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    // 2, 3. Trajectories ---------------------------------------------------------------------------------------

    /**
     * With {@link Scaling#NONE} the library's trajectory is the textbook SGDM's bit for bit; with
     * {@link Scaling#GSNR} it is the textbook run in which each tensor's step size is multiplied by its g-SNR.
     */
    static void trajectory(Target target, Scaling scaling, int examples) {
        qt().withExamples(examples(target, examples)).forAll(Gens.scenario(50)).checkAssert(sc -> {
            float[] scale = new float[sc.tensors().size()];
            Arrays.fill(scale, 1f);
            try (Live live = new Live(sc, scaling, target.backend(), target.threads(), NonFinitePolicy.THROW)) {
                Textbook book = new Textbook(sc);
                for (int k = 0; k < sc.steps(); k++) {
                    assertTrue(live.step(k));
                    if (scaling == Scaling.GSNR) {
                        for (int t = 0; t < scale.length; t++) {
                            SgdSai.Tensor tensor = live.opt.tensor("t" + t);
                            scale[t] = tensor.hasGsnr() ? (float) tensor.gsnr() : Float.NaN;
                        }
                    }
                    book.step(k, scale);
                    for (int t = 0; t < scale.length; t++) {
                        assertArrayEquals(book.p[t], live.param(t), "tensor " + t + " after step " + k + " on " + target);
                    }
                }
            }
        });
    }

    // 4. Accuracy ----------------------------------------------------------------------------------------------

    /** The library's g-SNR, rounded to float, is within 1 ulp of the exact value computed with BigDecimal. */
    static void accuracy(Target target) {
        qt().withExamples(examples(target, EXAMPLES)).forAll(Gens.gradient(), Gens.storage(), Generate.pick(List.of(1e-8, 1e-3, 0.0)))
                .assuming((g, st, eps) -> eps > 0 || spread(g))
                .checkAssert((g, st, eps) -> {
                    float exact = exactGsnr(g, eps);
                    float got = (float) gsnr(target, st, g, eps);
                    assertTrue(Math.abs(Float.floatToIntBits(exact) - Float.floatToIntBits(got)) <= 1,
                            "g-SNR " + got + " vs exact " + exact + " on " + target);
                });
    }

    /** ‖g‖ / (σ + ε) with 60 significant digits, rounded once to float. */
    static float exactGsnr(float[] g, double eps) {
        MathContext mc = new MathContext(60);
        BigDecimal sum = BigDecimal.ZERO;
        BigDecimal sumSq = BigDecimal.ZERO;
        for (float x : g) {
            BigDecimal b = new BigDecimal(x);
            sum = sum.add(b);
            sumSq = sumSq.add(b.multiply(b));
        }
        int n = g.length;
        BigDecimal mean = sum.divide(BigDecimal.valueOf(n), mc);
        BigDecimal m2 = BigDecimal.ZERO;
        for (float x : g) {
            BigDecimal d = new BigDecimal(x).subtract(mean);
            m2 = m2.add(d.multiply(d), mc);
        }
        BigDecimal sigma = n > 1 ? m2.divide(BigDecimal.valueOf(n - 1), mc).sqrt(mc) : BigDecimal.ZERO;
        BigDecimal denominator = sigma.add(new BigDecimal(eps));
        return sumSq.sqrt(mc).divide(denominator, mc).floatValue();
    }

    // 5. Backends agree -----------------------------------------------------------------------------------------

    /** Lengths that also reach several chunks, so thread counts matter. */
    static Gen<Integer> lengthWithChunks() {
        return Generate.frequency(org.quicktheories.api.Pair.of(5, Gens.length()),
                org.quicktheories.api.Pair.of(1, Generate.range(60_000, 140_000)));
    }

    /**
     * {@code target}'s update equals the scalar reference bit for bit for every update form, sign and storage,
     * and its g-SNR moments agree to 1e-12 relative.
     */
    static void backendsAgree(Target target, int examples) {
        qt().withExamples(examples(target, examples)).forAll(Generate.longRange(0, Long.MAX_VALUE), lengthWithChunks(),
                        Generate.pick(List.of(StepBatch.Kind.SGD, StepBatch.Kind.INIT, StepBatch.Kind.MOMENTUM)), Gens.storage())
                .checkAssert((seed, n, kind, st) -> {
                    Random r = new Random(seed);
                    float[] p = randomEdgy(r, n);
                    float[] g = randomEdgy(r, n);
                    float[] m = randomEdgy(r, n);
                    float sign = r.nextBoolean() ? 1f : -1f;
                    float mu = (float) r.nextDouble();
                    float negStep = -(float) Math.scalb(r.nextDouble(), -r.nextInt(20));
                    float decay = 1f - (float) Math.scalb(r.nextDouble(), -r.nextInt(20));
                    FloatSpan[] mine = {st.of(p), st.of(g), st.of(m)};
                    FloatSpan[] ref = {FloatSpan.of(p.clone()), FloatSpan.of(g.clone()), FloatSpan.of(m.clone())};
                    try (Backend b = Backends.create(target.backend(), new BackendOptions(target.threads()));
                         Backend scalar = Backends.create("scalar", new BackendOptions(1))) {
                        b.update(batch(mine, kind, sign, mu, negStep, decay));
                        scalar.update(batch(ref, kind, sign, mu, negStep, decay));
                        if (kind != StepBatch.Kind.SGD) {
                            b.stateToHost(mine[2]); // a device backend keeps momentum on the device until asked
                        }
                        assertArrayEquals(Gens.values(ref[0]), Gens.values(mine[0]), "p, " + kind + " on " + target);
                        assertArrayEquals(Gens.values(ref[2]), Gens.values(mine[2]), "m, " + kind + " on " + target);
                        double[] want = new double[2];
                        double[] got = new double[2];
                        scalar.moments(FloatSpan.of(g), want);
                        b.moments(st.of(g), got);
                        assertEquals(want[0], got[0], 1e-12 * want[0], "Σg² on " + target);
                        assertEquals(want[1], got[1], 1e-12 * want[1], "M2 on " + target);
                    }
                });
    }

    private static StepBatch batch(FloatSpan[] pgm, StepBatch.Kind kind, float sign, float mu, float negStep, float decay) {
        StepBatch b = new StepBatch(1);
        b.add(pgm[0], pgm[1], kind == StepBatch.Kind.SGD ? null : pgm[2]);
        b.setRule(0, kind, sign, sign * (1 - mu), mu, negStep, decay);
        return b;
    }

    /** Finite values over many magnitudes, with zeros and subnormals. */
    static float[] randomEdgy(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = switch (r.nextInt(10)) {
                case 0 -> 0f;
                case 1 -> Float.intBitsToFloat(r.nextInt(0x7FFFFF) + 1) * (r.nextBoolean() ? 1 : -1);
                case 2 -> Float.intBitsToFloat((r.nextInt(254) + 1) << 23 | r.nextInt(0x800000)) * (r.nextBoolean() ? 1 : -1);
                default -> (float) r.nextGaussian();
            };
        }
        return a;
    }

    /** Results are identical whatever the thread count: g-SNR and whole trajectories. */
    static void threadCountsAgree(String backend) {
        qt().withExamples(EXAMPLES / 3).forAll(Gens.scenario(5), Generate.longRange(0, Long.MAX_VALUE), lengthWithChunks())
                .checkAssert((sc, seed, n) -> {
                    float[] g = randomEdgy(new Random(seed), n);
                    double one = gsnr(new Target(backend, 1), Storage.ARRAY_OFFSET, g, 1e-8);
                    for (int threads : new int[] {2, 3}) {
                        assertEquals(one, gsnr(new Target(backend, threads), Storage.DIRECT_LITTLE, g, 1e-8), 0.0);
                    }
                    float[][] first = null;
                    for (int threads : new int[] {1, 2, 3}) {
                        try (Live live = new Live(sc, Scaling.GSNR, backend, threads, NonFinitePolicy.THROW)) {
                            for (int k = 0; k < sc.steps(); k++) {
                                live.step(k);
                            }
                            float[][] now = new float[sc.tensors().size()][];
                            for (int t = 0; t < now.length; t++) {
                                now[t] = live.param(t);
                            }
                            if (first == null) {
                                first = now;
                            } else {
                                for (int t = 0; t < now.length; t++) {
                                    assertArrayEquals(first[t], now[t], threads + " threads");
                                }
                            }
                        }
                    }
                });
    }

    // 6. All or nothing -----------------------------------------------------------------------------------------

    /**
     * A NaN or ±Inf anywhere in a gradient taking part: under THROW the step throws naming it and leaves every
     * parameter, gradient and state byte as it was; under SKIP_STEP the step is skipped and reported.
     */
    static void allOrNothing(Target target, NonFinitePolicy policy) {
        qt().withExamples(examples(target, EXAMPLES / 2)).forAll(Gens.scenario(6), Generate.longRange(0, Long.MAX_VALUE),
                        Generate.pick(List.of(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY)))
                .checkAssert((sc, seed, bad) -> {
                    Random r = new Random(seed);
                    int k = r.nextInt(sc.steps());
                    try (Live live = new Live(sc, Scaling.GSNR, target.backend(), target.threads(), policy)) {
                        for (int j = 0; j < k; j++) {
                            live.step(j);
                        }
                        live.prepare(k);
                        int t = activeTensor(sc, k, r);
                        if (t < 0) {
                            return; // every tensor sits this step out: nothing to poison
                        }
                        int index = r.nextInt(sc.tensors().get(t).length());
                        live.grads[t].set(index, bad);
                        float[][] params = new float[sc.tensors().size()][];
                        float[][] grads = new float[sc.tensors().size()][];
                        for (int i = 0; i < params.length; i++) {
                            params[i] = live.param(i);
                            grads[i] = Gens.values(live.grads[i]);
                        }
                        byte[] state = live.state();
                        if (policy == NonFinitePolicy.THROW) {
                            NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, live.opt::step);
                            assertEquals("t" + t, e.tensor());
                            assertEquals(index, e.index());
                        } else {
                            assertFalse(live.opt.step());
                            assertEquals("t" + t, live.opt.lastSkip().tensor());
                            assertEquals(index, live.opt.lastSkip().index());
                        }
                        for (int i = 0; i < params.length; i++) {
                            assertArrayEquals(params[i], live.param(i), "parameter " + i);
                            assertArrayEquals(grads[i], Gens.values(live.grads[i]), "gradient " + i);
                        }
                        byte[] after = live.state();
                        if (policy == NonFinitePolicy.SKIP_STEP) {
                            // the one change a skip makes: the skipped-steps counter (and so the CRCs)
                            int at = Runs.skippedOffset(state);
                            assertEquals(1, live.opt.skippedSteps() - readLong(state, at));
                            byte[] was = Runs.canonicalState(state);
                            byte[] now = Runs.canonicalState(after);
                            java.nio.ByteBuffer.wrap(now).putLong(at, readLong(state, at));
                            assertArrayEquals(was, now, "optimizer state");
                        } else {
                            assertArrayEquals(state, after, "optimizer state");
                        }
                    }
                });
    }

    private static long readLong(byte[] b, int at) {
        return java.nio.ByteBuffer.wrap(b).getLong(at);
    }

    private static int activeTensor(Scenario sc, int k, Random r) {
        int n = sc.tensors().size();
        int start = r.nextInt(n);
        for (int i = 0; i < n; i++) {
            int t = (start + i) % n;
            if (!sc.frozen(t, k)) {
                return t;
            }
        }
        return -1;
    }

    /** Invalid hyperparameters are rejected when the optimizer is built, naming the group. */
    static void invalidHyperparametersRejected() {
        qt().withExamples(EXAMPLES).forAll(Generate.range(0, 3), Generate.range(0, 3), Gens.hyper())
                .checkAssert((which, badIndex, h) -> {
                    double[][] bad = {{Double.NaN, -1e-3, Double.POSITIVE_INFINITY, -0.5},
                            {1.0, -0.1, Double.NaN, 1.5}, {-1e-8, Double.NaN, Double.NEGATIVE_INFINITY, -1},
                            {-0.1, Double.NaN, Double.POSITIVE_INFINITY, -1e-9}};
                    double v = bad[which][badIndex];
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                        SgdSai.Builder b = SgdSai.builder().lr(h.lr()).momentum(h.momentum()).eps(h.eps())
                                .weightDecay(h.weightDecay()).add("w", new float[3], new float[] {1, 2, 3});
                        switch (which) {
                            case 0 -> b.lr(v);
                            case 1 -> b.momentum(v);
                            case 2 -> b.eps(v);
                            default -> b.weightDecay(v);
                        }
                        b.build().close();
                    });
                    assertTrue(e.getMessage().startsWith("group 0: "), e.getMessage());
                });
    }

    // 7. Checkpoints ----------------------------------------------------------------------------------------------

    /** How a checkpoint is put into an optimizer; {@link #LOAD} is the real one. */
    interface Restorer {
        void restore(Optimizer target, byte[] checkpoint) throws IOException;

        Restorer LOAD = (target, bytes) -> target.load(new ByteArrayInputStream(bytes));
    }

    /** Save after k steps, restore into a fresh optimizer, continue: bit-identical to never stopping. */
    static void checkpointRoundTrip(Target target, Restorer restorer) {
        qt().withExamples(examples(target, EXAMPLES / 2)).forAll(Gens.scenario(12), Generate.range(0, 12)).checkAssert((sc, cut) -> {
            int k = Math.min(cut, sc.steps());
            try (Live straight = new Live(sc, Scaling.GSNR, target.backend(), target.threads(), NonFinitePolicy.THROW);
                 Live first = new Live(sc, Scaling.GSNR, target.backend(), target.threads(), NonFinitePolicy.THROW);
                 Live resumed = new Live(sc, Scaling.GSNR, target.backend(), target.threads(), NonFinitePolicy.THROW)) {
                for (int j = 0; j < k; j++) {
                    first.step(j);
                }
                for (int t = 0; t < sc.tensors().size(); t++) {
                    resumed.params[t].copyFrom(first.param(t));
                }
                try {
                    restorer.restore(resumed.opt, first.state());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                for (int j = 0; j < sc.steps(); j++) {
                    straight.step(j);
                    if (j >= k) {
                        resumed.step(j);
                    }
                }
                for (int t = 0; t < sc.tensors().size(); t++) {
                    assertArrayEquals(straight.param(t), resumed.param(t), "tensor " + t + " resumed after " + k);
                }
                assertArrayEquals(straight.state(), resumed.state());
            }
        });
    }

    /** A checkpoint with one byte changed, or cut short, is rejected and leaves the target as it was. */
    static void checkpointCorruptionRejected(Target target, Restorer restorer) {
        qt().withExamples(examples(target, EXAMPLES / 2)).forAll(Gens.scenario(4), Generate.longRange(0, Long.MAX_VALUE), Generate.booleans())
                .checkAssert((sc, seed, truncate) -> {
                    Random r = new Random(seed);
                    try (Live source = new Live(sc, Scaling.GSNR, target.backend(), target.threads(), NonFinitePolicy.THROW);
                         Live victim = new Live(sc, Scaling.GSNR, target.backend(), target.threads(), NonFinitePolicy.THROW)) {
                        for (int j = 0; j < sc.steps(); j++) {
                            source.step(j);
                        }
                        victim.step(0);
                        byte[] good = source.state();
                        byte[] bad = truncate ? Arrays.copyOf(good, r.nextInt(good.length)) : good.clone();
                        if (!truncate) {
                            bad[r.nextInt(bad.length)] ^= (byte) (1 + r.nextInt(255));
                        }
                        byte[] before = victim.state();
                        float[] p0 = victim.param(0);
                        try {
                            restorer.restore(victim.opt, bad);
                            fail("a corrupted checkpoint was accepted");
                        } catch (CheckpointException expected) {
                            // rejected, as it should be
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        assertArrayEquals(before, victim.state());
                        assertArrayEquals(p0, victim.param(0));
                    }
                });
    }

    // 8. Sanity -----------------------------------------------------------------------------------------------

    /**
     * On a random convex quadratic f(p) = ½ Σ a_i (p_i − b_i)², one step with a small enough lr
     * (η·s·max a ≤ ½) decreases f, and lr = 0 with weight decay 0 changes no parameter's value.
     */
    static void sanity(Target target) {
        qt().withExamples(examples(target, EXAMPLES)).forAll(Generate.longRange(0, Long.MAX_VALUE), Gens.length(), Gens.storage())
                .checkAssert((seed, n, st) -> {
                    Random r = new Random(seed);
                    float[] a = new float[n];
                    float[] b = new float[n];
                    float[] p0 = new float[n];
                    float maxA = 0;
                    for (int i = 0; i < n; i++) {
                        a[i] = 0.1f + 10 * r.nextFloat();
                        b[i] = (float) r.nextGaussian();
                        p0[i] = (float) r.nextGaussian();
                        maxA = Math.max(maxA, a[i]);
                    }
                    float[] g = new float[n];
                    for (int i = 0; i < n; i++) {
                        g[i] = a[i] * (p0[i] - b[i]);
                    }
                    double s = SgdSai.gsnr(FloatSpan.of(g), 1e-8);
                    double lr = 0.5 / (s * maxA);
                    FloatSpan p = st.of(p0);
                    try (SgdSai opt = SgdSai.builder().lr(lr).weightDecay(0).backend(target.backend())
                            .threads(target.threads()).add("p", p, FloatSpan.of(g)).build()) {
                        opt.step();
                        assertTrue(loss(a, b, Gens.values(p)) < loss(a, b, p0), "loss did not decrease on " + target);
                    }
                    FloatSpan still = st.of(p0);
                    try (SgdSai opt = SgdSai.builder().lr(0).weightDecay(0).backend(target.backend())
                            .threads(target.threads()).add("p", still, FloatSpan.of(g)).build()) {
                        for (int k = 0; k < 3; k++) {
                            opt.step();
                        }
                        float[] after = Gens.values(still);
                        for (int i = 0; i < n; i++) {
                            assertTrue(after[i] == p0[i], "lr 0 changed element " + i);
                        }
                    }
                });
    }

    private static double loss(float[] a, float[] b, float[] p) {
        double f = 0;
        for (int i = 0; i < p.length; i++) {
            double d = p[i] - b[i];
            f += 0.5 * a[i] * d * d;
        }
        return f;
    }
}
