// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import io.github.sgdsai.spi.StepBatch;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.DoubleArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.util.function.IntUnaryOperator;

/**
 * The tables of Adam-mini's two reduction passes ({@link Kernels#blockSquares}, {@link Kernels#miniSecond}) over
 * the packed arrays: every block of every Adam-mini tensor is cut into segments of at most
 * {@link StepBatch#SUM_BLOCK} elements from the block's start (the blocks of
 * {@link io.github.sgdsai.spi.ScalarBackend#sumSquares}); {@code seg} lists the segments (slot, first packed
 * index, length), {@code first} each block's first segment, and {@code sum} receives the segments' sums.
 */
final class MiniTables {
    final IntArray seg;
    final IntArray first;
    final DoubleArray sum;

    private MiniTables(int segments, int blocks) {
        seg = new IntArray(Kernels.SEG * segments);
        first = new IntArray(blocks);
        sum = new DoubleArray(segments);
        sum.clear();
    }

    /**
     * The tables for {@code slots} tensors with the given packed offsets, lengths and Adam-mini block sizes (0 for
     * a tensor of another kind), or {@code null} if none is an Adam-mini tensor.
     */
    static MiniTables of(int slots, IntUnaryOperator offset, IntUnaryOperator length, IntUnaryOperator block) {
        long segments = 0;
        long blocks = 0;
        for (int t = 0; t < slots; t++) {
            int bs = block.applyAsInt(t);
            if (bs > 0) {
                long n = length.applyAsInt(t) / bs;
                blocks += n;
                segments += n * ((bs + StepBatch.SUM_BLOCK - 1) / StepBatch.SUM_BLOCK);
            }
        }
        if (blocks == 0) {
            return null;
        }
        if (Kernels.SEG * segments > Integer.MAX_VALUE) {
            throw new IllegalStateException("too many Adam-mini segments for one table: " + segments);
        }
        MiniTables m = new MiniTables((int) segments, (int) blocks);
        int s = 0;
        int b = 0;
        for (int t = 0; t < slots; t++) {
            int bs = block.applyAsInt(t);
            if (bs <= 0) {
                continue;
            }
            int off = offset.applyAsInt(t);
            int n = length.applyAsInt(t) / bs;
            for (int k = 0; k < n; k++) {
                m.first.set(b++, s);
                for (int from = 0; from < bs; from += StepBatch.SUM_BLOCK) {
                    m.seg.set(Kernels.SEG * s, t);
                    m.seg.set(Kernels.SEG * s + 1, off + k * bs + from);
                    m.seg.set(Kernels.SEG * s + 2, Math.min(StepBatch.SUM_BLOCK, bs - from));
                    s++;
                }
            }
        }
        return m;
    }

    /** Adds the two passes to {@code tg} (before its update task), with the tables uploaded at the first execution. */
    TaskGraph addTasks(TaskGraph tg, FloatArray g, FloatArray v, IntArray info, FloatArray coef) {
        return tg.transferToDevice(DataTransferMode.FIRST_EXECUTION, seg, first, sum)
                .task("squares", Kernels::blockSquares, g, seg, info, coef, sum)
                .task("second", Kernels::miniSecond, v, first, seg, sum, info, coef);
    }
}
