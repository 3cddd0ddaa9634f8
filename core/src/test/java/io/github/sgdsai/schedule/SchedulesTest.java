// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.schedule;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.LongToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every built-in against its published formula, written out again here in double (optax's and Hugging Face's
 * closed forms as they write them, torch's recursive "chainable" forms as loops), at step 0, the phase
 * boundaries, the last step and past the end.
 */
class SchedulesTest {

    static final double REL = 1e-12;

    /** |actual - expected| ≤ 1e-12 · max(|expected|, scale): relative, with scale guarding values near 0. */
    static void close(double expected, double actual, double scale, String what) {
        double tol = REL * Math.max(Math.abs(expected), scale);
        if (!(Math.abs(actual - expected) <= tol)) {
            fail(what + ": expected " + expected + " but got " + actual + " (diff " + Math.abs(actual - expected) + ")");
        }
    }

    /** Strictly relative 1e-12 (exact when expected is 0). */
    static void rel(double expected, double actual, String what) {
        close(expected, actual, 0, what);
    }

    static void agree(LongToDoubleFunction reference, Schedule s, long to, String what) {
        for (long t = 0; t <= to; t++) {
            rel(reference.applyAsDouble(t), s.at(t), what + " at step " + t);
        }
    }

    @Test
    void constant() {
        Schedule s = Schedules.constant(0.25);
        assertEquals(0.25, s.at(0));
        assertEquals(0.25, s.at(1_000_000_000_000L));
        assertEquals(0.25, s.at(Long.MAX_VALUE));
        assertEquals(0.0, Schedules.constant(0).at(7));
    }

    @Test
    void linearFollowsOptaxLinearSchedule() {
        double init = 0.01;
        double end = 0.1;
        long n = 37;
        // optax: count = clip(t, 0, n); frac = 1 - count / n; (init - end) * frac + end
        LongToDoubleFunction optax = t -> {
            double count = Math.min(t, n);
            double frac = 1 - count / n;
            return (init - end) * frac + end;
        };
        Schedule s = Schedules.linear(init, end, n);
        agree(optax, s, n + 10, "linear");
        assertEquals(init, s.at(0));
        assertEquals(end, s.at(n));
        assertEquals(end, s.at(Long.MAX_VALUE));
        // decreasing too, and from 0 (a warm-up)
        agree(t -> 1 - Math.min(t, 8) / 8.0, Schedules.linear(1, 0, 8), 20, "linear down");
        agree(t -> 0.5 * Math.min(t, 4) / 4.0, Schedules.linear(0, 0.5, 4), 20, "linear from 0");
    }

    @Test
    void linearFactorMatchesTorchLinearLrRecursiveForm() {
        double base = 0.05;
        for (double[] f : new double[][] {{1.0 / 3, 1.0}, {0.5, 1.0}, {1.0, 0.1}, {0.25, 0.75}}) {
            double s = f[0];
            double e = f[1];
            long n = 25;
            Schedule sch = Schedules.linearFactor(base, s, e, n);
            // torch LinearLR.get_lr(): at 0 lr = base * s; for 1 <= t <= n:
            // lr *= 1 + (e - s) / (n * s + (t - 1) * (e - s)); afterwards unchanged
            double lr = base * s;
            for (long t = 0; t <= n + 10; t++) {
                if (t >= 1 && t <= n) {
                    lr = lr * (1.0 + (e - s) / (n * s + (t - 1) * (e - s)));
                }
                close(lr, sch.at(t), base, "LinearLR(" + s + ", " + e + ") at " + t);
                // and torch's closed form base * (s + (e - s) * min(n, t) / n)
                rel(base * (s + (e - s) * Math.min(n, t) / n), sch.at(t), "LinearLR closed form at " + t);
            }
        }
        // relaxed: a start factor of exactly 0 (torch requires > 0)
        Schedule fromZero = Schedules.linearFactor(0.1, 0, 1, 10);
        assertEquals(0.0, fromZero.at(0));
        rel(0.1, fromZero.at(10), "end");
    }

    @Test
    void cosineClosedFormAgreesWithTorchRecursiveFormUpToT() {
        for (double floor : new double[] {0, 0.001, 0.2}) {
            for (long tMax : new long[] {1, 7, 100, 1000}) {
                double base = 0.1;
                Schedule s = Schedules.cosine(base, tMax, floor);
                // torch CosineAnnealingLR.get_lr(), the chainable form, for 1 <= t <= T_max
                // ((t - 1 - T_max) % (2 T_max) == 0 only at t = T_max + 1):
                // lr_t = (1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T)) * (lr_{t-1} - eta_min) + eta_min
                double lr = base;
                assertEquals(base, s.at(0));
                for (long t = 1; t <= tMax; t++) {
                    lr = (1 + Math.cos(Math.PI * t / tMax)) / (1 + Math.cos(Math.PI * (t - 1) / tMax)) * (lr - floor) + floor;
                    close(lr, s.at(t), base, "cosine T=" + tMax + " floor=" + floor + " recursive at " + t);
                    // torch's closed form _get_closed_form_lr
                    double closed = floor + (base - floor) * (1 + Math.cos(Math.PI * t / tMax)) / 2;
                    rel(closed, s.at(t), "cosine closed form at " + t);
                }
                assertEquals(floor, s.at(tMax));
                // past T: stays at the floor, where torch's closed form climbs back up
                for (long t = tMax; t <= 3 * tMax; t++) {
                    assertEquals(floor, s.at(t));
                }
                double torchPast = floor + (base - floor) * (1 + Math.cos(Math.PI * (tMax + tMax / 2 + 1) / tMax)) / 2;
                assertNotEquals(floor, torchPast, "torch's closed form past T_max leaves the floor");
            }
        }
        // rising half-cosine when the floor exceeds the initial value
        Schedule up = Schedules.cosine(0.01, 10, 0.1);
        agree(t -> 0.1 + (0.01 - 0.1) * (1 + Math.cos(Math.PI * Math.min(t, 10) / 10)) / 2, up, 20, "rising cosine");
    }

    @Test
    void cosineDecayFollowsOptax() {
        double init = 0.3;
        long n = 50;
        for (double alpha : new double[] {0, 0.1, 1}) {
            // optax: count = min(step, decay_steps); cosine_decay = 0.5 * (1 + cos(pi * count / decay_steps))
            //        decayed = (1 - alpha) * cosine_decay ** exponent + alpha; return init_value * decayed
            LongToDoubleFunction optax = t -> {
                double count = Math.min(t, n);
                double c = 0.5 * (1 + Math.cos(Math.PI * count / n));
                return init * ((1 - alpha) * c + alpha);
            };
            Schedule s = Schedules.cosineDecay(init, n, alpha);
            for (long t = 0; t <= 2 * n; t++) {
                close(optax.applyAsDouble(t), s.at(t), init * 1e-3, "cosineDecay alpha=" + alpha + " at " + t);
            }
            rel(init, s.at(0), "start");
            rel(alpha * init, s.at(n), "end");
            rel(alpha * init, s.at(Long.MAX_VALUE), "past the end");
            // same as cosine with an absolute floor
            Schedule c = Schedules.cosine(init, n, alpha * init);
            for (long t = 0; t <= 2 * n; t++) {
                close(c.at(t), s.at(t), init, "cosineDecay vs cosine at " + t);
            }
        }
    }

    @Test
    void warmupCosineDecayFollowsOptax() {
        double init = 1e-5;
        double peak = 3e-4;
        double end = 3e-5;
        long w = 20;
        long decaySteps = 120;
        // optax.warmup_cosine_decay_schedule: join_schedules([linear_schedule(init, peak, w),
        //   cosine_decay_schedule(peak, decay_steps - w, alpha=end/peak)], [w])
        LongToDoubleFunction optax = t -> {
            if (t < w) {
                double frac = 1 - (double) Math.min(t, w) / w;
                return (init - peak) * frac + peak;
            }
            long u = t - w;
            long d = decaySteps - w;
            double alpha = end / peak;
            double c = 0.5 * (1 + Math.cos(Math.PI * Math.min(u, d) / d));
            return peak * ((1 - alpha) * c + alpha);
        };
        Schedule s = Schedules.warmupCosineDecay(init, peak, w, decaySteps, end);
        agree(optax, s, decaySteps + 50, "warmupCosineDecay");
        assertEquals(init, s.at(0));
        rel(peak, s.at(w), "peak at the end of warm-up");
        rel(init + (peak - init) * (w - 1) / w, s.at(w - 1), "last warm-up step");
        assertEquals(end, s.at(decaySteps));
        assertEquals(end, s.at(decaySteps + 1_000_000));
        // no warm-up: the cosine from step 0
        Schedule noWarmup = Schedules.warmupCosineDecay(0, peak, 0, 100, 0);
        assertEquals(peak, noWarmup.at(0));
        agree(t -> peak * 0.5 * (1 + Math.cos(Math.PI * Math.min(t, 100) / 100)), noWarmup, 150, "no warm-up");
        // peak 0 is allowed (optax would divide by it)
        assertEquals(0.0, Schedules.warmupCosineDecay(0, 0, 5, 10, 0).at(7));
    }

    @Test
    void warmupCosineFollowsHuggingFaceAndStopsAtTheEnd() {
        double peak = 5e-4;
        long w = 100;
        long n = 1000;
        // transformers.get_cosine_schedule_with_warmup(num_warmup_steps=w, num_training_steps=n, num_cycles=0.5)
        LongToDoubleFunction hf = t -> {
            if (t < w) {
                return peak * ((double) t / Math.max(1, w));
            }
            double progress = (double) (t - w) / Math.max(1, n - w);
            return peak * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
        };
        Schedule s = Schedules.warmupCosine(peak, w, n);
        for (long t = 0; t <= n; t++) {
            close(hf.applyAsDouble(t), s.at(t), peak * 1e-3, "HF cosine with warm-up at " + t);
        }
        assertEquals(0.0, s.at(0));
        rel(peak * 99 / 100, s.at(99), "last warm-up step");
        rel(peak, s.at(100), "peak");
        assertEquals(0.0, s.at(n));
        // past the end Hugging Face climbs back up; here it stays at 0
        assertTrue(hf.applyAsDouble(n + 450) > 0.4 * peak);
        assertEquals(0.0, s.at(n + 450));
        assertEquals(0.0, s.at(Long.MAX_VALUE));
        // one readable line with a floor: the same as cosine(..).withWarmup(..)
        Schedule withFloor = Schedules.warmupCosine(peak, w, n, 1e-5);
        Schedule composed = Schedules.cosine(peak, n - w, 1e-5).withWarmup(w);
        for (long t = 0; t <= n + 10; t++) {
            assertEquals(composed.at(t), withFloor.at(t));
        }
        assertEquals(1e-5, withFloor.at(n));
        // no warm-up
        assertEquals(peak, Schedules.warmupCosine(peak, 0, n).at(0));
    }

    @Test
    void stepDecayMatchesTorchStepLrRecursiveForm() {
        double base = 0.1;
        for (long size : new long[] {1, 3, 30}) {
            for (double gamma : new double[] {0.1, 0.5, 0.9, 1.5}) {
                Schedule s = Schedules.stepDecay(base, size, gamma);
                // torch StepLR.get_lr(): if last_epoch == 0 or last_epoch % step_size != 0: unchanged; else lr * gamma
                double lr = base;
                for (long t = 0; t <= 200; t++) {
                    if (t != 0 && t % size == 0) {
                        lr *= gamma;
                    }
                    rel(lr, s.at(t), "StepLR(" + size + ", " + gamma + ") at " + t);
                }
            }
        }
        Schedule s = Schedules.stepDecay(1, 10, 0.5);
        assertEquals(1.0, s.at(9));
        assertEquals(0.5, s.at(10));
        assertEquals(0.25, s.at(20));
    }

    @Test
    void multiStepDecayMatchesTorchMultiStepLrRecursiveForm() {
        double base = 0.2;
        long[] milestones = {5, 6, 30, 80};
        for (double gamma : new double[] {0.1, 0.3, 2}) {
            Schedule s = Schedules.multiStepDecay(base, gamma, milestones);
            // torch MultiStepLR.get_lr(): if last_epoch not in milestones: unchanged; else lr * gamma ** count
            double lr = base;
            for (long t = 0; t <= 120; t++) {
                for (long m : milestones) {
                    if (m == t) {
                        lr *= gamma;
                    }
                }
                rel(lr, s.at(t), "MultiStepLR gamma=" + gamma + " at " + t);
            }
        }
        Schedule s = Schedules.multiStepDecay(1, 0.1, 10);
        assertEquals(1.0, s.at(9));
        rel(0.1, s.at(10), "at the milestone");
        rel(0.1, s.at(Long.MAX_VALUE), "past");
        // the milestone array is copied
        long[] ms = {3};
        Schedule copy = Schedules.multiStepDecay(1, 0.5, ms);
        ms[0] = 100;
        assertEquals(0.5, copy.at(3));
    }

    @Test
    void exponentialMatchesTorchExponentialLrRecursiveForm() {
        double base = 0.01;
        for (double gamma : new double[] {0.9, 0.99, 0.999, 1.001}) {
            Schedule s = Schedules.exponential(base, gamma);
            double lr = base;
            for (long t = 0; t <= 1000; t++) {
                if (t > 0) {
                    lr *= gamma; // torch ExponentialLR.get_lr()
                }
                rel(lr, s.at(t), "ExponentialLR(" + gamma + ") at " + t);
            }
        }
        // far out it underflows to 0, never negative
        assertEquals(0.0, Schedules.exponential(1, 0.5).at(10_000));
    }

    @Test
    void exponentialDecayFollowsOptax() {
        double init = 0.1;
        long n = 7;
        for (boolean staircase : new boolean[] {false, true}) {
            for (double rate : new double[] {0.5, 0.96, 1.1}) {
                // optax.exponential_decay: p = count / transition_steps; floor(p) if staircase;
                // decayed = init * rate ** p; clip with end_value (max if rate < 1, else min)
                LongToDoubleFunction optax = t -> {
                    double p = (double) t / n;
                    if (staircase) {
                        p = Math.floor(p);
                    }
                    return init * Math.pow(rate, p);
                };
                agree(optax, Schedules.exponentialDecay(init, n, rate, staircase), 100,
                        "exponentialDecay rate=" + rate + " staircase=" + staircase);
                double bound = rate < 1 ? 0.02 : 0.2;
                LongToDoubleFunction bounded = t -> rate < 1 ? Math.max(optax.applyAsDouble(t), bound)
                        : Math.min(optax.applyAsDouble(t), bound);
                agree(bounded, Schedules.exponentialDecay(init, n, rate, staircase, bound), 100,
                        "exponentialDecay with end value, rate=" + rate);
            }
        }
        Schedule stairs = Schedules.exponentialDecay(1, 10, 0.5, true);
        assertEquals(1.0, stairs.at(9));
        assertEquals(0.5, stairs.at(10));
        Schedule floored = Schedules.exponentialDecay(1, 1, 0.5, false, 0.1);
        assertEquals(0.125, floored.at(3));
        assertEquals(0.1, floored.at(4));
        assertEquals(0.1, floored.at(Long.MAX_VALUE));
    }

    @Test
    void polynomialMatchesTorchPolynomialLrBothForms() {
        double base = 0.4;
        long tMax = 40;
        for (double power : new double[] {0.5, 1, 2, 3.5}) {
            Schedule s = Schedules.polynomial(base, tMax, power);
            // torch PolynomialLR.get_lr(): if last_epoch == 0 or last_epoch > total_iters: unchanged; else
            // lr * ((1 - t / T) / (1 - (t - 1) / T)) ** power
            double lr = base;
            for (long t = 0; t <= tMax + 20; t++) {
                if (t != 0 && t <= tMax) {
                    lr = lr * Math.pow((1.0 - (double) t / tMax) / (1.0 - (double) (t - 1) / tMax), power);
                }
                close(lr, s.at(t), base, "PolynomialLR power=" + power + " recursive at " + t);
                // torch's closed form: base * (1 - min(total_iters, t) / total_iters) ** power
                rel(base * Math.pow(1.0 - (double) Math.min(tMax, t) / tMax, power), s.at(t), "closed form at " + t);
            }
            assertEquals(base, s.at(0));
            assertEquals(0.0, s.at(tMax));
            assertEquals(0.0, s.at(Long.MAX_VALUE));
        }
    }

    @Test
    void polynomialDecayFollowsOptax() {
        double init = 0.1;
        double end = 0.001;
        long n = 33;
        for (double power : new double[] {0.5, 1, 2}) {
            // optax.polynomial_schedule: count = clip(t, 0, n); frac = 1 - count / n;
            // (init - end) * frac ** power + end
            LongToDoubleFunction optax = t -> {
                double frac = 1 - (double) Math.min(t, n) / n;
                return (init - end) * Math.pow(frac, power) + end;
            };
            Schedule s = Schedules.polynomialDecay(init, end, power, n);
            agree(optax, s, n + 20, "polynomialDecay power=" + power);
            assertEquals(init, s.at(0));
            assertEquals(end, s.at(n));
        }
        // increasing, as optax allows
        agree(t -> (0.0 - 1.0) * Math.pow(1 - Math.min(t, 4) / 4.0, 2) + 1.0, Schedules.polynomialDecay(0, 1, 2, 4), 10,
                "rising polynomial");
    }

    @Test
    void cosineWarmRestartsMatchesTorchStepByStep() {
        double base = 0.1;
        for (int mult : new int[] {1, 2, 3}) {
            for (long t0 : new long[] {1, 5, 10}) {
                for (double etaMin : new double[] {0, 0.001}) {
                    Schedule s = Schedules.cosineWarmRestarts(base, t0, mult, etaMin);
                    // torch CosineAnnealingWarmRestarts.step() with no epoch argument:
                    // T_cur += 1; if T_cur >= T_i: T_cur -= T_i; T_i *= T_mult
                    long tCur = 0;
                    long tI = t0;
                    for (long t = 0; t <= 5000; t++) {
                        if (t > 0) {
                            tCur++;
                            if (tCur >= tI) {
                                tCur -= tI;
                                tI *= mult;
                            }
                        }
                        double expected = etaMin + (base - etaMin) * (1 + Math.cos(Math.PI * tCur / tI)) / 2;
                        rel(expected, s.at(t), "warm restarts T0=" + t0 + " mult=" + mult + " at " + t);
                        if (tCur == 0) {
                            assertEquals(base, s.at(t), "restart at " + t);
                        }
                    }
                }
            }
        }
        // cycle starts far out hit exactly, whatever the logarithm's rounding: 10 (2^k - 1) and 7 (3^k - 1) / 2
        Schedule two = Schedules.cosineWarmRestarts(1, 10, 2, 0);
        Schedule three = Schedules.cosineWarmRestarts(1, 7, 3, 0);
        for (int k = 1; k <= 58; k++) {
            long start = 10 * ((1L << k) - 1);
            assertEquals(1.0, two.at(start), "cycle " + k + " starts at " + start);
            long previousLength = 10L << (k - 1);
            double lastOfPrevious = (1 + Math.cos(Math.PI * (previousLength - 1) / previousLength)) / 2;
            close(lastOfPrevious, two.at(start - 1), 1, "last step of cycle " + (k - 1));
        }
        long start = 0;
        long len = 7;
        for (int k = 0; k < 36; k++) {
            assertEquals(1.0, three.at(start), "cycle " + k + " of T_mult 3 starts at " + start);
            start += len;
            len *= 3;
        }
        // no overflow or endless loop at the end of the long range
        double far = two.at(Long.MAX_VALUE);
        assertTrue(far >= 0 && far <= 1);
    }

    @Test
    void joinFollowsOptaxJoinSchedules() {
        Schedule a = Schedules.linear(0, 1, 10);
        Schedule b = Schedules.constant(0.5);
        Schedule c = Schedules.exponential(0.5, 0.9);
        Schedule j = Schedules.join(List.of(a, b, c), 10, 25);
        // optax.join_schedules: output = schedules[0](step); for boundary, schedule in zip(boundaries, schedules[1:]):
        //   output = where(step < boundary, output, schedule(step - boundary))
        LongToDoubleFunction optax = t -> {
            double out = a.at(t);
            long[] bounds = {10, 25};
            Schedule[] rest = {b, c};
            for (int i = 0; i < bounds.length; i++) {
                out = t < bounds[i] ? out : rest[i].at(t - bounds[i]);
            }
            return out;
        };
        for (long t = 0; t <= 100; t++) {
            assertEquals(optax.applyAsDouble(t), j.at(t), "join at " + t);
        }
        assertEquals(0.9, j.at(9), 1e-15);
        assertEquals(0.5, j.at(10));
        assertEquals(0.5, j.at(25));
        assertEquals(0.45, j.at(26), 1e-15);
        // then() chains with absolute boundaries: the same schedule
        Schedule chained = a.then(10, b).then(25, c);
        for (long t = 0; t <= 100; t++) {
            assertEquals(j.at(t), chained.at(t));
        }
        assertEquals(j, chained);
        assertEquals(j.hashCode(), chained.hashCode());
        assertTrue(j.toString().contains("boundaries=[10, 25]"), j.toString());
        // torch SequentialLR(LinearLR warm-up, CosineAnnealingLR) is this one line
        Schedule seq = Schedules.linearFactor(0.1, 0.1, 1, 5).then(5, Schedules.cosine(0.1, 20, 0));
        rel(0.01, seq.at(0), "SequentialLR start");
        rel(0.1, seq.at(5), "SequentialLR milestone: the cosine at its step 0");
        assertEquals(0.0, seq.at(25));
    }

    @Test
    void warmupAndScaling() {
        Schedule inner = Schedules.exponential(0.2, 0.5);
        Schedule w = inner.withWarmup(4);
        double[] expected = {0, 0.05, 0.1, 0.15, 0.2, 0.1, 0.05};
        for (int t = 0; t < expected.length; t++) {
            rel(expected[t], w.at(t), "warm-up at " + t);
        }
        assertTrue(inner.withWarmup(0) == inner, "a warm-up of 0 steps is the schedule itself");
        Schedule scaled = inner.scaled(3);
        for (long t = 0; t < 20; t++) {
            assertEquals(3 * inner.at(t), scaled.at(t));
        }
        assertEquals(0.0, inner.scaled(0).at(3));
    }

    @Test
    void lambdasAreSchedules() {
        Schedule inverseSqrt = t -> 1e-3 / Math.sqrt(Math.max(t, 1));
        assertEquals(1e-3, inverseSqrt.at(0));
        assertEquals(5e-4, inverseSqrt.withWarmup(0).at(4));
        assertEquals(1e-3, inverseSqrt.then(3, Schedules.constant(1)).at(2) * Math.sqrt(2), 1e-15);
        assertEquals(1.0, inverseSqrt.then(3, Schedules.constant(1)).at(3));
    }

    @Test
    void toStringShowsTheArguments() {
        assertEquals("Cosine[initial=0.1, steps=100, floor=0.0]", Schedules.cosine(0.1, 100, 0).toString());
        assertEquals("MultiStepDecay[initial=1.0, gamma=0.1, milestones=[3, 7]]",
                Schedules.multiStepDecay(1, 0.1, 3, 7).toString());
        assertEquals(Schedules.cosine(0.1, 100, 0), Schedules.cosine(0.1, 100, 0));
        assertEquals(Schedules.multiStepDecay(1, 0.1, 3, 7), Schedules.multiStepDecay(1, 0.1, 3, 7));
        assertEquals(Schedules.multiStepDecay(1, 0.1, 3, 7).hashCode(), Schedules.multiStepDecay(1, 0.1, 3, 7).hashCode());
    }
}
