// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import io.github.sgdsai.SgdSai;

import java.io.Serializable;
import java.util.function.Consumer;

/**
 * Configures an {@link SgdSai.Builder} (hyperparameters, schedules, name-based groups, non-finite policy) without
 * adding tensors: the trainer adds them. It is serialized to the executors, where every shard builds its optimizer
 * with it, so it must be a serializable lambda or class, e.g.
 * {@code b -> b.lr(0.01).group(NameRule.biasesAndNorms(), g -> g.weightDecay(0))}. Gradient clipping is configured on
 * the trainer ({@link SparkTrainer.Builder#clipGradNorm}), since its norm is over every shard at once.
 */
@FunctionalInterface
public interface OptimizerConfig extends Consumer<SgdSai.Builder>, Serializable {
}
