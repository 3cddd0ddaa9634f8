// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import java.io.Serializable;
import java.util.Random;

/**
 * Which examples make up each batch and micro-batch: a function of the example count, batch size, micro-batch size
 * and seed only, never of how the data is partitioned.
 *
 * <p>Examples are numbered 0 … n − 1 in the order of the data set (for a Spark RDD: partition by partition, as
 * {@code zipWithIndex} numbers them). Each epoch visits them in a fresh order: epoch e's order is the (e + 1)-th
 * Fisher–Yates shuffle drawn from one {@code java.util.Random(seed)} ({@code for i = n−1 … 1: swap(a[i],
 * a[nextInt(i + 1)])}), or the identity without shuffling. Batch s of an epoch is positions
 * {@code [s·B, min(n, (s+1)·B))} of that order (the last batch may be smaller); micro-batch m of a batch is its
 * positions {@code [m·r, min(batch, (m+1)·r))}. The gradient of a batch is {@code 0 + mb_0 + mb_1 + …}, added in float
 * element by element in micro-batch order.
 */
public final class BatchPlan implements Serializable {
    private static final long serialVersionUID = 1L;

    /** n. */
    private final int examples;
    /** B. */
    private final int batchSize;
    /** r. */
    private final int microBatchSize;
    /** The shuffling seed. */
    private final long seed;
    /** Whether epochs are shuffled. */
    private final boolean shuffle;

    /**
     * A plan.
     *
     * @param examples       n, at least 1
     * @param batchSize      B, in [1, n]
     * @param microBatchSize r, in [1, B]
     * @param seed           the shuffling seed
     * @param shuffle        whether epochs visit the examples in a shuffled order
     * @throws IllegalArgumentException naming the parameter at fault
     */
    public BatchPlan(long examples, int batchSize, int microBatchSize, long seed, boolean shuffle) {
        if (examples < 1) {
            throw new IllegalArgumentException("data: there are no examples (the RDD is empty)");
        }
        if (examples > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("data: " + examples + " examples; at most " + (Integer.MAX_VALUE - 8)
                    + " are supported");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        if (batchSize > examples) {
            throw new IllegalArgumentException("batchSize " + batchSize + " is larger than the data (" + examples
                    + " examples)");
        }
        if (microBatchSize < 1 || microBatchSize > batchSize) {
            throw new IllegalArgumentException("microBatchSize must be in [1, batchSize = " + batchSize + "], got "
                    + microBatchSize);
        }
        this.examples = (int) examples;
        this.batchSize = batchSize;
        this.microBatchSize = microBatchSize;
        this.seed = seed;
        this.shuffle = shuffle;
    }

    /**
     * n, the number of examples.
     *
     * @return n, the number of examples
     */
    public int examples() {
        return examples;
    }

    /**
     * B, the batch size.
     *
     * @return B, the batch size
     */
    public int batchSize() {
        return batchSize;
    }

    /**
     * r, the micro-batch size.
     *
     * @return r, the micro-batch size
     */
    public int microBatchSize() {
        return microBatchSize;
    }

    /**
     * The shuffling seed.
     *
     * @return the shuffling seed
     */
    public long seed() {
        return seed;
    }

    /**
     * Whether epochs are shuffled.
     *
     * @return whether epochs are shuffled
     */
    public boolean shuffle() {
        return shuffle;
    }

    /**
     * Batches per epoch, {@code ceil(n / B)}.
     *
     * @return the number of batches per epoch, {@code ceil(n / B)}
     */
    public int stepsPerEpoch() {
        return (examples + batchSize - 1) / batchSize;
    }

    /**
     * Examples in batch {@code step} of an epoch.
     *
     * @param step the batch's index in its epoch
     * @return its size
     */
    public int batchRows(int step) {
        return Math.min(batchSize, examples - step * batchSize);
    }

    /**
     * Micro-batches of batch {@code step} of an epoch.
     *
     * @param step the batch's index in its epoch
     * @return their number
     */
    public int microBatches(int step) {
        return (batchRows(step) + microBatchSize - 1) / microBatchSize;
    }

    /**
     * The order of epoch {@code epoch}: {@code order[position] = example}.
     *
     * @param epoch the epoch, from 0
     * @return a new array
     */
    public int[] order(long epoch) {
        int[] a = new int[examples];
        Random r = new Random(seed);
        for (long e = 0; e <= epoch; e++) {
            for (int i = 0; i < examples; i++) {
                a[i] = i;
            }
            if (!shuffle) {
                return a;
            }
            for (int i = examples - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = a[i];
                a[i] = a[j];
                a[j] = t;
            }
        }
        return a;
    }

    /** Whether {@code other} cuts batches the same way (for resuming). */
    boolean sameAs(BatchPlan other) {
        return examples == other.examples && batchSize == other.batchSize && microBatchSize == other.microBatchSize
                && seed == other.seed && shuffle == other.shuffle;
    }

    @Override
    public String toString() {
        return "BatchPlan[n=" + examples + ", batchSize=" + batchSize + ", microBatchSize=" + microBatchSize + ", seed="
                + seed + ", shuffle=" + shuffle + "]";
    }
}
