// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import java.io.Serializable;
import java.util.Objects;

/**
 * What a {@link GradientFunction} returns for one micro-batch.
 *
 * @param loss the micro-batch's loss (the trainer adds micro-batches' losses in micro-batch order)
 * @param sums the gradient, one array per tensor in the trainer's tensor order, each exactly as long as its tensor
 */
public record Gradient(double loss, float[][] sums) implements Serializable {

    /**
     * Checks that {@code sums} is not null.
     *
     * @param loss the loss
     * @param sums the gradient arrays
     */
    public Gradient {
        Objects.requireNonNull(sums, "sums is null");
    }
}
