// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Save, restore, continue: bit-identical; bad checkpoints are rejected and change nothing. */
class CheckpointTest {

    /** A two-group model whose gradients at step k are a pure function of k. */
    private static final class Model implements AutoCloseable {
        final float[] w = new float[50];
        final float[] gw = new float[50];
        final FloatSpan b = Storage.DIRECT_SWAPPED.of(new float[7]);
        final FloatSpan gb = Storage.DIRECT_NATIVE.of(new float[7]);
        final float[] late = new float[3];
        final float[] glate = new float[3];
        final SgdSai opt;

        Model() {
            opt = SgdSai.builder().lr(0.05).backend("scalar").add("w", w, gw).add("late", late, glate)
                    .group(g -> g.lr(0.01).momentum(0).maximize(true).scaling(Scaling.GSNR_MAX_NORMALIZED).add("b", b, gb))
                    .build();
            opt.tensor("late").setFrozen(true);
        }

        void step(int k) {
            Random r = new Random(k);
            for (int i = 0; i < gw.length; i++) {
                gw[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < gb.length(); i++) {
                gb.set(i, (float) r.nextGaussian());
            }
            for (int i = 0; i < glate.length; i++) {
                glate[i] = (i + 1) * k;
            }
            opt.tensor("late").setFrozen(k < 3);
            opt.group(0).setLr(0.05 / (1 + k));
            opt.step();
        }

        byte[] save() throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            opt.save(out);
            return out.toByteArray();
        }

        float[] params() {
            float[] all = new float[w.length + b.length() + late.length];
            System.arraycopy(w, 0, all, 0, w.length);
            float[] bv = Storage.values(b);
            System.arraycopy(bv, 0, all, w.length, bv.length);
            System.arraycopy(late, 0, all, w.length + bv.length, late.length);
            return all;
        }

        void copyParamsFrom(Model other) {
            System.arraycopy(other.w, 0, w, 0, w.length);
            b.copyFrom(Storage.values(other.b));
            System.arraycopy(other.late, 0, late, 0, late.length);
        }

        @Override
        public void close() {
            opt.close();
        }
    }

    @Test
    void restoringAndContinuingIsBitIdenticalToNeverStopping() throws IOException {
        try (Model straight = new Model(); Model resumed = new Model()) {
            for (int k = 0; k < 10; k++) {
                straight.step(k);
            }
            try (Model first = new Model()) {
                for (int k = 0; k < 4; k++) {
                    first.step(k);
                }
                resumed.copyParamsFrom(first);
                resumed.opt.load(new ByteArrayInputStream(first.save()));
                assertArrayEquals(first.save(), resumed.save());
            }
            assertEquals(4, resumed.opt.steps());
            for (int k = 4; k < 10; k++) {
                resumed.step(k);
            }
            assertArrayEquals(straight.params(), resumed.params());
            assertArrayEquals(straight.save(), resumed.save());
            assertEquals(straight.opt.tensor("b").scale(), resumed.opt.tensor("b").scale());
        }
    }

    private static void assertRejectedAndUnchanged(Model target, byte[] checkpoint, String fragment) throws IOException {
        byte[] before = target.save();
        float[] params = target.params();
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> target.opt.load(new ByteArrayInputStream(checkpoint)));
        assertTrue(e.getMessage().contains(fragment), () -> "'" + e.getMessage() + "' lacks '" + fragment + "'");
        assertArrayEquals(before, target.save());
        assertArrayEquals(params, target.params());
    }

    @Test
    void truncatedCorruptedWrongVersionAndMismatchedCheckpointsAreRejected() throws IOException {
        try (Model source = new Model(); Model target = new Model()) {
            for (int k = 0; k < 5; k++) {
                source.step(k);
            }
            target.step(0);
            byte[] good = source.save();
            for (int cut : new int[] {0, 5, 12, 20, good.length / 2, good.length - 1}) {
                assertRejectedAndUnchanged(target, Arrays.copyOf(good, cut), cut < 8 ? "not an sgdsai checkpoint" : "");
            }
            Random r = new Random(11);
            for (int trial = 0; trial < 200; trial++) {
                byte[] bad = good.clone();
                int at = 12 + r.nextInt(bad.length - 12);
                bad[at] ^= (byte) (1 + r.nextInt(255));
                assertRejectedAndUnchanged(target, bad, "checksum mismatch");
            }
            byte[] v2 = good.clone();
            ByteBuffer.wrap(v2).putInt(8, 3);
            assertRejectedAndUnchanged(target, v2, "version 3 is not supported");
            try (SgdSai other = SgdSai.builder().lr(0.1).add("x", new float[50], new float[50]).build()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                other.save(out);
                assertRejectedAndUnchanged(target, out.toByteArray(), "1 groups but the optimizer has 2");
            }
            try (SgdSai other = SgdSai.builder().lr(0.1).add("w", new float[49], new float[49])
                    .add("late", new float[3], new float[3]).group(g -> g.add("b", new float[7], new float[7])).build()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                other.save(out);
                assertRejectedAndUnchanged(target, out.toByteArray(), "has 49 elements but tensor 'w' has 50");
            }
        }
    }
}
