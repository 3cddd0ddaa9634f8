// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.ScalarBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The chunked-moments hook ({@code momentsChunk}, {@code chunkSum}, {@code chunkCenteredSums}): partials computed on
 * chunk-aligned slices copied to other arrays (as a machine holding a shard of the tensor has them) and merged in
 * chunk order reproduce {@link VectorBackend#moments} bit for bit.
 */
class ChunkedMomentsTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 17, 65535, 65536, 65537, 3 * 65536 + 17})
    void slicesMergedInChunkOrderGiveTheMomentsBitForBit(int n) {
        Random r = new Random(n);
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) (r.nextGaussian() * 1e-3 + 2e-4);
        }
        try (VectorBackend b = new VectorBackend(2)) {
            double[] want = new double[2];
            b.moments(FloatSpan.of(g), want);
            int c = b.momentsChunk();
            assertEquals(VectorBackend.CHUNK, c);
            int chunks = (n + c - 1) / c;
            FloatSpan[] slice = new FloatSpan[chunks];
            for (int k = 0; k < chunks; k++) { // each chunk in an array of its own, at an odd offset
                int len = Math.min(n, (k + 1) * c) - k * c;
                float[] copy = new float[len + 3];
                System.arraycopy(g, k * c, copy, 3, len);
                slice[k] = FloatSpan.of(copy, 3, len);
            }
            double[] sums = new double[chunks];
            for (int k = 0; k < chunks; k++) {
                sums[k] = b.chunkSum(slice[k], 0, slice[k].length());
            }
            double mean = ScalarBackend.mergeInOrder(sums, 0, 1, chunks) / n;
            double[] acc = new double[3 * chunks];
            double[] one = new double[3];
            for (int k = 0; k < chunks; k++) {
                b.chunkCenteredSums(slice[k], mean, 0, slice[k].length(), one);
                System.arraycopy(one, 0, acc, 3 * k, 3);
            }
            assertEquals(want[0], ScalarBackend.mergeInOrder(acc, 0, 3, chunks));
            assertEquals(want[1], ScalarBackend.correctedM2(ScalarBackend.mergeInOrder(acc, 1, 3, chunks),
                    ScalarBackend.mergeInOrder(acc, 2, 3, chunks), n));
        }
    }
}
