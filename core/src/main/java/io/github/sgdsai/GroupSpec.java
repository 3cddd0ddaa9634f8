// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.schedule.Schedule;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Hyperparameters and tensors of one parameter group, as given to a builder. Values left unset fall back to the
 * optimizer builder's, then to the optimizer's defaults; lr has no default. The learning rate, the momentum (β₁)
 * and the weight decay are each either a fixed number or a {@link Schedule} of the step count, never both.
 *
 * @param <B> the concrete builder type, returned by every setter for chaining
 */
public abstract class GroupSpec<B extends GroupSpec<B>> {
    Double lr;
    Schedule lrSchedule;
    Double momentum;
    Schedule momentumSchedule;
    Double beta2;
    Double eps;
    Double weightDecay;
    Schedule weightDecaySchedule;
    Boolean maximize;
    Scaling scaling;
    Boolean amsgrad;
    final List<TensorSpec> tensors = new ArrayList<>();

    GroupSpec() {
    }

    /** A tensor as added; {@code shape} is null when none was given. */
    record TensorSpec(String name, FloatSpan param, FloatSpan grad, int[] shape) {
    }

    /** The hyperparameters of a group once defaults are applied and everything is validated. */
    record Values(double lr, double momentum, double beta2, double eps, double weightDecay, boolean maximize,
                  Scaling scaling, boolean amsgrad, Schedule lrSchedule, Schedule momentumSchedule,
                  Schedule weightDecaySchedule) {
    }

    @SuppressWarnings("unchecked")
    final B self() {
        return (B) this;
    }

    /**
     * Learning rate η ≥ 0 (required, here or on the optimizer builder, as a number or a schedule). Can be changed
     * later with {@link Optimizer.Group#setLr}.
     *
     * @param lr the learning rate
     * @return this builder
     */
    public B lr(double lr) {
        this.lr = lr;
        return self();
    }

    /**
     * Learning rate as a schedule of the optimizer's step count (see {@link io.github.sgdsai.schedule.Schedules}):
     * the step after {@code t} applied steps uses {@code schedule.at(t)}. A step skipped by the non-finite policy
     * does not advance it (torch's schedulers, stepped by the training loop, do advance). A group with a scheduled lr
     * refuses {@link Optimizer.Group#setLr}.
     *
     * @param schedule the schedule
     * @return this builder
     */
    public B lr(Schedule schedule) {
        this.lrSchedule = Objects.requireNonNull(schedule, "lr schedule is null");
        return self();
    }

    /**
     * ε ≥ 0: SGD-SaI adds it to the gradient's standard deviation in g-SNR = ‖g‖ / (σ + ε), Adam to the
     * denominator; default 1e-8.
     *
     * @param eps the value
     * @return this builder
     */
    public B eps(double eps) {
        this.eps = eps;
        return self();
    }

    /**
     * Decoupled weight decay λ ≥ 0 ({@code p ← p·(1 − λη) − …}); the default depends on the optimizer.
     *
     * @param weightDecay the value
     * @return this builder
     */
    public B weightDecay(double weightDecay) {
        this.weightDecay = weightDecay;
        return self();
    }

    /**
     * Decoupled weight decay as a schedule of the step count.
     *
     * @param schedule the schedule
     * @return this builder
     */
    public B weightDecay(Schedule schedule) {
        this.weightDecaySchedule = Objects.requireNonNull(schedule, "weight decay schedule is null");
        return self();
    }

    /**
     * Whether to maximize the objective (use −g for g); default false.
     *
     * @param maximize the value
     * @return this builder
     */
    public B maximize(boolean maximize) {
        this.maximize = maximize;
        return self();
    }

    /** Applies the builder's values and {@code d} to unset ones, and validates; names {@code where} in errors. */
    Values resolve(String where, GroupSpec<?> builder, Values d) {
        Setting lrSet = choose(where, "lr", lr, lrSchedule, builder.lr, builder.lrSchedule, null);
        Setting muSet = choose(where, "momentum", momentum, momentumSchedule, builder.momentum, builder.momentumSchedule,
                d.momentum());
        Setting wdSet = choose(where, "weight decay", weightDecay, weightDecaySchedule, builder.weightDecay,
                builder.weightDecaySchedule, d.weightDecay());
        return new Values(
                Hyper.lr(lrSet.where(where, "lr"), lrSet.initial()),
                Hyper.momentum(muSet.where(where, "momentum"), muSet.initial()),
                Double.isNaN(d.beta2()) ? Double.NaN : Hyper.beta2(where, pick(beta2, builder.beta2, d.beta2())),
                Hyper.eps(where, pick(eps, builder.eps, d.eps())),
                Hyper.weightDecay(wdSet.where(where, "weight decay"), wdSet.initial()),
                maximize != null ? maximize : builder.maximize != null ? builder.maximize : d.maximize(),
                scaling != null ? scaling : builder.scaling != null ? builder.scaling : d.scaling(),
                amsgrad != null ? amsgrad : builder.amsgrad != null ? builder.amsgrad : d.amsgrad(),
                lrSet.schedule(), muSet.schedule(), wdSet.schedule());
    }

    /** A hyperparameter as a fixed value or a schedule. */
    private record Setting(double value, Schedule schedule) {
        /** The value at step 0. */
        double initial() {
            return schedule != null ? schedule.at(0) : value;
        }

        String where(String group, String what) {
            return schedule != null ? group + " " + what + " schedule at step 0" : group;
        }
    }

    /**
     * The group's own setting, else the builder's, else {@code dflt}; refuses a spec that sets a value both ways, and a
     * missing value without a default.
     */
    private static Setting choose(String where, String what, Double value, Schedule schedule, Double builderValue,
                                  Schedule builderSchedule, Double dflt) {
        if (value != null && schedule != null) {
            throw new IllegalArgumentException(where + ": " + what + " is set both as a number and as a schedule; choose one");
        }
        if (builderValue != null && builderSchedule != null) {
            throw new IllegalArgumentException("builder: " + what + " is set both as a number and as a schedule; choose one");
        }
        if (value != null || schedule != null) {
            return new Setting(value != null ? value : Double.NaN, schedule);
        }
        if (builderValue != null || builderSchedule != null) {
            return new Setting(builderValue != null ? builderValue : Double.NaN, builderSchedule);
        }
        if (dflt == null) {
            throw new IllegalArgumentException(where + ": " + what + " is required (set it on the builder or the group)");
        }
        return new Setting(dflt, null);
    }

    private static double pick(Double groupValue, Double builderValue, double dflt) {
        return groupValue != null ? groupValue : builderValue != null ? builderValue : dflt;
    }

    /**
     * Adds a tensor whose parameter and gradient are whole arrays of equal length.
     *
     * @param name the tensor's name, unique within the optimizer
     * @param param the parameter values, updated in place by each step
     * @param grad the gradient, read by each step and never modified
     * @return this builder
     */
    public B add(String name, float[] param, float[] grad) {
        return add(name, spanOf(name, "parameter", param), spanOf(name, "gradient", grad));
    }

    /**
     * Adds a tensor whose parameter and gradient are whole arrays of equal length, with its shape: see
     * {@link #add(String, FloatSpan, FloatSpan, int...)}.
     *
     * @param name  the tensor's name
     * @param param its parameter
     * @param grad  its gradient
     * @param shape its dimensions as laid out in the arrays (row-major: the last one varies fastest)
     * @return this builder
     */
    public B add(String name, float[] param, float[] grad, int... shape) {
        return add(name, spanOf(name, "parameter", param), spanOf(name, "gradient", grad), shape);
    }

    /**
     * Adds a tensor of {@code length} floats: {@code param[paramOffset ..]} with gradient {@code grad[gradOffset ..]}.
     *
     * @param name the tensor's name, unique within the optimizer
     * @param param the array holding the parameter values, updated in place by each step
     * @param paramOffset index in {@code param} of the tensor's element 0
     * @param grad the array holding the gradient, read by each step and never modified
     * @param gradOffset index in {@code grad} of the gradient's element 0
     * @param length number of elements of the tensor
     * @return this builder
     */
    public B add(String name, float[] param, int paramOffset, float[] grad, int gradOffset, int length) {
        Objects.requireNonNull(param, () -> "tensor '" + name + "': parameter array is null");
        Objects.requireNonNull(grad, () -> "tensor '" + name + "': gradient array is null");
        return add(name, slice(name, "parameter", param, paramOffset, length), slice(name, "gradient", grad, gradOffset, length));
    }

    /**
     * Adds a tensor whose parameter and gradient are buffers, each from its position to its limit.
     *
     * @param name the tensor's name, unique within the optimizer
     * @param param the parameter values, updated in place by each step
     * @param grad the gradient, read by each step and never modified
     * @return this builder
     */
    public B add(String name, FloatBuffer param, FloatBuffer grad) {
        Objects.requireNonNull(param, () -> "tensor '" + name + "': parameter buffer is null");
        Objects.requireNonNull(grad, () -> "tensor '" + name + "': gradient buffer is null");
        return add(name, FloatSpan.of(param), FloatSpan.of(grad));
    }

    /**
     * Adds a tensor whose parameter and gradient are buffers, each from its position to its limit, with its shape:
     * see {@link #add(String, FloatSpan, FloatSpan, int...)}.
     *
     * @param name  the tensor's name
     * @param param its parameter
     * @param grad  its gradient
     * @param shape its dimensions as laid out in the buffers (row-major: the last one varies fastest)
     * @return this builder
     */
    public B add(String name, FloatBuffer param, FloatBuffer grad, int... shape) {
        Objects.requireNonNull(param, () -> "tensor '" + name + "': parameter buffer is null");
        Objects.requireNonNull(grad, () -> "tensor '" + name + "': gradient buffer is null");
        return add(name, FloatSpan.of(param), FloatSpan.of(grad), shape);
    }

    /**
     * Adds a tensor over any two spans (e.g. an array parameter with a direct-buffer gradient).
     *
     * @param name the tensor's name, unique within the optimizer
     * @param param the parameter values, updated in place by each step
     * @param grad the gradient, read by each step and never modified
     * @return this builder
     */
    public B add(String name, FloatSpan param, FloatSpan grad) {
        return addSpec(name, param, grad, null);
    }

    /**
     * Adds a tensor over any two spans, with its shape. Storage stays flat: the shape only tells how the elements are
     * laid out, row-major (C order: the last dimension varies fastest, so a matrix of shape {@code (rows, cols)} is
     * {@code rows} consecutive runs of {@code cols} elements). Give the layout of the memory, not a framework's
     * logical shape: a column-major {@code (a, b)} array is laid out as {@code (b, a)}. Only {@link AdamMini}'s
     * per-row rules read it ({@link AdamMini.Builder#modelShape}); the other optimizers ignore it. An empty shape is
     * a scalar (one element).
     *
     * @param name  the tensor's name
     * @param param its parameter
     * @param grad  its gradient
     * @param shape its dimensions as laid out, each {@code >= 1}, whose product is the tensor's length
     * @return this builder
     * @throws IllegalArgumentException naming the tensor if a dimension is below 1 or the product of the dimensions
     *                                  is not the tensor's length (or any problem the shape-less form reports)
     */
    public B add(String name, FloatSpan param, FloatSpan grad, int... shape) {
        Objects.requireNonNull(shape, () -> "tensor '" + name + "': shape is null");
        return addSpec(name, param, grad, shape.clone());
    }

    private B addSpec(String name, FloatSpan param, FloatSpan grad, int[] shape) {
        Objects.requireNonNull(name, "tensor name is null");
        Objects.requireNonNull(param, () -> "tensor '" + name + "': parameter is null");
        Objects.requireNonNull(grad, () -> "tensor '" + name + "': gradient is null");
        if (param.isReadOnly()) {
            throw new IllegalArgumentException("tensor '" + name + "': parameter buffer is read-only");
        }
        if (param.length() != grad.length()) {
            throw new IllegalArgumentException("tensor '" + name + "': parameter has " + param.length()
                    + " elements but gradient has " + grad.length());
        }
        if (param.length() == 0) {
            throw new IllegalArgumentException("tensor '" + name + "': is empty");
        }
        if (shape != null) {
            long product = 1;
            for (int d : shape) {
                if (d < 1) {
                    throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                            + " has a dimension below 1");
                }
                product = Math.min(product * d, Integer.MAX_VALUE + 1L); // saturates (below 2^62: no overflow)
            }
            if (product != param.length()) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " has "
                        + (product > Integer.MAX_VALUE ? "more than " + Integer.MAX_VALUE : String.valueOf(product))
                        + " elements but the tensor has " + param.length());
            }
        }
        tensors.add(new TensorSpec(name, param, grad, shape));
        return self();
    }

    private static FloatSpan spanOf(String name, String what, float[] a) {
        Objects.requireNonNull(a, () -> "tensor '" + name + "': " + what + " array is null");
        return FloatSpan.of(a);
    }

    private static FloatSpan slice(String name, String what, float[] a, int offset, int length) {
        try {
            return FloatSpan.of(a, offset, length);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tensor '" + name + "': " + what + " " + e.getMessage(), e);
        }
    }
}
