// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.SgdSai;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Device-resident tensors: gradients computed by a TornadoVM kernel of the test ({@code g = p − target}, the
 * gradient of ½‖p − target‖²), stepped on the device, against the same run on host arrays with the scalar
 * reference, whose gradients are computed with the same float subtraction.
 */
class DeviceTensorsTest {
    static final int[] LENGTHS = {1, 255, 257, 1000, 70_001};

    /** The "backward pass": g = p − target, elementwise over the packed arrays. */
    static void backward(FloatArray p, FloatArray g, FloatArray target) {
        for (@Parallel int i = 0; i < p.getSize(); i++) {
            g.set(i, p.get(i) - target.get(i));
        }
    }

    /** A model on the device and its twin on the host, with identical initial parameters and targets. */
    static final class Twin implements AutoCloseable {
        final DeviceTensors dev;
        final FloatArray target;
        final float[][] hp;
        final float[][] hg;
        final float[][] ht;
        final double clip;
        /** Another optimizer's builder for the given backend, or null for the SGD-SaI groups. */
        final Function<String, Optimizer.Builder<?, ?, ?>> kind;
        Optimizer devOpt;
        Optimizer hostOpt;

        Twin(long seed) {
            this(seed, Double.NaN, null);
        }

        /** With gradient clipping at {@code clip} unless it is NaN, and the optimizer {@code kind} makes if not null. */
        Twin(long seed, double clip, Function<String, Optimizer.Builder<?, ?, ?>> kind) {
            this.clip = clip;
            this.kind = kind;
            Random r = new Random(seed);
            DeviceTensors.Builder b = DeviceTensors.builder();
            for (int t = 0; t < LENGTHS.length; t++) {
                b.add("t" + t, LENGTHS[t]);
            }
            dev = b.build();
            target = new FloatArray(dev.params().getSize());
            hp = new float[LENGTHS.length][];
            hg = new float[LENGTHS.length][];
            ht = new float[LENGTHS.length][];
            for (int t = 0; t < LENGTHS.length; t++) {
                int off = dev.offset("t" + t);
                hp[t] = new float[LENGTHS[t]];
                hg[t] = new float[LENGTHS[t]];
                ht[t] = new float[LENGTHS[t]];
                for (int i = 0; i < LENGTHS[t]; i++) {
                    hp[t][i] = (float) r.nextGaussian();
                    ht[t][i] = (float) (r.nextGaussian() * Math.exp(r.nextGaussian()));
                    dev.params().set(off + i, hp[t][i]);
                    target.set(off + i, ht[t][i]);
                }
            }
            TaskGraph backward = new TaskGraph("backward" + seed)
                    .consumeFromDevice(dev.params(), dev.grads())
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, target)
                    .task("grad", DeviceTensorsTest::backward, dev.params(), dev.grads(), target)
                    .persistOnDevice(dev.params(), dev.grads());
            dev.plan(backward);
            devOpt = optimizer(true);
            hostOpt = optimizer(false);
        }

        /** Groups: defaults with maximize; no momentum; and no weight decay with max-normalized scaling off. */
        Optimizer optimizer(boolean onDevice) {
            if (kind != null) {
                Optimizer.Builder<?, ?, ?> b = kind.apply(onDevice ? "tornado" : "scalar");
                for (int t = 0; t < LENGTHS.length; t++) {
                    b.add("t" + t, span(onDevice, t, true), span(onDevice, t, false));
                }
                return b.build();
            }
            SgdSai.Builder b = SgdSai.builder().lr(0.05).momentum(0.9).weightDecay(0.01);
            if (!Double.isNaN(clip)) {
                b.clipGradNorm(clip);
            }
            if (!onDevice) {
                b.backend("scalar");
            }
            b.add("t0", span(onDevice, 0, true), span(onDevice, 0, false))
                    .add("t1", span(onDevice, 1, true), span(onDevice, 1, false))
                    .group(g -> g.momentum(0).add("t2", span(onDevice, 2, true), span(onDevice, 2, false)))
                    .group(g -> g.weightDecay(0).lr(0.02).add("t3", span(onDevice, 3, true), span(onDevice, 3, false))
                            .add("t4", span(onDevice, 4, true), span(onDevice, 4, false)));
            return b.build();
        }

        FloatSpan span(boolean onDevice, int t, boolean param) {
            if (onDevice) {
                return param ? dev.param("t" + t) : dev.grad("t" + t);
            }
            return FloatSpan.of(param ? hp[t] : hg[t]);
        }

        /** One step on both: gradients on the device by the kernel, on the host by the same subtraction. */
        void step(int k) {
            boolean frozen = k == 2; // t1 sits step 2 out
            devOpt.tensor("t1").setFrozen(frozen);
            hostOpt.tensor("t1").setFrozen(frozen);
            devOpt.group(0).setLr(devOpt.group(0).lr() / (1 + k));
            hostOpt.group(0).setLr(hostOpt.group(0).lr() / (1 + k));
            dev.run(0);
            devOpt.step();
            for (int t = 0; t < hp.length; t++) {
                for (int i = 0; i < hp[t].length; i++) {
                    hg[t][i] = hp[t][i] - ht[t][i];
                }
            }
            hostOpt.step();
        }

        float[] deviceParam(int t) {
            float[] out = new float[LENGTHS[t]];
            copyOut(dev.params(), dev.offset("t" + t), out);
            return out;
        }

        @Override
        public void close() {
            devOpt.close();
            hostOpt.close();
            dev.close();
        }
    }

    /** Copies {@code a[offset ..]} (the host copy) into {@code out}. */
    static void copyOut(FloatArray a, int offset, float[] out) {
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(offset + i);
        }
    }

    @Test
    void deviceTensorsFollowTheReferenceTrajectoryBitForBit() {
        try (Twin tw = new Twin(1)) {
            assertEquals("tornado", tw.devOpt.backendName());
            for (int k = 0; k < 5; k++) {
                tw.step(k);
            }
            assertNotEquals(tw.hp[4][0], tw.dev.params().get(tw.dev.offset("t4")),
                    "the host copy is stale until download(), or the test would prove nothing");
            tw.dev.download();
            for (int t = 0; t < LENGTHS.length; t++) {
                assertArrayEquals(tw.hp[t], tw.deviceParam(t), "tensor t" + t);
                double want = tw.hostOpt.tensor("t" + t).gsnr();
                double got = tw.devOpt.tensor("t" + t).gsnr();
                assertEquals(want, got, 1e-12 * want, "g-SNR of t" + t);
            }
        }
    }

    @Test
    void clippedDeviceTensorsFollowTheReferenceTrajectoryBitForBit() {
        try (Twin tw = new Twin(5, 3.0, null)) {
            for (int k = 0; k < 4; k++) {
                tw.step(k);
                assertEquals(tw.hostOpt.lastGradNorm(), tw.devOpt.lastGradNorm(), 0.0, "gradient norm at step " + k);
                assertTrue(tw.hostOpt.lastGradNorm() > 3.0, "the test must clip");
            }
            tw.dev.download();
            for (int t = 0; t < LENGTHS.length; t++) {
                assertArrayEquals(tw.hp[t], tw.deviceParam(t), "tensor t" + t);
                double want = tw.hostOpt.tensor("t" + t).gsnr();
                assertEquals(want, tw.devOpt.tensor("t" + t).gsnr(), 1e-12 * want, "g-SNR of t" + t);
            }
        }
    }

    /** AdamW with amsgrad and maximize, and Adam-mini with every partition kind, both clipped. */
    @SuppressWarnings("unchecked")
    static final Function<String, Optimizer.Builder<?, ?, ?>>[] ADAM = new Function[] {
            (Function<String, Optimizer.Builder<?, ?, ?>>) be -> AdamW.builder().lr(1e-2).amsgrad(true).maximize(true)
                    .clipGradNorm(50).backend(be),
            (Function<String, Optimizer.Builder<?, ?, ?>>) be -> AdamMini.builder().lr(1e-2).betas(0.3, 0.99)
                    .clipGradNorm(50).partition("t0", AdamMini.Partition.perElement())
                    .partition("t1", AdamMini.Partition.perRow(5)).partition("t2", AdamMini.Partition.whole())
                    .partition("t3", AdamMini.Partition.perHead(8)).partition("t4", AdamMini.Partition.whole())
                    .backend(be)};

    @Test
    void adamOnDeviceTensorsFollowsTheReferenceAndItsCheckpointsRoundTrip() throws IOException {
        for (Function<String, Optimizer.Builder<?, ?, ?>> kind : ADAM) {
            try (Twin straight = new Twin(6, Double.NaN, kind); Twin resumed = new Twin(6, Double.NaN, kind)) {
                resumeHalfway(straight, resumed, true);
            }
        }
    }

    /**
     * Steps both twins 3 times, restores a checkpoint of {@code resumed}'s device state into a fresh optimizer on the
     * same device tensors (checking it against the host optimizer's when {@code sameBytesAsHost}), steps both 3 more
     * times and checks that the resumed run is the straight one and the host's, bit for bit.
     */
    static void resumeHalfway(Twin straight, Twin resumed, boolean sameBytesAsHost) throws IOException {
        for (int k = 0; k < 3; k++) {
            straight.step(k);
            resumed.step(k);
        }
        ByteArrayOutputStream saved = new ByteArrayOutputStream();
        resumed.devOpt.save(saved); // the state comes back from the device
        if (sameBytesAsHost) { // (SGD-SaI's g-SNR doubles agree to 1e-12 only)
            ByteArrayOutputStream want = new ByteArrayOutputStream();
            resumed.hostOpt.save(want);
            assertArrayEquals(want.toByteArray(), saved.toByteArray(), "checkpoint against the host's");
        }
        resumed.devOpt.close();
        resumed.devOpt = resumed.optimizer(true); // a fresh optimizer on the same device tensors
        resumed.devOpt.load(new ByteArrayInputStream(saved.toByteArray()));
        for (int k = 3; k < 6; k++) {
            straight.step(k);
            resumed.step(k);
        }
        straight.dev.download();
        resumed.dev.download();
        for (int t = 0; t < LENGTHS.length; t++) {
            assertArrayEquals(straight.deviceParam(t), resumed.deviceParam(t), "tensor t" + t);
            assertArrayEquals(straight.hp[t], resumed.deviceParam(t), "tensor t" + t + " against the host");
        }
    }

    @Test
    void aCheckpointOfDeviceStateRoundTripsBitForBit() throws IOException {
        try (Twin straight = new Twin(2); Twin resumed = new Twin(2)) {
            resumeHalfway(straight, resumed, false);
        }
    }

    @Test
    void aNonFiniteDeviceGradientThrowsAndChangesNothing() throws IOException {
        for (double clip : new double[] {Double.NaN, 3.0}) { // the check's flags, or clipping's sums of squares
            nonFiniteThrowsAndChangesNothing(new Twin(3, clip, null));
        }
    }

    private static void nonFiniteThrowsAndChangesNothing(Twin twin) throws IOException {
        try (Twin tw = twin) {
            tw.step(0);
            int at = tw.dev.offset("t3") + 17;
            tw.target.set(at, Float.NaN); // the next backward pass writes NaN into t3's gradient at index 17
            tw.dev.download();
            float[] before = new float[tw.dev.params().getSize()];
            copyOut(tw.dev.params(), 0, before);
            ByteArrayOutputStream s0 = new ByteArrayOutputStream();
            tw.devOpt.save(s0);
            tw.dev.run(0);
            NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, tw.devOpt::step);
            assertTrue(e.getMessage().contains("'t3'") && e.getMessage().contains("17"), e.getMessage());
            tw.dev.download();
            float[] after = new float[before.length];
            copyOut(tw.dev.params(), 0, after);
            assertArrayEquals(before, after);
            ByteArrayOutputStream s1 = new ByteArrayOutputStream();
            tw.devOpt.save(s1);
            assertArrayEquals(s0.toByteArray(), s1.toByteArray());
        }
    }

    @Test
    void aCheckpointIsTheSameWhateverGraphRanLast() throws IOException {
        try (Twin tw = new Twin(4)) {
            tw.step(0);
            tw.step(1);
            ByteArrayOutputStream right = new ByteArrayOutputStream();
            tw.devOpt.save(right);
            tw.dev.download(); // another graph of the plan runs between the step and the next save
            tw.dev.run(0);
            ByteArrayOutputStream later = new ByteArrayOutputStream();
            tw.devOpt.save(later);
            assertArrayEquals(right.toByteArray(), later.toByteArray());
        }
    }

    @Test
    void tensorsOfTwoDeviceTensorsInterleavedStepOnceEach() {
        try (DeviceTensors a = DeviceTensors.builder().add("x", 3).add("z", 3).build();
             DeviceTensors b = DeviceTensors.builder().add("y", 3).build()) {
            for (DeviceTensors d : new DeviceTensors[] {a, b}) {
                for (String name : d.names()) {
                    for (int i = 0; i < 3; i++) {
                        d.grads().set(d.offset(name) + i, 1f + i);
                        d.params().set(d.offset(name) + i, 1f);
                    }
                }
                d.plan();
            }
            try (SgdSai opt = SgdSai.builder().lr(0.5).momentum(0).weightDecay(0).scaling(io.github.sgdsai.Scaling.NONE)
                    .add("x", a.param("x"), a.grad("x")).add("y", b.param("y"), b.grad("y"))
                    .add("z", a.param("z"), a.grad("z")).build()) {
                opt.step();
            }
            a.download();
            b.download();
            float[] want = {0.5f, 0f, -0.5f}; // p - 0.5 g, once
            for (String[] t : new String[][] {{"x"}, {"z"}}) {
                float[] got = new float[3];
                copyOut(a.params(), a.offset(t[0]), got);
                assertArrayEquals(want, got, t[0]);
            }
            float[] got = new float[3];
            copyOut(b.params(), b.offset("y"), got);
            assertArrayEquals(want, got, "y");
        }
    }

    @Test
    void mismatchedDeviceSpansAreRejectedAtBuild() {
        try (DeviceTensors dev = DeviceTensors.builder().add("w", 3).add("b", 3).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SgdSai.builder().lr(1).add("w", dev.param("w"), dev.grad("b")).build());
            assertEquals("tensor 'w': the parameter is device tensor 'w' but the gradient belongs to 'b'", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> SgdSai.builder().lr(1).add("w", dev.grad("w"), dev.param("w")).build());
            assertTrue(e.getMessage().contains("param(name) as the parameter"), e.getMessage());
        }
    }

    @Test
    void aCheckpointLoadsBeforeThePlanExists() throws IOException {
        try (DeviceTensors a = DeviceTensors.builder().add("w", 300).build();
             DeviceTensors b = DeviceTensors.builder().add("w", 300).build()) {
            for (int i = 0; i < 300; i++) {
                a.params().set(i, i * 0.01f);
                a.grads().set(i, (float) Math.sin(i));
            }
            a.plan();
            try (SgdSai oa = SgdSai.builder().lr(0.1).add("w", a.param("w"), a.grad("w")).build();
                 SgdSai ob = SgdSai.builder().lr(0.1).add("w", b.param("w"), b.grad("w")).build()) {
                oa.step();
                ByteArrayOutputStream saved = new ByteArrayOutputStream();
                oa.save(saved);
                ob.load(new ByteArrayInputStream(saved.toByteArray())); // b has no plan yet: kept on the host
                a.download();
                for (int i = 0; i < 300; i++) {
                    b.params().set(i, a.params().get(i));
                    b.grads().set(i, a.grads().get(i));
                }
                b.plan(); // uploads parameters, gradients and the restored momentum
                oa.step();
                ob.step();
                a.download();
                b.download();
                float[] pa = new float[300];
                float[] pb = new float[300];
                copyOut(a.params(), 0, pa);
                copyOut(b.params(), 0, pb);
                assertArrayEquals(pa, pb);
            }
        }
    }

    @Test
    void deviceTensorsNeedAPlanAndTheirOwnBackend() {
        try (DeviceTensors dev = DeviceTensors.builder().add("w", 3).build();
             SgdSai opt = SgdSai.builder().lr(1).add("w", dev.param("w"), dev.grad("w")).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, opt::step);
            assertTrue(e.getMessage().contains("call plan(graphs...) first"), e.getMessage());
            IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> SgdSai.builder().lr(1)
                    .backend("scalar").add("w", dev.param("w"), dev.grad("w")).build());
            assertTrue(wrong.getMessage().contains("backend 'scalar' cannot step"), wrong.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> DeviceTensors.builder().add("w", 0));
        assertThrows(IllegalArgumentException.class, () -> DeviceTensors.builder().add("w", 1).add("w", 2));
    }
}
