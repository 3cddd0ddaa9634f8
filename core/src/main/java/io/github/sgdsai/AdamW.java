// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.StepBatch;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * AdamW (Loshchilov and Hutter, arXiv 1711.05101) with the arithmetic of {@code torch.optim.AdamW(fused=True)} on
 * CPU, so that its updates are bit-identical to it.
 *
 * <h2>The update</h2>
 * For each tensor taking part in a step, with gradient g (−g when maximizing, times the clipping coefficient when
 * clipping), learning rate η, betas β₁ and β₂, eps ε and weight decay λ of its group, and t the tensor's own step
 * count including this step:
 * <pre>
 * p = p·(1 − λη)                       decoupled weight decay
 * m = m + (1 − β₁)(g − m)              torch's lerp
 * v = β₂·v + (1 − β₂)·g²
 * v̂ = max(v̂, v)                        amsgrad only; then v̂ replaces v below
 * p = p − η/(1 − β₁ᵗ) · m / (sqrt(v) / sqrt(1 − β₂ᵗ) + ε)
 * </pre>
 * In float: {@code p = p·(f)(1−λη)}; {@code m = fma((f)(1−β₁), g−m, m)}, or {@code fma((f)(1−β₁)−1, g−m, g)} when
 * {@code (f)(1−β₁) ≥ 0.5}; {@code v = fma((f)(1−β₂)·g, g, v·(f)β₂)}; {@code d = sqrt(v)/(f)sqrt(1−β₂ᵗ) + (f)ε};
 * {@code p = p + ((f)(−η/(1−β₁ᵗ))·m)/d}, the bias corrections in double. State: two floats per parameter (three with
 * amsgrad), allocated at a tensor's first step.
 *
 * <pre>{@code
 * try (AdamW opt = AdamW.builder().lr(Schedules.warmupCosine(3e-4, 100, 10_000, 3e-5))
 *         .betas(0.9, 0.95).weightDecay(0.1).clipGradNorm(1.0)
 *         .add("w", w, dw)
 *         .group(g -> g.weightDecay(0).add("b", b, db))
 *         .build()) {
 *     opt.step();
 * }
 * }</pre>
 */
public final class AdamW extends Optimizer {

    private AdamW(Builder b, List<Group> groups, Backend backend) {
        super(b, groups, backend);
    }

    /**
     * A new builder. Defaults as torch's: betas (0.9, 0.999), eps 1e-8, weight decay 1e-2, amsgrad and maximize false;
     * lr has none.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    Kind kind() {
        return Kind.ADAMW;
    }

    @Override
    Set<Backend.Feature> features() {
        return EnumSet.of(Backend.Feature.ADAMW);
    }

    @Override
    void setEntry(StepBatch batch, int i, Tensor t, float gs) {
        if (t.momentum == null) {
            t.momentum = backend.allocateMomentum(t.param);
            t.second = allocate(t, t.length());
            batch.setMomentum(i, t.momentum);
        }
        if (t.group.amsgrad && t.maxSecond == null) {
            t.maxSecond = allocate(t, t.length());
        }
        setAdam(batch, i, t, gs, StepBatch.Kind.ADAMW, 1);
    }

    /** Sets entry {@code i} of an Adam kind for tensor {@code t}, whose coming step is its {@code t.steps + 1}-th. */
    static void setAdam(StepBatch batch, int i, Tensor t, float gs, StepBatch.Kind kind, int blockSize) {
        Group g = t.group;
        long step = t.steps + 1;
        double bc1 = 1 - Math.pow(g.momentum, step);
        double bc2 = 1 - Math.pow(g.beta2, step);
        batch.setAdam(i, kind, gs, (float) (1.0 - g.weightDecay * g.lr), (float) (1.0 - g.momentum), (float) g.beta2,
                (float) (1.0 - g.beta2), (float) Math.sqrt(bc2), (float) g.eps, (float) (-g.lr / bc1), t.second,
                t.maxSecond, blockSize);
    }

    /** Hyperparameters and tensors of a group added with {@link Builder#group}. */
    public static final class GroupBuilder extends GroupSpec<GroupBuilder> implements AdamSettings<GroupBuilder> {
        private GroupBuilder() {
        }

        /**
         * Whether to use amsgrad (the running maximum of v); default false.
         *
         * @param amsgrad the value
         * @return this builder
         */
        public GroupBuilder amsgrad(boolean amsgrad) {
            this.amsgrad = amsgrad;
            return this;
        }
    }

    /** Builds an {@link AdamW}; hyperparameters set here are the defaults of every group. */
    public static final class Builder extends Optimizer.Builder<Builder, GroupBuilder, AdamW>
            implements AdamSettings<Builder> {
        private static final GroupSpec.Values DEFAULTS = new GroupSpec.Values(Double.NaN, 0.9, 0.999, 1e-8, 1e-2, false,
                null, false, null, null, null);

        private Builder() {
        }

        /**
         * Whether every group uses amsgrad; default false.
         *
         * @param amsgrad the value
         * @return this builder
         */
        public Builder amsgrad(boolean amsgrad) {
            this.amsgrad = amsgrad;
            return this;
        }

        @Override
        GroupBuilder newGroup() {
            return new GroupBuilder();
        }

        @Override
        GroupSpec.Values defaults() {
            return DEFAULTS;
        }

        @Override
        int blockSize(Group g, GroupSpec.TensorSpec t) {
            return 1;
        }

        @Override
        AdamW create(List<Group> groups, Backend backend) {
            return new AdamW(this, groups, backend);
        }
    }
}
