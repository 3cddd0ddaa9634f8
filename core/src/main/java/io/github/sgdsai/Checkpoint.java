// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Reads and writes checkpoints. The format (version {@value #VERSION}, big-endian) is documented for users in
 * {@code docs/checkpoints.md} and on {@link Optimizer#save}:
 *
 * <pre>
 * magic "SGDSAICK" (8 bytes) | version int32 = 3 | headerLength int32 | header | headerCrc int32 | data | crc int32
 * header:    optimizer str | steps int64 | skipped int64 | scalars | groupCount int32 | per group: hyperparameters
 *            | tensorCount int32 | per tensor: name str, group int32, length int64, steps int64, scalars,
 *              bufferCount int32, per buffer: name str, type int8 (0 = float32), length int64
 * scalars:   count int32, per entry: name str, float64
 * hyperparameters: count int32, per entry: name str, type int8 (0 = float64, 1 = str), value
 * str:       length int32 (0..65535), UTF-8 bytes
 * data:      every buffer's values, tensor by tensor in header order (float32: 4 bytes each)
 * headerCrc: CRC-32C of every byte before it; crc: CRC-32C of every byte before it
 * </pre>
 * Versions 1 and 2 are still read (they interleave each tensor's values with its metadata). Reading streams through
 * a 64 KiB buffer into new state buffers (allocated as the backend allocates state), which replace the old ones only
 * once the whole checkpoint checked out; every length is checked against the target before anything is allocated.
 */
final class Checkpoint {
    static final int VERSION = 3;
    private static final byte[] MAGIC = "SGDSAICK".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_STRING = 65535;
    private static final int CHUNK = 1 << 16;
    private static final Scaling[] SCALINGS = Scaling.values();
    private static final Optimizer.Kind[] KINDS = Optimizer.Kind.values();
    /** Big-endian floats at any byte offset: the checkpoint's layout. */
    private static final ValueLayout.OfFloat BIG_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Checkpoint() {
    }

    /** The id of an optimizer kind in format 3. */
    static String id(Optimizer.Kind kind) {
        return switch (kind) {
            case SGD_SAI -> "sgd-sai";
            case ADAMW -> "adamw";
            case ADAM_MINI -> "adam-mini";
        };
    }

    /** The names of a kind's three state-buffer slots (null: the slot is unused), torch's names for the Adam family. */
    static String[] bufferNames(Optimizer.Kind kind) {
        return kind == Optimizer.Kind.SGD_SAI ? new String[] {"momentum", null, null}
                : new String[] {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }

    /** The hyperparameters a kind's groups store, in the order they are written. */
    static List<String> hyperparameterNames(Optimizer.Kind kind) {
        return switch (kind) {
            case SGD_SAI -> List.of("lr", "momentum", "eps", "weight_decay", "maximize", "scaling");
            case ADAMW -> List.of("lr", "beta1", "beta2", "eps", "weight_decay", "maximize", "amsgrad");
            case ADAM_MINI -> List.of("lr", "beta1", "beta2", "eps", "weight_decay", "maximize");
        };
    }

    private static boolean hasTensorScalars(Optimizer.Kind kind) {
        return kind == Optimizer.Kind.SGD_SAI;
    }

    /** A group's hyperparameters as restored. */
    record GroupState(double lr, double momentum, double beta2, double eps, double weightDecay, boolean maximize,
                      Scaling scaling, boolean amsgrad) {
    }

    /**
     * A tensor's restored scalars and its state buffers as read (new spans, allocated as the backend allocates state
     * for this tensor; null where the checkpoint has none), in slot order.
     */
    record TensorState(long steps, double gsnr, float scale, FloatSpan[] buffers) {
    }

    /**
     * A checkpoint that checked out: everything {@link Optimizer#load} applies. {@code tensors} follows
     * {@link Optimizer#tensors()}.
     */
    record State(long steps, long skippedSteps, double extra, List<GroupState> groups, TensorState[] tensors) {
    }

    /**
     * A new span for buffer slot {@code k} of {@code t}, on its parameter's kind of storage (slot 0 as the backend
     * allocates momentum): where a checkpoint's values are read, to become the state once all of it checked out.
     */
    private static FloatSpan stage(Optimizer opt, Optimizer.Tensor t, int k, int length) {
        return k == 0 ? opt.backend.allocateMomentum(t.param()) : opt.backend.allocateState(t.param(), length);
    }

    // ------------------------------------------------------------------------------------------------ writing

    static void write(Optimizer opt, OutputStream out) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] header = header(opt);
        ByteBuffer prefix = ByteBuffer.allocate(MAGIC.length + 8).put(MAGIC).putInt(VERSION).putInt(header.length);
        emit(out, crc, prefix.array(), prefix.position());
        emit(out, crc, header, header.length);
        emit(out, crc, intBytes((int) crc.getValue()), 4);
        byte[] chunk = new byte[CHUNK];
        for (Optimizer.Tensor t : opt.tensors()) {
            for (FloatSpan b : t.stateBuffers()) {
                if (b != null) {
                    writeFloats(out, crc, b, chunk);
                }
            }
        }
        out.write(intBytes((int) crc.getValue()));
        out.flush();
    }

    private static byte[] header(Optimizer opt) throws IOException {
        Optimizer.Kind kind = opt.kind();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(bytes);
        writeString(h, id(kind));
        h.writeLong(opt.steps());
        h.writeLong(opt.skippedSteps());
        if (kind == Optimizer.Kind.SGD_SAI) {
            h.writeInt(1);
            writeString(h, "gsnr_max");
            h.writeDouble(opt.savedScalar());
        } else {
            h.writeInt(0);
        }
        h.writeInt(opt.groups().size());
        List<String> names = hyperparameterNames(kind);
        for (Optimizer.Group g : opt.groups()) {
            h.writeInt(names.size());
            for (String name : names) {
                writeString(h, name);
                Object v = hyperparameter(g, name);
                if (v instanceof String s) {
                    h.writeByte(1);
                    writeString(h, s);
                } else {
                    h.writeByte(0);
                    h.writeDouble((Double) v);
                }
            }
        }
        String[] slots = bufferNames(kind);
        h.writeInt(opt.tensors().size());
        for (Optimizer.Tensor t : opt.tensors()) {
            writeString(h, t.name());
            h.writeInt(t.group().index());
            h.writeLong(t.length());
            h.writeLong(t.steps());
            if (hasTensorScalars(kind)) {
                h.writeInt(2);
                writeString(h, "gsnr");
                h.writeDouble(t.gsnr());
                writeString(h, "scale");
                h.writeDouble(t.scale());
            } else {
                h.writeInt(0);
            }
            FloatSpan[] buffers = t.stateBuffers();
            int present = 0;
            for (FloatSpan b : buffers) {
                present += b != null ? 1 : 0;
            }
            h.writeInt(present);
            for (int k = 0; k < buffers.length; k++) {
                if (buffers[k] != null) {
                    writeString(h, slots[k]);
                    h.writeByte(0);
                    h.writeLong(buffers[k].length());
                }
            }
        }
        h.flush();
        return bytes.toByteArray();
    }

    private static Object hyperparameter(Optimizer.Group g, String name) {
        return switch (name) {
            case "lr" -> g.lr();
            case "momentum", "beta1" -> g.momentum();
            case "beta2" -> g.beta2();
            case "eps" -> g.eps();
            case "weight_decay" -> g.weightDecay();
            case "maximize" -> g.maximize() ? 1.0 : 0.0;
            case "amsgrad" -> g.amsgrad() ? 1.0 : 0.0;
            case "scaling" -> g.scaling().name();
            default -> throw new AssertionError(name);
        };
    }

    private static void writeString(DataOutputStream h, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > MAX_STRING) {
            throw new IOException("cannot save: name '" + s.substring(0, 40) + "…' is longer than " + MAX_STRING
                    + " bytes in UTF-8");
        }
        h.writeInt(b.length);
        h.write(b);
    }

    private static void emit(OutputStream out, CRC32C crc, byte[] b, int n) throws IOException {
        crc.update(b, 0, n);
        out.write(b, 0, n);
    }

    private static byte[] intBytes(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    /** {@code m} as big-endian floats (their raw bits), a chunk at a time, each chunk one bulk byte-swapping copy. */
    private static void writeFloats(OutputStream out, CRC32C crc, FloatSpan m, byte[] chunk) throws IOException {
        MemorySegment dst = MemorySegment.ofArray(chunk);
        int perChunk = chunk.length / 4;
        for (int from = 0; from < m.length(); from += perChunk) {
            int n = Math.min(perChunk, m.length() - from);
            MemorySegment.copy(m.segment(), m.layout(), 4L * from, dst, BIG_FLOAT, 0, n);
            emit(out, crc, chunk, 4 * n);
        }
    }

    // ------------------------------------------------------------------------------------------------ reading

    /** The input: counts and checksums what it reads, and never reads more than {@code budget} bytes. */
    private static final class Input {
        private final InputStream in;
        private final CRC32C crc = new CRC32C();
        private final byte[] small = new byte[8];
        private final ByteBuffer smallView = ByteBuffer.wrap(small).order(ByteOrder.BIG_ENDIAN);
        private long read;
        private long budget = Long.MAX_VALUE;

        Input(InputStream in) {
            this.in = in;
        }

        /** Reads exactly {@code n} bytes into {@code b} (or fails as truncated), updating the checksum. */
        void readFully(byte[] b, int off, int n) throws IOException {
            if (read + n > budget) {
                throw new CheckpointException("checkpoint is larger than anything this optimizer's state could be "
                        + "saved as (over " + budget + " bytes); refusing to read further");
            }
            int got = in.readNBytes(b, off, n);
            if (got < n) {
                throw new CheckpointException("checkpoint is truncated: it ends inside its data (after " + (read + got)
                        + " bytes)");
            }
            crc.update(b, off, n);
            read += n;
        }

        ByteBuffer next(int n) throws IOException {
            readFully(small, 0, n);
            return smallView.clear().limit(n);
        }

        int readInt() throws IOException {
            return next(4).getInt();
        }

        long readLong() throws IOException {
            return next(8).getLong();
        }

        byte readByte() throws IOException {
            return next(1).get();
        }

        float readFloat() throws IOException {
            return next(4).getFloat();
        }

        double readDouble() throws IOException {
            return next(8).getDouble();
        }

        int checksum() {
            return (int) crc.getValue();
        }

        /** Reads the stored checksum (not itself checksummed) and compares it with what was read before it. */
        void verifyChecksum(String what) throws IOException {
            int expected = checksum();
            byte[] b = new byte[4];
            if (in.readNBytes(b, 0, 4) < 4) {
                throw new CheckpointException("checkpoint is truncated: its " + (what.isEmpty() ? "" : what + " ")
                        + "checksum is missing");
            }
            read += 4;
            if (ByteBuffer.wrap(b).getInt() != expected) {
                throw new CheckpointException("checkpoint " + what + (what.isEmpty() ? "" : " ")
                        + "checksum mismatch: it is corrupted or truncated");
            }
            crc.update(b); // the file's checksum covers the header's
        }

        /** Fails if anything follows the checkpoint (reads at most one byte). */
        void expectEnd() throws IOException {
            if (in.read() >= 0) {
                throw new CheckpointException("checkpoint has unexpected trailing bytes after its checksum");
            }
        }

        /**
         * Reads {@code count} big-endian floats into {@code dst} (a chunk at a time, each one bulk byte-swapping copy),
         * or skips them when {@code dst} is null.
         */
        void readFloats(FloatSpan dst, long count, byte[] chunk) throws IOException {
            MemorySegment src = MemorySegment.ofArray(chunk);
            int perChunk = chunk.length / 4;
            for (long from = 0; from < count; from += perChunk) {
                int n = (int) Math.min(perChunk, count - from);
                readFully(chunk, 0, 4 * n);
                if (dst != null) {
                    MemorySegment.copy(src, BIG_FLOAT, 0, dst.segment(), dst.layout(), 4 * from, n);
                }
            }
        }
    }

    /** A tensor as the checkpoint describes it, and the target tensor it restores (null if none). */
    private static final class FileTensor {
        final String name;
        final int group;
        final long length;
        long steps;
        double gsnr = Double.NaN;
        float scale = Float.NaN;
        final long[] bufferLengths = {-1, -1, -1};
        Optimizer.Tensor target;
        int targetIndex = -1;

        FileTensor(String name, int group, long length) {
            this.name = name;
            this.group = group;
            this.length = length;
        }
    }

    /**
     * Reads and fully checks a checkpoint against {@code opt}'s structure, matching tensors as {@code matching} says;
     * modifies nothing of {@code opt}. The caller applies the result and closes it.
     */
    static State read(InputStream in, Optimizer opt, TensorMatching matching) throws IOException {
        Input input = new Input(in);
        byte[] magic = new byte[MAGIC.length];
        int got = in.readNBytes(magic, 0, magic.length);
        if (got < magic.length || !Arrays.equals(magic, MAGIC)) {
            throw new CheckpointException("not an sgdsai checkpoint (missing magic \"SGDSAICK\"; read " + got + " bytes)");
        }
        input.crc.update(magic);
        input.read = magic.length;
        int version;
        try {
            version = input.readInt();
        } catch (CheckpointException e) {
            throw new CheckpointException("checkpoint is truncated (" + input.read + " bytes)", e);
        }
        if (version != VERSION && version != 2 && version != 1) {
            throw new CheckpointException("checkpoint version " + version + " is not supported (this library reads "
                    + "versions 1 to " + VERSION + ")");
        }
        State s = version == VERSION ? readV3(input, opt, matching) : readLegacy(input, opt, matching, version);
        input.expectEnd();
        return s;
    }

    // ------------------------------------------------------------------------------------------------ format 3

    private static State readV3(Input input, Optimizer opt, TensorMatching matching) throws IOException {
        int headerLength = input.readInt();
        long limit = 4L * header(opt).length + (1 << 20);
        if (headerLength < 0 || headerLength > limit) {
            throw new CheckpointException("checkpoint header length " + headerLength + " is out of range for this "
                    + "optimizer (at most " + limit + " bytes); the file is corrupted or not meant for it");
        }
        byte[] header = new byte[headerLength];
        input.readFully(header, 0, headerLength);
        input.verifyChecksum("header");
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.BIG_ENDIAN);
        Optimizer.Kind kind = opt.kind();
        try {
            String id = readString(h, "optimizer id");
            if (!id.equals(id(kind))) {
                throw new CheckpointException("checkpoint is of a " + id + " optimizer, not " + id(kind));
            }
            long steps = nonNegative(h.getLong(), "steps");
            long skipped = nonNegative(h.getLong(), "skipped steps");
            Map<String, Double> scalars = readScalars(h, "optimizer");
            double extra = Double.NaN;
            if (kind == Optimizer.Kind.SGD_SAI) {
                extra = require(scalars, "gsnr_max", "optimizer scalars");
            }
            requireOnly(scalars, kind == Optimizer.Kind.SGD_SAI ? List.of("gsnr_max") : List.of(), "optimizer scalars");
            int groupCount = h.getInt();
            if (groupCount != opt.groups().size()) {
                throw new CheckpointException("checkpoint has " + groupCount + " groups but the optimizer has "
                        + opt.groups().size());
            }
            List<GroupState> groups = new ArrayList<>(groupCount);
            for (Optimizer.Group g : opt.groups()) {
                groups.add(readGroup(h, g, kind));
            }
            int tensorCount = h.getInt();
            // Each tensor's header entry takes at least 32 bytes: a larger count cannot be real.
            if (tensorCount < 0 || tensorCount > h.remaining() / 32) {
                throw new CheckpointException("checkpoint claims " + tensorCount + " tensors in a header of "
                        + headerLength + " bytes");
            }
            String[] slots = bufferNames(kind);
            List<FileTensor> files = new ArrayList<>(tensorCount);
            for (int i = 0; i < tensorCount; i++) {
                String name = readString(h, "tensor name");
                int group = h.getInt();
                long length = h.getLong();
                FileTensor f = new FileTensor(name, group, length);
                f.steps = nonNegative(h.getLong(), "steps of tensor '" + name + "'");
                Map<String, Double> ts = readScalars(h, "tensor '" + name + "'");
                if (hasTensorScalars(kind)) {
                    f.gsnr = require(ts, "gsnr", "tensor '" + name + "'");
                    f.scale = (float) (double) require(ts, "scale", "tensor '" + name + "'");
                    requireOnly(ts, List.of("gsnr", "scale"), "tensor '" + name + "'");
                } else {
                    requireOnly(ts, List.of(), "tensor '" + name + "'");
                }
                int bufferCount = h.getInt();
                if (bufferCount < 0 || bufferCount > 3) {
                    throw new CheckpointException("tensor '" + name + "': " + bufferCount + " state buffers");
                }
                for (int b = 0; b < bufferCount; b++) {
                    String bname = readString(h, "buffer name");
                    int k = Arrays.asList(slots).indexOf(bname);
                    if (k < 0 || f.bufferLengths[k] >= 0) {
                        throw new CheckpointException("tensor '" + name + "': " + (k < 0 ? "unknown" : "repeated")
                                + " state buffer '" + bname + "' for a " + id(kind) + " optimizer");
                    }
                    byte type = h.get();
                    if (type != 0) {
                        throw new CheckpointException("tensor '" + name + "': state buffer '" + bname + "' has element "
                                + "type " + type + ", which this library does not read (0 = float32)");
                    }
                    f.bufferLengths[k] = h.getLong();
                }
                files.add(f);
            }
            if (h.hasRemaining()) {
                throw new CheckpointException("checkpoint header has " + h.remaining() + " unexpected trailing bytes");
            }
            TensorState[] restored = match(files, opt, matching);
            checkBuffers(files, kind);
            // The header fits the optimizer: stage the data, then check the whole file's checksum.
            byte[] chunk = new byte[CHUNK];
            for (FileTensor f : files) {
                FloatSpan[] staged = new FloatSpan[3];
                for (int k = 0; k < 3; k++) {
                    if (f.bufferLengths[k] >= 0) {
                        staged[k] = stage(opt, f.target, k, (int) f.bufferLengths[k]);
                        input.readFloats(staged[k], f.bufferLengths[k], chunk);
                    }
                }
                restored[f.targetIndex] = new TensorState(f.steps, f.gsnr, f.scale, staged);
            }
            input.verifyChecksum("");
            return new State(steps, skipped, extra, groups, restored);
        } catch (BufferUnderflowException e) {
            throw new CheckpointException("checkpoint header is truncated: it ends inside an entry", e);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("checkpoint holds an invalid value: " + e.getMessage(), e);
        }
    }

    private static GroupState readGroup(ByteBuffer h, Optimizer.Group g, Optimizer.Kind kind) throws CheckpointException {
        String where = "checkpoint group " + g.index();
        int count = h.getInt();
        if (count < 0 || count > 64) {
            throw new CheckpointException(where + ": " + count + " hyperparameters");
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            String name = readString(h, "hyperparameter name");
            byte type = h.get();
            Object v = switch (type) {
                case 0 -> h.getDouble();
                case 1 -> readString(h, "hyperparameter " + name);
                default -> throw new CheckpointException(where + ": hyperparameter '" + name + "' has type " + type);
            };
            if (values.put(name, v) != null) {
                throw new CheckpointException(where + ": hyperparameter '" + name + "' is repeated");
            }
        }
        List<String> expected = hyperparameterNames(kind);
        if (!values.keySet().equals(new java.util.HashSet<>(expected))) {
            throw new CheckpointException(where + ": hyperparameters " + values.keySet() + " do not fit a " + id(kind)
                    + " optimizer, which stores " + expected);
        }
        double lr = Hyper.lr(where, number(values, "lr", where));
        double momentum = Hyper.momentum(where, number(values, kind == Optimizer.Kind.SGD_SAI ? "momentum" : "beta1", where));
        double beta2 = kind == Optimizer.Kind.SGD_SAI ? Double.NaN : Hyper.beta2(where, number(values, "beta2", where));
        double eps = Hyper.eps(where, number(values, "eps", where));
        double wd = Hyper.weightDecay(where, number(values, "weight_decay", where));
        boolean maximize = flag(number(values, "maximize", where), where + " maximize");
        boolean amsgrad = kind == Optimizer.Kind.ADAMW && flag(number(values, "amsgrad", where), where + " amsgrad");
        Scaling scaling = null;
        if (kind == Optimizer.Kind.SGD_SAI) {
            Object s = values.get("scaling");
            scaling = Arrays.stream(SCALINGS).filter(x -> x.name().equals(s)).findFirst()
                    .orElseThrow(() -> new CheckpointException(where + ": unknown scaling mode " + s));
        }
        return new GroupState(lr, momentum, beta2, eps, wd, maximize, scaling, amsgrad);
    }

    private static double number(Map<String, Object> values, String name, String where) throws CheckpointException {
        if (!(values.get(name) instanceof Double d)) {
            throw new CheckpointException(where + ": hyperparameter '" + name + "' is not a number");
        }
        return d;
    }

    private static Map<String, Double> readScalars(ByteBuffer h, String where) throws CheckpointException {
        int count = h.getInt();
        if (count < 0 || count > 64) {
            throw new CheckpointException(where + ": " + count + " scalars");
        }
        Map<String, Double> m = new HashMap<>();
        for (int i = 0; i < count; i++) {
            String name = readString(h, "scalar name");
            if (m.put(name, h.getDouble()) != null) {
                throw new CheckpointException(where + ": scalar '" + name + "' is repeated");
            }
        }
        return m;
    }

    private static double require(Map<String, Double> m, String name, String where) throws CheckpointException {
        Double v = m.get(name);
        if (v == null) {
            throw new CheckpointException(where + ": scalar '" + name + "' is missing");
        }
        return v;
    }

    private static void requireOnly(Map<String, Double> m, List<String> names, String where) throws CheckpointException {
        for (String k : m.keySet()) {
            if (!names.contains(k)) {
                throw new CheckpointException(where + ": unknown scalar '" + k + "'");
            }
        }
    }

    private static String readString(ByteBuffer h, String what) throws CheckpointException {
        int n = h.getInt();
        if (n < 0 || n > MAX_STRING || n > h.remaining()) {
            throw new CheckpointException("checkpoint " + what + " has a bad length " + n);
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(h.slice(h.position(), n)).toString();
            h.position(h.position() + n);
            return s;
        } catch (CharacterCodingException e) {
            throw new CheckpointException("checkpoint " + what + " is not valid UTF-8", e);
        }
    }

    private static long nonNegative(long v, String what) throws CheckpointException {
        if (v < 0) {
            throw new CheckpointException("checkpoint " + what + " is negative (" + v + ")");
        }
        return v;
    }

    /** The length each buffer slot of {@code t} must have (-1: the slot cannot hold a buffer). */
    private static long expectedLength(Optimizer.Tensor t, Optimizer.Kind kind, int k) {
        if (kind == Optimizer.Kind.SGD_SAI) {
            return k == 0 ? t.length() : -1;
        }
        if (k == 1) {
            return t.blockSize() > 0 ? t.length() / t.blockSize() : -1;
        }
        return k == 2 && kind != Optimizer.Kind.ADAMW ? -1 : t.length();
    }

    private static void checkBuffers(List<FileTensor> files, Optimizer.Kind kind) throws CheckpointException {
        String[] slots = bufferNames(kind);
        for (FileTensor f : files) {
            for (int k = 0; k < 3; k++) {
                long expected = expectedLength(f.target, kind, k);
                if (f.bufferLengths[k] >= 0 && f.bufferLengths[k] != expected) {
                    throw new CheckpointException("tensor '" + f.target.name() + "': state buffer '" + slots[k]
                            + "' has " + f.bufferLengths[k] + " values in the checkpoint; expected "
                            + (expected < 0 ? "none" : expected));
                }
            }
        }
    }

    /**
     * Pairs every checkpoint tensor with a tensor of {@code opt} (setting {@link FileTensor#target}) and reports, in
     * one exception, every one that does not fit: missing, extra, resized, in another group, or repeated.
     */
    private static TensorState[] match(List<FileTensor> files, Optimizer opt, TensorMatching matching)
            throws CheckpointException {
        List<Optimizer.Tensor> targets = opt.tensors();
        List<String> problems = new ArrayList<>();
        if (matching == TensorMatching.BY_POSITION) {
            if (files.size() != targets.size()) {
                problems.add("the checkpoint has " + files.size() + " tensors but the optimizer has " + targets.size());
            }
            for (int i = 0; i < Math.min(files.size(), targets.size()); i++) {
                files.get(i).target = targets.get(i);
                files.get(i).targetIndex = i;
            }
        } else {
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < targets.size(); i++) {
                index.put(targets.get(i).name(), i);
            }
            Map<String, FileTensor> seen = new HashMap<>();
            List<FileTensor> extra = new ArrayList<>();
            for (FileTensor f : files) {
                if (seen.put(f.name, f) != null) {
                    problems.add("tensor '" + f.name + "' appears twice in the checkpoint");
                    continue;
                }
                Integer i = index.get(f.name);
                if (i == null) {
                    extra.add(f);
                } else {
                    f.target = targets.get(i);
                    f.targetIndex = i;
                }
            }
            List<Optimizer.Tensor> missing = targets.stream().filter(t -> !seen.containsKey(t.name())).toList();
            for (Optimizer.Tensor t : missing) {
                String hint = extra.stream().filter(f -> f.length == t.length() && f.group == t.group().index())
                        .map(f -> " (renamed from '" + f.name + "'? restore with TensorMatching.BY_POSITION)")
                        .findFirst().orElse("");
                problems.add("tensor '" + t.name() + "' (" + t.length() + " elements) is missing from the checkpoint"
                        + hint);
            }
            for (FileTensor f : extra) {
                problems.add("the checkpoint's tensor '" + f.name + "' (" + f.length + " elements) is not in the optimizer");
            }
        }
        for (FileTensor f : files) {
            Optimizer.Tensor t = f.target;
            if (t == null) {
                continue;
            }
            String label = matching == TensorMatching.BY_POSITION && !f.name.equals(t.name())
                    ? "tensor '" + t.name() + "' (checkpoint '" + f.name + "')" : "tensor '" + t.name() + "'";
            if (f.length != t.length()) {
                problems.add(label + " has " + f.length + " elements in the checkpoint but " + t.length() + " in the "
                        + "optimizer (resized)");
            }
            if (f.group != t.group().index()) {
                problems.add(label + " is in group " + f.group + " in the checkpoint but in group " + t.group().index()
                        + " in the optimizer");
            }
        }
        if (!problems.isEmpty()) {
            int shown = Math.min(problems.size(), 20);
            String more = problems.size() > shown ? "\n  … and " + (problems.size() - shown) + " more" : "";
            throw new CheckpointException("checkpoint does not fit this optimizer (" + problems.size() + " problem"
                    + (problems.size() == 1 ? "" : "s") + "; tensors matched " + (matching == TensorMatching.BY_NAME
                    ? "by name" : "by position") + "):\n  " + String.join("\n  ", problems.subList(0, shown)) + more);
        }
        return new TensorState[targets.size()];
    }

    // ------------------------------------------------------------------------------------------------ formats 1, 2

    /**
     * Versions 1 and 2: groups in order, each with its hyperparameters and then its tensors, each tensor's values
     * right after its metadata. Values of a tensor the optimizer does not have are skipped; reading stops once more
     * bytes have come than the optimizer's own state could take.
     */
    private static State readLegacy(Input input, Optimizer opt, TensorMatching matching, int version)
            throws IOException {
        boolean v1 = version == 1;
        Optimizer.Kind kind = v1 ? Optimizer.Kind.SGD_SAI : kindOf(input.readByte());
        if (kind != opt.kind()) {
            throw new CheckpointException("checkpoint is of a " + id(kind) + " optimizer, not " + id(opt.kind()));
        }
        // Generous: every tensor's metadata with a name of the longest kind, and all of its buffers.
        long budget = 1 << 20;
        for (Optimizer.Tensor t : opt.tensors()) {
            budget += 2L * (t.name().length() * 4L + 64) + 12L * t.length() + 64;
        }
        budget += 128L * opt.groups().size();
        input.budget = budget;
        long steps = nonNegative(input.readLong(), "steps");
        long skipped = nonNegative(input.readLong(), "skipped steps");
        double extra = input.readDouble();
        int groupCount = input.readInt();
        if (groupCount != opt.groups().size()) {
            throw new CheckpointException("checkpoint has " + groupCount + " groups but the optimizer has "
                    + opt.groups().size());
        }
        List<GroupState> groups = new ArrayList<>(groupCount);
        List<FileTensor> files = new ArrayList<>();
        List<FloatSpan[]> staged = new ArrayList<>();
        Map<String, Integer> index = new HashMap<>();
        List<Optimizer.Tensor> targets = opt.tensors();
        for (int i = 0; i < targets.size(); i++) {
            index.put(targets.get(i).name(), i);
        }
        byte[] chunk = new byte[CHUNK];
        try {
            for (Optimizer.Group g : opt.groups()) {
                String where = "checkpoint group " + g.index();
                double lr = Hyper.lr(where, input.readDouble());
                double momentum = Hyper.momentum(where, input.readDouble());
                double beta2 = v1 ? Double.NaN : input.readDouble();
                if (!Double.isNaN(beta2) || !Double.isNaN(g.beta2())) {
                    Hyper.beta2(where, beta2);
                }
                double eps = Hyper.eps(where, input.readDouble());
                double wd = Hyper.weightDecay(where, input.readDouble());
                boolean maximize = flag(input.readByte(), where + " maximize");
                int scaling = input.readByte();
                if (scaling < (v1 ? 0 : -1) || scaling >= SCALINGS.length || (scaling < 0) != (g.scaling() == null)) {
                    throw new CheckpointException(where + ": scaling mode " + scaling + " does not fit a " + id(kind));
                }
                boolean amsgrad = !v1 && flag(input.readByte(), where + " amsgrad");
                groups.add(new GroupState(lr, momentum, beta2, eps, wd, maximize, scaling < 0 ? null : SCALINGS[scaling],
                        amsgrad));
                int tensorCount = input.readInt();
                if (tensorCount < 0 || tensorCount > targets.size() + 4096) {
                    throw new CheckpointException(where + " claims " + tensorCount + " tensors; the optimizer has "
                            + targets.size() + " in all");
                }
                for (int ti = 0; ti < tensorCount; ti++) {
                    int nameLength = input.readInt();
                    if (nameLength < 0 || nameLength > MAX_STRING) {
                        throw new CheckpointException(where + ": bad tensor name length " + nameLength);
                    }
                    byte[] nameBytes = new byte[nameLength];
                    input.readFully(nameBytes, 0, nameLength);
                    String name = new String(nameBytes, StandardCharsets.UTF_8);
                    int length = input.readInt();
                    FileTensor f = new FileTensor(name, g.index(), length);
                    f.steps = nonNegative(input.readLong(), "steps of tensor '" + name + "'");
                    f.gsnr = input.readDouble();
                    f.scale = input.readFloat();
                    // The tensor these values are for, if it exists and fits; else they are read past.
                    Optimizer.Tensor t;
                    if (matching == TensorMatching.BY_POSITION) {
                        int pos = files.size();
                        t = pos < targets.size() ? targets.get(pos) : null;
                    } else {
                        Integer i = index.get(name);
                        t = i == null ? null : targets.get(i);
                    }
                    FloatSpan[] buffers = new FloatSpan[3];
                    for (int k = 0; k < (v1 ? 1 : 3); k++) {
                        if (!flag(input.readByte(), where + " buffer " + k + " present")) {
                            continue;
                        }
                        int n = v1 ? length : input.readInt();
                        if (n < 0) {
                            throw new CheckpointException(where + ": tensor '" + name + "' has a buffer of " + n + " values");
                        }
                        f.bufferLengths[k] = n;
                        boolean fits = t != null && t.length() == length && n == expectedLength(t, kind, k);
                        buffers[k] = fits ? stage(opt, t, k, n) : null;
                        input.readFloats(buffers[k], n, chunk);
                    }
                    files.add(f);
                    staged.add(buffers);
                }
            }
            input.verifyChecksum("");
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("checkpoint holds an invalid value: " + e.getMessage(), e);
        }
        TensorState[] restored = match(files, opt, matching);
        checkBuffers(files, kind);
        for (int i = 0; i < files.size(); i++) {
            FileTensor f = files.get(i);
            restored[f.targetIndex] = new TensorState(f.steps, f.gsnr, f.scale, staged.get(i));
        }
        return new State(steps, skipped, extra, groups, restored);
    }

    private static Optimizer.Kind kindOf(byte code) throws CheckpointException {
        if (code < 0 || code >= KINDS.length) {
            throw new CheckpointException("unknown optimizer kind " + code);
        }
        return KINDS[code];
    }

    private static boolean flag(double v, String what) throws CheckpointException {
        if (v != 0 && v != 1) {
            throw new CheckpointException(what + " flag is " + v + ", expected 0 or 1");
        }
        return v == 1;
    }
}
