// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The checkpoint format, version {@value #VERSION}. All numbers are big-endian.
 *
 * <pre>
 * magic        8 bytes  "SGDSAICK"
 * version      int32    2
 * kind         int8     0 SGD-SaI, 1 AdamW, 2 Adam-mini
 * steps        int64    steps applied
 * skipped      int64    steps skipped under SKIP_STEP
 * extra        float64  SGD-SaI: the GSNR_MAX_NORMALIZED denominator, NaN until fixed; NaN otherwise
 * groupCount   int32
 * per group:   lr float64, momentum (beta1) float64, beta2 float64 (NaN for SGD-SaI), eps float64,
 *              weightDecay float64, maximize int8 (0/1), scaling int8 (0 GSNR, 1 GSNR_MAX_NORMALIZED, 2 NONE,
 *              -1 none), amsgrad int8 (0/1), tensorCount int32
 *   per tensor: nameLength int32, name (UTF-8), length int32, steps int64,
 *               gsnr float64 (NaN until the first step, and for the Adam family), scale float32,
 *               then three buffers (momentum / m, v, amsgrad max of v), each: present int8 (0/1), and if
 *               present its length int32 and that many float32 values
 * crc          int32    CRC-32C of every byte before it
 * </pre>
 * Version 1 (SGD-SaI only) had no kind, beta2, amsgrad, nor buffers other than the momentum (present int8, then
 * {@code length} floats); it is still read, as SGD-SaI. Tensor names are stored for people reading the file;
 * restoring matches groups and tensors by position and checks their counts and lengths.
 */
final class Checkpoint {
    static final int VERSION = 2;
    private static final byte[] MAGIC = "SGDSAICK".getBytes(StandardCharsets.US_ASCII);
    private static final Scaling[] SCALINGS = Scaling.values();
    private static final Optimizer.Kind[] KINDS = Optimizer.Kind.values();

    private Checkpoint() {
    }

    /**
     * A tensor's saved state. Its buffers (momentum / m, v and the amsgrad max, each possibly absent) stay in the
     * checkpoint's bytes until the whole checkpoint has been checked: {@code offsets[k]} is where buffer k's
     * big-endian floats start in {@code bytes} (-1 if absent), {@code lengths[k]} how many there are.
     */
    record TensorState(long steps, double gsnr, float scale, byte[] bytes, int[] offsets, int[] lengths) {
        /** Whether buffer k was saved. */
        boolean has(int k) {
            return offsets[k] >= 0;
        }

        /** Copies buffer k into {@code dst} (of its length): one bulk byte-swapping copy. */
        void copyTo(int k, FloatSpan dst) {
            MemorySegment.copy(MemorySegment.ofArray(bytes), BIG_FLOAT, offsets[k], dst.segment(), dst.layout(), 0,
                    lengths[k]);
        }
    }

    record GroupState(double lr, double momentum, double beta2, double eps, double weightDecay, boolean maximize,
                      Scaling scaling, boolean amsgrad, List<TensorState> tensors) {
    }

    record State(long steps, long skippedSteps, double extra, List<GroupState> groups) {
    }

    static void write(Optimizer opt, OutputStream out) throws IOException {
        CRC32C crc = new CRC32C();
        DataOutputStream data = new DataOutputStream(new BufferedOutputStream(new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                crc.update(b);
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                crc.update(b, off, len);
                out.write(b, off, len);
            }
        }, 1 << 16));
        data.write(MAGIC);
        data.writeInt(VERSION);
        data.writeByte(opt.kind().ordinal());
        data.writeLong(opt.steps());
        data.writeLong(opt.skippedSteps());
        data.writeDouble(opt.savedScalar());
        data.writeInt(opt.groups().size());
        byte[] chunk = new byte[1 << 16];
        for (Optimizer.Group g : opt.groups()) {
            data.writeDouble(g.lr());
            data.writeDouble(g.momentum());
            data.writeDouble(g.beta2());
            data.writeDouble(g.eps());
            data.writeDouble(g.weightDecay());
            data.writeByte(g.maximize() ? 1 : 0);
            data.writeByte(g.scaling() == null ? -1 : g.scaling().ordinal());
            data.writeByte(g.amsgrad() ? 1 : 0);
            data.writeInt(g.tensors().size());
            for (Optimizer.Tensor t : g.tensors()) {
                byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
                data.writeInt(name.length);
                data.write(name);
                data.writeInt(t.length());
                data.writeLong(t.steps());
                data.writeDouble(t.gsnr());
                data.writeFloat(t.scale());
                for (FloatSpan b : t.stateBuffers()) {
                    data.writeByte(b != null ? 1 : 0);
                    if (b != null) {
                        data.writeInt(b.length());
                        writeFloats(data, b, chunk);
                    }
                }
            }
        }
        data.flush();
        int sum = (int) crc.getValue();
        out.write(new byte[] {(byte) (sum >>> 24), (byte) (sum >>> 16), (byte) (sum >>> 8), (byte) sum});
        out.flush();
    }

    /** Big-endian floats at any byte offset: the checkpoint's layout. */
    private static final ValueLayout.OfFloat BIG_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** {@code m} as big-endian floats (their raw bits), a chunk at a time, each chunk one bulk byte-swapping copy. */
    private static void writeFloats(DataOutputStream data, FloatSpan m, byte[] chunk) throws IOException {
        MemorySegment dst = MemorySegment.ofArray(chunk);
        int perChunk = chunk.length / 4;
        for (int from = 0; from < m.length(); from += perChunk) {
            int n = Math.min(perChunk, m.length() - from);
            MemorySegment.copy(m.segment(), m.layout(), 4L * from, dst, BIG_FLOAT, 0, n);
            data.write(chunk, 0, 4 * n);
        }
    }

    /** Reads and fully checks a checkpoint against {@code opt}'s structure; modifies nothing. */
    static State read(InputStream in, Optimizer opt) throws IOException {
        byte[] all = in.readAllBytes();
        if (all.length < MAGIC.length + 4 || !Arrays.equals(all, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new CheckpointException("not an sgdsai checkpoint (missing magic \"SGDSAICK\"; " + all.length + " bytes)");
        }
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.BIG_ENDIAN);
        int version = bb.getInt(MAGIC.length);
        if (version != VERSION && version != 1) {
            throw new CheckpointException("checkpoint version " + version + " is not supported (this library reads version "
                    + VERSION + ")");
        }
        if (all.length < MAGIC.length + 8) {
            throw new CheckpointException("checkpoint is truncated (" + all.length + " bytes)");
        }
        CRC32C crc = new CRC32C();
        crc.update(all, 0, all.length - 4);
        int stored = bb.getInt(all.length - 4);
        if ((int) crc.getValue() != stored) {
            throw new CheckpointException("checkpoint checksum mismatch: it is corrupted or truncated (" + all.length
                    + " bytes)");
        }
        bb.position(MAGIC.length + 4).limit(all.length - 4);
        try {
            State s = parse(bb, opt, version);
            if (bb.hasRemaining()) {
                throw new CheckpointException("checkpoint has " + bb.remaining() + " unexpected trailing bytes");
            }
            return s;
        } catch (BufferUnderflowException e) {
            throw new CheckpointException("checkpoint is truncated: it ends inside its data", e);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("checkpoint holds an invalid value: " + e.getMessage(), e);
        }
    }

    private static State parse(ByteBuffer bb, Optimizer opt, int version) throws CheckpointException {
        boolean v1 = version == 1;
        int kind = v1 ? Optimizer.Kind.SGD_SAI.ordinal() : bb.get();
        if (kind < 0 || kind >= KINDS.length) {
            throw new CheckpointException("unknown optimizer kind " + kind);
        }
        if (KINDS[kind] != opt.kind()) {
            throw new CheckpointException("checkpoint is of a " + KINDS[kind] + " optimizer, not " + opt.kind());
        }
        long steps = bb.getLong();
        long skipped = bb.getLong();
        double extra = bb.getDouble();
        int groupCount = bb.getInt();
        if (groupCount != opt.groups().size()) {
            throw new CheckpointException("checkpoint has " + groupCount + " groups but the optimizer has "
                    + opt.groups().size());
        }
        List<GroupState> groups = new ArrayList<>(groupCount);
        for (Optimizer.Group g : opt.groups()) {
            String where = "checkpoint group " + g.index();
            double lr = Hyper.lr(where, bb.getDouble());
            double momentum = Hyper.momentum(where, bb.getDouble());
            double beta2 = v1 ? Double.NaN : bb.getDouble();
            if (!Double.isNaN(beta2) || !Double.isNaN(g.beta2())) {
                Hyper.beta2(where, beta2);
            }
            double eps = Hyper.eps(where, bb.getDouble());
            double wd = Hyper.weightDecay(where, bb.getDouble());
            boolean maximize = flag(bb.get(), where + " maximize");
            int scaling = bb.get();
            if (scaling < (v1 ? 0 : -1) || scaling >= SCALINGS.length || (scaling < 0) != (g.scaling() == null)) {
                throw new CheckpointException(where + ": scaling mode " + scaling + " does not fit a " + opt.kind());
            }
            boolean amsgrad = !v1 && flag(bb.get(), where + " amsgrad");
            int tensorCount = bb.getInt();
            if (tensorCount != g.tensors().size()) {
                throw new CheckpointException(where + " has " + tensorCount + " tensors but the optimizer's has "
                        + g.tensors().size());
            }
            List<TensorState> tensors = new ArrayList<>(tensorCount);
            for (Optimizer.Tensor t : g.tensors()) {
                int nameLength = bb.getInt();
                if (nameLength < 0 || nameLength > bb.remaining()) {
                    throw new CheckpointException(where + ": bad tensor name length " + nameLength);
                }
                bb.position(bb.position() + nameLength);
                int length = bb.getInt();
                if (length != t.length()) {
                    throw new CheckpointException("checkpoint tensor " + tensors.size() + " of group " + g.index()
                            + " has " + length + " elements but tensor '" + t.name() + "' has " + t.length());
                }
                long tSteps = bb.getLong();
                double gsnr = bb.getDouble();
                float scale = bb.getFloat();
                int[] offsets = {-1, -1, -1};
                int[] lengths = new int[3];
                int[] expected = {length, t.blockSize() > 0 ? length / t.blockSize() : -1, length};
                for (int k = 0; k < (v1 ? 1 : 3); k++) {
                    if (!flag(bb.get(), where + " buffer " + k + " present")) {
                        continue;
                    }
                    int n = v1 ? length : bb.getInt();
                    if (n != expected[k]) {
                        throw new CheckpointException(where + ": state buffer " + k + " of tensor '" + t.name() + "' has "
                                + n + " values; expected " + expected[k]);
                    }
                    if (4L * n > bb.remaining()) {
                        throw new BufferUnderflowException();
                    }
                    offsets[k] = bb.position();
                    lengths[k] = n;
                    bb.position(bb.position() + 4 * n);
                }
                tensors.add(new TensorState(tSteps, gsnr, scale, bb.array(), offsets, lengths));
            }
            groups.add(new GroupState(lr, momentum, beta2, eps, wd, maximize, scaling < 0 ? null : SCALINGS[scaling],
                    amsgrad, tensors));
        }
        return new State(steps, skipped, extra, groups);
    }

    private static boolean flag(byte b, String what) throws CheckpointException {
        if (b != 0 && b != 1) {
            throw new CheckpointException(what + " flag is " + b + ", expected 0 or 1");
        }
        return b == 1;
    }
}
