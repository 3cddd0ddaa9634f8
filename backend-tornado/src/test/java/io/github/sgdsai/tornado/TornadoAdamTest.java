// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.Backends;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Supplier;

import static io.github.sgdsai.tornado.TornadoBackendTest.STORAGE;
import static io.github.sgdsai.tornado.TornadoBackendTest.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Adam kinds and the gradient scale on the TornadoVM backend, against the scalar reference, bit for bit: the
 * kernels' correctly rounded square root and division (on the JVM from bad first guesses, and on the device), the
 * batch-level update of AdamW (amsgrad, both lerp branches, either sign, clipped), Adam-mini (blocks within one
 * segment, over several, and whole tensors) and the SGD kinds with a clipping scale, and whole optimizers with
 * checkpoints.
 */
class TornadoAdamTest {
    static Backend tornado;

    @BeforeAll
    static void open() {
        tornado = Backends.create("tornado", new BackendOptions(1));
    }

    @AfterAll
    static void close() {
        tornado.close();
    }

    /** Floats of every binade, subnormals and the extremes, positive. */
    static float[] positives(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = switch (i % 8) {
                case 0 -> Float.intBitsToFloat(1 + r.nextInt(0x007f_ffff)); // subnormal
                case 1 -> Float.intBitsToFloat(0x0080_0000 + r.nextInt(0x7f00_0000)); // any normal
                case 2 -> (float) Math.scalb(1.0 + r.nextInt(8) * 0x1p-23, r.nextInt(250) - 125); // near powers of two
                case 3 -> Float.MIN_VALUE * (1 + r.nextInt(4));
                case 4 -> Float.MAX_VALUE / (1 + r.nextInt(4));
                default -> (float) Math.abs(r.nextGaussian() * Math.exp(10 * r.nextGaussian()));
            };
            if (!(a[i] > 0) || Float.isInfinite(a[i])) {
                a[i] = 1.5f;
            }
        }
        return a;
    }

    @Test
    void theSquareRootIsCorrectlyRoundedFromAnyGuessWithinTwoToTheMinusEight() {
        Random r = new Random(11);
        float[] x = positives(r, 200_000);
        for (float v : x) {
            float want = (float) Math.sqrt(v);
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(Kernels.sqrtRn(v)), "sqrt " + v);
            if (v >= 0x1p-100f) { // the range refineSqrt is given (smaller values are scaled first)
                double s = Math.sqrt(v);
                for (double f : new double[] {1 + 0x1p-8, 1 - 0x1p-8, 1 + 0x1p-30, 1 - 0x1p-30, 1}) {
                    assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(Kernels.refineSqrt(v, s * f)),
                            "sqrt " + v + " from a guess off by " + f);
                }
            }
        }
        for (float v : new float[] {0f, -0f, Float.POSITIVE_INFINITY, Float.NaN, Float.MIN_VALUE, Float.MAX_VALUE,
                Float.MIN_NORMAL, 0x1p-100f, Math.nextDown(0x1p-100f)}) {
            assertEquals(Float.floatToIntBits((float) Math.sqrt(v)), Float.floatToIntBits(Kernels.sqrtRn(v)), "sqrt " + v);
        }
    }

    @Test
    void theDivisionIsCorrectlyRounded() {
        Random r = new Random(12);
        float[] a = positives(r, 100_000);
        float[] b = positives(r, 100_000);
        for (int i = 0; i < a.length; i++) {
            float s = (i & 1) == 0 ? 1f : -1f;
            assertEquals(Float.floatToIntBits(s * a[i] / b[i]), Float.floatToIntBits(Kernels.div(s * a[i], b[i])),
                    a[i] + " / " + b[i]);
        }
    }

    /** Test kernel: the device's sqrtRn and div of the same inputs. */
    static void roots(FloatArray x, FloatArray y, FloatArray root, FloatArray quotient) {
        for (@Parallel int i = 0; i < x.getSize(); i++) {
            root.set(i, Kernels.sqrtRn(x.get(i)));
            quotient.set(i, Kernels.div(x.get(i), y.get(i)));
        }
    }

    @Test
    void theDeviceSquareRootAndDivisionAreCorrectlyRounded() throws Exception {
        Random r = new Random(13);
        int n = 1 << 18;
        float[] xs = positives(r, n);
        float[] ys = positives(r, n);
        xs[0] = 0f;
        xs[1] = Float.POSITIVE_INFINITY;
        xs[2] = Float.NaN;
        FloatArray x = FloatArray.fromArray(xs);
        FloatArray y = FloatArray.fromArray(ys);
        FloatArray root = new FloatArray(n);
        FloatArray quotient = new FloatArray(n);
        TaskGraph tg = new TaskGraph("roots")
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, x, y)
                .task("roots", TornadoAdamTest::roots, x, y, root, quotient)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, root, quotient);
        try (TornadoExecutionPlan plan = TornadoBackend.strict(new TornadoExecutionPlan(tg.snapshot())
                .withDevice(TornadoBackend.device()))) {
            plan.execute();
        }
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits((float) Math.sqrt(xs[i])), Float.floatToIntBits(root.get(i)), "sqrt " + xs[i]);
            assertEquals(Float.floatToIntBits(xs[i] / ys[i]), Float.floatToIntBits(quotient.get(i)), xs[i] + " / " + ys[i]);
        }
    }

    /** Gradients with huge (squares overflow), tiny (squares underflow), subnormal, zero and ordinary values. */
    static float[] grads(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = switch (r.nextInt(16)) {
                case 0 -> 3e19f * (r.nextBoolean() ? 1 : -1);
                case 1 -> 1e-25f * (float) r.nextGaussian();
                case 2 -> Float.MIN_VALUE * r.nextInt(100);
                case 3 -> 0f;
                default -> (float) (r.nextGaussian() * Math.exp(2 * r.nextGaussian()));
            };
        }
        return a;
    }

    /** One tensor of a batch-level run: its length, kind, Adam-mini block and amsgrad. */
    record Case(int length, StepBatch.Kind kind, int block, boolean amsgrad) {
    }

    static final Case[] CASES = {
            new Case(1, StepBatch.Kind.ADAMW, 1, false),
            new Case(257, StepBatch.Kind.ADAMW, 1, true),
            new Case(70_001, StepBatch.Kind.ADAMW, 1, false),
            new Case(12, StepBatch.Kind.ADAM_MINI, 3, false),
            new Case(1000, StepBatch.Kind.ADAM_MINI, 8, false),
            new Case(257, StepBatch.Kind.ADAM_MINI, 257, false),
            new Case(8192, StepBatch.Kind.ADAM_MINI, 4096, false),
            new Case(15_000, StepBatch.Kind.ADAM_MINI, 5000, false),
            new Case(70_001, StepBatch.Kind.ADAM_MINI, 70_001, false),
            new Case(300, StepBatch.Kind.MOMENTUM, 1, false),
            new Case(301, StepBatch.Kind.SGD, 1, false)};

    @Test
    void adamAndScaledSgdUpdatesAreBitIdenticalToTheReferenceInOneLaunch() {
        Random r = new Random(14);
        int storageIndex = 0;
        for (float beta1 : new float[] {0.9f, 0.3f}) { // b1c 0.1 (lerp from m) and 0.7 (lerp from the gradient)
            for (float gs : new float[] {1f, -1f, 0.37f, -0.0625f}) {
                Function<float[], FloatSpan> storage = STORAGE[storageIndex++ % STORAGE.length];
                run(r, storage, beta1, gs);
            }
        }
    }

    private static void run(Random r, Function<float[], FloatSpan> storage, float beta1, float gs) {
        int n = CASES.length;
        try (Backend dev = Backends.create("tornado", new BackendOptions(1))) {
            FloatSpan[] p = new FloatSpan[n], rp = new FloatSpan[n];
            FloatSpan[][] st = new FloatSpan[n][3], rst = new FloatSpan[n][3];
            for (int t = 0; t < n; t++) {
                Case c = CASES[t];
                float[] pv = TornadoBackendTest.random(r, c.length);
                p[t] = storage.apply(pv);
                rp[t] = FloatSpan.of(pv.clone());
                if (c.kind != StepBatch.Kind.SGD) {
                    st[t][0] = dev.allocateMomentum(p[t]);
                    rst[t][0] = FloatSpan.of(new float[c.length]);
                }
                if (c.kind == StepBatch.Kind.ADAMW || c.kind == StepBatch.Kind.ADAM_MINI) {
                    st[t][1] = dev.allocateState(p[t], c.length / c.block);
                    rst[t][1] = FloatSpan.of(new float[c.length / c.block]);
                }
                if (c.amsgrad) {
                    st[t][2] = dev.allocateState(p[t], c.length);
                    rst[t][2] = FloatSpan.of(new float[c.length]);
                }
            }
            double beta2 = 0.999;
            for (int step = 0; step < 4; step++) {
                StepBatch mine = new StepBatch(n);
                StepBatch ref = new StepBatch(n);
                for (int t = 0; t < n; t++) {
                    if (step == 2 && t % 4 == 1) {
                        continue; // sits this step out
                    }
                    Case c = CASES[t];
                    float[] gv = grads(r, c.length);
                    int i = mine.add(p[t], storage.apply(gv), st[t][0]);
                    ref.add(rp[t], FloatSpan.of(gv), rst[t][0]);
                    float decay = t % 2 == 0 ? 0.999f : 1f;
                    if (c.kind == StepBatch.Kind.SGD || c.kind == StepBatch.Kind.MOMENTUM) {
                        StepBatch.Kind kind = c.kind == StepBatch.Kind.SGD ? c.kind : step == 0 ? StepBatch.Kind.INIT : c.kind;
                        for (StepBatch b : new StepBatch[] {mine, ref}) {
                            b.setRule(i, kind, Math.copySign(1f, gs), Math.copySign(0.1f, gs), 0.9f, -0.0123f * (t + 1), decay);
                            b.setGradScale(i, gs);
                        }
                        continue;
                    }
                    long k = step + 1;
                    double bc1 = 1 - Math.pow(beta1, k);
                    double bc2 = 1 - Math.pow(beta2, k);
                    float eps = t % 3 == 0 ? 0f : 1e-8f;
                    mine.setAdam(i, c.kind, gs, decay, (float) (1.0 - beta1), (float) beta2, (float) (1.0 - beta2),
                            (float) Math.sqrt(bc2), eps, (float) (-1e-3 / bc1), st[t][1], st[t][2], c.block);
                    ref.setAdam(i, c.kind, gs, decay, (float) (1.0 - beta1), (float) beta2, (float) (1.0 - beta2),
                            (float) Math.sqrt(bc2), eps, (float) (-1e-3 / bc1), rst[t][1], rst[t][2], c.block);
                }
                dev.update(mine);
                new ScalarBackend().update(ref);
                for (int t = 0; t < n; t++) {
                    assertArrayEquals(values(rp[t]), values(p[t]), "step " + step + " " + CASES[t] + " β₁ " + beta1 + " gs " + gs);
                }
            }
            for (int t = 0; t < n; t++) {
                for (int role = 0; role < 3; role++) {
                    if (st[t][role] != null) {
                        dev.stateToHost(st[t][role]);
                        assertArrayEquals(values(rst[t][role]), values(st[t][role]), "state " + role + " of " + CASES[t]);
                    }
                }
            }
        }
    }

    /** The tensors of an optimizer-level run: every Adam-mini partition kind, and sizes over a segment. */
    static final int[] SIZES = {7, 768, 64 * 64, 5000, 9000};

    static <O extends Optimizer> O build(Optimizer.Builder<?, ?, O> b, float[][] p, float[][] g) {
        for (int t = 0; t < p.length; t++) {
            b.add("t" + t, p[t], g[t]);
        }
        return b.build();
    }

    @SuppressWarnings("unchecked")
    static final Function<String, Optimizer.Builder<?, ?, ?>>[] OPTIMIZERS = new Function[] {
            (Function<String, Optimizer.Builder<?, ?, ?>>) be -> AdamW.builder().lr(1e-2).amsgrad(true).maximize(true)
                    .clipGradNorm(3).backend(be),
            (Function<String, Optimizer.Builder<?, ?, ?>>) be -> AdamW.builder().lr(1e-2).betas(0.4, 0.99).backend(be),
            (Function<String, Optimizer.Builder<?, ?, ?>>) be -> AdamMini.builder().lr(1e-2).clipGradNorm(5)
                    .partition("t0", AdamMini.Partition.whole()).partition("t1", AdamMini.Partition.perRow(64))
                    .partition("t2", AdamMini.Partition.perHead(4)).partition("t3", AdamMini.Partition.perElement())
                    .partition("t4", AdamMini.Partition.whole()).backend(be),
            (Function<String, Optimizer.Builder<?, ?, ?>>) be -> SgdSai.builder().lr(1e-2).clipGradNorm(2).backend(be)};

    @Test
    void optimizersFollowTheReferenceTrajectoryAndRestoreDeviceStateBitForBit() throws IOException {
        Random r = new Random(15);
        for (Function<String, Optimizer.Builder<?, ?, ?>> kind : OPTIMIZERS) {
            int n = SIZES.length;
            float[][] pt = new float[n][], ps = new float[n][], pr = new float[n][], g = new float[n][];
            for (int t = 0; t < n; t++) {
                pt[t] = TornadoBackendTest.random(r, SIZES[t]);
                ps[t] = pt[t].clone();
                g[t] = new float[SIZES[t]];
            }
            Supplier<Optimizer> tornadoOpt = () -> build(kind.apply("tornado"), pt, g);
            try (Optimizer tor = tornadoOpt.get(); Optimizer sca = build(kind.apply("scalar"), ps, g)) {
                assertEquals("tornado", tor.backendName());
                Optimizer resumed = null;
                try {
                    for (int k = 0; k < 7; k++) {
                        for (float[] gt : g) {
                            System.arraycopy(TornadoBackendTest.random(r, gt.length), 0, gt, 0, gt.length);
                        }
                        tor.tensor("t2").setFrozen(k == 1);
                        sca.tensor("t2").setFrozen(k == 1);
                        if (k == 4) { // checkpoint on the device, restore into a fresh optimizer, go on with both
                            ByteArrayOutputStream ckpt = new ByteArrayOutputStream();
                            tor.save(ckpt);
                            ByteArrayOutputStream want = new ByteArrayOutputStream();
                            sca.save(want);
                            if (!(tor instanceof SgdSai)) { // (SGD-SaI's g-SNR doubles agree to 1e-12 only)
                                assertArrayEquals(want.toByteArray(), ckpt.toByteArray(), "checkpoint of " + tor.getClass());
                            }
                            for (int t = 0; t < n; t++) {
                                pr[t] = pt[t].clone();
                            }
                            resumed = build(kind.apply("tornado"), pr, g);
                            resumed.load(new ByteArrayInputStream(ckpt.toByteArray()));
                            resumed.tensor("t2").setFrozen(false);
                        }
                        tor.step();
                        sca.step();
                        if (resumed != null) {
                            resumed.step();
                        }
                        assertEquals(sca.lastGradNorm(), tor.lastGradNorm(), 0.0, "gradient norm");
                        for (int t = 0; t < n; t++) {
                            assertArrayEquals(ps[t], pt[t], "step " + k + " tensor " + t + " of " + tor.getClass());
                            if (resumed != null) {
                                assertArrayEquals(ps[t], pr[t], "resumed, step " + k + " tensor " + t);
                            }
                        }
                    }
                } finally {
                    if (resumed != null) {
                        resumed.close();
                    }
                }
                assertTrue(tor.lastGradNorm() >= 0 || Double.isNaN(tor.lastGradNorm()));
            }
        }
    }
}
