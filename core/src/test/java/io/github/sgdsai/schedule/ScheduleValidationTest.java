// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.schedule;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every argument check, with the message it gives, and {@link Schedules#valueAt}. */
class ScheduleValidationTest {

    static void rejected(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    private static final double[] BAD_VALUES = {-1, -Double.MIN_VALUE, Double.NaN, Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY};

    private static void badValues(String name, java.util.function.DoubleConsumer factory) {
        for (double v : BAD_VALUES) {
            rejected(name + " must be a finite number >= 0, got " + v, () -> factory.accept(v));
        }
    }

    @Test
    void valuesMustBeFiniteAndNonNegative() {
        badValues("value", Schedules::constant);
        badValues("from", v -> Schedules.linear(v, 1, 10));
        badValues("to", v -> Schedules.linear(1, v, 10));
        badValues("base", v -> Schedules.linearFactor(v, 0.5, 1, 10));
        badValues("startFactor", v -> Schedules.linearFactor(1, v, 1, 10));
        badValues("endFactor", v -> Schedules.linearFactor(1, 0.5, v, 10));
        badValues("initial", v -> Schedules.cosine(v, 10, 0));
        badValues("floor", v -> Schedules.cosine(1, 10, v));
        badValues("init", v -> Schedules.cosineDecay(v, 10, 0));
        badValues("init", v -> Schedules.warmupCosineDecay(v, 1, 1, 10, 0));
        badValues("peak", v -> Schedules.warmupCosineDecay(0, v, 1, 10, 0));
        badValues("end", v -> Schedules.warmupCosineDecay(0, 1, 1, 10, v));
        badValues("peak", v -> Schedules.warmupCosine(v, 1, 10));
        badValues("floor", v -> Schedules.warmupCosine(1, 1, 10, v));
        badValues("initial", v -> Schedules.stepDecay(v, 10, 0.5));
        badValues("initial", v -> Schedules.multiStepDecay(v, 0.5, 10));
        badValues("initial", v -> Schedules.exponential(v, 0.5));
        badValues("init", v -> Schedules.exponentialDecay(v, 10, 0.5, false));
        badValues("end", v -> Schedules.exponentialDecay(1, 10, 0.5, false, v));
        badValues("initial", v -> Schedules.polynomial(v, 10, 1));
        badValues("init", v -> Schedules.polynomialDecay(v, 0, 1, 10));
        badValues("end", v -> Schedules.polynomialDecay(1, v, 1, 10));
        badValues("initial", v -> Schedules.cosineWarmRestarts(v, 10, 2, 0));
        badValues("floor", v -> Schedules.cosineWarmRestarts(1, 10, 2, v));
        badValues("factor", v -> Schedules.constant(1).scaled(v));
    }

    @Test
    void decayFactorsMustBePositive() {
        for (double g : new double[] {0, -0.5, Double.NaN, Double.POSITIVE_INFINITY}) {
            rejected("gamma must be a finite number > 0, got " + g, () -> Schedules.stepDecay(1, 10, g));
            rejected("gamma must be a finite number > 0, got " + g, () -> Schedules.multiStepDecay(1, g, 10));
            rejected("gamma must be a finite number > 0, got " + g, () -> Schedules.exponential(1, g));
            rejected("decayRate must be a finite number > 0, got " + g, () -> Schedules.exponentialDecay(1, 10, g, true));
            rejected("power must be a finite number > 0, got " + g, () -> Schedules.polynomial(1, 10, g));
            rejected("power must be a finite number > 0, got " + g, () -> Schedules.polynomialDecay(1, 0, g, 10));
        }
        for (double a : new double[] {-0.1, 1.5, 10, Double.NaN}) {
            rejected("alpha is the final value as a fraction of init and must lie in [0, 1], got " + a,
                    () -> Schedules.cosineDecay(1, 10, a));
        }
    }

    @Test
    void lengthsMustBePositive() {
        for (long n : new long[] {0, -1, Long.MIN_VALUE}) {
            rejected("steps must be >= 1, got " + n, () -> Schedules.linear(0, 1, n));
            rejected("steps must be >= 1, got " + n, () -> Schedules.linearFactor(1, 0, 1, n));
            rejected("steps must be >= 1, got " + n, () -> Schedules.cosine(1, n, 0));
            rejected("decaySteps must be >= 1, got " + n, () -> Schedules.cosineDecay(1, n, 0));
            rejected("stepSize must be >= 1, got " + n, () -> Schedules.stepDecay(1, n, 0.1));
            rejected("transitionSteps must be >= 1, got " + n, () -> Schedules.exponentialDecay(1, n, 0.5, false));
            rejected("transitionSteps must be >= 1, got " + n, () -> Schedules.exponentialDecay(1, n, 0.5, false, 0));
            rejected("steps must be >= 1, got " + n, () -> Schedules.polynomial(1, n, 1));
            rejected("transitionSteps must be >= 1, got " + n, () -> Schedules.polynomialDecay(1, 0, 1, n));
            rejected("firstCycle must be >= 1, got " + n, () -> Schedules.cosineWarmRestarts(1, n, 1, 0));
        }
        rejected("cycleMult must be an integer >= 1, got 0", () -> Schedules.cosineWarmRestarts(1, 10, 0, 0));
        rejected("cycleMult must be an integer >= 1, got -2", () -> Schedules.cosineWarmRestarts(1, 10, -2, 0));
    }

    @Test
    void warmupMustFitInTheTotal() {
        rejected("warmupSteps (100) must be less than decaySteps (50): the warm-up would leave no steps to decay over"
                + " (as in optax, decaySteps counts the warm-up too)", () -> Schedules.warmupCosineDecay(0, 1, 100, 50, 0));
        rejected("warmupSteps (50) must be less than decaySteps (50)", () -> Schedules.warmupCosineDecay(0, 1, 50, 50, 0));
        rejected("warmupSteps must be >= 0, got -1", () -> Schedules.warmupCosineDecay(0, 1, -1, 50, 0));
        rejected("warmupSteps (2000) must be less than totalSteps (1000)", () -> Schedules.warmupCosine(1, 2000, 1000));
        rejected("warmupSteps (1000) must be less than totalSteps (1000)", () -> Schedules.warmupCosine(1, 1000, 1000, 0));
        rejected("warmupSteps must be >= 0, got -5", () -> Schedules.warmupCosine(1, -5, 1000));
        rejected("warm-up steps must be >= 0, got -1", () -> Schedules.constant(1).withWarmup(-1));
    }

    @Test
    void milestonesAndBoundaries() {
        rejected("milestones is empty", () -> Schedules.multiStepDecay(1, 0.1));
        rejected("milestone 0 must be > 0, got 0", () -> Schedules.multiStepDecay(1, 0.1, 0, 5));
        rejected("milestone 1 must be > 0, got -3", () -> Schedules.multiStepDecay(1, 0.1, 5, -3));
        rejected("milestones must be strictly increasing, but milestone 2 (20) is not greater than milestone 1 (30)",
                () -> Schedules.multiStepDecay(1, 0.1, 10, 30, 20));
        rejected("milestone 1 (10) is not greater than milestone 0 (10)", () -> Schedules.multiStepDecay(1, 0.1, 10, 10));
        assertThrows(NullPointerException.class, () -> Schedules.multiStepDecay(1, 0.1, (long[]) null));

        Schedule a = Schedules.constant(1);
        Schedule b = Schedules.constant(2);
        Schedule c = Schedules.constant(3);
        rejected("boundary 0 must be > 0, got 0", () -> Schedules.join(List.of(a, b), 0));
        rejected("boundary 0 must be > 0, got -4", () -> a.then(-4, b));
        rejected("boundaries must be strictly increasing, but boundary 1 (5) is not greater than boundary 0 (5)",
                () -> Schedules.join(List.of(a, b, c), 5, 5));
        rejected("join of 3 schedules needs 2 boundaries, got 1", () -> Schedules.join(List.of(a, b, c), 5));
        rejected("join needs at least two schedules, got 1", () -> Schedules.join(List.of(a)));
        rejected("boundary 100 must be greater than the last boundary of the joined schedule (500)",
                () -> a.then(500, b).then(100, c));
        List<Schedule> withNull = new ArrayList<>(Arrays.asList(a, null));
        NullPointerException npe = assertThrows(NullPointerException.class, () -> Schedules.join(withNull, 3));
        assertEquals("schedule 1 is null", npe.getMessage());
        assertThrows(NullPointerException.class, () -> a.then(3, null));
    }

    @Test
    void negativeStepsAreRejectedByEveryBuiltIn() {
        List<Schedule> all = List.of(
                Schedules.constant(1), Schedules.linear(0, 1, 5), Schedules.linearFactor(1, 0.1, 1, 5),
                Schedules.cosine(1, 5, 0), Schedules.cosineDecay(1, 5, 0), Schedules.warmupCosineDecay(0, 1, 2, 5, 0),
                Schedules.warmupCosine(1, 2, 5), Schedules.stepDecay(1, 2, 0.5), Schedules.multiStepDecay(1, 0.5, 2),
                Schedules.exponential(1, 0.5), Schedules.exponentialDecay(1, 2, 0.5, true),
                Schedules.exponentialDecay(1, 2, 0.5, true, 0.1), Schedules.polynomial(1, 5, 2),
                Schedules.polynomialDecay(1, 0, 2, 5), Schedules.cosineWarmRestarts(1, 5, 2, 0),
                Schedules.constant(1).then(3, Schedules.constant(2)), Schedules.constant(1).withWarmup(3),
                Schedules.constant(1).scaled(2));
        for (Schedule s : all) {
            rejected("step must be >= 0, got -1", () -> s.at(-1));
            rejected("step must be >= 0, got " + Long.MIN_VALUE, () -> s.at(Long.MIN_VALUE));
        }
    }

    @Test
    void valueAtChecksTheValueNamingWhatAndTheStep() {
        assertEquals(0.5, Schedules.valueAt(Schedules.constant(0.5), 3, "group 1 lr"));
        assertEquals(0.0, Schedules.valueAt(Schedules.constant(0), 0, "group 1 lr"));
        rejected("group 1 lr: step must be >= 0, got -2", () -> Schedules.valueAt(Schedules.constant(1), -2, "group 1 lr"));
        rejected("group 1 lr: the schedule gave NaN at step 7, but the value must be a finite number >= 0",
                () -> Schedules.valueAt(t -> t == 7 ? Double.NaN : 1, 7, "group 1 lr"));
        rejected("group 0 momentum: the schedule gave -0.1 at step 0",
                () -> Schedules.valueAt(t -> -0.1, 0, "group 0 momentum"));
        rejected("group 2 lr: the schedule gave Infinity at step 3000",
                () -> Schedules.valueAt(Schedules.exponential(1, 2), 3000, "group 2 lr"));
        rejected("(schedule: Exponential[initial=1.0, gamma=2.0])",
                () -> Schedules.valueAt(Schedules.exponential(1, 2), 3000, "group 2 lr"));
        rejected("group 2 lr: the schedule gave -Infinity at step 1",
                () -> Schedules.valueAt(t -> Double.NEGATIVE_INFINITY, 1, "group 2 lr"));
        NullPointerException npe = assertThrows(NullPointerException.class, () -> Schedules.valueAt(null, 1, "group 3 lr"));
        assertEquals("group 3 lr: schedule is null", npe.getMessage());
        assertThrows(NullPointerException.class, () -> Schedules.valueAt(Schedules.constant(1), 1, null));
    }
}
