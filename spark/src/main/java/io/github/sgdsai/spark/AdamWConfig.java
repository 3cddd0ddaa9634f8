// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import io.github.sgdsai.AdamW;

import java.io.Serializable;
import java.util.function.Consumer;

/**
 * Configures an {@link AdamW.Builder} for {@link SparkTrainer.Builder#adamw}, as {@link OptimizerConfig} does for
 * SGD-SaI: hyperparameters, schedules, name-based groups and the non-finite policy, no tensors, no clipping (that is
 * configured on the trainer). Serialized to the executors: a serializable lambda or class, e.g.
 * {@code b -> b.lr(3e-4).betas(0.9, 0.95).weightDecay(0.1)}.
 */
@FunctionalInterface
public interface AdamWConfig extends Consumer<AdamW.Builder>, Serializable {
}
