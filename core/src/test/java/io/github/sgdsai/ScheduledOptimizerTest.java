// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.schedule.OneCycle;
import io.github.sgdsai.schedule.Schedule;
import io.github.sgdsai.schedule.Schedules;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Schedules and name rules on every optimizer: scheduled = hand-set, resumable, validated. */
class ScheduledOptimizerTest {

    /** Which optimizer; each builds a two-group model (weights; biases without decay). */
    enum Opt {
        SGD_SAI, ADAMW, ADAM_MINI;

        Optimizer build(float[][] p, float[][] g, Schedule lr, Schedule mu, Double fixedLr, Double fixedMu,
                        String backend, double clip) {
            Function<Optimizer.Builder<?, ?, ?>, Optimizer> finish = b -> {
                b.backend(backend);
                if (clip > 0) {
                    b.clipGradNorm(clip);
                }
                return b.build();
            };
            return switch (this) {
                case SGD_SAI -> {
                    SgdSai.Builder b = SgdSai.builder().weightDecay(0.1);
                    if (lr != null) b.lr(lr); else b.lr(fixedLr);
                    if (mu != null) b.momentum(mu); else b.momentum(fixedMu);
                    b.add("w", p[0], g[0]).add("h.0.mlp.bias", p[1], g[1]).add("ln_f.weight", p[2], g[2]);
                    b.group(NameRule.biasesAndNorms(), gr -> gr.weightDecay(0));
                    yield finish.apply(b);
                }
                case ADAMW -> {
                    AdamW.Builder b = AdamW.builder().weightDecay(0.1);
                    if (lr != null) b.lr(lr); else b.lr(fixedLr);
                    if (mu != null) b.beta1(mu); else b.betas(fixedMu, 0.999);
                    b.add("w", p[0], g[0]).add("h.0.mlp.bias", p[1], g[1]).add("ln_f.weight", p[2], g[2]);
                    b.group(NameRule.biasesAndNorms(), gr -> gr.weightDecay(0));
                    yield finish.apply(b);
                }
                case ADAM_MINI -> {
                    AdamMini.Builder b = AdamMini.builder().weightDecay(0.1).partition("w", AdamMini.Partition.perRow(8));
                    if (lr != null) b.lr(lr); else b.lr(fixedLr);
                    if (mu != null) b.beta1(mu); else b.betas(fixedMu, 0.999);
                    b.add("w", p[0], g[0]).add("h.0.mlp.bias", p[1], g[1]).add("ln_f.weight", p[2], g[2]);
                    b.group(NameRule.biasesAndNorms(), gr -> gr.weightDecay(0));
                    yield finish.apply(b);
                }
            };
        }
    }

    private static float[][] model(long seed) {
        Random r = new Random(seed);
        float[][] p = {new float[64], new float[8], new float[8]};
        for (float[] a : p) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
        }
        return p;
    }

    private static void fillGrads(float[][] g, int k) {
        Random r = new Random(1000 + k);
        for (float[] a : g) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (r.nextGaussian() * (1 + k % 3));
            }
        }
    }

    private static float[][] grads() {
        return new float[][] {new float[64], new float[8], new float[8]};
    }

    static final Schedule LR = Schedules.warmupCosine(0.05, 5, 20);
    static final Schedule MU = OneCycle.builder(0.05, 20).build().momentum();

    @ParameterizedTest
    @EnumSource(Opt.class)
    void aScheduledRunEqualsSetLrByHandBitForBit(Opt opt) {
        for (double clip : new double[] {0, 0.5}) {
            float[][] pa = model(1), pb = model(1), ga = grads(), gb = grads();
            try (Optimizer a = opt.build(pa, ga, LR, MU, null, null, "scalar", clip);
                 Optimizer b = opt.build(pb, gb, null, null, LR.at(0), MU.at(0), "scalar", clip)) {
                assertEquals(2, a.groups().size(), "biases and the final norm routed to their own group");
                assertEquals(0.0, a.group(1).weightDecay());
                assertEquals(List.of("h.0.mlp.bias", "ln_f.weight"),
                        a.group(1).tensors().stream().map(Optimizer.Tensor::name).toList());
                for (int k = 0; k < 20; k++) {
                    fillGrads(ga, k);
                    fillGrads(gb, k);
                    for (Optimizer.Group g : b.groups()) {
                        g.setLr(LR.at(k));
                        g.momentum = MU.at(k); // by hand, as a user's loop would through a setter
                    }
                    a.step();
                    b.step();
                    assertEquals(LR.at(k), a.group(0).lr(), "lr used at step " + k);
                    for (int t = 0; t < 3; t++) {
                        assertArrayEquals(pb[t], pa[t], opt + " clip " + clip + " step " + k + " tensor " + t);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Opt.class)
    void aRunResumedMidWarmupContinuesExactly(Opt opt) throws IOException {
        float[][] pa = model(2), pb = model(2), ga = grads(), gb = grads();
        try (Optimizer straight = opt.build(pa, ga, LR, MU, null, null, "scalar", 1.0)) {
            for (int k = 0; k < 12; k++) {
                fillGrads(ga, k);
                straight.step();
            }
        }
        byte[] ckpt;
        try (Optimizer first = opt.build(pb, gb, LR, MU, null, null, "scalar", 1.0)) {
            for (int k = 0; k < 3; k++) { // stops inside the 5-step warm-up
                fillGrads(gb, k);
                first.step();
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            first.save(out);
            ckpt = out.toByteArray();
        }
        try (Optimizer resumed = opt.build(pb, gb, LR, MU, null, null, "scalar", 1.0)) {
            resumed.load(new ByteArrayInputStream(ckpt));
            assertEquals(3, resumed.steps());
            for (int k = 3; k < 12; k++) {
                fillGrads(gb, k);
                resumed.step();
            }
        }
        for (int t = 0; t < 3; t++) {
            assertArrayEquals(pa[t], pb[t], opt + " tensor " + t);
        }
    }

    @Test
    void aScheduleYieldingABadValueIsRejectedAtTheStepNamingGroupAndStepWithNothingChanged() {
        float[] w = {1, 2, 3}, g = {0.1f, -0.2f, 0.3f};
        Schedule bad = step -> step < 2 ? 0.1 : Double.NaN;
        try (AdamW opt = AdamW.builder().lr(bad).backend("scalar").add("w", w, g).build()) {
            opt.step();
            opt.step();
            float[] before = w.clone();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, opt::step);
            assertTrue(e.getMessage().contains("group 0 lr schedule at step 2"), e.getMessage());
            assertArrayEquals(before, w);
            assertEquals(2, opt.steps());
        }
        IllegalArgumentException atBuild = assertThrows(IllegalArgumentException.class,
                () -> SgdSai.builder().lr(step -> -1).add("w", w, g).build());
        assertTrue(atBuild.getMessage().contains("group 0 lr schedule at step 0"), atBuild.getMessage());
        IllegalArgumentException mu = assertThrows(IllegalArgumentException.class,
                () -> SgdSai.builder().lr(0.1).momentum(step -> 1.0).add("w", w, g).build());
        assertTrue(mu.getMessage().contains("momentum schedule at step 0"), mu.getMessage());
    }

    @Test
    void aGroupHasAFixedLrOrAScheduleNeverBoth() {
        float[] w = {1, 2, 3}, g = {0.1f, -0.2f, 0.3f};
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
                () -> SgdSai.builder().lr(0.1).lr(LR).add("w", w, g).build());
        assertTrue(both.getMessage().contains("lr is set both as a number and as a schedule"), both.getMessage());
        try (SgdSai opt = SgdSai.builder().lr(LR).add("w", w, g).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> opt.group(0).setLr(0.1));
            assertTrue(e.getMessage().contains("follows a schedule"), e.getMessage());
            assertEquals(LR.at(0), opt.group(0).lr());
        }
    }

    @Test
    void aSkippedStepDoesNotAdvanceTheSchedule() {
        float[] w = {1, 2, 3}, g = {0.1f, -0.2f, 0.3f};
        try (SgdSai opt = SgdSai.builder().lr(LR).nonFinite(NonFinitePolicy.SKIP_STEP).backend("scalar")
                .add("w", w, g).build()) {
            opt.step();
            g[1] = Float.NaN;
            assertEquals(false, opt.step());
            g[1] = 0.5f;
            opt.step();
            assertEquals(2, opt.steps());
            assertEquals(LR.at(1), opt.group(0).lr(), "the second applied step used the schedule at step 1");
        }
    }

    @Test
    void nameRulesRouteGpt2NamesAndReportConflictsAndMisses() {
        String[] names = {"transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight",
                "transformer.h.0.ln_1.bias", "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias",
                "transformer.h.0.mlp.c_fc.weight", "transformer.ln_f.weight"};
        SgdSai.Builder b = SgdSai.builder().lr(0.1);
        for (String n : names) {
            b.add(n, new float[4], new float[4]);
        }
        b.group(NameRule.biasesAndNorms(), g -> g.weightDecay(0));
        try (SgdSai opt = b.build()) {
            assertEquals(List.of("transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.attn.c_attn.weight",
                    "transformer.h.0.mlp.c_fc.weight"), opt.group(0).tensors().stream().map(Optimizer.Tensor::name).toList());
            assertEquals(4, opt.group(1).tensors().size());
        }
        b.group(NameRule.glob("norms", "*ln_*"), g -> g.weightDecay(0.5));
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(twice.getMessage().contains("transformer.h.0.ln_1.weight"), twice.getMessage());
        SgdSai.Builder c = SgdSai.builder().lr(0.1).add("0_W", new float[4], new float[4]).add("0_b", new float[2], new float[2])
                .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)).exhaustiveRules();
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, c::build);
        assertTrue(none.getMessage().contains("'0_W'"), none.getMessage());
    }
}
