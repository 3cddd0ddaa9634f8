// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * How the tensors are cut into shards. The flattened parameters (tensor after tensor) are cut into units: chunks of
 * {@code chunk} elements of a tensor (the backend's {@code momentsChunk()}, so g-SNR partials can be computed per
 * chunk where the chunk lives), or whole tensors when {@code chunk} is 0. Each shard holds a run of consecutive units
 * (so at most one contiguous slice of each tensor, and a tensor's slices in shard order), cut as evenly as whole units
 * allow (see {@link #bounds}). A shard is empty only when there are fewer units than shards.
 */
final class Layout implements Serializable {
    private static final long serialVersionUID = 1L;

    final String[] names;
    final int[] lengths;
    final int chunk;
    final int shards;
    /** Per shard, per slice: the tensor, and the slice's [from, to) within it. */
    final int[][] tensor;
    final int[][] from;
    final int[][] to;

    Layout(String[] names, int[] lengths, int chunk, int shards) {
        this.names = names;
        this.lengths = lengths;
        this.chunk = chunk;
        this.shards = shards;
        // The units, in order: chunks of a tensor, or whole tensors.
        List<int[]> units = new ArrayList<>();
        for (int t = 0; t < lengths.length; t++) {
            int step = chunk > 0 ? chunk : lengths[t];
            for (int f = 0; f < lengths[t]; f += step) {
                units.add(new int[] {t, f, (int) Math.min(lengths[t], (long) f + step)});
            }
        }
        int[] bound = bounds(units, shards);
        List<List<int[]>> slices = new ArrayList<>();
        for (int k = 0; k < shards; k++) {
            List<int[]> list = new ArrayList<>();
            for (int u = bound[k]; u < bound[k + 1]; u++) {
                int[] unit = units.get(u);
                int[] last = list.isEmpty() ? null : list.get(list.size() - 1);
                if (last != null && last[0] == unit[0] && last[2] == unit[1]) {
                    last[2] = unit[2];
                } else {
                    list.add(unit.clone());
                }
            }
            slices.add(list);
        }
        tensor = new int[shards][];
        from = new int[shards][];
        to = new int[shards][];
        for (int k = 0; k < shards; k++) {
            List<int[]> list = slices.get(k);
            tensor[k] = new int[list.size()];
            from[k] = new int[list.size()];
            to[k] = new int[list.size()];
            for (int j = 0; j < list.size(); j++) {
                tensor[k][j] = list.get(j)[0];
                from[k][j] = list.get(j)[1];
                to[k][j] = list.get(j)[2];
            }
        }
    }

    /**
     * Where each shard's run of units starts ({@code shards + 1} indices, the last one the number of units): the
     * largest shard is as small as a contiguous cut can make it (the least {@code cap} for which cutting greedily
     * needs at most {@code shards} shards, never more than the mean plus one unit), no shard is empty when there are at
     * least as many units as shards, and within those limits each cut is the one nearest to its share
     * ({@code k / shards} of the elements).
     */
    static int[] bounds(List<int[]> units, int shards) {
        int n = units.size();
        long[] before = new long[n + 1];
        long largest = 0;
        for (int u = 0; u < n; u++) {
            long size = units.get(u)[2] - units.get(u)[1];
            before[u + 1] = before[u] + size;
            largest = Math.max(largest, size);
        }
        long total = before[n];
        long lo = Math.max(largest, (total + shards - 1) / shards);
        long hi = lo + largest;
        while (lo < hi) { // the least cap that greedy cutting fits in `shards` shards
            long mid = (lo + hi) >>> 1;
            if (greedyShards(before, mid) <= shards) {
                hi = mid;
            } else {
                lo = mid;
                lo++;
            }
        }
        long cap = lo;
        // fromRight[k]: the earliest start of shard k from which the units left fit in shards k.. under the cap
        int[] fromRight = new int[shards + 1];
        fromRight[shards] = n;
        for (int k = shards - 1; k >= 0; k--) {
            int i = fromRight[k + 1];
            while (i > 0 && before[fromRight[k + 1]] - before[i - 1] <= cap) {
                i--;
            }
            fromRight[k] = i;
        }
        boolean nonEmpty = n >= shards;
        int[] bound = new int[shards + 1];
        bound[shards] = n;
        for (int k = 1; k < shards; k++) {
            int prev = bound[k - 1];
            int low = Math.max(fromRight[k], nonEmpty ? prev + 1 : prev);
            int reach = prev;
            while (reach < n && before[reach + 1] - before[prev] <= cap) {
                reach++;
            }
            int high = Math.min(reach, nonEmpty ? n - (shards - k) : n);
            double share = (double) total * k / shards;
            int best = low;
            for (int b = low + 1; b <= high; b++) {
                if (Math.abs(before[b] - share) < Math.abs(before[best] - share)) {
                    best = b;
                }
            }
            bound[k] = best;
        }
        return bound;
    }

    /** Shards that cutting greedily (each shard takes units while it holds at most {@code cap}) makes. */
    private static int greedyShards(long[] before, long cap) {
        int shards = 0;
        int n = before.length - 1;
        for (int start = 0; start < n; shards++) {
            int end = start;
            while (end < n && before[end + 1] - before[start] <= cap) {
                end++;
            }
            start = end;
        }
        return shards;
    }

    /** Elements held by shard {@code k}. */
    long elements(int k) {
        long n = 0;
        for (int j = 0; j < tensor[k].length; j++) {
            n += to[k][j] - from[k][j];
        }
        return n;
    }

    /** Slice {@code j} of shard {@code k} of {@code whole} (one array per tensor), copied. */
    float[] cut(float[][] whole, int k, int j) {
        return java.util.Arrays.copyOfRange(whole[tensor[k][j]], from[k][j], to[k][j]);
    }
}
