// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import java.io.Serializable;
import java.util.List;

/**
 * Computes the loss and gradient sums of one micro-batch: the user's forward and backward pass. It runs on the
 * executors (so it is serialized to them) and must be a pure function of its arguments: Spark may run it twice for
 * the same micro-batch (a retried or speculative task), and both runs must give the same result.
 *
 * @param <T> the type of an example (a row of the training data)
 */
@FunctionalInterface
public interface GradientFunction<T> extends Serializable {

    /**
     * The loss and gradient of {@code rows}: one float array per tensor, in the trainer's tensor order, each as long
     * as its tensor. Whatever scaling the user wants (e.g. a mean over the batch, by multiplying each example's
     * contribution by {@code 1 / batchSize}) is done here; the trainer only adds micro-batches up.
     *
     * @param params    the current parameters; read only (they are shared by every task of the executor)
     * @param rows      the micro-batch's examples, in batch order
     * @param batchSize number of examples of the whole (global) batch this micro-batch belongs to
     * @return the micro-batch's loss and gradient sums
     */
    Gradient compute(Parameters params, List<T> rows, int batchSize);
}
