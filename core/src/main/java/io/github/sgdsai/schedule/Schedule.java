// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.schedule;

import java.util.List;
import java.util.Objects;

/**
 * A value (a learning rate, a momentum, a weight decay ...) as a pure function of the optimizer's step count.
 *
 * <p>{@code at(t)} is the value to use for the step that is applied when {@code t} steps have been applied
 * so far: {@code at(0)} is used by the first step. This is the convention of both {@code torch.optim.lr_scheduler}
 * (the value after {@code t} calls of {@code scheduler.step()}) and optax (the schedule called with the update
 * count). A schedule keeps no state, so it needs nothing in a checkpoint: restoring the step count restores it.
 *
 * <p>The built-ins in {@link Schedules} are closed forms computed in double; they reject a negative step with
 * an {@link IllegalArgumentException} and never return a negative, NaN or infinite value for valid arguments
 * (except where the caller asked for growth that overflows, e.g. {@code exponential(1, 2)} at step 2000).
 * {@link Schedules#valueAt} checks any schedule's value before the optimizer uses it.
 *
 * <p>Composition: {@link #then(long, Schedule)} joins schedules at a step boundary, {@link #withWarmup(long)}
 * puts a linear warm-up in front, {@link #scaled(double)} multiplies by a constant. For example, 2 000 warm-up
 * steps to 3e-4, then a cosine over the remaining 98 000 steps to 3e-5:
 * <pre>{@code
 * Schedule lr = Schedules.cosine(3e-4, 98_000, 3e-5).withWarmup(2_000);
 * }</pre>
 */
@FunctionalInterface
public interface Schedule {

    /**
     * The value for the step applied after {@code step} steps.
     *
     * @param step the number of steps applied so far, at least 0
     * @return the value; for the built-ins a finite number at least 0
     * @throws IllegalArgumentException if {@code step} is negative (the built-ins)
     */
    double at(long step);

    /**
     * This schedule until {@code boundary}, then {@code next}, which sees the step counted from the boundary:
     * the result at step t is {@code at(t)} for {@code t < boundary} and {@code next.at(t - boundary)} otherwise
     * (optax {@code join_schedules}, torch {@code SequentialLR}). Chains read left to right with absolute
     * boundaries: {@code a.then(100, b).then(500, c)} runs a for steps 0..99, b for 100..499 (seeing 0..399) and
     * c from 500 on.
     *
     * @param boundary the first step of {@code next}, greater than 0 and, when this schedule is itself a join,
     *                 greater than its last boundary
     * @param next     the schedule from {@code boundary} on
     * @return the joined schedule
     * @throws IllegalArgumentException if {@code boundary} is not greater than 0 or than this join's last
     *                                  boundary
     * @throws NullPointerException     if {@code next} is null
     */
    default Schedule then(long boundary, Schedule next) {
        Objects.requireNonNull(next, "next schedule is null");
        if (this instanceof Schedules.Joined j) {
            return j.append(boundary, next);
        }
        return Schedules.join(List.of(this, next), boundary);
    }

    /**
     * A linear warm-up from 0 in front of this schedule: the result at step t is {@code at(0) * t / steps} for
     * {@code t < steps} and {@code at(t - steps)} otherwise, so this schedule starts, from its own step 0,
     * once the warm-up is over. With {@code steps == 0} the result is this schedule. Hugging Face's
     * {@code get_cosine_schedule_with_warmup(w, n)} is {@code Schedules.cosine(peak, n - w, 0).withWarmup(w)}.
     *
     * @param steps length of the warm-up, at least 0
     * @return the schedule with a warm-up
     * @throws IllegalArgumentException if {@code steps} is negative
     */
    default Schedule withWarmup(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("warm-up steps must be >= 0, got " + steps);
        }
        if (steps == 0) {
            return this;
        }
        return new Schedules.Warmup(steps, this);
    }

    /**
     * This schedule multiplied by a constant: the result at step t is {@code factor * at(t)}.
     *
     * @param factor a finite number at least 0
     * @return the scaled schedule
     * @throws IllegalArgumentException if {@code factor} is negative, NaN or infinite
     */
    default Schedule scaled(double factor) {
        return new Schedules.Scaled(Schedules.nonNegative("factor", factor), this);
    }
}
