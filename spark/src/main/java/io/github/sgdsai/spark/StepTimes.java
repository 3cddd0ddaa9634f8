// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

/**
 * Where the time of one step went. Task times are summed over Spark tasks (CPU-side work, whatever ran in
 * parallel); {@code wallNanos} is the driver's clock from the start of the step to the new parameters being
 * broadcast.
 *
 * @param gradientNanos  summed time of the gradient function calls (forward and backward passes)
 * @param reduceNanos    summed time of the shard owners adding the micro-batches' gradient slices in order (after
 *                       the shuffle has delivered them)
 * @param checkNanos     summed time of the non-finite check, clipping norm partials and (first step) g-SNR partials
 * @param updateNanos    summed time of the shard optimizers' updates (building the shard's optimizer, restoring its
 *                       state, the step, saving its state)
 * @param broadcastNanos driver time to gather the updated parameter slices and broadcast the new parameters
 * @param wallNanos      driver wall-clock time of the whole step
 */
public record StepTimes(long gradientNanos, long reduceNanos, long checkNanos, long updateNanos, long broadcastNanos,
                        long wallNanos) {
}
