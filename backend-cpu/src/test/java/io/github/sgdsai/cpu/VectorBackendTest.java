// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vector backend against the scalar reference: bit-identical updates, g-SNR moments to 1e-12. */
class VectorBackendTest {

    /** Every storage kind a span can have. */
    enum Storage {
        ARRAY_OFFSET(v -> {
            float[] a = new float[v.length + 5];
            System.arraycopy(v, 0, a, 3, v.length);
            return FloatSpan.of(a, 3, v.length);
        }),
        HEAP_BUFFER(v -> FloatSpan.of(FloatBuffer.wrap(pad(v), 1, v.length).slice())),
        HEAP_BYTES_BIG(v -> bytes(v, ByteBuffer.allocate(4 * v.length + 4), ByteOrder.BIG_ENDIAN)),
        HEAP_BYTES_LITTLE(v -> bytes(v, ByteBuffer.allocate(4 * v.length + 4), ByteOrder.LITTLE_ENDIAN)),
        DIRECT_LITTLE(v -> bytes(v, ByteBuffer.allocateDirect(4 * v.length + 4), ByteOrder.LITTLE_ENDIAN)),
        DIRECT_BIG(v -> bytes(v, ByteBuffer.allocateDirect(4 * v.length + 4), ByteOrder.BIG_ENDIAN));

        final Function<float[], FloatSpan> make;

        Storage(Function<float[], FloatSpan> make) {
            this.make = make;
        }

        private static float[] pad(float[] v) {
            float[] a = new float[v.length + 2];
            System.arraycopy(v, 0, a, 1, v.length);
            return a;
        }

        private static FloatSpan bytes(float[] v, ByteBuffer bb, ByteOrder order) {
            FloatBuffer fb = bb.order(order).asFloatBuffer();
            fb.position(1);
            fb.put(v);
            fb.position(1);
            return FloatSpan.of(fb);
        }
    }

    static final int C = VectorBackend.CHUNK;
    static final int[] LENGTHS = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70, 1000, C - 1, C, C + 1, C + 3,
            3 * C + 17};

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * Math.exp(r.nextGaussian() * 3));
        }
        return a;
    }

    static float[] values(FloatSpan s) {
        float[] out = new float[s.length()];
        s.copyTo(out);
        return out;
    }

    /** One tensor's storage, created twice from the same values: once for each backend. */
    record Entry(FloatSpan p, FloatSpan g, FloatSpan m) {
    }

    private static StepBatch batch(List<Entry> entries, StepBatch.Kind kind, float sign) {
        StepBatch b = new StepBatch(entries.size());
        for (Entry e : entries) {
            int i = b.add(e.p(), e.g(), kind == StepBatch.Kind.SGD ? null : e.m());
            b.setRule(i, kind, sign, sign * 0.1f, 0.9f, -0.0123f, 0.99f);
        }
        return b;
    }

    /** Runs both backends over the same inputs and asserts identical bits in every parameter and buffer. */
    private static void assertSameUpdate(Backend vector, long seed, int[] lengths, Storage ps, Storage gs, Storage ms) {
        for (StepBatch.Kind kind : new StepBatch.Kind[] {StepBatch.Kind.SGD, StepBatch.Kind.INIT, StepBatch.Kind.MOMENTUM}) {
            for (float sign : new float[] {1f, -1f}) {
                Random r = new Random(seed);
                List<Entry> mine = new ArrayList<>();
                List<Entry> ref = new ArrayList<>();
                for (int n : lengths) {
                    float[] p = random(r, n);
                    float[] g = random(r, n);
                    float[] m = random(r, n);
                    mine.add(new Entry(ps.make.apply(p), gs.make.apply(g), ms.make.apply(m)));
                    ref.add(new Entry(FloatSpan.of(p.clone()), FloatSpan.of(g.clone()), FloatSpan.of(m.clone())));
                }
                vector.update(batch(mine, kind, sign));
                new ScalarBackend().update(batch(ref, kind, sign));
                for (int t = 0; t < lengths.length; t++) {
                    String what = kind + " sign " + sign + " n=" + lengths[t] + " " + ps + "/" + gs + "/" + ms;
                    assertArrayEquals(values(ref.get(t).p()), values(mine.get(t).p()), what);
                    assertArrayEquals(values(ref.get(t).m()), values(mine.get(t).m()), what);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Storage.class)
    void updateIsBitIdenticalToTheReferenceOnEveryStorageKind(Storage storage) {
        try (VectorBackend v = new VectorBackend(1)) {
            assertSameUpdate(v, 1, LENGTHS, storage, storage, storage);
            assertSameUpdate(v, 2, LENGTHS, storage, Storage.ARRAY_OFFSET, Storage.DIRECT_LITTLE);
            assertSameUpdate(v, 3, LENGTHS, Storage.ARRAY_OFFSET, storage, Storage.ARRAY_OFFSET);
        }
    }

    @Test
    void readOnlyGradientsAreOnlyRead() {
        Function<float[], FloatSpan> heapReadOnly = v -> FloatSpan.of(FloatBuffer.wrap(v.clone()).asReadOnlyBuffer());
        Function<float[], FloatSpan> directReadOnly = v -> {
            FloatBuffer fb = ByteBuffer.allocateDirect(4 * v.length).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
            fb.put(v).flip();
            return FloatSpan.of(fb.asReadOnlyBuffer());
        };
        for (Function<float[], FloatSpan> ro : List.of(heapReadOnly, directReadOnly)) {
            for (StepBatch.Kind kind : new StepBatch.Kind[] {StepBatch.Kind.SGD, StepBatch.Kind.INIT, StepBatch.Kind.MOMENTUM}) {
                Random r = new Random(7);
                List<Entry> mine = new ArrayList<>();
                List<Entry> ref = new ArrayList<>();
                for (int n : LENGTHS) {
                    float[] p = random(r, n);
                    float[] g = random(r, n);
                    float[] m = random(r, n);
                    FloatSpan gs = ro.apply(g);
                    assertTrue(gs.isReadOnly() && !gs.hasArray());
                    mine.add(new Entry(Storage.ARRAY_OFFSET.make.apply(p), gs, Storage.DIRECT_LITTLE.make.apply(m)));
                    ref.add(new Entry(FloatSpan.of(p.clone()), FloatSpan.of(g.clone()), FloatSpan.of(m.clone())));
                }
                try (VectorBackend v = new VectorBackend(2)) {
                    v.update(batch(mine, kind, -1f));
                    assertEquals(-1, v.firstNonFiniteTensor(batch(mine, kind, -1f)));
                }
                new ScalarBackend().update(batch(ref, kind, -1f));
                for (int t = 0; t < LENGTHS.length; t++) {
                    assertArrayEquals(values(ref.get(t).p()), values(mine.get(t).p()), kind + " n=" + LENGTHS[t]);
                    assertArrayEquals(values(ref.get(t).m()), values(mine.get(t).m()), kind + " n=" + LENGTHS[t]);
                    assertArrayEquals(values(ref.get(t).g()), values(mine.get(t).g()), kind + " n=" + LENGTHS[t]);
                }
            }
        }
    }

    @Test
    void updateIsTheSameOnAnyNumberOfThreads() {
        int[] many = new int[300];
        Random r = new Random(4);
        for (int i = 0; i < many.length; i++) {
            many[i] = i % 50 == 0 ? 2 * C + r.nextInt(100) : 1 + r.nextInt(300); // > 4 chunks in all: the pool runs
        }
        for (int threads : new int[] {1, 2, 3}) {
            try (VectorBackend v = new VectorBackend(threads)) {
                assertSameUpdate(v, 5, many, Storage.ARRAY_OFFSET, Storage.DIRECT_BIG, Storage.ARRAY_OFFSET);
            }
        }
    }

    @Test
    void momentsAgreeWithTheReferenceAndAcrossThreads() {
        Random r = new Random(6);
        for (int n : new int[] {1, 2, 17, 1000, C + 1, 5 * C + 3}) { // the last runs on the pool
            for (Storage s : Storage.values()) {
                float[] g = random(r, n);
                for (int i = 0; i < n; i++) {
                    g[i] += 3f; // a mean far from zero exercises the corrected two-pass formula
                }
                double[] want = new double[2];
                new ScalarBackend().moments(FloatSpan.of(g), want);
                double[] first = null;
                for (int threads : new int[] {1, 2, 3}) {
                    try (VectorBackend v = new VectorBackend(threads)) {
                        double[] got = new double[2];
                        v.moments(s.make.apply(g), got);
                        assertEquals(want[0], got[0], 1e-12 * want[0], "Σg² n=" + n + " " + s);
                        assertEquals(want[1], got[1], 1e-12 * want[1], "M2 n=" + n + " " + s);
                        if (first == null) {
                            first = got;
                        } else {
                            assertArrayEquals(first, got, "threads=" + threads);
                        }
                    }
                }
            }
        }
    }

    @Test
    void extremeMagnitudesNeitherOverflowNorUnderflow() {
        float[] huge = {Float.MAX_VALUE, -Float.MAX_VALUE, 3e38f, 1e38f, Float.MAX_VALUE, 2e38f, -1e38f, 5e37f,
                Float.MAX_VALUE, -3e38f, 1e38f, 2e38f, -2e38f, 1e37f, Float.MAX_VALUE, 1e30f, 7e37f};
        float[] tiny = new float[33];
        for (int i = 0; i < tiny.length; i++) {
            tiny[i] = Float.MIN_VALUE * (i % 5);
        }
        try (VectorBackend v = new VectorBackend(1)) {
            for (float[] g : new float[][] {huge, tiny}) {
                double[] want = new double[2];
                double[] got = new double[2];
                new ScalarBackend().moments(FloatSpan.of(g), want);
                v.moments(FloatSpan.of(g), got);
                assertTrue(Double.isFinite(got[0]) && got[0] > 0 && Double.isFinite(got[1]) && got[1] > 0);
                assertEquals(want[0], got[0], 1e-12 * want[0]);
                assertEquals(want[1], got[1], 1e-12 * want[1]);
            }
        }
    }

    @Test
    void findsTheFirstTensorWithANonFiniteGradient() {
        Random r = new Random(8);
        for (int threads : new int[] {1, 2}) {
            try (VectorBackend v = new VectorBackend(threads)) {
                for (int trial = 0; trial < 200; trial++) {
                    int tensors = 1 + r.nextInt(40);
                    List<Entry> entries = new ArrayList<>();
                    for (int t = 0; t < tensors; t++) {
                        int n = r.nextInt(10) == 0 ? C / 2 + r.nextInt(3 * C) : 1 + r.nextInt(100);
                        Storage s = Storage.values()[r.nextInt(Storage.values().length)];
                        float[] g = random(r, n);
                        if (r.nextInt(4) == 0) {
                            g[r.nextInt(n)] = new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}[r.nextInt(3)];
                        }
                        entries.add(new Entry(FloatSpan.of(new float[n]), s.make.apply(g), null));
                    }
                    StepBatch b = batch(entries, StepBatch.Kind.SGD, 1f);
                    assertEquals(new ScalarBackend().firstNonFiniteTensor(b), v.firstNonFiniteTensor(b), "trial " + trial);
                }
            }
        }
    }

    @Test
    void isChosenAutomaticallyAndCanBeTurnedOff() {
        assertNull(new VectorBackendProvider().unavailableReason(), "this JVM runs tests with the incubator module");
        try (SgdSai opt = SgdSai.builder().lr(0.1).add("w", new float[3], new float[] {1, 2, 3}).build()) {
            assertEquals("vector", opt.backendName());
        }
        try (SgdSai opt = SgdSai.builder().lr(0.1).backend("scalar").add("w", new float[3], new float[] {1, 2, 3}).build()) {
            assertEquals("scalar", opt.backendName());
        }
    }

    @Test
    void refusalsSayWhyAndHowToFixIt() {
        assertTrue(VectorBackendProvider.unavailableReason(false, List.of()).contains("--add-modules jdk.incubator.vector"));
        assertTrue(VectorBackendProvider.unavailableReason(true, List.of("-Xint")).contains("C2"));
        assertTrue(VectorBackendProvider.unavailableReason(true, List.of("-XX:TieredStopAtLevel=1")).contains("C2"));
        assertNull(VectorBackendProvider.unavailableReason(true, List.of("-XX:TieredStopAtLevel=4")));
    }

    @Test
    void theOptimizerGivesTheSameTrajectoryOnBothBackends() {
        Random r = new Random(9);
        int[] sizes = {5, 100, 70_000};
        float[][] pv = new float[sizes.length][];
        float[][] ps = new float[sizes.length][];
        float[][] g = new float[sizes.length][];
        SgdSai.Builder bv = SgdSai.builder().lr(0.01).backend("vector").threads(2);
        SgdSai.Builder bs = SgdSai.builder().lr(0.01).backend("scalar");
        for (int t = 0; t < sizes.length; t++) {
            pv[t] = random(r, sizes[t]);
            ps[t] = pv[t].clone();
            g[t] = new float[sizes[t]];
            bv.add("t" + t, pv[t], g[t]);
            bs.add("t" + t, ps[t], g[t]);
        }
        try (SgdSai a = bv.build(); SgdSai b = bs.build()) {
            for (int k = 0; k < 5; k++) {
                for (float[] gt : g) {
                    float[] fresh = random(r, gt.length);
                    System.arraycopy(fresh, 0, gt, 0, gt.length);
                }
                a.step();
                b.step();
                for (int t = 0; t < sizes.length; t++) {
                    assertArrayEquals(ps[t], pv[t], "step " + k + " tensor " + t);
                    double ga = a.tensor("t" + t).gsnr();
                    assertEquals(b.tensor("t" + t).gsnr(), ga, 1e-12 * ga);
                }
            }
        }
    }
}
