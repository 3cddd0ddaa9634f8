// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.schedule;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The built-in {@link Schedule}s, each a closed form in double anchored to a published definition in
 * {@code torch.optim.lr_scheduler}, optax or Hugging Face {@code transformers}, and {@link #valueAt}, the check
 * an optimizer applies to a schedule's value at step time.
 *
 * <p>Throughout, t is the number of steps applied so far (see {@link Schedule}) and {@code min(t, T)} clamps it
 * to a phase's length T. Every factory checks its arguments and throws an {@link IllegalArgumentException}
 * naming the argument: values (learning rates, floors, factors) must be finite and at least 0, lengths at
 * least 1 (a warm-up may be 0), decay factors greater than 0, boundaries and milestones greater than 0 and
 * strictly increasing. Each built-in's {@code toString()} shows its arguments.
 *
 * <p>Deliberate differences from the anchors are listed with each factory; the common one is that past the
 * end of a finite schedule the value stays at its final value, where some closed forms in torch would turn
 * back up (or raise).
 *
 * <p>{@link OneCycle} builds torch's one-cycle policy, with its momentum cycle.
 *
 * <p>Example: 5 % linear warm-up to 3e-3, then cosine decay to 0 at step 2000, and a weight decay that steps down
 * tenfold at steps 1000 and 1500.
 * <pre>{@code
 * SgdSai opt = SgdSai.builder()
 *         .lr(Schedules.warmupCosine(3e-3, 100, 2000))
 *         .weightDecay(Schedules.multiStepDecay(1e-2, 0.1, 1000, 1500))
 *         .add("w", w, dw)
 *         .build();
 * double lrOfTheNextStep = Schedules.warmupCosine(3e-3, 100, 2000).at(opt.steps());
 * }</pre>
 */
public final class Schedules {
    private Schedules() {
    }

    // ------------------------------------------------------------------------------------------- checking

    /**
     * The value of {@code schedule} at {@code step}, checked for use as a hyperparameter: an optimizer calls
     * this before each step, with {@code what} saying which hyperparameter it is (e.g. {@code "group 1 lr"}).
     *
     * @param schedule the schedule
     * @param step     the number of steps applied so far, at least 0
     * @param what     what the value is for, used to start the exception message
     * @return {@code schedule.at(step)}, a finite number at least 0
     * @throws IllegalArgumentException if {@code step} is negative, or the value is NaN, infinite or negative;
     *                                  the message names {@code what}, the step and the value
     * @throws NullPointerException     if {@code schedule} or {@code what} is null
     */
    public static double valueAt(Schedule schedule, long step, String what) {
        Objects.requireNonNull(what, "what is null");
        Objects.requireNonNull(schedule, () -> what + ": schedule is null");
        if (step < 0) {
            throw new IllegalArgumentException(what + ": step must be >= 0, got " + step);
        }
        double v = schedule.at(step);
        if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException(what + ": the schedule gave " + v + " at step " + step
                    + ", but the value must be a finite number >= 0 (schedule: " + schedule + ")");
        }
        return v;
    }

    static double nonNegative(String name, double v) {
        if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + v);
        }
        return v;
    }

    static double positive(String name, double v) {
        if (!(v > 0) || v == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException(name + " must be a finite number > 0, got " + v);
        }
        return v;
    }

    static long atLeastOne(String name, long v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + v);
        }
        return v;
    }

    static void checkStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
    }

    /** {@code min(t, n) / n} in double. */
    static double fraction(long t, long n) {
        checkStep(t);
        return t >= n ? 1.0 : (double) t / n;
    }

    // ------------------------------------------------------------------------------------------- constant

    /**
     * The same value at every step.
     *
     * @param value a finite number at least 0
     * @return the schedule
     * @throws IllegalArgumentException if {@code value} is negative, NaN or infinite
     */
    public static Schedule constant(double value) {
        return new Constant(nonNegative("value", value));
    }

    record Constant(double value) implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            return value;
        }
    }

    // ------------------------------------------------------------------------------------------- linear

    /**
     * A straight line from {@code from} to {@code to} over {@code steps} steps, then {@code to}:
     * {@code from + (to - from) * min(t, n) / n}. This is optax {@code linear_schedule(init_value=from,
     * end_value=to, transition_steps=n)} (which starts at {@code transition_begin = 0}); the value at
     * {@code t ≥ n} is exactly {@code to}. Unlike optax, {@code n = 0} is rejected instead of giving a
     * constant.
     *
     * @param from  the value at step 0, finite and at least 0
     * @param to    the value from step {@code steps} on, finite and at least 0
     * @param steps the length n of the ramp, at least 1
     * @return the schedule
     * @throws IllegalArgumentException if a value is negative, NaN or infinite, or {@code steps} is below 1
     */
    public static Schedule linear(double from, double to, long steps) {
        return new Linear(nonNegative("from", from), nonNegative("to", to), atLeastOne("steps", steps));
    }

    record Linear(double from, double to, long steps) implements Schedule {
        @Override
        public double at(long step) {
            double f = fraction(step, steps);
            return f == 1.0 ? to : from + (to - from) * f;
        }
    }

    /**
     * torch {@code LinearLR} as a closed form: {@code base * (s + (e - s) * min(t, n) / n)} with s the start
     * factor, e the end factor and n {@code total_iters}; from step n on the value is {@code base * e}.
     * torch defines it by a recursion, {@code lr_t = lr_{t-1} * (1 + (e - s) / (n*s + (t - 1)(e - s)))}, which
     * agrees with this closed form up to rounding. Differences: torch requires {@code 0 < s ≤ 1} and
     * {@code 0 ≤ e ≤ 1} (its recursion divides by s); here both factors need only be finite and at least 0, so
     * a warm-up may start at exactly 0. {@code linearFactor(b, s, e, n)} equals {@code linear(b*s, b*e, n)} up
     * to rounding.
     *
     * @param base        the base value the factors multiply (torch: the optimizer's initial lr)
     * @param startFactor s, the factor at step 0
     * @param endFactor   e, the factor from step n on
     * @param steps       n, torch's {@code total_iters}, at least 1
     * @return the schedule
     * @throws IllegalArgumentException if a value or factor is negative, NaN or infinite, or {@code steps} is
     *                                  below 1
     */
    public static Schedule linearFactor(double base, double startFactor, double endFactor, long steps) {
        return new LinearFactor(nonNegative("base", base), nonNegative("startFactor", startFactor),
                nonNegative("endFactor", endFactor), atLeastOne("steps", steps));
    }

    record LinearFactor(double base, double startFactor, double endFactor, long steps) implements Schedule {
        @Override
        public double at(long step) {
            double f = fraction(step, steps);
            return base * (f == 1.0 ? endFactor : startFactor + (endFactor - startFactor) * f);
        }
    }

    // ------------------------------------------------------------------------------------------- cosine

    /**
     * Cosine annealing from {@code initial} to {@code floor} over {@code steps} steps, then {@code floor}:
     * {@code floor + (initial - floor) * (1 + cos(π * min(t, T) / T)) / 2}. This is the closed form of torch
     * {@code CosineAnnealingLR(T_max=T, eta_min=floor)}; for {@code t ≤ T} it agrees with torch's recursive
     * form up to rounding. Difference: past T torch's formula (closed or recursive) keeps following the
     * cosine and climbs back towards {@code initial}; here the value stays at {@code floor}. For torch's warm
     * restarts use {@link #cosineWarmRestarts}.
     *
     * @param initial the value at step 0 (torch: the optimizer's initial lr), finite and at least 0
     * @param steps   T, the length of the annealing, at least 1
     * @param floor   the value from step T on (torch: {@code eta_min}), finite and at least 0; may exceed
     *                {@code initial}, giving a rising half-cosine
     * @return the schedule
     * @throws IllegalArgumentException if a value is negative, NaN or infinite, or {@code steps} is below 1
     */
    public static Schedule cosine(double initial, long steps, double floor) {
        return new Cosine(nonNegative("initial", initial), atLeastOne("steps", steps), nonNegative("floor", floor));
    }

    record Cosine(double initial, long steps, double floor) implements Schedule {
        @Override
        public double at(long step) {
            double f = fraction(step, steps);
            return f == 1.0 ? floor : floor + (initial - floor) * (1 + Math.cos(Math.PI * f)) / 2;
        }
    }

    /**
     * optax {@code cosine_decay_schedule(init_value, decay_steps, alpha)}:
     * {@code init * ((1 - α) * (1 + cos(π * min(t, T) / T)) / 2 + α)}, so it ends, and stays, at
     * {@code α * init}. optax's optional {@code exponent} is fixed at its default 1.
     * {@code cosineDecay(v, T, α)} equals {@code cosine(v, T, α * v)} up to rounding.
     *
     * @param init       the value at step 0, finite and at least 0
     * @param decaySteps T, at least 1 (optax: positive)
     * @param alpha      the final value as a fraction of {@code init}, in [0, 1]; for a floor given as a
     *                   value use {@link #cosine}
     * @return the schedule
     * @throws IllegalArgumentException if {@code init} is negative, NaN or infinite, {@code decaySteps} is
     *                                  below 1 or {@code alpha} lies outside [0, 1]
     */
    public static Schedule cosineDecay(double init, long decaySteps, double alpha) {
        nonNegative("init", init);
        atLeastOne("decaySteps", decaySteps);
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha is the final value as a fraction of init and must lie in"
                    + " [0, 1], got " + alpha + " (for a floor given as a value use cosine(init, steps, floor))");
        }
        return new CosineDecay(init, decaySteps, alpha);
    }

    record CosineDecay(double init, long decaySteps, double alpha) implements Schedule {
        @Override
        public double at(long step) {
            double c = (1 + Math.cos(Math.PI * fraction(step, decaySteps))) / 2;
            return init * ((1 - alpha) * c + alpha);
        }
    }

    /**
     * optax {@code warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps, end_value)}:
     * a line from {@code init} to {@code peak} over w = {@code warmupSteps} steps, then a cosine from
     * {@code peak} to {@code end} over the remaining {@code decaySteps - w} steps, then {@code end}. As in
     * optax, {@code decaySteps} counts the warm-up too:
     * <ul>
     *   <li>{@code t < w}: {@code init + (peak - init) * t / w};</li>
     *   <li>{@code t ≥ w}: {@code end + (peak - end) * (1 + cos(π * min(t - w, D) / D)) / 2} with
     *       {@code D = decaySteps - w}.</li>
     * </ul>
     * optax writes the cosine part as {@code peak * ((1 - α) c + α)} with {@code α = end / peak}; the two agree
     * up to rounding, and this form also allows {@code peak = 0}. optax's {@code exponent} is fixed at 1.
     *
     * @param init        the value at step 0, finite and at least 0
     * @param peak        the value at the end of the warm-up, finite and at least 0
     * @param warmupSteps w, at least 0 (0: no warm-up, the cosine starts at step 0)
     * @param decaySteps  the total length, warm-up included; greater than {@code warmupSteps}
     * @param end         the value from step {@code decaySteps} on, finite and at least 0
     * @return the schedule
     * @throws IllegalArgumentException if a value is negative, NaN or infinite, {@code warmupSteps} is
     *                                  negative or not less than {@code decaySteps}
     */
    public static Schedule warmupCosineDecay(double init, double peak, long warmupSteps, long decaySteps, double end) {
        nonNegative("init", init);
        nonNegative("peak", peak);
        nonNegative("end", end);
        checkWarmup(warmupSteps, decaySteps, "decaySteps", " (as in optax, decaySteps counts the warm-up too)");
        Schedule decay = new Cosine(peak, decaySteps - warmupSteps, end);
        return warmupSteps == 0 ? decay : new Linear(init, peak, warmupSteps).then(warmupSteps, decay);
    }

    /**
     * Hugging Face {@code get_cosine_schedule_with_warmup(num_warmup_steps=w, num_training_steps=N)} with its
     * default half cycle, as values rather than factors: {@code peak * t / w} for {@code t < w}, then
     * {@code peak * (1 + cos(π * p)) / 2} with {@code p = (t - w) / (N - w)}, ending at 0. Difference: Hugging
     * Face lets p exceed 1 past N, so its value climbs back up; here it stays at 0. Same as
     * {@code cosine(peak, N - w, 0).withWarmup(w)}; {@link #warmupCosine(double, long, long, double)} ends at a
     * floor instead of 0.
     *
     * @param peak        the value at the end of the warm-up (Hugging Face: the optimizer's lr)
     * @param warmupSteps w, at least 0
     * @param totalSteps  N, the total length, warm-up included; greater than {@code warmupSteps}
     * @return the schedule
     * @throws IllegalArgumentException if {@code peak} is negative, NaN or infinite, {@code warmupSteps} is
     *                                  negative or not less than {@code totalSteps}
     */
    public static Schedule warmupCosine(double peak, long warmupSteps, long totalSteps) {
        return warmupCosine(peak, warmupSteps, totalSteps, 0);
    }

    /**
     * A linear warm-up from 0 to {@code peak} over w steps, then a cosine from {@code peak} to {@code floor}
     * ending at step N, then {@code floor}: {@code peak * t / w} for {@code t < w}, then
     * {@code floor + (peak - floor) * (1 + cos(π * min(t - w, N - w) / (N - w))) / 2}. With
     * {@code floor = 0} this is Hugging Face's {@code get_cosine_schedule_with_warmup} (see
     * {@link #warmupCosine(double, long, long)}); it equals {@code cosine(peak, N - w, floor).withWarmup(w)}.
     *
     * @param peak        the value at the end of the warm-up, finite and at least 0
     * @param warmupSteps w, at least 0
     * @param totalSteps  N, the total length, warm-up included; greater than {@code warmupSteps}
     * @param floor       the value from step N on, finite and at least 0
     * @return the schedule
     * @throws IllegalArgumentException if a value is negative, NaN or infinite, {@code warmupSteps} is
     *                                  negative or not less than {@code totalSteps}
     */
    public static Schedule warmupCosine(double peak, long warmupSteps, long totalSteps, double floor) {
        nonNegative("peak", peak);
        nonNegative("floor", floor);
        checkWarmup(warmupSteps, totalSteps, "totalSteps", " (totalSteps counts the warm-up too)");
        return new Cosine(peak, totalSteps - warmupSteps, floor).withWarmup(warmupSteps);
    }

    private static void checkWarmup(long warmupSteps, long total, String totalName, String hint) {
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmupSteps must be >= 0, got " + warmupSteps);
        }
        if (warmupSteps >= total) {
            throw new IllegalArgumentException("warmupSteps (" + warmupSteps + ") must be less than " + totalName
                    + " (" + total + "): the warm-up would leave no steps to decay over" + hint);
        }
    }

    // ------------------------------------------------------------------------------------------- step decay

    /**
     * torch {@code StepLR(step_size=s, gamma=γ)}: {@code initial * γ^⌊t / s⌋}, i.e. multiplied by γ every s
     * steps. The power is computed directly ({@code Math.pow}), not by repeated multiplication as torch's
     * recursive form does; the two agree up to rounding.
     *
     * @param initial  the value at step 0, finite and at least 0
     * @param stepSize s, at least 1
     * @param gamma    γ, finite and greater than 0 (above 1 grows)
     * @return the schedule
     * @throws IllegalArgumentException if {@code initial} is negative, NaN or infinite, {@code stepSize} is
     *                                  below 1, or {@code gamma} is not a finite number above 0
     */
    public static Schedule stepDecay(double initial, long stepSize, double gamma) {
        return new StepDecay(nonNegative("initial", initial), atLeastOne("stepSize", stepSize), positive("gamma", gamma));
    }

    record StepDecay(double initial, long stepSize, double gamma) implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            return initial * Math.pow(gamma, (double) (step / stepSize));
        }
    }

    /**
     * torch {@code MultiStepLR(milestones, gamma=γ)}: {@code initial * γ^k} with k the number of milestones
     * m with {@code m ≤ t} (torch's {@code bisect_right}), i.e. multiplied by γ at each milestone. Difference:
     * torch accepts a repeated milestone (and then multiplies by γ twice there) and a milestone 0; here
     * milestones must be greater than 0 and strictly increasing.
     *
     * @param initial    the value at step 0, finite and at least 0
     * @param gamma      γ, finite and greater than 0
     * @param milestones the steps at which γ applies, at least one, each greater than 0, strictly increasing
     * @return the schedule
     * @throws IllegalArgumentException if {@code initial} or {@code gamma} is out of range, or the milestones
     *                                  are empty, not positive or not strictly increasing
     * @throws NullPointerException     if {@code milestones} is null
     */
    public static Schedule multiStepDecay(double initial, double gamma, long... milestones) {
        nonNegative("initial", initial);
        positive("gamma", gamma);
        Objects.requireNonNull(milestones, "milestones is null");
        if (milestones.length == 0) {
            throw new IllegalArgumentException("milestones is empty: give at least one (for none use constant(initial))");
        }
        checkIncreasing("milestone", "milestones", milestones);
        return new MultiStepDecay(initial, gamma, milestones.clone());
    }

    private static void checkIncreasing(String what, String plural, long[] steps) {
        for (int i = 0; i < steps.length; i++) {
            if (steps[i] <= 0) {
                throw new IllegalArgumentException(what + " " + i + " must be > 0, got " + steps[i]);
            }
            if (i > 0 && steps[i] <= steps[i - 1]) {
                throw new IllegalArgumentException(plural + " must be strictly increasing, but " + what + " " + i
                        + " (" + steps[i] + ") is not greater than " + what + " " + (i - 1) + " (" + steps[i - 1] + ")");
            }
        }
    }

    record MultiStepDecay(double initial, double gamma, long[] milestones) implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            int k = 0;
            while (k < milestones.length && milestones[k] <= step) {
                k++;
            }
            return initial * Math.pow(gamma, k);
        }

        @Override
        public String toString() {
            return "MultiStepDecay[initial=" + initial + ", gamma=" + gamma + ", milestones=" + Arrays.toString(milestones) + "]";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MultiStepDecay m && Double.compare(initial, m.initial) == 0
                    && Double.compare(gamma, m.gamma) == 0 && Arrays.equals(milestones, m.milestones);
        }

        @Override
        public int hashCode() {
            return Objects.hash(initial, gamma, Arrays.hashCode(milestones));
        }
    }

    // ------------------------------------------------------------------------------------------- exponential

    /**
     * torch {@code ExponentialLR(gamma=γ)}: {@code initial * γ^t}. Computed with {@code Math.pow}, where
     * torch's recursive form multiplies by γ each step; the two agree up to rounding.
     *
     * @param initial the value at step 0, finite and at least 0
     * @param gamma   γ, finite and greater than 0
     * @return the schedule
     * @throws IllegalArgumentException if {@code initial} is negative, NaN or infinite, or {@code gamma} is
     *                                  not a finite number above 0
     */
    public static Schedule exponential(double initial, double gamma) {
        return new Exponential(nonNegative("initial", initial), positive("gamma", gamma));
    }

    record Exponential(double initial, double gamma) implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            return initial * Math.pow(gamma, (double) step);
        }
    }

    /**
     * optax {@code exponential_decay(init_value, transition_steps=n, decay_rate=r, staircase)} with
     * {@code transition_begin = 0} and no end value: {@code init * r^p}, with {@code p = t / n}, or
     * {@code p = ⌊t / n⌋} when {@code staircase}. Difference: optax warns and returns a constant when
     * {@code n ≤ 0} or {@code r = 0}; here they are rejected. A delayed start ({@code transition_begin})
     * is {@code constant(init).then(begin, exponentialDecay(..))}.
     *
     * @param init            the value at step 0, finite and at least 0
     * @param transitionSteps n, at least 1
     * @param decayRate       r, finite and greater than 0 (above 1 grows)
     * @param staircase       whether p is rounded down to an integer
     * @return the schedule
     * @throws IllegalArgumentException if {@code init} is negative, NaN or infinite, {@code transitionSteps}
     *                                  is below 1, or {@code decayRate} is not a finite number above 0
     */
    public static Schedule exponentialDecay(double init, long transitionSteps, double decayRate, boolean staircase) {
        return new ExponentialDecay(nonNegative("init", init), atLeastOne("transitionSteps", transitionSteps),
                positive("decayRate", decayRate), staircase, Double.NaN);
    }

    /**
     * optax {@code exponential_decay(.., end_value)}: as {@link #exponentialDecay(double, long, double, boolean)},
     * then bounded by {@code end}: {@code max(value, end)} when {@code r < 1} (a floor), {@code min(value, end)}
     * otherwise (a ceiling), as in optax.
     *
     * @param init            the value at step 0, finite and at least 0
     * @param transitionSteps n, at least 1
     * @param decayRate       r, finite and greater than 0
     * @param staircase       whether p is rounded down to an integer
     * @param end             the bound, finite and at least 0
     * @return the schedule
     * @throws IllegalArgumentException if an argument is out of range as above, or {@code end} is negative,
     *                                  NaN or infinite
     */
    public static Schedule exponentialDecay(double init, long transitionSteps, double decayRate, boolean staircase,
                                            double end) {
        return new ExponentialDecay(nonNegative("init", init), atLeastOne("transitionSteps", transitionSteps),
                positive("decayRate", decayRate), staircase, nonNegative("end", end));
    }

    record ExponentialDecay(double init, long transitionSteps, double decayRate, boolean staircase, double end)
            implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            double p = staircase ? (double) (step / transitionSteps) : (double) step / transitionSteps;
            double v = init * Math.pow(decayRate, p);
            if (Double.isNaN(end)) {
                return v;
            }
            return decayRate < 1 ? Math.max(v, end) : Math.min(v, end);
        }
    }

    // ------------------------------------------------------------------------------------------- polynomial

    /**
     * torch {@code PolynomialLR(total_iters=T, power)}: {@code initial * (1 - min(t, T) / T)^power}, which
     * reaches 0 at step T and stays there (as torch's closed form does). torch defines it recursively; the
     * two agree up to rounding.
     *
     * @param initial the value at step 0, finite and at least 0
     * @param steps   T, at least 1
     * @param power   the exponent, finite and greater than 0 (torch's default is 1: linear decay to 0)
     * @return the schedule
     * @throws IllegalArgumentException if {@code initial} is negative, NaN or infinite, {@code steps} is
     *                                  below 1, or {@code power} is not a finite number above 0
     */
    public static Schedule polynomial(double initial, long steps, double power) {
        return new Polynomial(nonNegative("initial", initial), atLeastOne("steps", steps), positive("power", power));
    }

    record Polynomial(double initial, long steps, double power) implements Schedule {
        @Override
        public double at(long step) {
            double f = fraction(step, steps);
            return f == 1.0 ? 0.0 : initial * Math.pow(1 - f, power);
        }
    }

    /**
     * optax {@code polynomial_schedule(init_value, end_value, power, transition_steps=n)} with
     * {@code transition_begin = 0}: {@code (init - end) * (1 - min(t, n) / n)^power + end}, which reaches
     * {@code end} at step n and stays there. Difference: optax warns and returns a constant when
     * {@code n ≤ 0}; here it is rejected.
     *
     * @param init            the value at step 0, finite and at least 0
     * @param end             the value from step n on, finite and at least 0
     * @param power           the exponent, finite and greater than 0
     * @param transitionSteps n, at least 1
     * @return the schedule
     * @throws IllegalArgumentException if a value is negative, NaN or infinite, {@code power} is not a
     *                                  finite number above 0 or {@code transitionSteps} is below 1
     */
    public static Schedule polynomialDecay(double init, double end, double power, long transitionSteps) {
        return new PolynomialDecay(nonNegative("init", init), nonNegative("end", end), positive("power", power),
                atLeastOne("transitionSteps", transitionSteps));
    }

    record PolynomialDecay(double init, double end, double power, long transitionSteps) implements Schedule {
        @Override
        public double at(long step) {
            double f = fraction(step, transitionSteps);
            return f == 1.0 ? end : (init - end) * Math.pow(1 - f, power) + end;
        }
    }

    // ------------------------------------------------------------------------------------------- warm restarts

    /**
     * torch {@code CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)} for integer steps: cycles of lengths
     * {@code T_i = T_0 * T_mult^i}, each a cosine from {@code initial} to (just above) {@code floor}:
     * {@code floor + (initial - floor) * (1 + cos(π * T_cur / T_i)) / 2}, T_cur the steps since the current
     * cycle began. The cycle index is the closed form
     * {@code i = ⌊log_{T_mult}(t (T_mult - 1) / T_0 + 1)⌋}, with cycle i starting at
     * {@code T_0 (T_mult^i - 1) / (T_mult - 1)} ({@code i = ⌊t / T_0⌋} when {@code T_mult = 1}); torch takes
     * the same logarithm, here the index is then corrected with exact integer arithmetic so that a step on a
     * cycle boundary always starts the new cycle, whatever the logarithm's rounding. There is no end: the
     * restarts go on forever.
     *
     * @param initial    the value at the start of every cycle, finite and at least 0
     * @param firstCycle T_0, the length of the first cycle, at least 1
     * @param cycleMult  T_mult, the factor by which each cycle is longer than the last, at least 1
     * @param floor      {@code eta_min}, finite and at least 0
     * @return the schedule
     * @throws IllegalArgumentException if a value is negative, NaN or infinite, or {@code firstCycle} or
     *                                  {@code cycleMult} is below 1
     */
    public static Schedule cosineWarmRestarts(double initial, long firstCycle, int cycleMult, double floor) {
        nonNegative("initial", initial);
        atLeastOne("firstCycle", firstCycle);
        if (cycleMult < 1) {
            throw new IllegalArgumentException("cycleMult must be an integer >= 1, got " + cycleMult);
        }
        return new WarmRestarts(initial, firstCycle, cycleMult, nonNegative("floor", floor));
    }

    record WarmRestarts(double initial, long firstCycle, int cycleMult, double floor) implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            long tCur;
            long length;
            if (cycleMult == 1) {
                tCur = step % firstCycle;
                length = firstCycle;
            } else {
                int i = (int) Math.floor(Math.log((double) step / firstCycle * (cycleMult - 1) + 1) / Math.log(cycleMult));
                while (i > 0 && cycleStart(i) > step) {
                    i--;
                }
                for (long next = cycleStart(i + 1); next != Long.MAX_VALUE && next <= step; next = cycleStart(i + 1)) {
                    i++;
                }
                tCur = step - cycleStart(i);
                length = cycleLength(i);
            }
            return floor + (initial - floor) * (1 + Math.cos(Math.PI * tCur / length)) / 2;
        }

        /** {@code T_0 * T_mult^i}, saturating at {@code Long.MAX_VALUE}. */
        private long cycleLength(int i) {
            long len = firstCycle;
            for (int k = 0; k < i; k++) {
                if (len > Long.MAX_VALUE / cycleMult) {
                    return Long.MAX_VALUE;
                }
                len *= cycleMult;
            }
            return len;
        }

        /** First step of cycle i, {@code T_0 (T_mult^i - 1) / (T_mult - 1)}, saturating at {@code Long.MAX_VALUE}. */
        private long cycleStart(int i) {
            long start = 0;
            for (int k = 0; k < i; k++) {
                long len = cycleLength(k);
                if (len == Long.MAX_VALUE || start > Long.MAX_VALUE - len) {
                    return Long.MAX_VALUE;
                }
                start += len;
            }
            return start;
        }
    }

    // ------------------------------------------------------------------------------------------- joining

    /**
     * Schedules joined at step boundaries: schedule 0 for {@code t < b_0}, then schedule i for
     * {@code b_{i-1} ≤ t < b_i}, which sees the step counted from its boundary, {@code t - b_{i-1}}. This is
     * optax {@code join_schedules(schedules, boundaries)} and torch {@code SequentialLR(schedulers, milestones)}
     * (which restarts each scheduler from 0 at its milestone). {@link Schedule#then(long, Schedule)} is the
     * same for two schedules.
     *
     * @param schedules  at least two schedules
     * @param boundaries one fewer than the schedules, each greater than 0, strictly increasing
     * @return the joined schedule
     * @throws IllegalArgumentException if there are fewer than two schedules, the numbers do not fit, or the
     *                                  boundaries are not positive and strictly increasing
     * @throws NullPointerException     if an argument or a schedule is null
     */
    public static Schedule join(List<? extends Schedule> schedules, long... boundaries) {
        Objects.requireNonNull(schedules, "schedules is null");
        Objects.requireNonNull(boundaries, "boundaries is null");
        if (schedules.size() < 2) {
            throw new IllegalArgumentException("join needs at least two schedules, got " + schedules.size());
        }
        if (boundaries.length != schedules.size() - 1) {
            throw new IllegalArgumentException("join of " + schedules.size() + " schedules needs "
                    + (schedules.size() - 1) + " boundaries, got " + boundaries.length);
        }
        Schedule[] parts = new Schedule[schedules.size()];
        for (int i = 0; i < parts.length; i++) {
            int index = i;
            parts[i] = Objects.requireNonNull(schedules.get(i), () -> "schedule " + index + " is null");
        }
        checkIncreasing("boundary", "boundaries", boundaries);
        return new Joined(parts, boundaries.clone());
    }

    record Joined(Schedule[] parts, long[] boundaries) implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            int i = 0;
            while (i < boundaries.length && boundaries[i] <= step) {
                i++;
            }
            return parts[i].at(i == 0 ? step : step - boundaries[i - 1]);
        }

        Schedule append(long boundary, Schedule next) {
            long last = boundaries[boundaries.length - 1];
            if (boundary <= last) {
                throw new IllegalArgumentException("boundary " + boundary + " must be greater than the last boundary"
                        + " of the joined schedule (" + last + "); boundaries are steps counted from 0, not from"
                        + " the previous boundary");
            }
            Schedule[] p = Arrays.copyOf(parts, parts.length + 1);
            p[parts.length] = next;
            long[] b = Arrays.copyOf(boundaries, boundaries.length + 1);
            b[boundaries.length] = boundary;
            return new Joined(p, b);
        }

        @Override
        public String toString() {
            return "Joined[parts=" + Arrays.toString(parts) + ", boundaries=" + Arrays.toString(boundaries) + "]";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Joined j && Arrays.equals(parts, j.parts) && Arrays.equals(boundaries, j.boundaries);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(parts) + Arrays.hashCode(boundaries);
        }
    }

    record Warmup(long steps, Schedule after) implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            return step < steps ? after.at(0) * ((double) step / steps) : after.at(step - steps);
        }
    }

    record Scaled(double factor, Schedule inner) implements Schedule {
        @Override
        public double at(long step) {
            checkStep(step);
            return factor * inner.at(step);
        }
    }
}
