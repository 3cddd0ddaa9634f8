// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How tensors are cut into shards: contiguous runs of whole units, as even as whole units allow. */
class LayoutTest {

    /** The trainer tests' tensors over 6 shards: 7 units (3 + 1 + 2 + 1). The first layout left shard 1 empty. */
    @Test
    void sixShardsOverSevenUnitsAreAllNonEmptyAndWithinOneChunkOfTheMean() {
        Layout lay = new Layout(SparkTrainerTest.NAMES, SparkTrainerTest.LENGTHS, 65536, 6);
        long total = 150_000 + 10 + 70_000 + 3;
        for (int k = 0; k < 6; k++) {
            assertTrue(lay.elements(k) > 0, "shard " + k + " is empty");
            assertTrue(Math.abs(lay.elements(k) - total / 6.0) <= 65536, "shard " + k + ": " + lay.elements(k));
        }
        assertEquals(65536, max(lay), "the largest shard is one chunk (no cut can do better)");
    }

    @Test
    void everyLayoutIsContiguousOptimalAndWithinOneUnitOfTheMean() {
        Random r = new Random(5);
        for (int trial = 0; trial < 3000; trial++) {
            int tensors = 1 + r.nextInt(5);
            int chunk = r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(8);
            int shards = 1 + r.nextInt(6);
            String[] names = new String[tensors];
            int[] lengths = new int[tensors];
            for (int t = 0; t < tensors; t++) {
                names[t] = "t" + t;
                lengths[t] = 1 + r.nextInt(20);
            }
            Layout lay = new Layout(names, lengths, chunk, shards);
            String what = java.util.Arrays.toString(lengths) + " chunk " + chunk + " over " + shards;
            // units, in order
            java.util.List<Integer> units = new java.util.ArrayList<>();
            long total = 0;
            int largest = 0;
            for (int n : lengths) {
                int step = chunk > 0 ? chunk : n;
                for (int f = 0; f < n; f += step) {
                    int size = Math.min(n, f + step) - f;
                    units.add(size);
                    largest = Math.max(largest, size);
                }
                total += n;
            }
            // contiguous: walking the shards in order visits every element of every tensor once, in order
            int t = 0;
            int at = 0;
            for (int k = 0; k < shards; k++) {
                for (int j = 0; j < lay.tensor[k].length; j++) {
                    if (at == lengths[t]) {
                        t++;
                        at = 0;
                    }
                    assertEquals(t, lay.tensor[k][j], what);
                    assertEquals(at, lay.from[k][j], what);
                    assertTrue(chunk == 0 ? lay.from[k][j] == 0 : lay.from[k][j] % chunk == 0, what);
                    at = lay.to[k][j];
                }
            }
            assertEquals(tensors - 1, t, what);
            assertEquals(lengths[tensors - 1], at, what);
            for (int k = 0; k < shards; k++) {
                if (units.size() >= shards) {
                    assertTrue(lay.elements(k) > 0, what + ": shard " + k + " is empty");
                }
                assertTrue(Math.abs(lay.elements(k) - (double) total / shards) <= largest,
                        what + ": shard " + k + " holds " + lay.elements(k));
            }
            assertEquals(bestMax(units, shards), max(lay), what + ": the largest shard is as small as can be");
        }
    }

    private static long max(Layout lay) {
        long m = 0;
        for (int k = 0; k < lay.shards; k++) {
            m = Math.max(m, lay.elements(k));
        }
        return m;
    }

    /** The least possible largest shard of a contiguous cut of the units into {@code shards} runs (some empty). */
    private static long bestMax(java.util.List<Integer> units, int shards) {
        int n = units.size();
        long[] before = new long[n + 1];
        for (int u = 0; u < n; u++) {
            before[u + 1] = before[u] + units.get(u);
        }
        long[] best = new long[n + 1]; // best[i]: units [i, n) in the runs so far
        for (int i = 0; i <= n; i++) {
            best[i] = before[n] - before[i];
        }
        for (int k = 2; k <= shards; k++) {
            long[] next = new long[n + 1];
            for (int i = 0; i <= n; i++) {
                next[i] = Long.MAX_VALUE;
                for (int e = i; e <= n; e++) {
                    next[i] = Math.min(next[i], Math.max(before[e] - before[i], best[e]));
                }
            }
            best = next;
        }
        return best[0];
    }
}
