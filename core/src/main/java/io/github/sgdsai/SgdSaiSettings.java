// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.schedule.Schedule;

import java.util.Objects;

/**
 * The hyperparameters of SGD-SaI beyond those every optimizer has, on its builder and group builder alike.
 *
 * @param <B> the concrete builder, returned by every setter for chaining
 */
public sealed interface SgdSaiSettings<B extends GroupSpec<B>> permits SgdSai.Builder, SgdSai.GroupBuilder {

    /**
     * Momentum μ ∈ [0, 1); default 0.9. With 0 no momentum buffer is kept.
     *
     * @param momentum the value
     * @return this builder
     */
    default B momentum(double momentum) {
        GroupSpec<B> spec = spec();
        spec.momentum = momentum;
        return spec.self();
    }

    /**
     * Momentum as a schedule of the step count (e.g. {@code OneCycle}'s momentum cycle).
     *
     * @param schedule the schedule
     * @return this builder
     */
    default B momentum(Schedule schedule) {
        GroupSpec<B> spec = spec();
        spec.momentumSchedule = Objects.requireNonNull(schedule, "momentum schedule is null");
        return spec.self();
    }

    /**
     * How the per-tensor scale is derived from g-SNR; default {@link Scaling#GSNR}.
     *
     * @param scaling the mode
     * @return this builder
     */
    default B scaling(Scaling scaling) {
        GroupSpec<B> spec = spec();
        spec.scaling = Objects.requireNonNull(scaling, "scaling is null");
        return spec.self();
    }

    @SuppressWarnings("unchecked")
    private GroupSpec<B> spec() {
        return (GroupSpec<B>) this;
    }
}
