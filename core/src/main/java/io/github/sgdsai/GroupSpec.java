// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Hyperparameters and tensors of one parameter group, as given to a builder. Values left unset fall back to
 * the {@link SgdSai.Builder}'s, then to the defaults (momentum 0.9, eps 1e-8, weight decay 1e-2, maximize
 * false, {@link Scaling#GSNR}); lr has no default.
 *
 * @param <B> the concrete builder type, returned by every setter for chaining
 */
public abstract sealed class GroupSpec<B extends GroupSpec<B>> permits SgdSai.Builder, SgdSai.GroupBuilder {
    Double lr;
    Double momentum;
    Double eps;
    Double weightDecay;
    Boolean maximize;
    Scaling scaling;
    final List<TensorSpec> tensors = new ArrayList<>();

    GroupSpec() {
    }

    record TensorSpec(String name, FloatSpan param, FloatSpan grad) {
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** Learning rate η ≥ 0 (required, here or on the optimizer builder). Can be changed later with {@link SgdSai.Group#setLr}. */
    public B lr(double lr) {
        this.lr = lr;
        return self();
    }

    /** Momentum μ ∈ [0, 1); default 0.9. With 0 no momentum buffer is kept. */
    public B momentum(double momentum) {
        this.momentum = momentum;
        return self();
    }

    /** ε ≥ 0 added to the gradient's standard deviation in g-SNR = ‖g‖ / (σ + ε); default 1e-8. */
    public B eps(double eps) {
        this.eps = eps;
        return self();
    }

    /** Decoupled weight decay λ ≥ 0 (p ← p·(1 − λη) − …); default 1e-2. */
    public B weightDecay(double weightDecay) {
        this.weightDecay = weightDecay;
        return self();
    }

    /** Whether to maximize the objective (use −g for g); default false. */
    public B maximize(boolean maximize) {
        this.maximize = maximize;
        return self();
    }

    /** How the per-tensor scale is derived from g-SNR; default {@link Scaling#GSNR}. */
    public B scaling(Scaling scaling) {
        this.scaling = Objects.requireNonNull(scaling, "scaling is null");
        return self();
    }

    /** Adds a tensor whose parameter and gradient are whole arrays of equal length. */
    public B add(String name, float[] param, float[] grad) {
        return add(name, spanOf(name, "parameter", param), spanOf(name, "gradient", grad));
    }

    /**
     * Adds a tensor of {@code length} floats: {@code param[paramOffset ..]} with gradient {@code grad[gradOffset ..]}.
     */
    public B add(String name, float[] param, int paramOffset, float[] grad, int gradOffset, int length) {
        Objects.requireNonNull(param, () -> "tensor '" + name + "': parameter array is null");
        Objects.requireNonNull(grad, () -> "tensor '" + name + "': gradient array is null");
        return add(name, slice(name, "parameter", param, paramOffset, length), slice(name, "gradient", grad, gradOffset, length));
    }

    /** Adds a tensor whose parameter and gradient are buffers, each from its position to its limit. */
    public B add(String name, FloatBuffer param, FloatBuffer grad) {
        Objects.requireNonNull(param, () -> "tensor '" + name + "': parameter buffer is null");
        Objects.requireNonNull(grad, () -> "tensor '" + name + "': gradient buffer is null");
        return add(name, FloatSpan.of(param), FloatSpan.of(grad));
    }

    /** Adds a tensor over any two spans (e.g. an array parameter with a direct-buffer gradient). */
    public B add(String name, FloatSpan param, FloatSpan grad) {
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
        tensors.add(new TensorSpec(name, param, grad));
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
