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
import java.util.Random;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A checkpoint is untrusted input: crafted files whose checksums are right but whose fields are absurd (huge or
 * negative lengths and counts, wrong names, kinds, types) are refused with a {@link CheckpointException}, change
 * nothing, never allocate what the file claims, and never make load read past what the optimizer needs.
 */
class CheckpointFuzzTest {
    private static final List<Supplier<LegacyCheckpoints.Model>> MODELS = List.of(LegacyCheckpoints::sgdSai,
            LegacyCheckpoints::adamW, LegacyCheckpoints::adamMini);

    /** The checkpoint's bytes, then zeros for ever; counts what was read. */
    private static final class Endless extends InputStream {
        final byte[] bytes;
        long read;

        Endless(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() {
            if (read < bytes.length) {
                return bytes[(int) read++] & 0xff;
            }
            read++;
            return 0;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            for (int i = 0; i < len; i++) {
                b[off + i] = (byte) read();
            }
            return len;
        }
    }

    private static byte[] save(Optimizer opt) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        opt.save(out);
        return out.toByteArray();
    }

    private static int crc(byte[] b, int to) {
        CRC32C c = new CRC32C();
        c.update(b, 0, to);
        return (int) c.getValue();
    }

    /** Recomputes both checksums of a format-3 checkpoint, so that only its fields can be wrong. */
    private static byte[] fixChecksums(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b);
        int headerEnd = 16 + bb.getInt(12);
        bb.putInt(headerEnd, crc(b, headerEnd));
        bb.putInt(b.length - 4, crc(b, b.length - 4));
        return b;
    }

    private static float[][] params(LegacyCheckpoints.Model m) {
        return Arrays.stream(m.params()).map(float[]::clone).toArray(float[][]::new);
    }

    @Test
    void headerFieldsSetToExtremesAreRefusedWithoutOverreadingOrChange() throws IOException {
        long[] extremes = {0, -1, 1, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE, 3, 65536};
        Random r = new Random(19);
        int refused = 0;
        int trials = 0;
        for (Supplier<LegacyCheckpoints.Model> make : MODELS) {
            try (LegacyCheckpoints.Model m = make.get()) {
                LegacyCheckpoints.run(m, 0, LegacyCheckpoints.STEPS);
                byte[] good = save(m.opt());
                int headerLength = ByteBuffer.wrap(good).getInt(12);
                for (int trial = 0; trial < 300; trial++, trials++) {
                    byte[] bad = good.clone();
                    int width = new int[] {1, 4, 8}[r.nextInt(3)];
                    int at = 16 + r.nextInt(headerLength - width + 1);
                    long v = r.nextInt(4) == 0 ? r.nextLong() : extremes[r.nextInt(extremes.length)];
                    for (int i = 0; i < width; i++) {
                        bad[at + i] = (byte) (v >>> (8 * (width - 1 - i)));
                    }
                    fixChecksums(bad);
                    byte[] before = save(m.opt());
                    float[][] p = params(m);
                    Endless in = new Endless(bad);
                    try {
                        m.opt().load(in);
                        // a harmless change (e.g. another valid lr): load the real state back
                        m.opt().load(new ByteArrayInputStream(good));
                    } catch (CheckpointException e) {
                        refused++;
                        assertArrayEquals(before, save(m.opt()), e.getMessage());
                        for (int t = 0; t < p.length; t++) {
                            assertArrayEquals(p[t], m.params()[t]);
                        }
                    }
                    long limit = good.length + 1;
                    assertTrue(in.read <= limit, () -> "read " + in.read + " bytes of a " + good.length + "-byte checkpoint");
                }
            }
        }
        assertTrue(refused > trials * 2 / 3, refused + " of " + trials + " refused");
    }

    @Test
    void aHugeHeaderLengthIsRefusedBeforeAllocating() throws IOException {
        try (LegacyCheckpoints.Model m = LegacyCheckpoints.adamW()) {
            LegacyCheckpoints.run(m, 0, 2);
            byte[] good = save(m.opt());
            for (int length : new int[] {Integer.MAX_VALUE, -1, Integer.MIN_VALUE, 1 << 30}) {
                byte[] bad = good.clone();
                ByteBuffer.wrap(bad).putInt(12, length);
                Endless in = new Endless(bad);
                CheckpointException e = assertThrows(CheckpointException.class, () -> m.opt().load(in));
                assertTrue(e.getMessage().contains("header length " + length + " is out of range"), e.getMessage());
                assertEquals(16, in.read);
            }
        }
    }

    @Test
    void anEndlessStreamIsReadOnlyOneBytePastTheCheckpoint() throws IOException {
        for (Supplier<LegacyCheckpoints.Model> make : MODELS) {
            try (LegacyCheckpoints.Model m = make.get()) {
                LegacyCheckpoints.run(m, 0, 3);
                byte[] good = save(m.opt());
                Endless in = new Endless(good);
                CheckpointException e = assertThrows(CheckpointException.class, () -> m.opt().load(in));
                assertTrue(e.getMessage().contains("trailing bytes"), e.getMessage());
                assertEquals(good.length + 1, in.read);
            }
        }
    }

    @Test
    void aLegacyCheckpointClaimingHugeTensorsStopsAtTheOptimizersSize() throws IOException {
        byte[] v2;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/v2-sgdsai.bin")) {
            v2 = in.readAllBytes();
        }
        // version 2, first tensor "w": its length (offset 93) and its momentum's length (offset 118)
        byte[] bad = v2.clone();
        ByteBuffer.wrap(bad).putInt(93, Integer.MAX_VALUE).putInt(118, Integer.MAX_VALUE);
        try (LegacyCheckpoints.Model m = LegacyCheckpoints.sgdSai()) {
            byte[] before = save(m.opt());
            Endless in = new Endless(bad);
            CheckpointException e = assertThrows(CheckpointException.class, () -> m.opt().load(in));
            assertTrue(e.getMessage().contains("larger than anything this optimizer's state could be saved as"),
                    e.getMessage());
            assertTrue(in.read < 2 << 20, in.read + " bytes read");
            assertArrayEquals(before, save(m.opt()));
            // a tensor count far beyond the optimizer's
            byte[] many = v2.clone();
            ByteBuffer.wrap(many).putInt(84, Integer.MAX_VALUE);
            CheckpointException e2 = assertThrows(CheckpointException.class, () -> m.opt().load(new Endless(many)));
            assertTrue(e2.getMessage().contains("claims 2147483647 tensors"), e2.getMessage());
        }
    }
}
