// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.ScalarBackend;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AdamW and Adam-mini on the shared engine: validation, equivalences, clipping, checkpoints, state bytes. */
class OptimizerFamilyTest {

    private static float[] gaussian(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    private static void assertRejected(Supplier<Optimizer> build, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::get);
        assertTrue(e.getMessage().contains(fragment), () -> "'" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    @Test
    void badHyperparametersAreRejectedAtBuildNamingTheGroupOrTensor() {
        float[] p = new float[12], g = new float[12];
        assertRejected(() -> AdamW.builder().lr(1e-3).betas(1.0, 0.999).add("w", p, g).build(), "group 0: momentum (beta1) must lie in [0, 1)");
        assertRejected(() -> AdamW.builder().lr(1e-3).group(gr -> gr.betas(0.9, -0.1).add("w", p, g)).build(), "group 0: beta2 must lie in [0, 1)");
        assertRejected(() -> AdamW.builder().lr(1e-3).betas(0.9, Double.NaN).add("w", p, g).build(), "beta2 must lie in [0, 1), got NaN");
        assertRejected(() -> AdamMini.builder().lr(1e-3).eps(-1).add("w", p, g).build(), "group 0: eps must be a finite number >= 0");
        assertRejected(() -> AdamW.builder().add("w", p, g).build(), "group 0: lr is required");
        assertRejected(() -> AdamMini.builder().lr(1e-3).partition("w", AdamMini.Partition.perRow(5)).add("w", p, g).build(),
                "tensor 'w': Adam-mini partition");
        assertRejected(() -> AdamMini.builder().lr(1e-3).partition("w", AdamMini.Partition.perHead(5)).add("w", p, g).build(),
                "into 5 heads");
        assertRejected(() -> AdamMini.builder().lr(1e-3).partition("v", AdamMini.Partition.perRow(4)).add("w", p, g).build(),
                "partition given for tensor 'v', which was not added");
        assertRejected(() -> SgdSai.builder().lr(1e-3).clipGradNorm(0).add("w", p, g).build(), "clipGradNorm: max must be");
        assertThrows(IllegalArgumentException.class, () -> AdamMini.Partition.perRow(0));
    }

    @Test
    void adamMiniWithEveryTensorPerElementIsAdamWBitForBit() {
        Random r = new Random(3);
        float[] a1 = gaussian(r, 301, 1), b1 = gaussian(r, 7, 1);
        float[] a2 = a1.clone(), b2 = b1.clone();
        float[] ga = new float[301], gb = new float[7];
        try (AdamW w = AdamW.builder().lr(3e-3).betas(0.8, 0.99).weightDecay(0.05).backend("scalar")
                .add("a", a1, ga).group(g -> g.maximize(true).add("b", b1, gb)).build();
             AdamMini m = AdamMini.builder().lr(3e-3).betas(0.8, 0.99).weightDecay(0.05).backend("scalar")
                     .partition("a", AdamMini.Partition.perElement()).partition("b", AdamMini.Partition.perElement())
                     .add("a", a2, ga).group(g -> g.maximize(true).add("b", b2, gb)).build()) {
            for (int k = 0; k < 10; k++) {
                Random s = new Random(100 + k);
                System.arraycopy(gaussian(s, 301, 1 + k), 0, ga, 0, 301);
                System.arraycopy(gaussian(s, 7, 0.1), 0, gb, 0, 7);
                w.step();
                m.step();
                assertArrayEquals(a1, a2, "step " + k);
                assertArrayEquals(b1, b2, "step " + k);
            }
            assertEquals(w.stateBufferBytes(), m.stateBufferBytes());
        }
    }

    /** Builds each optimizer over one tensor, with or without clipping. */
    private static Optimizer build(int which, float[] p, float[] g, double clip) {
        Optimizer.Builder<?, ?, ?> b = switch (which) {
            case 0 -> SgdSai.builder().lr(1e-2).add("p", p, g);
            case 1 -> AdamW.builder().lr(1e-2).amsgrad(true).add("p", p, g);
            default -> AdamMini.builder().lr(1e-2).partition("p", AdamMini.Partition.perRow(10)).add("p", p, g);
        };
        b.backend("scalar");
        if (clip > 0) {
            b.clipGradNorm(clip);
        }
        return b.build();
    }

    @Test
    void aClippedStepEqualsAnUnclippedStepOnThePrescaledGradient() {
        for (int which = 0; which < 3; which++) {
            Random r = new Random(9);
            float[] p1 = gaussian(r, 5000, 1), p2 = p1.clone(), g1 = new float[5000], g2 = new float[5000];
            try (Optimizer clipped = build(which, p1, g1, 1.0); Optimizer plain = build(which, p2, g2, 0)) {
                for (int k = 0; k < 6; k++) {
                    float[] g = gaussian(new Random(k), 5000, k % 2 == 0 ? 1 : 1e-5); // clips on even steps only
                    System.arraycopy(g, 0, g1, 0, g.length);
                    double norm = Math.sqrt(ScalarBackend.sumSquares(FloatSpan.of(g), 1f, 0, g.length));
                    double c = 1.0 / (norm + Optimizer.CLIP_EPS);
                    float coef = c < 1 ? (float) c : 1f;
                    for (int i = 0; i < g.length; i++) {
                        g2[i] = g[i] * coef;
                    }
                    clipped.step();
                    plain.step();
                    assertEquals(norm, clipped.lastGradNorm());
                    assertArrayEquals(p2, p1, "optimizer " + which + " step " + k);
                }
                if (which == 0) {
                    assertEquals(plain.tensor("p").gsnr(), clipped.tensor("p").gsnr(), "g-SNR of the clipped gradient");
                }
            }
        }
    }

    @Test
    void adamCheckpointsRoundTripBitForBit() throws IOException {
        for (int which = 1; which < 3; which++) {
            Random r = new Random(4);
            float[] init = gaussian(r, 400, 1);
            float[] pa = init.clone(), ga = new float[400], pb = init.clone(), gb = new float[400];
            byte[] saved;
            try (Optimizer a = build(which, pa, ga, 2.0)) {
                for (int k = 0; k < 8; k++) {
                    System.arraycopy(gaussian(new Random(k), 400, 1), 0, ga, 0, 400);
                    a.step();
                }
            }
            try (Optimizer b = build(which, pb, gb, 2.0)) {
                for (int k = 0; k < 3; k++) {
                    System.arraycopy(gaussian(new Random(k), 400, 1), 0, gb, 0, 400);
                    b.step();
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                b.save(out);
                saved = out.toByteArray();
            }
            try (Optimizer c = build(which, pb, gb, 2.0)) {
                c.load(new ByteArrayInputStream(saved));
                for (int k = 3; k < 8; k++) {
                    System.arraycopy(gaussian(new Random(k), 400, 1), 0, gb, 0, 400);
                    c.step();
                }
            }
            assertArrayEquals(pa, pb, "optimizer " + which);
            try (Optimizer other = build(which == 1 ? 0 : 1, new float[400], new float[400], 0)) {
                CheckpointException e = assertThrows(CheckpointException.class, () -> other.load(new ByteArrayInputStream(saved)));
                assertTrue(e.getMessage().contains("checkpoint is of a"), e.getMessage());
            }
        }
    }

    @Test
    void aNonFiniteGradientChangesNothingInTheAdamFamily() throws IOException {
        for (int which = 1; which < 3; which++) {
            Random r = new Random(6);
            float[] p = gaussian(r, 100, 1), g = gaussian(r, 100, 1);
            try (Optimizer opt = build(which, p, g, 0)) {
                opt.step();
                ByteArrayOutputStream before = new ByteArrayOutputStream();
                opt.save(before);
                float[] params = p.clone();
                g[37] = Float.POSITIVE_INFINITY;
                float[] grads = g.clone();
                NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, opt::step);
                assertTrue(e.getMessage().contains("'p'") && e.getMessage().contains("37"), e.getMessage());
                ByteArrayOutputStream after = new ByteArrayOutputStream();
                opt.save(after);
                assertArrayEquals(before.toByteArray(), after.toByteArray());
                assertArrayEquals(params, p);
                assertArrayEquals(grads, g);
            }
        }
    }

    @Test
    void sgdSaiHoldsExactlyHalfTheStateOfAdamW() {
        float[] p = new float[1000], g = gaussian(new Random(1), 1000, 1);
        float[] p2 = new float[1000];
        try (SgdSai s = SgdSai.builder().lr(1e-3).add("p", p, g).build();
             AdamW a = AdamW.builder().lr(1e-3).add("p", p2, g).build()) {
            s.step();
            a.step();
            assertEquals(4000, s.stateBufferBytes());
            assertEquals(8000, a.stateBufferBytes());
        }
    }

    @Test
    void aVersion1CheckpointFromTheReleaseBeforeAdamWLoadsAsSgdSai() throws IOException {
        // core/src/test/resources/fixtures/v1-checkpoint.bin was written by the release before the optimizer family
        // (commit d88c658) for this model after 5 steps.
        float[] w = new float[50], gw = new float[50], b = new float[7], gb = new float[7];
        Random init = new Random(5);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) init.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) init.nextGaussian();
        }
        float[] w2 = w.clone(), b2 = b.clone(), gw2 = new float[50], gb2 = new float[7];
        try (SgdSai straight = model(w, gw, b, gb); SgdSai resumed = model(w2, gw2, b2, gb2)) {
            for (int k = 0; k < 8; k++) {
                if (k == 5) {
                    System.arraycopy(w, 0, w2, 0, w.length);
                    System.arraycopy(b, 0, b2, 0, b.length);
                    try (InputStream in = Objects.requireNonNull(getClass().getResourceAsStream("/fixtures/v1-checkpoint.bin"))) {
                        resumed.load(in);
                    }
                    assertEquals(5, resumed.steps());
                    assertEquals(straight.tensor("w").gsnr(), resumed.tensor("w").gsnr());
                    assertEquals(straight.maxGsnr(), resumed.maxGsnr());
                }
                Random r = new Random(k);
                for (int i = 0; i < gw.length; i++) {
                    gw[i] = (float) r.nextGaussian();
                }
                for (int i = 0; i < gb.length; i++) {
                    gb[i] = (float) r.nextGaussian();
                }
                System.arraycopy(gw, 0, gw2, 0, gw.length);
                System.arraycopy(gb, 0, gb2, 0, gb.length);
                straight.step();
                if (k >= 5) {
                    resumed.step();
                }
            }
            assertArrayEquals(w, w2);
            assertArrayEquals(b, b2);
        }
    }

    private static SgdSai model(float[] w, float[] gw, float[] b, float[] gb) {
        return SgdSai.builder().lr(0.05).backend("scalar").add("w", w, gw)
                .group(g -> g.lr(0.01).momentum(0).maximize(true).scaling(Scaling.GSNR_MAX_NORMALIZED).add("b", b, gb))
                .build();
    }
}
