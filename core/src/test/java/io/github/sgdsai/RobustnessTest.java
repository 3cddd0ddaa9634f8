// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.schedule.Schedules;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every public entry point of core × bad input → the exception it must throw (type and what its message says), with
 * every parameter, gradient and the optimizer's checkpoint bytes compared before and after: a refusal changes nothing.
 * The README quotes {@link #COUNT}.
 */
class RobustnessTest {
    /** The number of cases in the table (README.md, "Things to know", quotes it). */
    static final int COUNT = 195;

    private static final List<String> KINDS = List.of("sgd-sai", "adamw", "adam-mini");

    /**
     * An optimizer of each kind with two groups over arrays it owns (w in group 0; b and the frozen, never stepped
     * "late" in group 1), after two steps on finite gradients.
     */
    static final class Fx implements AutoCloseable {
        final float[] w = new float[24];
        final float[] gw = new float[24];
        final float[] b = new float[6];
        final float[] gb = new float[6];
        final float[] late = new float[4];
        final float[] glate = new float[4];
        final Optimizer opt;

        Fx(String kind, NonFinitePolicy policy) {
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) Math.sin(i);
            }
            opt = builder(kind).lr(0.01).nonFinite(policy).backend("scalar").add("w", w, gw)
                    .group(g -> g.lr(0.02).add("b", b, gb).add("late", late, glate)).build();
            opt.tensor("late").setFrozen(true);
            for (int k = 1; k <= 2; k++) {
                for (int i = 0; i < gw.length; i++) {
                    gw[i] = (float) Math.cos(i * k);
                }
                for (int i = 0; i < gb.length; i++) {
                    gb[i] = (float) Math.sin(i + k);
                }
                opt.step();
            }
        }

        byte[] checkpoint() throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            opt.save(out);
            return out.toByteArray();
        }

        List<float[]> arrays() {
            return List.of(w, gw, b, gb, late, glate);
        }

        @Override
        public void close() {
            opt.close();
        }
    }

    static Optimizer.Builder<?, ?, ?> builder(String kind) {
        return switch (kind) {
            case "sgd-sai" -> SgdSai.builder();
            case "adamw" -> AdamW.builder();
            case "adam-mini" -> AdamMini.builder();
            default -> throw new AssertionError(kind);
        };
    }

    /** What the fixture looks like from outside: its arrays and, while open, its checkpoint. */
    private record Snapshot(List<float[]> arrays, byte[] checkpoint, long steps, long skipped) {
        static Snapshot of(Fx f) throws IOException {
            byte[] ckpt;
            try {
                ckpt = f.checkpoint();
            } catch (IllegalStateException closed) {
                ckpt = null;
            }
            return new Snapshot(f.arrays().stream().map(float[]::clone).toList(), ckpt, f.opt.steps(), f.opt.skippedSteps());
        }

        void assertSame(Snapshot after) {
            for (int i = 0; i < arrays.size(); i++) {
                assertArrayEquals(arrays.get(i), after.arrays.get(i), "array " + i);
            }
            if (checkpoint != null && after.checkpoint != null) {
                assertArrayEquals(checkpoint, after.checkpoint, "checkpoint bytes");
            }
            assertEquals(steps, after.steps);
            assertEquals(skipped, after.skipped);
        }
    }

    interface Action {
        void run(Fx f) throws Exception;
    }

    /** One row: on a fixture of {@code kind} under {@code policy}, {@code setup} then {@code call} must throw. */
    record Case(String entry, String input, String kind, NonFinitePolicy policy, Action setup, Action call,
                Class<? extends Throwable> expected, String fragment) {
        @Override
        public String toString() {
            return entry + " ← " + input + " [" + kind + (policy == NonFinitePolicy.THROW ? "" : ", " + policy) + "]";
        }
    }

    private static final Action NONE = f -> {
    };

    static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        for (String k : KINDS) {
            builderCases(c, k);
            optimizerCases(c, k);
        }
        sgdSaiCases(c);
        otherEntryPoints(c);
        return c;
    }

    private static void add(List<Case> c, String entry, String input, String kind, Action call,
                            Class<? extends Throwable> expected, String fragment) {
        c.add(new Case(entry, input, kind, NonFinitePolicy.THROW, NONE, call, expected, fragment));
    }

    private static void builderCases(List<Case> c, String k) {
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        add(c, "builder.build", "lr NaN", k, f -> builder(k).lr(Double.NaN).add("x", f.w, f.gw).build(), iae, "lr must be a finite number >= 0, got NaN");
        add(c, "builder.build", "lr -1", k, f -> builder(k).lr(-1).add("x", f.w, f.gw).build(), iae, "lr must be a finite number >= 0, got -1");
        add(c, "builder.build", "lr +Inf", k, f -> builder(k).lr(Double.POSITIVE_INFINITY).add("x", f.w, f.gw).build(), iae, "got Infinity");
        add(c, "builder.build", "no lr", k, f -> builder(k).add("w", f.w, f.gw).build(), iae, "lr is required");
        add(c, "builder.build", "eps -1", k, f -> builder(k).lr(1).eps(-1).add("x", f.w, f.gw).build(), iae, "eps must be a finite number >= 0");
        add(c, "builder.build", "eps NaN", k, f -> builder(k).lr(1).eps(Double.NaN).add("x", f.w, f.gw).build(), iae, "eps must be a finite number >= 0");
        add(c, "builder.build", "weight decay -0.5", k,
                f -> builder(k).lr(1).weightDecay(-0.5).add("x", f.w, f.gw).build(), iae, "weight decay must be");
        add(c, "builder.build", "weight decay +Inf", k,
                f -> builder(k).lr(1).weightDecay(Double.POSITIVE_INFINITY).add("x", f.w, f.gw).build(), iae,
                "weight decay must be");
        add(c, "builder.threads", "0", k, f -> builder(k).threads(0), iae, "threads must be from 1 to 256, got 0");
        add(c, "builder.threads", "4096", k, f -> builder(k).threads(4096), iae, "gains nothing from more threads");
        add(c, "builder.clipGradNorm", "0", k, f -> builder(k).clipGradNorm(0), iae, "clipGradNorm: max must be");
        add(c, "builder.clipGradNorm", "NaN", k, f -> builder(k).clipGradNorm(Double.NaN), iae, "clipGradNorm");
        add(c, "builder.backend", "unknown", k, f -> builder(k).lr(1).backend("nope").add("w", f.w, f.gw).build(), iae,
                "backend 'nope' was requested but is not present");
        add(c, "builder.nonFinite", "null", k, f -> builder(k).nonFinite(null), NullPointerException.class,
                "nonFinite policy is null");
        add(c, "builder.add", "null name", k, f -> builder(k).add(null, f.w, f.gw), NullPointerException.class, "name");
        add(c, "builder.add", "null param", k, f -> builder(k).add("x", (float[]) null, f.gw),
                NullPointerException.class, "");
        add(c, "builder.add", "lengths differ", k, f -> builder(k).add("x", f.w, f.gb), iae, "tensor 'x'");
        add(c, "builder.add", "empty tensor", k, f -> builder(k).add("x", new float[0], new float[0]), iae,
                "tensor 'x': is empty");
        add(c, "builder.build", "a name used twice", k, f -> builder(k).lr(1).add("x", f.w, f.gw).add("x", f.b, f.gb)
                .build(), iae, "tensor 'x': the name is used twice");
        add(c, "builder.build", "param is its own grad", k, f -> builder(k).lr(1).add("x", f.w, f.w).build(), iae,
                "storage registered twice");
        add(c, "builder.build", "two tensors share storage", k, f -> builder(k).lr(1).add("x", f.w, f.gw)
                .add("y", f.w, 0, f.gb, 0, 6).build(), iae, "storage registered twice");
        add(c, "builder.build", "no tensors", k, f -> builder(k).lr(1).build(), iae, "no tensors were added");
        add(c, "builder.build", "a rule that matches nothing", k, f -> builder(k).lr(1).add("x", f.w, f.gw)
                .group(NameRule.glob("*.bias"), g -> g.weightDecay(0)).build(), iae, "matched no tensor");
        add(c, "builder.build", "exhaustive rules, a name none matches", k, f -> builder(k).lr(1).add("x", f.w, f.gw)
                .add("y.bias", f.b, f.gb).group(NameRule.glob("*.bias"), g -> g.weightDecay(0)).exhaustiveRules().build(),
                iae, "'x'");
        add(c, "builder.build", "lr as number and schedule", k, f -> builder(k).lr(1).lr(Schedules.constant(1))
                .add("x", f.w, f.gw).build(), iae, "lr is set both as a number and as a schedule");
        add(c, "builder.group", "an empty group", k, f -> builder(k).lr(1).add("x", f.w, f.gw).group(g -> g.lr(2)).build(),
                iae, "group 1: has no tensors");
    }

    private static void optimizerCases(List<Case> c, String k) {
        Class<CheckpointException> ce = CheckpointException.class;
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        NonFinitePolicy p = NonFinitePolicy.THROW;
        Class<? extends Throwable> nf = NonFiniteGradientException.class;
        c.add(new Case("step", "NaN in a gradient", k, p, f -> f.gw[3] = Float.NaN, f -> f.opt.step(), nf, "'w'"));
        c.add(new Case("step", "+Inf in the second group", k, p, f -> f.gb[5] = Float.POSITIVE_INFINITY,
                f -> f.opt.step(), nf, "'b'"));
        c.add(new Case("step", "-Inf at index 0", k, p, f -> f.gw[0] = Float.NEGATIVE_INFINITY, f -> f.opt.step(), nf,
                "'w'"));
        c.add(new Case("group.setLr", "NaN", k, NonFinitePolicy.THROW, NONE, f -> f.opt.group(0).setLr(Double.NaN), iae,
                "group 0: lr must be"));
        c.add(new Case("group.setLr", "-1", k, NonFinitePolicy.THROW, NONE, f -> f.opt.group(1).setLr(-1), iae,
                "group 1: lr must be"));
        c.add(new Case("group.setLr", "+Inf", k, NonFinitePolicy.THROW, NONE,
                f -> f.opt.group(0).setLr(Double.POSITIVE_INFINITY), iae, "lr must be"));
        add(c, "tensor", "an unknown name", k, f -> f.opt.tensor("nope"), iae, "no tensor named 'nope'");
        add(c, "group", "index 7", k, f -> f.opt.group(7), IndexOutOfBoundsException.class, "7");
        add(c, "save", "null", k, f -> f.opt.save(null), NullPointerException.class, "out is null");
        add(c, "load", "null stream", k, f -> f.opt.load(null), NullPointerException.class, "in is null");
        add(c, "load", "null matching", k, f -> f.opt.load(new ByteArrayInputStream(f.checkpoint()), null),
                NullPointerException.class, "matching is null");
        add(c, "load", "an empty stream", k, f -> f.opt.load(new ByteArrayInputStream(new byte[0])), ce,
                "not an sgdsai checkpoint");
        add(c, "load", "100 bytes of garbage", k, f -> {
            byte[] g = new byte[100];
            new java.util.Random(1).nextBytes(g);
            f.opt.load(new ByteArrayInputStream(g));
        }, ce, "not an sgdsai checkpoint");
        add(c, "load", "its own checkpoint cut in half", k, f -> {
            byte[] b = f.checkpoint();
            f.opt.load(new ByteArrayInputStream(Arrays.copyOf(b, b.length / 2)));
        }, ce, "truncated");
        add(c, "load", "its own checkpoint, last byte lost", k, f -> {
            byte[] b = f.checkpoint();
            f.opt.load(new ByteArrayInputStream(Arrays.copyOf(b, b.length - 1)));
        }, ce, "truncated");
        add(c, "load", "a flipped bit in the values", k, f -> {
            byte[] b = f.checkpoint();
            b[b.length - 9] ^= 4;
            f.opt.load(new ByteArrayInputStream(b));
        }, ce, "checksum mismatch");
        add(c, "load", "a flipped bit in the header", k, f -> {
            byte[] b = f.checkpoint();
            b[20] ^= 1;
            f.opt.load(new ByteArrayInputStream(b));
        }, ce, "header checksum mismatch");
        add(c, "load", "version 4", k, f -> {
            byte[] b = f.checkpoint();
            ByteBuffer.wrap(b).putInt(8, 4);
            f.opt.load(new ByteArrayInputStream(b));
        }, ce, "version 4 is not supported");
        add(c, "load", "a header length of 2^31 - 1", k, f -> {
            byte[] b = f.checkpoint();
            ByteBuffer.wrap(b).putInt(12, Integer.MAX_VALUE);
            f.opt.load(new ByteArrayInputStream(b));
        }, ce, "out of range");
        add(c, "load", "trailing bytes", k, f -> {
            byte[] b = f.checkpoint();
            f.opt.load(new ByteArrayInputStream(Arrays.copyOf(b, b.length + 3)));
        }, ce, "trailing bytes");
        add(c, "load", "another optimizer's checkpoint", k, f -> {
            String other = k.equals("adamw") ? "sgd-sai" : "adamw";
            try (Fx o = new Fx(other, NonFinitePolicy.THROW)) {
                f.opt.load(new ByteArrayInputStream(o.checkpoint()));
            }
        }, ce, "optimizer, not " + k);
        add(c, "load", "a checkpoint with a renamed tensor", k, f -> {
            try (Optimizer o = builder(k).lr(0.01).backend("scalar").add("w2", new float[24], new float[24])
                    .group(g -> g.add("b", new float[6], new float[6]).add("late", new float[4], new float[4])).build()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                o.save(out);
                f.opt.load(new ByteArrayInputStream(out.toByteArray()));
            }
        }, ce, "tensor 'w' (24 elements) is missing from the checkpoint (renamed from 'w2'?");
        add(c, "load", "a checkpoint with a resized tensor", k, f -> {
            try (Optimizer o = builder(k).lr(0.01).backend("scalar").add("w", new float[12], new float[12])
                    .group(g -> g.add("b", new float[6], new float[6]).add("late", new float[4], new float[4])).build()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                o.save(out);
                f.opt.load(new ByteArrayInputStream(out.toByteArray()));
            }
        }, ce, "tensor 'w' has 12 elements in the checkpoint but 24 in the optimizer (resized)");
        add(c, "load", "a checkpoint with one group", k, f -> {
            try (Optimizer o = builder(k).lr(0.01).backend("scalar").add("w", new float[24], new float[24]).build()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                o.save(out);
                f.opt.load(new ByteArrayInputStream(out.toByteArray()));
            }
        }, ce, "checkpoint has 1 groups but the optimizer has 2");
        add(c, "step", "after close", k, f -> {
            f.opt.close();
            f.opt.step();
        }, IllegalStateException.class, "closed");
        add(c, "save", "after close", k, f -> {
            f.opt.close();
            f.opt.save(new ByteArrayOutputStream());
        }, IllegalStateException.class, "closed");
        add(c, "load", "after close", k, f -> {
            byte[] b = f.checkpoint();
            f.opt.close();
            f.opt.load(new ByteArrayInputStream(b));
        }, IllegalStateException.class, "closed");
    }

    private static void sgdSaiCases(List<Case> c) {
        String k = "sgd-sai";
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        Action unfreezeLate = f -> f.opt.tensor("late").setFrozen(false);
        for (NonFinitePolicy p : NonFinitePolicy.values()) {
            if (p != NonFinitePolicy.SKIP_STEP) {
                c.add(new Case("step", "a first gradient of constant 1e31 (g-SNR 2e39)", k, p, f -> {
                    unfreezeLate.run(f);
                    Arrays.fill(f.glate, 1e31f);
                }, f -> f.opt.step(), ArithmeticException.class, "tensor 'late': g-SNR overflow"));
                c.add(new Case("step", "a scale times a scheduled-up lr that overflows float", k, p, f -> {
                    unfreezeLate.run(f);
                    Arrays.fill(f.glate, 1f); // g-SNR 2e8: finite, but not times lr 1e31
                    f.opt.group(1).setLr(1e31);
                }, f -> f.opt.step(), ArithmeticException.class, "is not a finite float"));
            }
        }
        c.add(new Case("step", "UNCHECKED, NaN in a first gradient", k, NonFinitePolicy.UNCHECKED, f -> {
            unfreezeLate.run(f);
            f.glate[1] = Float.NaN;
        }, f -> f.opt.step(), ArithmeticException.class, "its first gradient holds NaN or infinite values"));
        add(c, "builder.build", "momentum 1", k, f -> SgdSai.builder().lr(1).momentum(1).add("x", f.w, f.gw).build(), iae, "momentum (beta1) must lie in [0, 1)");
        add(c, "builder.build", "momentum -0.1", k,
                f -> SgdSai.builder().lr(1).momentum(-0.1).add("x", f.w, f.gw).build(), iae, "momentum (beta1) must lie");
        add(c, "builder.scaling", "null", k, f -> SgdSai.builder().scaling(null), NullPointerException.class, "scaling");
        add(c, "SgdSai.gsnr", "an empty gradient", k, f -> SgdSai.gsnr(FloatSpan.of(new float[0]), 1e-8), iae,
                "grad is empty");
        add(c, "SgdSai.gsnr", "null", k, f -> SgdSai.gsnr(null, 1e-8), NullPointerException.class, "grad is null");
        add(c, "SgdSai.gsnr", "eps NaN", k, f -> SgdSai.gsnr(FloatSpan.of(f.gw), Double.NaN), iae, "eps");
        add(c, "presetMoments", "an unknown tensor", k, f -> ((SgdSai) f.opt).presetMoments("nope", 4, 1, 1), iae,
                "no tensor named 'nope'");
        add(c, "presetMoments", "a tensor with its g-SNR", k, f -> ((SgdSai) f.opt).presetMoments("w", 24, 1, 1),
                IllegalStateException.class, "already has its g-SNR");
        add(c, "presetMoments", "n below the length", k, f -> ((SgdSai) f.opt).presetMoments("late", 2, 1, 1), iae,
                "n = 2 is smaller than its length 4");
        add(c, "presetMoments", "moments whose g-SNR overflows float", k,
                f -> ((SgdSai) f.opt).presetMoments("late", 4, 1e90, 0), ArithmeticException.class, "g-SNR overflow");
        add(c, "presetMoments", "NaN moments", k, f -> ((SgdSai) f.opt).presetMoments("late", 4, Double.NaN, 0),
                ArithmeticException.class, "is not finite");
    }

    private static void otherEntryPoints(List<Case> c) {
        String k = "sgd-sai";
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        add(c, "AdamW.build", "beta1 = 1", "adamw", f -> AdamW.builder().lr(1).betas(1, 0.999).add("x", f.w, f.gw).build(), iae, "must lie in [0, 1)");
        add(c, "AdamW.build", "beta2 = 1", "adamw", f -> AdamW.builder().lr(1).betas(0.9, 1).add("x", f.w, f.gw).build(), iae, "beta2 must lie in [0, 1)");
        add(c, "AdamW.build", "beta1 NaN", "adamw",
                f -> AdamW.builder().lr(1).betas(Double.NaN, 0.9).add("x", f.w, f.gw).build(), iae, "must lie");
        add(c, "AdamMini.build", "beta2 = -0.1", "adam-mini",
                f -> AdamMini.builder().lr(1).betas(0.9, -0.1).add("x", f.w, f.gw).build(), iae,
                "beta2 must lie");
        add(c, "AdamMini.partition", "a tensor not added", "adam-mini", f -> AdamMini.builder().lr(1)
                .add("w", f.w, f.gw).partition("v", AdamMini.Partition.whole()).build(), iae, "'v', which was not added");
        add(c, "AdamMini.partition", "rows that do not divide", "adam-mini", f -> AdamMini.builder().lr(1)
                .add("w", f.w, f.gw).partition("w", AdamMini.Partition.perRow(5)).build(), iae, "does not divide");
        add(c, "AdamMini.Partition.perRow", "0", "adam-mini", f -> AdamMini.Partition.perRow(0), iae, "row length >= 1");
        add(c, "AdamMini.modelShape", "0 heads", "adam-mini", f -> AdamMini.builder().modelShape(8, 0), iae,
                "dim and heads must be >= 1");
        add(c, "FloatSpan.of", "null", k, f -> FloatSpan.of((float[]) null), NullPointerException.class, "array is null");
        add(c, "FloatSpan.of", "offset -1", k, f -> FloatSpan.of(f.w, -1, 2), iae, "does not lie inside");
        add(c, "FloatSpan.of", "a range past the end", k, f -> FloatSpan.of(f.w, 20, 5), iae, "does not lie inside");
        add(c, "NameRule.glob", "a pattern as the label", k, f -> NameRule.glob("*.bias", "*.b"), iae,
                "looks like a pattern");
        add(c, "NameRule.glob", "a blank label", k, f -> NameRule.glob(" ", "*"), iae, "rule label is blank");
        add(c, "NameRule.glob", "an empty pattern", k, f -> NameRule.glob(""), iae, "empty");
        add(c, "NameRule.regex", "an unclosed group", k, f -> NameRule.regex("r", "("), iae, "regex does not compile");
        add(c, "Schedules.warmupCosine", "warm-up longer than the run", k, f -> Schedules.warmupCosine(1, 10, 5), iae,
                "warm");
        add(c, "Schedules.cosine", "0 steps", k, f -> Schedules.cosine(1, 0, 0), iae, "");
        add(c, "Schedules.multiStepDecay", "repeated milestones", k, f -> Schedules.multiStepDecay(1, 0.1, 5, 5), iae,
                "increasing");
        add(c, "Schedules.linear", "NaN start", k, f -> Schedules.linear(Double.NaN, 0, 10), iae, "");
        add(c, "step", "a schedule that yields NaN at step 2", k, f -> {
            float[] x = {1, 2, 3}, gx = {0.5f, -1, 2};
            try (SgdSai o = SgdSai.builder().lr(s -> s == 2 ? Double.NaN : 0.1).backend("scalar").add("x", x, gx).build()) {
                o.step();
                o.step();
                float[] before = x.clone();
                try {
                    o.step();
                } finally {
                    assertArrayEquals(before, x);
                    assertEquals(2, o.steps());
                }
            }
        }, iae, "lr schedule at step 2");
    }

    @TestFactory
    Stream<DynamicTest> everyBadInputIsRefusedAndChangesNothing() {
        return cases().stream().map(cs -> DynamicTest.dynamicTest(cs.toString(), () -> {
            try (Fx f = new Fx(cs.kind(), cs.policy())) {
                cs.setup().run(f);
                Snapshot before = Snapshot.of(f);
                Throwable t = assertThrows(cs.expected(), () -> cs.call().run(f));
                String m = Objects.toString(t.getMessage(), "");
                assertTrue(m.contains(cs.fragment()), () -> "'" + m + "' lacks '" + cs.fragment() + "'");
                before.assertSame(Snapshot.of(f));
            }
        }));
    }

    @Test
    void theTableHasTheCountTheReadmeQuotes() {
        assertEquals(COUNT, cases().size());
    }
}
