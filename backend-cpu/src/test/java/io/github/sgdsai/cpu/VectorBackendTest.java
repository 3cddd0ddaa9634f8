// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.Optimizer;
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
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vector backend against the scalar reference: bit-identical updates of every kind (clipped SGD kinds, AdamW with
 * and without amsgrad, Adam-mini), bit-identical sums of squares, g-SNR moments to 1e-12 (and bit-identical across
 * threads and read streams).
 */
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
        return batch(entries, kind, sign, 1f);
    }

    /** SGD kinds with gradient scale {@code sign * clip}. */
    private static StepBatch batch(List<Entry> entries, StepBatch.Kind kind, float sign, float clip) {
        StepBatch b = new StepBatch(entries.size());
        for (Entry e : entries) {
            int i = b.add(e.p(), e.g(), kind == StepBatch.Kind.SGD ? null : e.m());
            b.setRule(i, kind, sign, sign * 0.1f, 0.9f, -0.0123f, 0.99f);
            b.setGradScale(i, sign * clip);
        }
        return b;
    }

    /** SGD kinds (the Adam kinds have their own tests). */
    static final StepBatch.Kind[] SGD_KINDS = {StepBatch.Kind.SGD, StepBatch.Kind.INIT, StepBatch.Kind.MOMENTUM};

    /** Runs both backends over the same inputs and asserts identical bits in every parameter and buffer. */
    private static void assertSameUpdate(Backend vector, long seed, int[] lengths, Storage ps, Storage gs, Storage ms) {
        assertSameUpdate(vector, seed, lengths, ps, gs, ms, 1f);
    }

    /** {@link #assertSameUpdate} with the gradient scaled by {@code clip} (1 = no clipping). */
    private static void assertSameUpdate(Backend vector, long seed, int[] lengths, Storage ps, Storage gs, Storage ms,
                                         float clip) {
        for (StepBatch.Kind kind : SGD_KINDS) {
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
                vector.update(batch(mine, kind, sign, clip));
                new ScalarBackend().update(batch(ref, kind, sign, clip));
                for (int t = 0; t < lengths.length; t++) {
                    String what = kind + " sign " + sign + " clip " + clip + " n=" + lengths[t] + " " + ps + "/" + gs
                            + "/" + ms;
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
            for (StepBatch.Kind kind : SGD_KINDS) {
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

    /**
     * The two-stream check finds a NaN or infinity wherever it sits in the range (either half, the rows, the tail
     * past the halves) and nothing outside the range, on every storage kind, as the one-stream check does.
     */
    @Test
    void twoStreamCheckFindsABadValueAnywhereInItsRangeAndNowhereElse() {
        Random r = new Random(16);
        int n = 4 * 64 + 37; // several rows of two vectors per half on any vector size, and a tail
        for (Storage s : Storage.values()) {
            for (int[] range : new int[][] {{0, n}, {3, n - 5}, {0, 7}, {1, 2}, {5, 5}, {17, 17 + 4 * 16 + 3}}) {
                float[] clean = random(r, n);
                assertFalse(VectorKernels.hasNonFinite2(s.make.apply(clean), range[0], range[1]), s + " clean");
                for (int at = 0; at < n; at++) {
                    float[] g = clean.clone();
                    g[at] = new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}[at % 3];
                    FloatSpan span = s.make.apply(g);
                    boolean inside = at >= range[0] && at < range[1];
                    assertEquals(inside, VectorKernels.hasNonFinite2(span, range[0], range[1]),
                            s + " bad at " + at + " range " + Arrays.toString(range));
                    assertEquals(VectorKernels.hasNonFinite(span, range[0], range[1]),
                            VectorKernels.hasNonFinite2(span, range[0], range[1]), s + " at " + at);
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

    // ----------------------------------------------------------------------------------------------------------
    // Gradient scale (clipping) on the SGD kinds, AdamW, Adam-mini, sums of squares, read streams.

    @ParameterizedTest
    @EnumSource(Storage.class)
    void scaledSgdKindsAreBitIdenticalOnEveryStorageKind(Storage storage) {
        try (VectorBackend v = new VectorBackend(1)) {
            for (float clip : new float[] {0.37f, 2.5f}) {
                assertSameUpdate(v, 11, LENGTHS, storage, storage, storage, clip);
            }
            assertSameUpdate(v, 12, LENGTHS, storage, Storage.ARRAY_OFFSET, Storage.DIRECT_BIG, 0.37f);
            assertSameUpdate(v, 13, LENGTHS, Storage.DIRECT_LITTLE, storage, Storage.ARRAY_OFFSET, 0.37f);
        }
    }

    @Test
    void scaledSgdKindsAreTheSameOnAnyNumberOfThreads() {
        int[] many = new int[60];
        Random r = new Random(14);
        for (int i = 0; i < many.length; i++) {
            many[i] = i % 20 == 0 ? 2 * C + r.nextInt(100) : 1 + r.nextInt(300);
        }
        for (int threads : new int[] {1, 2, 3}) {
            try (VectorBackend v = new VectorBackend(threads)) {
                assertSameUpdate(v, 15, many, Storage.ARRAY_OFFSET, Storage.DIRECT_BIG, Storage.HEAP_BYTES_LITTLE, 0.37f);
            }
        }
    }

    /** Storage of one Adam tensor: parameter, gradient, m, v (one per block for Adam-mini), amsgrad's vmax or null. */
    record AdamEntry(FloatSpan p, FloatSpan g, FloatSpan m, FloatSpan v, FloatSpan vmax) {
    }

    /** The options of one Adam case. */
    record Adam(float beta1, boolean amsgrad, float clip, boolean maximize) {
        float gradScale() {
            return maximize ? -clip : clip;
        }
    }

    static final int[] ADAM_LENGTHS = {1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 65, 1000, 4095, 4096, 4097, C - 1, C, C + 1,
            3 * C + 17};

    /** Every combination of lerp branch (beta1 0.9 and 0.3), amsgrad, clip scale and direction. */
    static List<Adam> adamCases() {
        List<Adam> cases = new ArrayList<>();
        for (float beta1 : new float[] {0.9f, 0.3f}) {
            for (boolean ams : new boolean[] {false, true}) {
                for (float clip : new float[] {1f, 0.37f}) {
                    for (boolean max : new boolean[] {false, true}) {
                        cases.add(new Adam(beta1, ams, clip, max));
                    }
                }
            }
        }
        return cases;
    }

    private static float[] positive(Random r, int n) {
        float[] a = random(r, n);
        for (int i = 0; i < n; i++) {
            a[i] = Math.abs(a[i]) * 1e-3f;
        }
        return a;
    }

    /** An Adam batch: entry t is AdamW if {@code blocks[t] == 1}, else Adam-mini with that block size. */
    private static StepBatch adamBatch(List<AdamEntry> entries, int[] blocks, Adam a) {
        StepBatch b = new StepBatch(entries.size());
        double beta2 = 0.999;
        int step = 3;
        for (int t = 0; t < entries.size(); t++) {
            AdamEntry e = entries.get(t);
            int i = b.add(e.p(), e.g(), e.m());
            b.setAdam(i, blocks[t] == 1 ? StepBatch.Kind.ADAMW : StepBatch.Kind.ADAM_MINI, a.gradScale(), 0.9999f,
                    (float) (1 - a.beta1()), (float) beta2, (float) (1 - beta2),
                    (float) Math.sqrt(1 - Math.pow(beta2, step)), 1e-8f,
                    (float) (-1e-3 / (1 - Math.pow(a.beta1(), step))), e.v(), e.vmax(), blocks[t]);
        }
        return b;
    }

    /** Runs one Adam step on both backends from the same state and asserts identical bits in every buffer. */
    private static void assertSameAdam(Backend vector, long seed, int[] lengths, int[] blocks, Adam a,
                                       Storage ps, Storage gs, Storage ss) {
        Random r = new Random(seed);
        List<AdamEntry> mine = new ArrayList<>();
        List<AdamEntry> ref = new ArrayList<>();
        for (int t = 0; t < lengths.length; t++) {
            int n = lengths[t];
            boolean ams = a.amsgrad() && blocks[t] == 1;
            float[] p = random(r, n);
            float[] g = random(r, n);
            float[] m = random(r, n);
            float[] v = positive(r, n / blocks[t]);
            float[] x = ams ? positive(r, n) : null;
            mine.add(new AdamEntry(ps.make.apply(p), gs.make.apply(g), ss.make.apply(m), ss.make.apply(v),
                    ams ? ss.make.apply(x) : null));
            ref.add(new AdamEntry(FloatSpan.of(p.clone()), FloatSpan.of(g.clone()), FloatSpan.of(m.clone()),
                    FloatSpan.of(v.clone()), ams ? FloatSpan.of(x.clone()) : null));
        }
        vector.update(adamBatch(mine, blocks, a));
        new ScalarBackend().update(adamBatch(ref, blocks, a));
        for (int t = 0; t < lengths.length; t++) {
            String what = a + " n=" + lengths[t] + " block " + blocks[t] + " " + ps + "/" + gs + "/" + ss;
            AdamEntry want = ref.get(t);
            AdamEntry got = mine.get(t);
            assertArrayEquals(values(want.p()), values(got.p()), "p " + what);
            assertArrayEquals(values(want.m()), values(got.m()), "m " + what);
            assertArrayEquals(values(want.v()), values(got.v()), "v " + what);
            if (want.vmax() != null) {
                assertArrayEquals(values(want.vmax()), values(got.vmax()), "vmax " + what);
            }
            assertArrayEquals(values(want.g()), values(got.g()), "g " + what);
        }
    }

    private static int[] ones(int n) {
        int[] a = new int[n];
        Arrays.fill(a, 1);
        return a;
    }

    @ParameterizedTest
    @EnumSource(Storage.class)
    void adamwIsBitIdenticalToTheReferenceOnEveryStorageKind(Storage storage) {
        try (VectorBackend v = new VectorBackend(1)) {
            for (Adam a : adamCases()) {
                assertSameAdam(v, 21, ADAM_LENGTHS, ones(ADAM_LENGTHS.length), a, storage, storage, storage);
            }
            Adam a = new Adam(0.9f, true, 0.37f, false);
            assertSameAdam(v, 22, ADAM_LENGTHS, ones(ADAM_LENGTHS.length), a, storage, Storage.ARRAY_OFFSET,
                    Storage.DIRECT_BIG);
            assertSameAdam(v, 23, ADAM_LENGTHS, ones(ADAM_LENGTHS.length), a, Storage.ARRAY_OFFSET, storage,
                    Storage.ARRAY_OFFSET);
        }
    }

    /** Adam-mini tensors: (length, block size) pairs, from blocks of 3 to whole tensors larger than a chunk. */
    static final int[][] MINI = {{3 * 5, 3}, {3 * 30_000, 3}, {768 * 5, 768}, {768 * 100, 768}, {4097 * 3, 4097},
            {4097 * 20, 4097}, {70_000 * 2, 70_000}, {5, 5}, {100, 100}, {4097, 4097}, {C, C}, {C + 1, C + 1},
            {3 * C + 17, 3 * C + 17}, {2 * C, C}, {17 * 64, 64}};

    private static int[] column(int[][] pairs, int c) {
        int[] a = new int[pairs.length];
        for (int i = 0; i < pairs.length; i++) {
            a[i] = pairs[i][c];
        }
        return a;
    }

    @ParameterizedTest
    @EnumSource(Storage.class)
    void adamMiniIsBitIdenticalToTheReferenceOnEveryStorageKind(Storage storage) {
        int[] lengths = column(MINI, 0);
        int[] blocks = column(MINI, 1);
        try (VectorBackend v = new VectorBackend(1)) {
            for (Adam a : adamCases()) {
                if (!a.amsgrad()) {
                    assertSameAdam(v, 31, lengths, blocks, a, storage, storage, storage);
                }
            }
            Adam a = new Adam(0.3f, false, 0.37f, true);
            assertSameAdam(v, 32, lengths, blocks, a, storage, Storage.ARRAY_OFFSET, Storage.DIRECT_BIG);
            assertSameAdam(v, 33, lengths, blocks, a, Storage.DIRECT_LITTLE, storage, Storage.ARRAY_OFFSET);
        }
    }

    @Test
    void adamKindsAreTheSameOnAnyNumberOfThreads() {
        // AdamW and Adam-mini mixed in one batch, > 4 chunks in all so the pool runs.
        int[] lengths = {70_000 * 4, 17, 4097 * 20, 3 * C + 17, 1000, 768 * 100, 5, 3 * 30_000, 2 * C + 5};
        int[] blocks = {70_000, 1, 4097, 3 * C + 17, 1, 768, 5, 3, 1};
        for (int threads : new int[] {1, 2, 3}) {
            try (VectorBackend v = new VectorBackend(threads)) {
                for (Adam a : List.of(new Adam(0.9f, true, 0.37f, false), new Adam(0.3f, false, 1f, true))) {
                    assertSameAdam(v, 41, lengths, blocks, a, Storage.ARRAY_OFFSET, Storage.DIRECT_BIG,
                            Storage.HEAP_BYTES_LITTLE);
                    assertSameAdam(v, 42, lengths, blocks, a, Storage.DIRECT_LITTLE, Storage.ARRAY_OFFSET,
                            Storage.ARRAY_OFFSET);
                }
            }
        }
    }

    static final int[] SUM_LENGTHS = {1, 2, 15, 16, 17, 31, 33, 4095, 4096, 4097, 2 * 4096 + 5, 3 * 4096, C - 1, C,
            C + 1, C + 4096, 2 * C + 17, 5 * C + 3, 17 * 4096 + 1};

    @Test
    void sumSquaresKernelIsBitIdenticalOnAnyRangeAndScale() {
        Random r = new Random(51);
        for (Storage s : Storage.values()) {
            float[] g = random(r, 3 * C + 123);
            FloatSpan span = s.make.apply(g);
            FloatSpan ref = FloatSpan.of(g);
            for (float scale : new float[] {1f, -1f, 0.37f, 3e-20f}) {
                for (int[] range : new int[][] {{0, 1}, {0, 15}, {3, 20}, {1, 4097}, {7, 4096 * 3 + 9}, {0, 3 * C + 123},
                        {13, 2 * C + 40}}) {
                    double want = ScalarBackend.sumSquares(ref, scale, range[0], range[1]);
                    double got = VectorKernels.sumSquares(span, scale, range[0], range[1]);
                    assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got),
                            s + " scale " + scale + " " + Arrays.toString(range));
                    for (int streams : new int[] {1, 2, 4}) {
                        int blocks = (range[1] - range[0] + 4095) / 4096;
                        double[] sums = new double[blocks + 1];
                        VectorKernels.blockSums(span, scale, range[0], range[1], sums, 1, streams);
                        double total = 0;
                        for (int k = 1; k <= blocks; k++) {
                            total += sums[k];
                        }
                        assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(total),
                                s + " streams " + streams + " scale " + scale + " " + Arrays.toString(range));
                    }
                }
            }
        }
    }

    /** Gradient batch of the given lengths on storage s, with NaN/±Inf put in where {@code bad[t]}. */
    private static List<Entry> gradients(Random r, int[] lengths, Storage s, boolean[] bad) {
        List<Entry> entries = new ArrayList<>();
        for (int t = 0; t < lengths.length; t++) {
            float[] g = random(r, lengths[t]);
            if (bad != null && bad[t]) {
                g[r.nextInt(g.length)] = new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}[t % 3];
            }
            entries.add(new Entry(FloatSpan.of(new float[lengths[t]]), s.make.apply(g), null));
        }
        return entries;
    }

    @Test
    void sumSquaresOfTheCheckAreBitIdenticalForAnyThreadsAndStreams() {
        Random r = new Random(52);
        for (Storage s : Storage.values()) {
            StepBatch b = batch(gradients(r, SUM_LENGTHS, s, null), StepBatch.Kind.SGD, 1f);
            for (int threads : new int[] {1, 2, 3}) {
                for (int streams : new int[] {1, 2, 4}) {
                    try (VectorBackend v = new VectorBackend(threads, streams)) {
                        double[] got = new double[SUM_LENGTHS.length];
                        assertEquals(-1, v.firstNonFiniteTensor(b, got));
                        for (int t = 0; t < SUM_LENGTHS.length; t++) {
                            FloatSpan g = b.grad(t);
                            double want = ScalarBackend.sumSquares(g, 1f, 0, g.length());
                            assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got[t]),
                                    s + " n=" + SUM_LENGTHS[t] + " threads " + threads + " streams " + streams);
                        }
                    }
                }
            }
        }
    }

    @Test
    void theCheckFindsTheFirstNonFiniteTensorWithAndWithoutSumsOfSquares() {
        Random r = new Random(53);
        for (int trial = 0; trial < 40; trial++) {
            boolean[] bad = new boolean[SUM_LENGTHS.length];
            for (int t = 0; t < bad.length; t++) {
                bad[t] = r.nextInt(6) == 0;
            }
            Storage s = Storage.values()[trial % Storage.values().length];
            StepBatch b = batch(gradients(r, SUM_LENGTHS, s, bad), StepBatch.Kind.SGD, 1f);
            int want = new ScalarBackend().firstNonFiniteTensor(b);
            for (int streams : new int[] {1, 2, 4}) {
                try (VectorBackend v = new VectorBackend(1 + trial % 3, streams)) {
                    assertEquals(want, v.firstNonFiniteTensor(b), "trial " + trial + " streams " + streams);
                    double[] sums = new double[SUM_LENGTHS.length];
                    assertEquals(want, v.firstNonFiniteTensor(b, sums), "trial " + trial + " streams " + streams);
                    for (int t = 0; t < bad.length; t++) {
                        assertEquals(!bad[t], Double.isFinite(sums[t]), "tensor " + t);
                    }
                }
            }
        }
    }

    @Test
    void momentsAreBitIdenticalForAnyStreamsAndThreads() {
        // 1 stream is the previous release's kernel: two chunks read at once must not change a bit.
        Random r = new Random(54);
        for (int n : new int[] {17, C, C + 1, 2 * C, 3 * C + 5, 4 * C, 5 * C + 3, 8 * C}) {
            for (Storage s : new Storage[] {Storage.ARRAY_OFFSET, Storage.DIRECT_BIG, Storage.HEAP_BYTES_LITTLE}) {
                float[] g = random(r, n);
                for (int i = 0; i < n; i++) {
                    g[i] += 2f;
                }
                FloatSpan span = s.make.apply(g);
                double[] want = new double[2];
                try (VectorBackend v = new VectorBackend(1, 1)) {
                    v.moments(span, want);
                }
                for (int threads : new int[] {1, 2, 3}) {
                    for (int streams : new int[] {2, 4}) {
                        try (VectorBackend v = new VectorBackend(threads, streams)) {
                            double[] got = new double[2];
                            v.moments(span, got);
                            assertArrayEquals(want, got, "n=" + n + " " + s + " threads " + threads);
                        }
                    }
                }
            }
        }
    }

    @Test
    void claimsEveryFeatureAndRefusesUnknownStreamCounts() {
        try (VectorBackend v = new VectorBackend(1)) {
            for (Backend.Feature f : Backend.Feature.values()) {
                assertTrue(v.supports(f), f.name());
            }
            assertEquals(VectorBackend.READ_STREAMS, v.readStreams());
        }
        assertThrows(IllegalArgumentException.class, () -> new VectorBackend(1, 3));
    }

    @Test
    void clippedAdamOptimizersGiveTheSameTrajectoryOnBothBackends() {
        Random r = new Random(55);
        int[] sizes = {5, 768 * 3, 70_000 * 2};
        for (boolean mini : new boolean[] {false, true}) {
            float[][] pv = new float[sizes.length][];
            float[][] ps = new float[sizes.length][];
            float[][] g = new float[sizes.length][];
            Optimizer.Builder<?, ?, ?> bv = mini ? AdamMini.builder().lr(1e-3) : AdamW.builder().lr(1e-3).amsgrad(true);
            Optimizer.Builder<?, ?, ?> bs = mini ? AdamMini.builder().lr(1e-3) : AdamW.builder().lr(1e-3).amsgrad(true);
            bv.backend("vector").threads(2).clipGradNorm(1.0);
            bs.backend("scalar").clipGradNorm(1.0);
            for (int t = 0; t < sizes.length; t++) {
                pv[t] = random(r, sizes[t]);
                ps[t] = pv[t].clone();
                g[t] = new float[sizes[t]];
                bv.add("t" + t, pv[t], g[t]);
                bs.add("t" + t, ps[t], g[t]);
            }
            if (mini) {
                ((AdamMini.Builder) bv).partition("t1", AdamMini.Partition.perRow(768))
                        .partition("t2", AdamMini.Partition.perRow(70_000));
                ((AdamMini.Builder) bs).partition("t1", AdamMini.Partition.perRow(768))
                        .partition("t2", AdamMini.Partition.perRow(70_000));
            }
            try (Optimizer a = bv.build(); Optimizer b = bs.build()) {
                for (int k = 0; k < 4; k++) {
                    for (float[] gt : g) {
                        System.arraycopy(random(r, gt.length), 0, gt, 0, gt.length);
                    }
                    a.step();
                    b.step();
                    assertEquals(b.lastGradNorm(), a.lastGradNorm(), "norm, step " + k);
                    for (int t = 0; t < sizes.length; t++) {
                        assertArrayEquals(ps[t], pv[t], (mini ? "Adam-mini" : "AdamW") + " step " + k + " tensor " + t);
                    }
                }
            }
        }
    }
}
