// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import io.github.sgdsai.Backends;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The TornadoVM backend against the scalar reference, on whatever device TornadoVM offers (PoCL here). */
class TornadoBackendTest {
    static final int[] LENGTHS = {1, 3, 15, 16, 17, 255, 256, 257, 1000, 70_001};

    static Backend tornado;

    @BeforeAll
    static void open() {
        assertNull(new TornadoBackendProvider().unavailableReason());
        tornado = Backends.create("tornado", new BackendOptions(1));
        System.out.println("TornadoVM device: " + ((TornadoBackend) tornado).deviceDescription());
    }

    @AfterAll
    static void close() {
        tornado.close();
    }

    @SuppressWarnings("unchecked")
    static final Function<float[], FloatSpan>[] STORAGE = new Function[] {
            (Function<float[], FloatSpan>) v -> FloatSpan.of(v.clone()),
            (Function<float[], FloatSpan>) v -> FloatSpan.of(FloatBuffer.wrap(pad(v), 1, v.length).slice()),
            (Function<float[], FloatSpan>) v -> direct(v, ByteOrder.LITTLE_ENDIAN),
            (Function<float[], FloatSpan>) v -> direct(v, ByteOrder.BIG_ENDIAN),
            (Function<float[], FloatSpan>) v -> heapBytes(v, ByteOrder.BIG_ENDIAN)};

    static float[] pad(float[] v) {
        float[] a = new float[v.length + 2];
        System.arraycopy(v, 0, a, 1, v.length);
        return a;
    }

    static FloatSpan direct(float[] v, ByteOrder order) {
        FloatSpan s = FloatSpan.of(ByteBuffer.allocateDirect(4 * v.length).order(order).asFloatBuffer());
        s.copyFrom(v);
        return s;
    }

    static FloatSpan heapBytes(float[] v, ByteOrder order) {
        FloatSpan s = FloatSpan.of(ByteBuffer.allocate(4 * v.length).order(order).asFloatBuffer());
        s.copyFrom(v);
        return s;
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * Math.exp(2 * r.nextGaussian()));
        }
        return a;
    }

    static float[] values(FloatSpan s) {
        float[] out = new float[s.length()];
        s.copyTo(out);
        return out;
    }

    @Test
    void updateIsBitIdenticalToTheReferenceInOneLaunchForAllTensors() {
        Random r = new Random(1);
        for (Function<float[], FloatSpan> storage : STORAGE) {
            for (float sign : new float[] {1f, -1f}) {
                int n = LENGTHS.length;
                FloatSpan[] p = new FloatSpan[n], g = new FloatSpan[n], rp = new FloatSpan[n], rg = new FloatSpan[n];
                FloatSpan[] m = new FloatSpan[n], rm = new FloatSpan[n];
                for (int t = 0; t < n; t++) {
                    float[] pv = random(r, LENGTHS[t]);
                    p[t] = storage.apply(pv);
                    rp[t] = FloatSpan.of(pv.clone());
                    m[t] = tornado.allocateMomentum(p[t]);
                    rm[t] = FloatSpan.of(new float[LENGTHS[t]]);
                }
                for (int step = 0; step < 3; step++) {
                    StepBatch mine = new StepBatch(n);
                    StepBatch ref = new StepBatch(n);
                    for (int t = 0; t < n; t++) {
                        float[] gv = random(r, LENGTHS[t]);
                        g[t] = storage.apply(gv);
                        rg[t] = FloatSpan.of(gv);
                        StepBatch.Kind kind = t % 3 == 0 ? StepBatch.Kind.SGD : step == 0 ? StepBatch.Kind.INIT : StepBatch.Kind.MOMENTUM;
                        boolean withM = kind != StepBatch.Kind.SGD;
                        mine.add(p[t], g[t], withM ? m[t] : null);
                        ref.add(rp[t], rg[t], withM ? rm[t] : null);
                        float mu = 0.9f;
                        mine.setRule(t, kind, sign, sign * 0.1f, mu, -0.0123f * (t + 1), 0.999f);
                        ref.setRule(t, kind, sign, sign * 0.1f, mu, -0.0123f * (t + 1), 0.999f);
                    }
                    tornado.update(mine);
                    new ScalarBackend().update(ref);
                    for (int t = 0; t < n; t++) {
                        assertArrayEquals(values(rp[t]), values(p[t]), "step " + step + " tensor " + t + " n=" + LENGTHS[t]);
                    }
                }
                for (int t = 0; t < n; t++) {
                    if (t % 3 != 0) {
                        tornado.stateToHost(m[t]);
                        assertArrayEquals(values(rm[t]), values(m[t]), "momentum " + t);
                    }
                }
            }
        }
    }

    @Test
    void momentsAgreeWithTheReference() {
        Random r = new Random(2);
        for (int n : new int[] {1, 2, 255, 256, 1000, 65_536, 200_003}) {
            for (Function<float[], FloatSpan> storage : STORAGE) {
                float[] g = random(r, n);
                double[] want = new double[2];
                double[] got = new double[2];
                new ScalarBackend().moments(FloatSpan.of(g), want);
                tornado.moments(storage.apply(g), got);
                assertEquals(want[0], got[0], 1e-12 * want[0], "Σg² n=" + n);
                assertEquals(want[1], got[1], 1e-12 * want[1] + 1e-300, "M2 n=" + n);
                double[] again = new double[2];
                tornado.moments(storage.apply(g), again);
                assertArrayEquals(got, again, "deterministic");
            }
        }
    }

    private static SgdSai model(String backend, float[][] p, float[][] g, Scaling scaling) {
        SgdSai.Builder b = SgdSai.builder().lr(0.01).backend(backend).scaling(scaling);
        for (int t = 0; t < p.length; t++) {
            b.add("t" + t, p[t], g[t]);
        }
        return b.build();
    }

    @Test
    void theOptimizerFollowsTheReferenceTrajectoryAndRestoresDeviceState() throws IOException {
        Random r = new Random(3);
        int[] sizes = {7, 300, 4097};
        float[][] pt = new float[3][], ps = new float[3][], pr = new float[3][], g = new float[3][];
        for (int t = 0; t < 3; t++) {
            pt[t] = random(r, sizes[t]);
            ps[t] = pt[t].clone();
            pr[t] = pt[t].clone();
            g[t] = new float[sizes[t]];
        }
        try (SgdSai tor = model("tornado", pt, g, Scaling.NONE); SgdSai sca = model("scalar", ps, g, Scaling.NONE)) {
            for (int k = 0; k < 6; k++) {
                for (float[] gt : g) {
                    System.arraycopy(random(r, gt.length), 0, gt, 0, gt.length);
                }
                if (k == 3) {
                    ByteArrayOutputStream ckpt = new ByteArrayOutputStream();
                    tor.save(ckpt); // momentum comes back from the device
                    // (the bytes differ from the scalar optimizer's only in the last bits of the g-SNR doubles;
                    // the resumed run below must match the scalar one bit for bit, which it can only do if the
                    // momentum made the round trip device → checkpoint → device intact)
                    for (int t = 0; t < 3; t++) {
                        System.arraycopy(pt[t], 0, pr[t], 0, pr[t].length);
                    }
                    try (SgdSai resumed = model("tornado", pr, g, Scaling.NONE)) {
                        resumed.load(new ByteArrayInputStream(ckpt.toByteArray()));
                        for (int j = k; j < k + 2; j++) {
                            resumed.step();
                            tor.step();
                            sca.step();
                            for (int t = 0; t < 3; t++) {
                                assertArrayEquals(ps[t], pr[t], "resumed tensor " + t);
                                assertArrayEquals(ps[t], pt[t], "tensor " + t);
                            }
                        }
                    }
                    return;
                }
                tor.step();
                sca.step();
                for (int t = 0; t < 3; t++) {
                    assertArrayEquals(ps[t], pt[t], "step " + k + " tensor " + t);
                    assertEquals(sca.tensor("t" + t).gsnr(), tor.tensor("t" + t).gsnr(), 1e-12 * sca.tensor("t" + t).gsnr());
                }
            }
        }
    }

    @Test
    void badInputIsRejectedAndChangesNothing() throws IOException {
        float[] p = {1, 2, 3, 4, 5};
        float[] g = {1, 1, 2, 3, 5};
        try (SgdSai opt = SgdSai.builder().lr(0.1).backend("tornado").add("w", p, g).build()) {
            opt.step();
            float[] before = p.clone();
            ByteArrayOutputStream s0 = new ByteArrayOutputStream();
            opt.save(s0);
            g[3] = Float.NaN;
            assertThrows(NonFiniteGradientException.class, opt::step);
            assertArrayEquals(before, p);
            ByteArrayOutputStream s1 = new ByteArrayOutputStream();
            opt.save(s1);
            assertArrayEquals(s0.toByteArray(), s1.toByteArray());
        }
    }
}
