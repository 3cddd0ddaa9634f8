// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The update rules of {@link SgdSai}, each against the independent {@link Reference}. */
class SgdSaiTest {

    static float[] randn(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale + 0.1 * scale);
        }
        return a;
    }

    private static SgdSai.Builder defaults() {
        return SgdSai.builder().lr(0.01).backend("scalar");
    }

    /** Runs {@code steps} steps of one tensor through the optimizer and the reference; asserts bit equality. */
    private static void assertMatchesReference(SgdSai.Builder b, Storage storage, int n, int steps, double momentum,
                                               double wd, boolean maximize, double eps) {
        Random r = new Random(n * 31L + steps);
        float[] p0 = randn(r, n, 1);
        FloatSpan p = storage.of(p0);
        FloatSpan g = storage.of(new float[n]);
        Reference ref = new Reference(p0, momentum, wd, maximize);
        try (SgdSai opt = b.momentum(momentum).weightDecay(wd).maximize(maximize).eps(eps).add("t", p, g).build()) {
            for (int k = 0; k < steps; k++) {
                float[] grad = randn(r, n, 1);
                g.copyFrom(grad);
                double lr = 0.01 / (1 + k);
                opt.group(0).setLr(lr);
                assertTrue(opt.step());
                if (k == 0) {
                    float[] signed = grad.clone();
                    ref.scale = (float) opt.tensor("t").gsnr();
                    assertEquals(Reference.gsnr(signed, eps), opt.tensor("t").gsnr(), 1e-12 * opt.tensor("t").gsnr());
                }
                ref.step(grad, lr);
                assertArrayEquals(ref.p, Storage.values(p), "step " + k);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Storage.class)
    void everyStorageKindFollowsTheDocumentedArithmetic(Storage storage) {
        assertMatchesReference(defaults(), storage, 37, 5, 0.9, 1e-2, false, 1e-8);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 15, 16, 17, 1000})
    void oddLengths(int n) {
        assertMatchesReference(defaults(), Storage.ARRAY, n, 4, 0.9, 1e-2, false, 1e-8);
    }

    @Test
    void momentumZeroKeepsNoBufferAndIsPlainSgd() {
        assertMatchesReference(defaults(), Storage.ARRAY, 20, 4, 0.0, 1e-2, false, 1e-8);
        float[] p = new float[20];
        float[] g = new float[20];
        java.util.Arrays.fill(g, 1f);
        g[0] = 2f;
        try (SgdSai opt = defaults().momentum(0).add("t", p, g).build()) {
            opt.step();
            assertEquals(SgdSai.SCALAR_STATE_BYTES_PER_TENSOR, opt.stateBytes());
        }
    }

    @Test
    void stateIsFourBytesPerParameterWithMomentum() {
        Random r = new Random(1);
        try (SgdSai opt = defaults().add("a", randn(r, 100, 1), randn(r, 100, 1))
                .add("b", randn(r, 7, 1), randn(r, 7, 1)).build()) {
            assertEquals(2L * SgdSai.SCALAR_STATE_BYTES_PER_TENSOR, opt.stateBytes());
            opt.step();
            assertEquals(4L * 107 + 2L * SgdSai.SCALAR_STATE_BYTES_PER_TENSOR, opt.stateBytes());
        }
    }

    @Test
    void momentumLivesOnTheSameKindOfStorageAsTheParameter() {
        try (SgdSai opt = defaults().add("direct", Storage.DIRECT_SWAPPED.of(new float[5]), Storage.ARRAY.of(new float[] {1, 2, 3, 4, 5}))
                .add("heap", Storage.HEAP_BUFFER.of(new float[3]), Storage.DIRECT_NATIVE.of(new float[] {1, 2, 4})).build()) {
            assertNull(opt.tensor("direct").momentumBuffer(), "allocated lazily");
            opt.step();
            assertTrue(opt.tensor("direct").momentumBuffer().isDirect());
            assertFalse(opt.tensor("heap").momentumBuffer().isDirect());
            assertEquals(5, opt.tensor("direct").momentumBuffer().length());
        }
    }

    @Test
    void maximizeUsesTheNegatedGradient() {
        assertMatchesReference(defaults(), Storage.DIRECT_SWAPPED, 33, 5, 0.5, 0.1, true, 1e-3);
    }

    @Test
    void firstStepCopiesTheGradientIntoMomentum() {
        float[] p = {0f, 0f, 0f};
        float[] g = {1f, 2f, 4f};
        try (SgdSai opt = defaults().weightDecay(0).momentum(0.9).add("t", p, g).build()) {
            opt.step();
            float s = opt.tensor("t").scale();
            float step = 0.01f * s;
            assertArrayEquals(new float[] {-step * 1f, -step * 2f, -step * 4f}, p);
        }
    }

    @Test
    void gsnrOfASingleElementUsesZeroSigma() {
        float[] p = {1f};
        float[] g = {3f};
        try (SgdSai opt = defaults().eps(0.5).add("t", p, g).build()) {
            opt.step();
            assertEquals(6.0, opt.tensor("t").gsnr());
        }
    }

    @Test
    void constantGradientNeedsEps() {
        float[] g = {2f, 2f, 2f, 2f};
        try (SgdSai opt = defaults().eps(1e-8).add("t", new float[4], g).build()) {
            opt.step();
            assertEquals(4.0 / 1e-8, opt.tensor("t").gsnr(), 1e-6);
        }
        float[] p = {1f, 2f, 3f, 4f};
        try (SgdSai opt = defaults().eps(0).add("flat", p, g).build()) {
            ArithmeticException e = assertThrows(ArithmeticException.class, opt::step);
            assertTrue(e.getMessage().contains("'flat'"), e.getMessage());
            assertArrayEquals(new float[] {1f, 2f, 3f, 4f}, p);
            assertFalse(opt.tensor("flat").hasGsnr());
            assertEquals(0, opt.steps());
        }
    }

    @Test
    void zeroGradientGivesZeroScaleAndOnlyDecays() {
        float[] p = {1f, -2f};
        try (SgdSai opt = defaults().weightDecay(0.5).add("t", p, new float[2]).build()) {
            opt.step();
            assertEquals(0.0, opt.tensor("t").gsnr());
            float decay = (float) (1 - 0.5 * 0.01);
            assertArrayEquals(new float[] {1f * decay, -2f * decay}, p);
        }
    }

    @Test
    void gsnrIsExactForHugeAndSubnormalGradients() {
        float[] huge = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MAX_VALUE / 2, 1e38f};
        float[] tiny = {Float.MIN_VALUE, 2 * Float.MIN_VALUE, 0f, 5 * Float.MIN_VALUE};
        for (float[] g : new float[][] {huge, tiny}) {
            double got = SgdSai.gsnr(FloatSpan.of(g), 0);
            double want = Reference.gsnr(g, 0);
            assertTrue(Double.isFinite(got));
            assertEquals(want, got, 1e-12 * want);
        }
    }

    @Test
    void noCancellationForLargeMeanSmallSpread() {
        // mean 1e4, spread 1e-3: the naive Σg² − n·mean² formula loses every digit of σ in float.
        float[] g = new float[1000];
        for (int i = 0; i < g.length; i++) {
            g[i] = 10000f + (i % 2 == 0 ? 0.0009765625f : -0.0009765625f);
        }
        double sigma = 0.0009765625 * Math.sqrt(1000.0 / 999.0);
        double norm = Math.sqrt(1000.0 * (10000.0 * 10000.0 + 0.0009765625 * 0.0009765625));
        assertEquals(norm / sigma, SgdSai.gsnr(FloatSpan.of(g), 0), 1e-9 * norm / sigma);
    }

    @Test
    void scalingModes() {
        Random r = new Random(7);
        float[] ga = randn(r, 50, 1);
        float[] gb = randn(r, 30, 0.001);
        gb[0] = 1f; // a low-SNR tensor
        double sa = Reference.gsnr(ga, 1e-8);
        double sb = Reference.gsnr(gb, 1e-8);
        try (SgdSai opt = defaults().scaling(Scaling.GSNR_MAX_NORMALIZED)
                .add("a", new float[50], ga).add("b", new float[30], gb)
                .group(g -> g.scaling(Scaling.NONE).add("c", new float[3], new float[] {1, 2, 3}))
                .build()) {
            opt.step();
            double max = Math.max(sa, sb);
            assertEquals((float) (opt.tensor("a").gsnr() / max), opt.tensor("a").scale());
            assertEquals((float) (opt.tensor("b").gsnr() / max), opt.tensor("b").scale());
            assertEquals(1f, Math.max(opt.tensor("a").scale(), opt.tensor("b").scale()));
            assertEquals(1f, opt.tensor("c").scale());
            assertTrue(opt.tensor("c").hasGsnr(), "NONE still reports the g-SNR");
        }
    }

    @Test
    void lateJoinerInMaxNormalizedModeUsesTheFirstStepMaximum() {
        float[] ga = {1f, 2f, 3f, 4f};
        float[] gb = {5f, 5.5f, 6f, 9f};
        try (SgdSai opt = defaults().scaling(Scaling.GSNR_MAX_NORMALIZED)
                .add("a", new float[4], ga).add("late", new float[4], gb).build()) {
            opt.tensor("late").setFrozen(true);
            opt.step();
            assertEquals(1f, opt.tensor("a").scale());
            assertFalse(opt.tensor("late").hasGsnr());
            opt.tensor("late").setFrozen(false);
            opt.step();
            assertEquals((float) (Reference.gsnr(gb, 1e-8) / opt.tensor("a").gsnr()), opt.tensor("late").scale(), 1e-6f);
            assertTrue(opt.tensor("late").scale() > 1f, "a later tensor with higher g-SNR may exceed 1");
        }
    }

    @Test
    void frozenTensorIsUntouchedAndJoinsLaterWithItsOwnFirstStep() {
        Random r = new Random(3);
        float[] p0 = randn(r, 10, 1);
        float[] p = p0.clone();
        float[] g = randn(r, 10, 1);
        Reference ref = new Reference(p0, 0.9, 1e-2, false);
        try (SgdSai opt = defaults().add("other", new float[5], randn(r, 5, 1)).add("t", p, g).build()) {
            opt.tensor("t").setFrozen(true);
            opt.step();
            opt.step();
            assertArrayEquals(p0, p);
            assertEquals(0, opt.tensor("t").steps());
            opt.tensor("t").setFrozen(false);
            opt.step();
            ref.scale = (float) Reference.gsnr(g, 1e-8);
            ref.step(g, 0.01);
            assertArrayEquals(ref.p, p);
            assertEquals(1, opt.tensor("t").steps());
            assertEquals(3, opt.tensor("other").steps());
        }
    }

    @Test
    void twoGroupsKeepTheirOwnHyperparameters() {
        Random r = new Random(5);
        float[] pa0 = randn(r, 9, 1);
        float[] pb0 = randn(r, 11, 1);
        float[] pa = pa0.clone();
        float[] pb = pb0.clone();
        float[] ga = randn(r, 9, 1);
        float[] gb = randn(r, 11, 1);
        try (SgdSai opt = SgdSai.builder().lr(0.02).momentum(0.8).backend("scalar").add("a", pa, ga)
                .group(g -> g.lr(0.001).momentum(0).weightDecay(0.3).maximize(true).add("b", pb, gb)).build()) {
            assertEquals(0.8, opt.group(0).momentum());
            assertEquals(0.01, opt.group(0).weightDecay());
            assertEquals(0.0, opt.group(1).momentum());
            assertEquals(0.001, opt.group(1).lr());
            Reference ra = new Reference(pa0, 0.8, 0.01, false);
            Reference rb = new Reference(pb0, 0, 0.3, true);
            for (int k = 0; k < 3; k++) {
                opt.step();
                ra.scale = opt.tensor("a").scale();
                rb.scale = opt.tensor("b").scale();
                ra.step(ga, 0.02);
                rb.step(gb, 0.001);
                assertArrayEquals(ra.p, pa);
                assertArrayEquals(rb.p, pb);
            }
        }
    }

    @Test
    void gradientIsNeverModified() {
        Random r = new Random(9);
        float[] g = randn(r, 40, 1);
        float[] copy = g.clone();
        try (SgdSai opt = defaults().maximize(true).add("t", new float[40], g).build()) {
            opt.step();
            opt.step();
        }
        assertArrayEquals(copy, g);
    }

    @Test
    void closedOptimizerRefusesToStep() {
        SgdSai opt = defaults().add("t", new float[2], new float[] {1, 2}).build();
        opt.close();
        opt.close();
        assertThrows(IllegalStateException.class, opt::step);
    }

    @Test
    void skipPolicyReportsAndChangesNothing() {
        float[] p = {1f, 2f, 3f};
        float[] g = {1f, Float.NaN, 1f};
        try (SgdSai opt = defaults().nonFinite(NonFinitePolicy.SKIP_STEP).add("t", p, g).build()) {
            assertNull(opt.lastSkip());
            assertFalse(opt.step());
            assertEquals(new SgdSai.Skip(0, "t", 1, Float.NaN), opt.lastSkip());
            assertEquals(1, opt.skippedSteps());
            assertEquals(0, opt.steps());
            assertArrayEquals(new float[] {1f, 2f, 3f}, p);
            g[1] = 2f;
            assertTrue(opt.step());
            assertEquals(1, opt.steps());
        }
    }

    @Test
    void uncheckedPolicyDoesNotLook() {
        float[] p = {1f, 2f, 3f};
        float[] g = {1f, 2f, 3f};
        try (SgdSai opt = defaults().nonFinite(NonFinitePolicy.UNCHECKED).add("t", p, g).build()) {
            opt.step();
            g[0] = Float.POSITIVE_INFINITY;
            assertTrue(opt.step());
            assertEquals(Float.NEGATIVE_INFINITY, p[0]);
        }
    }
}
