// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * How the tensors are cut into shards. The flattened parameters (tensor after tensor) are cut into units: chunks of
 * {@code chunk} elements of a tensor (the backend's {@code momentsChunk()}, so g-SNR partials can be computed per
 * chunk where the chunk lives), or whole tensors when {@code chunk} is 0. Consecutive units go to the same shard
 * until it holds about {@code 1 / shards} of all elements, so a shard holds at most one contiguous slice of each
 * tensor. A shard may be empty when there are fewer units than shards.
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
        long total = 0;
        for (int n : lengths) {
            total += n;
        }
        List<List<int[]>> slices = new ArrayList<>();
        for (int k = 0; k < shards; k++) {
            slices.add(new ArrayList<>());
        }
        long before = 0;
        for (int t = 0; t < lengths.length; t++) {
            int step = chunk > 0 ? chunk : lengths[t];
            for (int f = 0; f < lengths[t]; f += step) {
                int e = (int) Math.min(lengths[t], (long) f + step);
                // the shard whose share of the elements holds the unit's middle: non-decreasing along the units
                int k = (int) Math.min(shards - 1, (2 * before + (e - f)) * shards / (2 * total));
                List<int[]> list = slices.get(k);
                int[] last = list.isEmpty() ? null : list.get(list.size() - 1);
                if (last != null && last[0] == t && last[2] == f) {
                    last[2] = e;
                } else {
                    list.add(new int[] {t, f, e});
                }
                before += e - f;
            }
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
