// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.schedule;

import org.junit.jupiter.api.Test;

import static io.github.sgdsai.schedule.SchedulesTest.rel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link OneCycle} against torch {@code OneCycleLR.get_lr()}, written out again here. */
class OneCycleTest {

    /** torch OneCycleLR.get_lr() for one step; {@code momentum} selects the momentum instead of the lr. */
    static double torch(long step, double maxLr, long total, double pct, boolean cos, double div, double finalDiv,
                        boolean three, double baseM, double maxM, boolean momentum) {
        double initial = maxLr / div;
        double min = initial / finalDiv;
        double[][] phases; // {end_step, start_lr, end_lr, start_momentum, end_momentum}
        if (three) {
            phases = new double[][] {
                    {pct * total - 1, initial, maxLr, maxM, baseM},
                    {2 * pct * total - 2, maxLr, initial, baseM, maxM},
                    {total - 1.0, initial, min, maxM, maxM}};
        } else {
            phases = new double[][] {
                    {pct * total - 1, initial, maxLr, maxM, baseM},
                    {total - 1.0, maxLr, min, baseM, maxM}};
        }
        double start = 0;
        for (int i = 0; i < phases.length; i++) {
            double end = phases[i][0];
            if (step <= end || i == phases.length - 1) {
                double p = (step - start) / (end - start);
                double a = momentum ? phases[i][3] : phases[i][1];
                double b = momentum ? phases[i][4] : phases[i][2];
                if (cos) {
                    double cosOut = Math.cos(Math.PI * p) + 1; // _annealing_cos
                    return b + (a - b) / 2.0 * cosOut;
                }
                return (b - a) * p + a; // _annealing_linear
            }
            start = end;
        }
        throw new AssertionError();
    }

    @Test
    void matchesTorchInEveryVariant() {
        for (long total : new long[] {10, 100, 1001}) {
            for (double pct : new double[] {0.3, 0.25, 0.4}) {
                for (boolean three : new boolean[] {false, true}) {
                    for (OneCycle.Anneal anneal : OneCycle.Anneal.values()) {
                        boolean cos = anneal == OneCycle.Anneal.COS;
                        OneCycle oc = OneCycle.builder(0.1, total).pctStart(pct).threePhase(three).anneal(anneal).build();
                        for (long t = 0; t < total - 1; t++) {
                            String what = oc + " at " + t;
                            rel(torch(t, 0.1, total, pct, cos, 25, 1e4, three, 0.85, 0.95, false), oc.lr().at(t), what);
                            rel(torch(t, 0.1, total, pct, cos, 25, 1e4, three, 0.85, 0.95, true), oc.momentum().at(t), what);
                        }
                        double min = 0.1 / 25 / 1e4;
                        // torch's linear anneal, (b - a) * 1 + a, rounds b = min relative to a = maxLr
                        SchedulesTest.close(torch(total - 1, 0.1, total, pct, cos, 25, 1e4, three, 0.85, 0.95, false), min,
                                0.1, "torch ends at min");
                        for (long t : new long[] {total - 1, total, 10 * total, Long.MAX_VALUE}) {
                            assertEquals(min, oc.lr().at(t), "lr from the last step on");
                            assertEquals(0.95, oc.momentum().at(t), "momentum from the last step on");
                        }
                    }
                }
            }
        }
    }

    @Test
    void customSettingsMatchTorch() {
        OneCycle oc = OneCycle.builder(2.0, 57).pctStart(0.2).divFactor(10).finalDivFactor(100).momentum(0.8, 0.99)
                .threePhase(true).build();
        for (long t = 0; t < 56; t++) {
            rel(torch(t, 2.0, 57, 0.2, true, 10, 100, true, 0.8, 0.99, false), oc.lr().at(t), "lr at " + t);
            rel(torch(t, 2.0, 57, 0.2, true, 10, 100, true, 0.8, 0.99, true), oc.momentum().at(t), "momentum at " + t);
        }
    }

    @Test
    void boundaries() {
        OneCycle oc = OneCycle.builder(0.1, 100).build(); // phase 1 ends at step 29, the last at 99
        rel(0.1 / 25, oc.lr().at(0), "initial lr");
        assertEquals(0.95, oc.momentum().at(0));
        rel(0.1, oc.lr().at(29), "peak at pctStart * total - 1");
        rel(0.85, oc.momentum().at(29), "momentum lowest at the peak");
        assertTrue(oc.lr().at(28) < 0.1 && oc.lr().at(30) < 0.1);
        assertEquals(0.1 / 25 / 1e4, oc.lr().at(99));
        // torch at step total gives a value past the end of the anneal (and raises beyond); here the end holds
        double torchAtTotal = torch(100, 0.1, 100, 0.3, true, 25, 1e4, false, 0.85, 0.95, false);
        assertTrue(torchAtTotal > 0.1 / 25 / 1e4);
        assertEquals(0.1 / 25 / 1e4, oc.lr().at(100));

        OneCycle three = OneCycle.builder(0.1, 100).threePhase(true).build(); // ends 29, 58, 99
        rel(0.1, three.lr().at(29), "three-phase peak");
        rel(0.1 / 25, three.lr().at(58), "back at the initial lr");
        rel(0.95, three.momentum().at(58), "momentum back up");
        assertEquals(0.95, three.momentum().at(80));
    }

    @Test
    void rejectsBadSettingsNamingThem() {
        ScheduleValidationTest.rejected("maxLr must be a finite number >= 0, got -1.0", () -> OneCycle.builder(-1, 100).build());
        ScheduleValidationTest.rejected("maxLr must be a finite number >= 0, got NaN", () -> OneCycle.builder(Double.NaN, 100).build());
        ScheduleValidationTest.rejected("totalSteps must be >= 2, got 1", () -> OneCycle.builder(1, 1).build());
        ScheduleValidationTest.rejected("pctStart must lie in (0, 1), got 0.0", () -> OneCycle.builder(1, 100).pctStart(0).build());
        ScheduleValidationTest.rejected("pctStart must lie in (0, 1), got 1.0", () -> OneCycle.builder(1, 100).pctStart(1).build());
        ScheduleValidationTest.rejected("pctStart must lie in (0, 1), got NaN", () -> OneCycle.builder(1, 100).pctStart(Double.NaN).build());
        ScheduleValidationTest.rejected("divFactor must be a finite number > 0, got 0.0", () -> OneCycle.builder(1, 100).divFactor(0).build());
        ScheduleValidationTest.rejected("finalDivFactor must be a finite number > 0, got Infinity",
                () -> OneCycle.builder(1, 100).finalDivFactor(Double.POSITIVE_INFINITY).build());
        ScheduleValidationTest.rejected("baseMomentum must lie in [0, 1), got 1.0", () -> OneCycle.builder(1, 100).momentum(1, 0.9).build());
        ScheduleValidationTest.rejected("maxMomentum must lie in [0, 1), got -0.1", () -> OneCycle.builder(1, 100).momentum(0.8, -0.1).build());
        // zero-length phases: pctStart * total - 1 must be > 0, and the later phases need steps too
        ScheduleValidationTest.rejected("leaves phase 1 of 2 no steps", () -> OneCycle.builder(1, 3).pctStart(0.3).build());
        ScheduleValidationTest.rejected("and threePhase leaves phase 1 of 3 no steps",
                () -> OneCycle.builder(1, 3).pctStart(0.3).threePhase(true).build());
        ScheduleValidationTest.rejected("and threePhase leaves phase 3 of 3 no steps",
                () -> OneCycle.builder(1, 100).pctStart(0.6).threePhase(true).build());
        assertThrows(NullPointerException.class, () -> OneCycle.builder(1, 100).anneal(null));
        ScheduleValidationTest.rejected("step must be >= 0, got -1", () -> OneCycle.builder(1, 100).build().lr().at(-1));
    }
}
