// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
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
            for (int cut : new int[] {0, 5, 12, 20, 100, good.length / 2, good.length - 4, good.length - 1}) {
                assertRejectedAndUnchanged(target, Arrays.copyOf(good, cut), cut < 8 ? "not an sgdsai checkpoint"
                        : cut < 16 ? "truncated" : "");
            }
            Random r = new Random(11);
            for (int trial = 0; trial < 300; trial++) {
                byte[] bad = good.clone();
                int at = 8 + r.nextInt(bad.length - 8);
                bad[at] ^= (byte) (1 + r.nextInt(255));
                // the version and header-length fields are read before any checksum can be checked
                String expected = at < 12 ? "version" : at < 16 ? "" : "checksum mismatch";
                assertRejectedAndUnchanged(target, bad, expected);
            }
            byte[] v4 = good.clone();
            ByteBuffer.wrap(v4).putInt(8, 4);
            assertRejectedAndUnchanged(target, v4, "version 4 is not supported");
            byte[] trailing = Arrays.copyOf(good, good.length + 1);
            assertRejectedAndUnchanged(target, trailing, "trailing bytes");
            try (SgdSai other = SgdSai.builder().lr(0.1).add("x", new float[50], new float[50]).build()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                other.save(out);
                assertRejectedAndUnchanged(target, out.toByteArray(), "1 groups but the optimizer has 2");
            }
            try (AdamW other = AdamW.builder().lr(0.1).add("w", new float[50], new float[50]).build()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                other.save(out);
                assertRejectedAndUnchanged(target, out.toByteArray(), "of a adamw optimizer, not sgd-sai");
            }
            try (SgdSai other = SgdSai.builder().lr(0.1).add("w", new float[49], new float[49])
                    .add("late", new float[3], new float[3]).group(g -> g.add("b", new float[7], new float[7])).build()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                other.save(out);
                assertRejectedAndUnchanged(target, out.toByteArray(), "tensor 'w' has 49 elements in the checkpoint but 50");
            }
        }
    }

    private static byte[] save(Optimizer opt) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        opt.save(out);
        return out.toByteArray();
    }

    private static void fill(float[] a, Random r) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
        }
    }

    /** Three same-sized tensors (q, k, v) added in the given order; gradients depend on the name and the step. */
    private static final class Qkv implements AutoCloseable {
        final java.util.Map<String, float[]> params = new java.util.HashMap<>();
        final java.util.Map<String, float[]> grads = new java.util.HashMap<>();
        final AdamW opt;

        Qkv(String... order) {
            AdamW.Builder b = AdamW.builder().lr(1e-2).backend("scalar");
            for (String name : order) {
                float[] p = new float[12];
                fill(p, new Random(name.hashCode()));
                float[] g = new float[12];
                params.put(name, p);
                grads.put(name, g);
                b.add(name, p, g);
            }
            opt = b.build();
        }

        void step(int k) {
            for (var e : grads.entrySet()) {
                fill(e.getValue(), new Random(31L * k + e.getKey().hashCode()));
            }
            opt.step();
        }

        @Override
        public void close() {
            opt.close();
        }
    }

    @Test
    void restoreMatchesTensorsByNameWhateverTheirOrder() throws IOException {
        try (Qkv straight = new Qkv("q", "k", "v"); Qkv reordered = new Qkv("v", "q", "k")) {
            for (int k = 0; k < 3; k++) {
                straight.step(k);
            }
            for (String n : List.of("q", "k", "v")) {
                System.arraycopy(straight.params.get(n), 0, reordered.params.get(n), 0, 12);
            }
            reordered.opt.load(new ByteArrayInputStream(save(straight.opt)));
            for (int k = 3; k < 6; k++) {
                straight.step(k);
                reordered.step(k);
            }
            for (String n : List.of("q", "k", "v")) {
                assertArrayEquals(straight.params.get(n), reordered.params.get(n), n);
            }
        }
    }

    @Test
    void byPositionRestoresARenamedModel() throws IOException {
        try (Qkv straight = new Qkv("q", "k", "v"); Qkv renamed = new Qkv("query", "key", "value")) {
            for (int k = 0; k < 3; k++) {
                straight.step(k);
            }
            byte[] ckpt = save(straight.opt);
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> renamed.opt.load(new ByteArrayInputStream(ckpt)));
            assertTrue(e.getMessage().contains("tensor 'query' (12 elements) is missing from the checkpoint (renamed from 'q'?"),
                    e.getMessage());
            renamed.opt.load(new ByteArrayInputStream(ckpt), TensorMatching.BY_POSITION);
            assertEquals(3, renamed.opt.steps());
            assertEquals(straight.opt.tensor("k").steps(), renamed.opt.tensor("key").steps());
            // the same state: the renamed optimizer saves the same bytes but for the names
            Qkv copy = new Qkv("q", "k", "v");
            try (copy) {
                copy.opt.load(new ByteArrayInputStream(save(renamed.opt)), TensorMatching.BY_POSITION);
                assertArrayEquals(ckpt, save(copy.opt));
            }
        }
    }

    @Test
    void everyMismatchIsReportedInOneException() throws IOException {
        float[] x = new float[8];
        try (SgdSai saved = SgdSai.builder().lr(0.1).backend("scalar").add("a", new float[4], new float[4])
                .add("b", new float[5], new float[5]).add("old", new float[6], new float[6])
                .group(g -> g.add("c", new float[3], new float[3]).add("d", new float[2], new float[2])).build();
             SgdSai target = SgdSai.builder().lr(0.1).backend("scalar").add("a", new float[4], new float[4])
                     .add("b", new float[7], new float[7]).add("new", new float[6], new float[6])
                     .add("d", new float[2], new float[2])
                     .group(g -> g.add("c", new float[3], new float[3]).add("e", x, x.clone())).build()) {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> target.load(new ByteArrayInputStream(save(saved))));
            String m = e.getMessage();
            for (String part : List.of("5 problems", "tensor 'new' (6 elements) is missing from the checkpoint (renamed from 'old'?",
                    "tensor 'e' (8 elements) is missing", "the checkpoint's tensor 'old' (6 elements) is not in the optimizer",
                    "tensor 'b' has 5 elements in the checkpoint but 7 in the optimizer (resized)",
                    "tensor 'd' is in group 1 in the checkpoint but in group 0")) {
                assertTrue(m.contains(part), () -> "'" + m + "' lacks '" + part + "'");
            }
        }
    }

    @Test
    void version2CheckpointsOfEveryOptimizerLoadAndContinueExactly() throws IOException {
        List<java.util.function.Supplier<LegacyCheckpoints.Model>> models = List.of(LegacyCheckpoints::sgdSai,
                LegacyCheckpoints::adamW, LegacyCheckpoints::adamMini);
        List<String> files = List.of("v2-sgdsai.bin", "v2-adamw.bin", "v2-adammini.bin");
        for (int i = 0; i < files.size(); i++) {
            try (LegacyCheckpoints.Model straight = models.get(i).get(); LegacyCheckpoints.Model resumed = models.get(i).get()) {
                LegacyCheckpoints.run(straight, 0, LegacyCheckpoints.STEPS);
                for (int t = 0; t < straight.params().length; t++) {
                    System.arraycopy(straight.params()[t], 0, resumed.params()[t], 0, straight.params()[t].length);
                }
                try (InputStream in = Objects.requireNonNull(getClass().getResourceAsStream("/fixtures/" + files.get(i)))) {
                    resumed.opt().load(in);
                }
                assertArrayEquals(save(straight.opt()), save(resumed.opt()), files.get(i));
                LegacyCheckpoints.run(straight, LegacyCheckpoints.STEPS, LegacyCheckpoints.STEPS + 3);
                LegacyCheckpoints.run(resumed, LegacyCheckpoints.STEPS, LegacyCheckpoints.STEPS + 3);
                for (int t = 0; t < straight.params().length; t++) {
                    assertArrayEquals(straight.params()[t], resumed.params()[t], files.get(i));
                }
            }
        }
    }

    @Test
    void aVersion2CheckpointOfAnotherShapeIsRefusedByName() throws IOException {
        try (SgdSai other = SgdSai.builder().lr(0.05).backend("scalar").add("w", new float[40], new float[40])
                .add("x", new float[9], new float[9])
                .group(b -> b.lr(0.01).momentum(0).maximize(true).scaling(Scaling.GSNR_MAX_NORMALIZED)
                        .add("b", new float[5], new float[5])).build();
             InputStream in = Objects.requireNonNull(getClass().getResourceAsStream("/fixtures/v2-sgdsai.bin"))) {
            byte[] before = save(other);
            CheckpointException e = assertThrows(CheckpointException.class, () -> other.load(in));
            assertTrue(e.getMessage().contains("tensor 'x' (9 elements) is missing from the checkpoint (renamed from 'v'?"),
                    e.getMessage());
            assertArrayEquals(before, save(other));
        }
    }
}
