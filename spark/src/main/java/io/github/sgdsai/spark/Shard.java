// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import java.io.Serializable;
import java.util.List;

/** The records that travel between the driver and the executors. */
final class Shard {
    private Shard() {
    }

    /**
     * A shard's part of the training state, as cached in Spark's block manager: never modified once made (a retried
     * or recomputed task must find it as it was).
     *
     * @param shard      its index
     * @param params     the parameter slices
     * @param checkpoint the shard optimizer's state ({@code SgdSai.save}), or null before the first applied step
     */
    record State(int shard, float[][] params, byte[] checkpoint) implements Serializable {
    }

    /**
     * One micro-batch's gradient slices for one shard.
     *
     * @param micro  the micro-batch's index in its batch
     * @param slices the shard's slices of its gradient
     * @param loss   its loss (shard 0's leaf only; 0 for the others)
     * @param error  why the micro-batch's gradient is invalid (then sent to shard 0 only, with no slices), or null
     */
    record Leaf(int micro, float[][] slices, double loss, String error) implements Serializable {
    }

    /**
     * A shard's gradient slices, its micro-batches added in order.
     *
     * @param shard  the shard
     * @param slices the summed slices
     * @param loss   the batch's loss (shard 0 only)
     * @param error  the first invalid micro-batch's error, in micro-batch order (then no slices), or null
     */
    record Grad(int shard, float[][] slices, double loss, String error) implements Serializable {
    }

    /**
     * What the driver needs to decide a step: per slice the first non-finite index (or -1) and its value, and the sums
     * of squares of its {@code StepBatch.SUM_BLOCK}-element blocks (null when not clipping).
     *
     * @param shard        the shard
     * @param loss         the batch's loss (shard 0 only)
     * @param badIndex     per slice, the first non-finite index in it, or -1
     * @param badValue     per slice, that value
     * @param blockSquares per slice, its blocks' sums of squares, or null
     * @param error        the batch's first gradient error (see {@link Grad#error}), or null
     */
    record Summary(int shard, double loss, int[] badIndex, float[] badValue, double[][] blockSquares, String error)
            implements Serializable {
    }

    /**
     * The examples of one micro-batch of an epoch, in batch order.
     *
     * @param step      its batch's index in the epoch
     * @param micro     its index in the batch
     * @param batchRows examples in the whole batch
     * @param rows      its examples
     * @param <T>       the type of an example
     */
    record MicroBatch<T>(int step, int micro, int batchRows, List<T> rows) implements Serializable {
    }

    /**
     * Calls the gradient function on a micro-batch; an exception it throws is rethrown as a
     * {@link GradientFunctionFailure} that says where (its cause is the original). On Spark the task is then retried
     * (the failure may be transient) and the driver reports the last attempt's failure.
     */
    static <T> Gradient compute(GradientFunction<T> fn, Parameters params, List<T> rows, int batchRows, long epoch,
                                int step, int micro) {
        try {
            return fn.compute(params, rows, batchRows);
        } catch (RuntimeException e) {
            throw new GradientFunctionFailure("gradient function failed (epoch " + epoch + ", step " + step
                    + ", micro-batch " + micro + "): " + e, e);
        }
    }

    /** An exception thrown by the user's gradient function, with the step it was computing. */
    static final class GradientFunctionFailure extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        GradientFunctionFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Why a micro-batch's gradient is invalid, or null if it is not: a deterministic error, so it is reported at once
     * rather than retried. The same check, with the same message, runs in {@link LocalTrainer}.
     *
     * @param g       the gradient function's result
     * @param names   the tensors' names
     * @param lengths their lengths
     * @param epoch   the epoch, step and micro-batch, for the message
     * @param step    the step within the epoch
     * @param micro   the micro-batch within the step
     * @return the message, or null
     */
    static String invalid(Gradient g, String[] names, int[] lengths, long epoch, int step, int micro) {
        String where = " (epoch " + epoch + ", step " + step + ", micro-batch " + micro + ")";
        if (g == null) {
            return "gradient function returned null" + where;
        }
        float[][] sums = g.sums();
        if (sums == null || sums.length != names.length) {
            return "gradient function returned " + (sums == null ? "null gradient arrays" : sums.length
                    + " gradient arrays") + ", expected " + names.length + " (one per tensor "
                    + java.util.Arrays.toString(names) + ")" + where;
        }
        for (int t = 0; t < sums.length; t++) {
            if (sums[t] == null || sums[t].length != lengths[t]) {
                return "gradient of tensor '" + names[t] + "' has length "
                        + (sums[t] == null ? "null" : String.valueOf(sums[t].length)) + ", expected " + lengths[t]
                        + where;
            }
        }
        return null;
    }
}
