// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.ScalarBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hooks for trainers that hold tensors in slices on several machines: {@link SgdSai#presetMoments},
 * {@link ScalarBackend#mergeInOrder}, the chunked-moments defaults of {@link Backend} and the public
 * {@link NonFiniteGradientException} constructor.
 */
class ShardHooksTest {

    @Test
    void aSliceWithPresetMomentsStepsBitForBitLikeTheWholeTensor() {
        Random r = new Random(7);
        int n = 1000;
        int from = 300;
        int to = 750;
        float[] p = SgdSaiTest.randn(r, n, 1);
        float[] slice = java.util.Arrays.copyOfRange(p, from, to);
        float[] g = new float[n];
        float[] sg = new float[to - from];
        try (SgdSai whole = SgdSai.builder().lr(0.05).backend("scalar").add("w", p, g).build();
             SgdSai part = SgdSai.builder().lr(0.05).backend("scalar").add("w", slice, sg).build()) {
            for (int step = 0; step < 4; step++) {
                float[] fresh = SgdSaiTest.randn(r, n, 1e-2);
                System.arraycopy(fresh, 0, g, 0, n);
                System.arraycopy(fresh, from, sg, 0, to - from);
                if (step == 0) {
                    double[] m = new double[2];
                    new ScalarBackend().moments(FloatSpan.of(g), m);
                    part.presetMoments("w", n, m[0], m[1]);
                    assertEquals(SgdSai.gsnr(FloatSpan.of(g), 1e-8), part.tensor("w").gsnr());
                }
                whole.step();
                part.step();
                assertArrayEquals(java.util.Arrays.copyOfRange(p, from, to), slice, "step " + step);
            }
            assertEquals(whole.tensor("w").gsnr(), part.tensor("w").gsnr());
            assertEquals(whole.tensor("w").scale(), part.tensor("w").scale());
        }
    }

    @Test
    void scalingNoneKeepsTheGsnrAndUsesScaleOne() {
        try (SgdSai opt = SgdSai.builder().lr(0.1).scaling(Scaling.NONE).backend("scalar")
                .add("w", new float[4], new float[4]).build()) {
            opt.presetMoments("w", 8, 16.0, 4.0);
            assertEquals(4.0 / (Math.sqrt(4.0 / 7) + 1e-8), opt.tensor("w").gsnr());
            assertEquals(1f, opt.tensor("w").scale());
        }
    }

    @Test
    void badPresetsAreRejectedAndChangeNothing() {
        float[] p = {1, 2, 3};
        try (SgdSai opt = SgdSai.builder().lr(0.1).eps(0).backend("scalar").add("w", p, new float[3])
                .group(g -> g.scaling(Scaling.GSNR_MAX_NORMALIZED).add("b", new float[2], new float[2])).build()) {
            assertThrows(IllegalArgumentException.class, () -> opt.presetMoments("nope", 3, 1, 1));
            assertThrows(IllegalArgumentException.class, () -> opt.presetMoments("w", 2, 1, 1));
            ArithmeticException e = assertThrows(ArithmeticException.class, () -> opt.presetMoments("w", 3, 3.0, 0.0));
            assertTrue(e.getMessage().contains("'w'"), e.getMessage());
            assertFalse(opt.tensor("w").hasGsnr());
            IllegalStateException max = assertThrows(IllegalStateException.class, () -> opt.presetMoments("b", 2, 1, 1));
            assertTrue(max.getMessage().contains("GSNR_MAX_NORMALIZED"), max.getMessage());
            opt.presetMoments("w", 3, 14.0, 2.0);
            assertThrows(IllegalStateException.class, () -> opt.presetMoments("w", 3, 14.0, 2.0));
            assertArrayEquals(new float[] {1, 2, 3}, p);
        }
    }

    @Test
    void mergeInOrderIsACompensatedSumInOrder() {
        double[] x = {1e16, 1.0, -1e16, 1.0, 0.5};
        assertEquals(2.5, ScalarBackend.mergeInOrder(x, 0, 1, 5));
        assertEquals(1e16 - 1e16 + 0.5, ScalarBackend.mergeInOrder(x, 0, 2, 3));
        assertEquals(0.0, ScalarBackend.mergeInOrder(x, 0, 1, 0));
    }

    @Test
    void theScalarBackendHasNoChunkedMoments() {
        Backend b = new ScalarBackend();
        assertEquals(0, b.momentsChunk());
        assertThrows(UnsupportedOperationException.class, () -> b.chunkSum(FloatSpan.of(new float[1]), 0, 1));
        assertThrows(UnsupportedOperationException.class,
                () -> b.chunkCenteredSums(FloatSpan.of(new float[1]), 0, 0, 1, new double[3]));
    }

    @Test
    void nonFiniteGradientExceptionCanBeMadeByTrainers() {
        NonFiniteGradientException e = new NonFiniteGradientException("w", 3, Float.NaN);
        assertEquals("w", e.tensor());
        assertEquals(3, e.index());
        assertTrue(Float.isNaN(e.value()));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("index 3"), e.getMessage());
    }
}
