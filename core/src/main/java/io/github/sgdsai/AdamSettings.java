// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.schedule.Schedule;

import java.util.Objects;

/**
 * The hyperparameters AdamW and Adam-mini share, on their builders and group builders alike.
 *
 * @param <B> the concrete builder, returned by every setter for chaining
 */
public sealed interface AdamSettings<B extends GroupSpec<B>>
        permits AdamW.Builder, AdamW.GroupBuilder, AdamMini.Builder, AdamMini.GroupBuilder {

    /**
     * β₁ and β₂, each in [0, 1); default (0.9, 0.999).
     *
     * @param beta1 the first-moment decay
     * @param beta2 the second-moment decay
     * @return this builder
     */
    default B betas(double beta1, double beta2) {
        GroupSpec<B> spec = spec();
        spec.momentum = beta1;
        spec.beta2 = beta2;
        return spec.self();
    }

    /**
     * β₁ as a schedule of the step count (e.g. {@code OneCycle}'s momentum cycle); β₂ stays as set by
     * {@link #betas} or its default.
     *
     * @param schedule the schedule
     * @return this builder
     */
    default B beta1(Schedule schedule) {
        GroupSpec<B> spec = spec();
        spec.momentumSchedule = Objects.requireNonNull(schedule, "beta1 schedule is null");
        return spec.self();
    }

    /**
     * β₂ alone, in [0, 1); default 0.999.
     *
     * @param beta2 the second-moment decay
     * @return this builder
     */
    default B beta2(double beta2) {
        GroupSpec<B> spec = spec();
        spec.beta2 = beta2;
        return spec.self();
    }

    @SuppressWarnings("unchecked")
    private GroupSpec<B> spec() {
        return (GroupSpec<B>) this;
    }
}
