// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * A contiguous run of {@code length} floats that the optimizer reads or writes: a slice of a {@code float[]},
 * or a {@link FloatBuffer} from its position to its limit (heap or direct, any byte order, possibly backed by
 * a {@code ByteBuffer}).
 *
 * <p>A span captures the buffer's position and limit when it is created; moving the buffer's position later
 * does not move the span. Element {@code i} of the span is always element {@code position + i} of the buffer
 * it was made from.
 *
 * <p>Kernels use one of two views: {@link #hasArray()} spans expose {@link #array()} and
 * {@link #arrayOffset()} (the fast path for the Vector API); every span exposes {@link #segment()} with
 * {@link #layout()} (little- or big-endian floats), which covers direct and byte-backed buffers.
 *
 * <p>A span can also stand for data that lives in an accelerator's memory ({@link #deviceResident}): a backend
 * creates it, and the optimizer hands it only to that backend.
 *
 * <p>Example: one flat parameter array and one direct gradient buffer, each cut into two tensors.
 * <pre>{@code
 * float[] params = new float[784 * 10 + 10];
 * FloatBuffer grads = ByteBuffer.allocateDirect(4 * params.length).order(ByteOrder.nativeOrder()).asFloatBuffer();
 * FloatSpan w = FloatSpan.of(params, 0, 7840), b = FloatSpan.of(params, 7840, 10);
 * FloatSpan dw = FloatSpan.of(grads.slice(0, 7840)), db = FloatSpan.of(grads.slice(7840, 10));
 * try (SgdSai opt = SgdSai.builder().lr(1e-2).add("fc.weight", w, dw).add("fc.bias", b, db).build()) {
 *     // fill grads, then opt.step() updates params in place
 * }
 * }</pre>
 */
public final class FloatSpan {
    private static final ValueLayout.OfFloat BIG = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfFloat LITTLE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final float[] array;
    private final int arrayOffset;
    private final MemorySegment segment;
    private final ValueLayout.OfFloat layout;
    private final boolean bigEndian;
    private final int length;
    private final boolean readOnly;
    private final boolean direct;
    private final Object owner; // keeps a direct buffer reachable while the span lives
    private final String residentOn; // backend whose device holds the data, null for host memory
    private final Object deviceHandle;

    private FloatSpan(float[] array, int arrayOffset, MemorySegment segment, ByteOrder order, int length,
                      boolean readOnly, boolean direct, Object owner) {
        this(array, arrayOffset, segment, order, length, readOnly, direct, owner, null, null);
    }

    private FloatSpan(float[] array, int arrayOffset, MemorySegment segment, ByteOrder order, int length,
                      boolean readOnly, boolean direct, Object owner, String residentOn, Object deviceHandle) {
        this.array = array;
        this.arrayOffset = arrayOffset;
        this.segment = segment;
        this.bigEndian = order == ByteOrder.BIG_ENDIAN;
        this.layout = bigEndian ? BIG : LITTLE;
        this.length = length;
        this.readOnly = readOnly;
        this.direct = direct;
        this.owner = owner;
        this.residentOn = residentOn;
        this.deviceHandle = deviceHandle;
    }

    /**
     * A span over the whole array.
     *
     * @param array the array; the span reads and writes it, no copy
     * @return a span over the whole array
     */
    public static FloatSpan of(float[] array) {
        Objects.requireNonNull(array, "array is null");
        return of(array, 0, array.length);
    }

    /**
     * A span over {@code array[offset .. offset + length)}.
     *
     * @param array the array; the span reads and writes it, no copy
     * @param offset index in {@code array} of the span's element 0
     * @param length number of floats
     * @return a span over {@code array[offset .. offset + length)}
     * @throws IllegalArgumentException if the range does not lie inside the array
     */
    public static FloatSpan of(float[] array, int offset, int length) {
        Objects.requireNonNull(array, "array is null");
        if (offset < 0 || length < 0 || offset > array.length - length) {
            throw new IllegalArgumentException("range [" + offset + ", " + offset + " + " + length
                    + ") does not lie inside an array of length " + array.length);
        }
        MemorySegment seg = MemorySegment.ofArray(array).asSlice(4L * offset, 4L * length);
        return new FloatSpan(array, offset, seg, ByteOrder.nativeOrder(), length, false, false, array);
    }

    /**
     * A span over {@code buffer} from its position to its limit; the buffer's position is not changed.
     *
     * @param buffer the buffer; the span reads and writes it, no copy
     * @return a span over {@code buffer} from its position to its limit; the buffer's position is not changed
     */
    public static FloatSpan of(FloatBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer is null");
        int len = buffer.remaining();
        if (buffer.hasArray()) {
            return of(buffer.array(), buffer.arrayOffset() + buffer.position(), len);
        }
        MemorySegment seg = MemorySegment.ofBuffer(buffer);
        return new FloatSpan(null, 0, seg, buffer.order(), len, buffer.isReadOnly(), buffer.isDirect(), buffer);
    }

    /**
     * A span whose data lives in the memory of backend {@code backend}'s device (e.g. a GPU), made by that
     * backend for its device-resident tensors; users get such spans from the backend, not from here.
     * {@code hostMirror} (native byte order, a multiple of 4 bytes) is a host copy of the data that is current
     * only after {@link io.github.sgdsai.spi.Backend#syncToHost}. An optimizer given such spans runs on
     * {@code backend}, which computes on the device data; the optimizer touches host mirrors only where the backend
     * makes them current first (a checkpoint's momentum, the value in a non-finite gradient report).
     *
     * @return a device-resident span
     * @param hostMirror the host copy, {@code 4 * length} bytes
     * @param backend    the name of the backend that owns the device data, e.g. {@code "tornado"}
     * @param handle     what the backend needs to find the device data; opaque to everyone else
     */
    public static FloatSpan deviceResident(MemorySegment hostMirror, String backend, Object handle) {
        Objects.requireNonNull(hostMirror, "hostMirror is null");
        Objects.requireNonNull(backend, "backend is null");
        Objects.requireNonNull(handle, "handle is null");
        if (hostMirror.byteSize() % 4 != 0 || hostMirror.byteSize() / 4 > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("hostMirror must hold a whole number of floats (at most 2^31 - 1), has "
                    + hostMirror.byteSize() + " bytes");
        }
        return new FloatSpan(null, 0, hostMirror, ByteOrder.nativeOrder(), (int) (hostMirror.byteSize() / 4),
                hostMirror.isReadOnly(), true, hostMirror, backend, handle);
    }

    /**
     * Whether the data lives in a device's memory (see {@link #deviceResident}).
     *
     * @return whether the data lives in a device's memory (see {@link #deviceResident})
     */
    public boolean isDeviceResident() {
        return residentOn != null;
    }

    /**
     * Name of the backend whose device holds the data, or {@code null} for host memory.
     *
     * @return the name of the backend whose device holds the data, or {@code null} for host memory
     */
    public String residentBackend() {
        return residentOn;
    }

    /**
     * The backend's handle to the device data, or {@code null} for host memory.
     *
     * @return the backend's handle to the device data, or {@code null} for host memory
     */
    public Object deviceHandle() {
        return deviceHandle;
    }

    /**
     * A new zero-filled span on the same kind of storage as {@code like}: direct memory for a direct span, else a {@code float[]}.
     *
     * @param like the span whose kind of storage the new one has
     * @param length number of floats
     * @return a new zero-filled span of {@code length} floats
     */
    public static FloatSpan allocateLike(FloatSpan like, int length) {
        if (like.direct) {
            FloatBuffer fb = ByteBuffer.allocateDirect(4 * length).order(ByteOrder.nativeOrder()).asFloatBuffer();
            return of(fb);
        }
        return of(new float[length]);
    }

    /**
     * Number of floats in the span.
     *
     * @return the number of floats in the span
     */
    public int length() {
        return length;
    }

    /**
     * Element {@code i} (0-based within the span).
     *
     * @param i index within the span, from 0
     * @return element {@code i} of the span
     */
    public float get(int i) {
        if (array != null) {
            return array[arrayOffset + i];
        }
        // constant layouts: the JIT folds them, which a layout read from a field would prevent
        return bigEndian ? segment.getAtIndex(BIG, i) : segment.getAtIndex(LITTLE, i);
    }

    /**
     * Sets element {@code i} (0-based within the span).
     *
     * @param i index within the span, from 0
     * @param v the new value
     */
    public void set(int i, float v) {
        if (array != null) {
            array[arrayOffset + i] = v;
        } else if (bigEndian) {
            segment.setAtIndex(BIG, i, v);
        } else {
            segment.setAtIndex(LITTLE, i, v);
        }
    }

    /**
     * Whether the span is a slice of a {@code float[]} ({@link #array()} is non-null).
     *
     * @return whether the span is a slice of a {@code float[]} ({@link #array()} is non-null)
     */
    public boolean hasArray() {
        return array != null;
    }

    /**
     * The backing array, or {@code null} when {@link #hasArray()} is false.
     *
     * @return the backing array, or {@code null} when {@link #hasArray()} is false
     */
    public float[] array() {
        return array;
    }

    /**
     * Index in {@link #array()} of element 0 of the span.
     *
     * @return the index in {@link #array()} of element 0 of the span
     */
    public int arrayOffset() {
        return arrayOffset;
    }

    /**
     * The span's bytes: {@code 4 * length()} bytes starting at element 0; read-only if the span is.
     *
     * @return the span's {@code 4 * length()} bytes, starting at element 0
     */
    public MemorySegment segment() {
        return segment;
    }

    /**
     * How the floats are laid out in {@link #segment()} (byte order).
     *
     * @return how the floats are laid out in {@link #segment()} (byte order)
     */
    public ValueLayout.OfFloat layout() {
        return layout;
    }

    /**
     * Byte order of the floats in {@link #segment()}.
     *
     * @return the byte order of the floats in {@link #segment()}
     */
    public ByteOrder order() {
        return layout.order();
    }

    /**
     * Whether the span may not be written (a read-only buffer).
     *
     * @return whether the span may not be written (a read-only buffer)
     */
    public boolean isReadOnly() {
        return readOnly;
    }

    /**
     * Whether the span lives in direct (off-heap) memory.
     *
     * @return whether the span lives in direct (off-heap) memory
     */
    public boolean isDirect() {
        return direct;
    }

    /**
     * Copies the span into {@code dst[0 .. length)}.
     *
     * @param dst receives the span's floats
     */
    public void copyTo(float[] dst) {
        if (array != null) {
            System.arraycopy(array, arrayOffset, dst, 0, length);
        } else {
            MemorySegment.copy(segment, layout, 0, dst, 0, length);
        }
    }

    /**
     * Copies {@code src[0 .. length)} into the span.
     *
     * @param src the floats to copy
     */
    public void copyFrom(float[] src) {
        if (array != null) {
            System.arraycopy(src, 0, array, arrayOffset, length);
        } else {
            MemorySegment.copy(src, 0, segment, layout, 0, length);
        }
    }

    /**
     * Whether this span shares at least one byte with {@code other}.
     *
     * @param other the other span
     * @return whether this span shares at least one byte with {@code other}
     */
    public boolean overlaps(FloatSpan other) {
        return segment.asOverlappingSlice(other.segment).isPresent();
    }

    @Override
    public String toString() {
        String kind = residentOn != null ? "on the '" + residentOn + "' device"
                : array != null ? "float[]" : (direct ? "direct " : "heap ") + "buffer " + order();
        return "FloatSpan[" + kind + ", length=" + length + (readOnly ? ", read-only" : "") + "]";
    }
}
