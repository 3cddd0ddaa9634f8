// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamMini.Partition;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.GroupSpec;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.properties.Gens.Algo;
import io.github.sgdsai.properties.Gens.OptHyper;
import io.github.sgdsai.properties.Gens.OptScenario;
import io.github.sgdsai.properties.Properties.Restorer;
import io.github.sgdsai.properties.Runs.OptLive;
import io.github.sgdsai.properties.Runs.Target;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Random;

import static io.github.sgdsai.properties.Properties.examples;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

/**
 * The properties of the optimizer family on one engine: AdamW (torch's fused arithmetic, amsgrad, maximize),
 * Adam-mini (one second moment per block of a partition) and global gradient-norm clipping for every optimizer.
 * Like {@link Properties}, each is a method run against one backend (or one way of building or restoring), so that
 * {@link NonVacuityTest} can run it against a deliberately broken one.
 */
final class AdamProperties {
    private AdamProperties() {
    }

    private static final Target REFERENCE = new Target("scalar", 1);

    /** Clipping that is always on: thresholds well below, near and above the step-0 norm. */
    static Gen<Double> clipOn() {
        return Generate.pick(List.of(0.01, 0.3, 0.9, 2.0));
    }

    private static void assertSameParams(OptLive want, OptLive got, String what) {
        for (int t = 0; t < want.params.length; t++) {
            assertArrayEquals(want.param(t), got.param(t), "tensor " + t + " " + what);
        }
    }

    // 9. Backends agree with the reference -------------------------------------------------------------------------

    /**
     * Multi-step runs of {@code algo} (groups, tensors sitting steps out, lr schedules, maximize, every storage, edge
     * gradients; AdamW with and without amsgrad, both lerp branches; Adam-mini with random partitions that divide the
     * tensors, blocks over 4096 and whole tensors over 65536; SGD-SaI always clipped, the Adam family clipped or not):
     * {@code target}'s parameters after every step, its gradient norm and its final state equal the scalar
     * reference's bit for bit (state up to NaN payloads; SGD-SaI's double g-SNR to 1e-12 relative, as its moments are
     * specified). On 2 or 3 threads half the runs have a first tensor of over 262 144 elements, so that the vector
     * backend spreads the step over its threads, and the result is also compared, bit for bit, with the same
     * backend on one thread.
     */
    static void agreeWithReference(Target target, Algo algo, int examples) {
        Gen<Double> clip = algo == Algo.SGD_SAI ? clipOn() : Gens.clipFraction();
        Gen<OptScenario> runs = target.threads() == 1 ? Gens.optScenario(algo, 6, clip)
                : Generate.frequency(org.quicktheories.api.Pair.of(1, Gens.optScenario(algo, 6, clip)),
                org.quicktheories.api.Pair.of(1, Gens.poolSized(Gens.optScenario(algo, 4, clip))));
        qt().withExamples(examples(target, examples)).forAll(runs).checkAssert(sc -> {
            Target single = new Target(target.backend(), 1);
            try (OptLive want = new OptLive(sc, REFERENCE, NonFinitePolicy.THROW);
                 OptLive got = new OptLive(sc, target, NonFinitePolicy.THROW);
                 OptLive one = target.threads() > 1 ? new OptLive(sc, single, NonFinitePolicy.THROW) : null) {
                for (int k = 0; k < sc.steps(); k++) {
                    assertTrue(want.step(k));
                    assertTrue(got.step(k));
                    assertSameParams(want, got, "after step " + k + " of " + algo + " on " + target);
                    assertEquals(want.opt.lastGradNorm(), got.opt.lastGradNorm(), 0.0, "gradient norm at step " + k);
                    if (one != null) {
                        assertTrue(one.step(k));
                        assertSameParams(one, got, "after step " + k + " of " + algo + " on " + single + " and " + target);
                    }
                }
                // g-SNR (SGD-SaI) is specified to 1e-12 relative across backends (its moments are), exactly across threads
                List<Double> wantGsnr = new java.util.ArrayList<>();
                List<Double> gotGsnr = new java.util.ArrayList<>();
                byte[] gotState = Runs.canonicalState(got.state());
                assertArrayEquals(Runs.withoutGsnr(Runs.canonicalState(want.state()), wantGsnr),
                        Runs.withoutGsnr(gotState, gotGsnr), "state of " + algo + " on " + target);
                for (int t = 0; t < wantGsnr.size(); t++) {
                    double w = wantGsnr.get(t);
                    assertEquals(w, gotGsnr.get(t), Double.isNaN(w) ? 0.0 : 1e-12 * Math.abs(w), "g-SNR of tensor " + t);
                }
                if (one != null) {
                    assertArrayEquals(Runs.canonicalState(one.state()), gotState, "state on " + single + " and " + target);
                }
            }
        });
    }

    // 10. All or nothing --------------------------------------------------------------------------------------------

    /**
     * A NaN or ±Inf anywhere in a gradient taking part, clipping on or off: under THROW the step throws naming the
     * tensor and index and leaves every parameter, gradient and checkpoint byte as it was.
     */
    static void allOrNothing(Target target, Algo algo, int examples) {
        qt().withExamples(examples(target, examples)).forAll(Gens.optScenario(algo, 6, Gens.clipFraction()),
                        Generate.longRange(0, Long.MAX_VALUE),
                        Generate.pick(List.of(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY)))
                .checkAssert((sc, seed, bad) -> {
                    Random r = new Random(seed);
                    int k = r.nextInt(sc.steps());
                    try (OptLive live = new OptLive(sc, target, NonFinitePolicy.THROW)) {
                        for (int j = 0; j < k; j++) {
                            live.step(j);
                        }
                        live.prepare(k, 1f);
                        int t = activeTensor(sc, k, r);
                        if (t < 0) {
                            return; // every tensor sits this step out: nothing to poison
                        }
                        int index = r.nextInt(sc.tensors().get(t).length());
                        live.grads[t].set(index, bad);
                        float[][] params = new float[live.params.length][];
                        float[][] grads = new float[live.params.length][];
                        for (int i = 0; i < params.length; i++) {
                            params[i] = live.param(i);
                            grads[i] = Gens.values(live.grads[i]);
                        }
                        byte[] state = live.state();
                        NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, live.opt::step);
                        assertEquals("t" + t, e.tensor());
                        assertEquals(index, e.index());
                        for (int i = 0; i < params.length; i++) {
                            assertArrayEquals(params[i], live.param(i), "parameter " + i);
                            assertArrayEquals(grads[i], Gens.values(live.grads[i]), "gradient " + i);
                        }
                        assertArrayEquals(state, live.state(), "checkpoint bytes");
                    }
                });
    }

    private static int activeTensor(OptScenario sc, int k, Random r) {
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

    /** How a configuration value reaches the builder; {@link #AS_GIVEN} is the real one. */
    interface Admit {
        /** The value {@code what} (beta1, beta2, eps, weight decay or lr) is set to when {@code value} is asked for. */
        double value(String what, double value);

        /** The partition set when {@code p} is asked for, for a tensor of {@code n} elements. */
        Partition partition(Partition p, int n);

        Admit AS_GIVEN = new Admit() {
            @Override
            public double value(String what, double value) {
                return value;
            }

            @Override
            public Partition partition(Partition p, int n) {
                return p;
            }
        };
    }

    private static final double[][] BAD = {
            {1.0, -0.1, Double.NaN, 1.5, Double.POSITIVE_INFINITY, Math.nextUp(1.0)}, // beta1
            {1.0, -1e-9, Double.NaN, 2.0, Double.NEGATIVE_INFINITY, Math.nextUp(1.0)}, // beta2
            {-1e-8, Double.NaN, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, -Double.MIN_VALUE, -1}, // eps
            {-0.1, Double.NaN, Double.POSITIVE_INFINITY, -1e-12, -1, Double.NEGATIVE_INFINITY}, // weight decay
            {-1e-3, Double.NaN, Double.POSITIVE_INFINITY, -1, Double.NEGATIVE_INFINITY, -Double.MIN_VALUE}}; // lr
    private static final String[] WHAT = {"beta1", "beta2", "eps", "weight decay", "lr"};

    /**
     * One bad value in one of 1–3 groups (β₁ or β₂ outside [0, 1) or NaN; ε, weight decay or lr negative, NaN or
     * infinite; SGD-SaI has no β₂): the build is refused with an IllegalArgumentException whose message starts with
     * that group, {@code "group k: "}.
     */
    static void invalidHyperparametersRejected(Algo algo, Admit admit) {
        qt().withExamples(Properties.EXAMPLES).forAll(Generate.range(0, 4), Generate.range(0, 5), shape(), Gens.optHyper(algo))
                .checkAssert((whichRaw, badIndex, shape, h) -> {
                    int which = algo == Algo.SGD_SAI && whichRaw == 1 ? 0 : whichRaw;
                    int nGroups = shape.groups();
                    int fault = shape.fault() % nGroups;
                    int n = shape.n();
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> build(algo, nGroups, g -> g == fault ? which : -1, badIndex, h, n, admit, g -> null).close(),
                            WHAT[which] + " = " + BAD[which][badIndex] + " in group " + fault);
                    String prefix = "group " + fault + ": ";
                    assertTrue(e.getMessage().startsWith(prefix), "'" + e.getMessage() + "' should start with '" + prefix + "'");
                });
    }

    /**
     * Adam-mini: a partition that does not divide its tensor is refused at build with an IllegalArgumentException
     * whose message starts with the tensor ({@code "tensor 'name': "}) and says it does not divide it. {@code heads}
     * chooses which bad partitions are drawn: rows of a non-divisor and more heads than elements
     * ({@code false}), or a head count that does not divide the length ({@code true}).
     */
    static void nonDividingPartitionRejected(boolean heads, Admit admit) {
        qt().withExamples(Properties.EXAMPLES).forAll(Generate.range(0, 5), shape(), Gens.optHyper(Algo.ADAM_MINI))
                .checkAssert((variant, shape, h) -> {
                    int nGroups = shape.groups();
                    int fault = shape.fault() % nGroups;
                    int n = shape.n();
                    int len = n + fault;
                    Partition bad = heads ? headsNotDividing(len, variant) : notDividing(len, variant);
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> build(Algo.ADAM_MINI, nGroups, g -> -1, 0, h, n, admit,
                                    g -> g == fault ? admit.partition(bad, len) : null).close(),
                            bad + " for tensor t" + fault + " of " + len + " elements");
                    String prefix = "tensor 't" + fault + "': ";
                    assertTrue(e.getMessage().startsWith(prefix), "'" + e.getMessage() + "' should start with '" + prefix + "'");
                    assertTrue(e.getMessage().contains("does not divide"), e.getMessage());
                });
    }

    /** 1–3 groups, the one at fault (modulo their number), and the length of group 0's tensor (group g's: n + g). */
    record Shape(int groups, int fault, int n) {
    }

    private static Gen<Shape> shape() {
        return in -> new Shape(Generate.range(1, 3).generate(in), Generate.range(0, 2).generate(in),
                Generate.range(1, 200).generate(in));
    }

    /**
     * Builds {@code algo} with {@code nGroups} groups of one tensor each ({@code "t<g>"}, {@code n + g} elements);
     * group g gets bad value number {@code badIndex} of kind {@code bad(g)} (-1: none) and, for Adam-mini, the
     * partition {@code partition(g)} (null: per element).
     */
    private static Optimizer build(Algo algo, int nGroups, java.util.function.IntUnaryOperator bad, int badIndex,
                                   OptHyper h, int n, Admit admit, java.util.function.IntFunction<Partition> partition) {
        return switch (algo) {
            case ADAMW -> {
                AdamW.Builder b = AdamW.builder().lr(1);
                for (int g = 0; g < nGroups; g++) {
                    int which = bad.applyAsInt(g);
                    int group = g;
                    b.group(gb -> common(gb.betas(pick(which, 0, badIndex, h.beta1(), admit),
                            pick(which, 1, badIndex, h.beta2(), admit)).amsgrad(h.amsgrad()), h, which, badIndex, admit, group, n));
                }
                yield b.build();
            }
            case ADAM_MINI -> {
                AdamMini.Builder b = AdamMini.builder().lr(1);
                for (int g = 0; g < nGroups; g++) {
                    int which = bad.applyAsInt(g);
                    int group = g;
                    b.group(gb -> common(gb.betas(pick(which, 0, badIndex, h.beta1(), admit),
                            pick(which, 1, badIndex, h.beta2(), admit)), h, which, badIndex, admit, group, n));
                    Partition p = partition.apply(g);
                    b.partition("t" + g, p != null ? p : Partition.perElement());
                }
                yield b.build();
            }
            case SGD_SAI -> {
                SgdSai.Builder b = SgdSai.builder().lr(1);
                for (int g = 0; g < nGroups; g++) {
                    int which = bad.applyAsInt(g);
                    int group = g;
                    b.group(gb -> common(gb.momentum(pick(which, 0, badIndex, h.beta1(), admit)), h, which, badIndex,
                            admit, group, n));
                }
                yield b.build();
            }
        };
    }

    private static double pick(int which, int slot, int badIndex, double good, Admit admit) {
        return which == slot ? admit.value(WHAT[slot], BAD[slot][badIndex]) : good;
    }

    private static <G extends GroupSpec<G>> void common(G gb, OptHyper h, int which, int badIndex, Admit admit, int group,
                                                      int n) {
        gb.eps(pick(which, 2, badIndex, h.eps(), admit))
                .weightDecay(pick(which, 3, badIndex, h.weightDecay(), admit))
                .lr(pick(which, 4, badIndex, 1e-3, admit))
                .maximize(h.maximize());
        int len = n + group;
        gb.add("t" + group, new float[len], new float[len]);
    }

    /** A non-divisor of {@code n} of at least 2, drawn from {@code variant}. */
    private static int nonDivisor(int n, int variant) {
        int r = 2 + variant * 7 % n;
        while (n % r == 0) {
            r++;
        }
        return r;
    }

    /** A partition that does not divide {@code n} elements: rows of a non-divisor's length, or more heads than elements. */
    private static Partition notDividing(int n, int variant) {
        return variant % 2 == 0 ? Partition.perRow(nonDivisor(n, variant)) : Partition.perHead(n + 1 + variant);
    }

    /** {@code h} heads with {@code n % h != 0} (at most n heads, so each would have at least one element). */
    private static Partition headsNotDividing(int n, int variant) {
        int h = nonDivisor(n, variant);
        return h <= n ? Partition.perHead(h) : notDividing(n, variant);
    }

    // 11. Checkpoints -----------------------------------------------------------------------------------------------

    /**
     * AdamW (amsgrad in group 0, either in the other) and Adam-mini: save after k steps, restore into a fresh optimizer,
     * continue: parameters and state bit-identical to never stopping.
     */
    static void checkpointRoundTrip(Target target, Algo algo, Restorer restorer, int examples) {
        Gen<OptScenario> runs = Gens.optScenario(algo, 6, Gens.clipFraction())
                .map(sc -> algo == Algo.ADAMW ? sc.withAmsgrad(g -> g == 0 || sc.groups().get(g).amsgrad()) : sc);
        qt().withExamples(examples(target, examples)).forAll(runs, Generate.range(0, 6)).checkAssert((sc, cut) -> {
            int k = Math.min(cut, sc.steps());
            try (OptLive straight = new OptLive(sc, target, NonFinitePolicy.THROW);
                 OptLive first = new OptLive(sc, target, NonFinitePolicy.THROW);
                 OptLive resumed = new OptLive(sc, target, NonFinitePolicy.THROW)) {
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
                assertSameParams(straight, resumed, "resumed after " + k);
                assertArrayEquals(straight.state(), resumed.state());
            }
        });
    }

    // 12. Adam-mini per element is AdamW -----------------------------------------------------------------------------

    /**
     * Adam-mini with every tensor partitioned per element, on {@code mini}, equals AdamW without amsgrad, on
     * {@code adamw}, with the same hyperparameters (clipping on or off) bit for bit: parameters after every step, and
     * the state values of the checkpoint and every tensor's step count.
     */
    static void perElementMiniIsAdamW(Target adamw, Target mini, int examples) {
        Gen<OptScenario> runs = Gens.optScenario(Algo.ADAMW, 6, Gens.clipFraction()).map(sc -> sc.withAmsgrad(g -> false));
        qt().withExamples(examples(mini, examples)).forAll(runs).checkAssert(sc -> {
            double max = sc.clips() ? sc.clipMax() : Double.NaN;
            try (OptLive a = new OptLive(sc, Algo.ADAMW, adamw, NonFinitePolicy.THROW, max, null);
                 OptLive m = new OptLive(sc, Algo.ADAM_MINI, mini, NonFinitePolicy.THROW, max, t -> Partition.perElement())) {
                for (int k = 0; k < sc.steps(); k++) {
                    a.step(k);
                    m.step(k);
                    assertSameParams(a, m, "after step " + k + ": Adam-mini per element on " + mini + " vs AdamW on " + adamw);
                }
                assertArrayEquals(Runs.values(Runs.canonicalState(a.state())), Runs.values(Runs.canonicalState(m.state())),
                        "state values");
                for (int t = 0; t < a.opt.tensors().size(); t++) {
                    assertEquals(a.opt.tensors().get(t).steps(), m.opt.tensors().get(t).steps(), "steps of tensor " + t);
                }
            }
        });
    }

    // 13. Clipping is a pre-scaled gradient ------------------------------------------------------------------------

    /**
     * An optimizer built with {@code clipGradNorm(max)} stepping g equals, bit for bit (parameters after every step,
     * final state), the same optimizer without clipping stepping {@code fl(g·c)}, with
     * {@code c = (float) min(1, max / (‖g‖ + 1e-6))} and ‖g‖ the square root of the sum over the tensors taking part,
     * in order, of {@code ScalarBackend.sumSquares(g, 1, 0, n)}; SGD-SaI's first-step g-SNR included. Its reported
     * norm is that ‖g‖.
     */
    /** Steps; true if the step was refused for a g-SNR overflow (which must change nothing), false if applied. */
    private static boolean gsnrOverflows(OptLive live) {
        try {
            assertTrue(live.opt.step());
            return false;
        } catch (ArithmeticException e) {
            assertTrue(e.getMessage().contains("g-SNR overflow"), e.getMessage());
            return true;
        }
    }

    static void clippingIsAPrescaledGradient(Target target, Algo algo, int examples) {
        qt().withExamples(examples(target, examples)).forAll(Gens.optScenario(algo, 6, clipOn())).checkAssert(sc -> {
            double max = sc.clipMax();
            try (OptLive clipped = new OptLive(sc, algo, target, NonFinitePolicy.THROW, max, null);
                 OptLive plain = new OptLive(sc, algo, target, NonFinitePolicy.THROW, Double.NaN, null)) {
                for (int k = 0; k < sc.steps(); k++) {
                    clipped.prepare(k, 1f);
                    double norm = clipped.gradNorm();
                    float c = Double.isNaN(norm) ? 1f : (float) Math.min(1, max / (norm + 1e-6)); // NaN: all sit out
                    plain.prepare(k, c);
                    // an edgy first gradient may give a g-SNR beyond float: both runs must refuse it alike
                    boolean clippedOverflows = gsnrOverflows(clipped);
                    boolean plainOverflows = gsnrOverflows(plain);
                    assertEquals(plainOverflows, clippedOverflows, "g-SNR overflow in one run only, at step " + k);
                    if (clippedOverflows) {
                        assertSameParams(plain, clipped, "after a refused step " + k);
                        break;
                    }
                    assertEquals(norm, clipped.opt.lastGradNorm(), 0.0, "reported norm at step " + k);
                    assertSameParams(plain, clipped, "after step " + k + " (c = " + c + ") of " + algo + " on " + target);
                }
                assertArrayEquals(Runs.canonicalState(plain.state()), Runs.canonicalState(clipped.state()), "state");
            }
        });
    }
}
