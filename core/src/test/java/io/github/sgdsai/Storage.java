// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.function.Function;

/** Every kind of storage a tensor can live in, as a factory from values to a span holding them. */
enum Storage {
    ARRAY(v -> FloatSpan.of(v.clone())),
    ARRAY_OFFSET(v -> {
        float[] a = new float[v.length + 7];
        System.arraycopy(v, 0, a, 3, v.length);
        return FloatSpan.of(a, 3, v.length);
    }),
    HEAP_BUFFER(v -> {
        float[] a = new float[v.length + 5];
        System.arraycopy(v, 0, a, 2, v.length);
        FloatBuffer fb = FloatBuffer.wrap(a, 2, v.length).slice(); // arrayOffset 2, position 0
        return FloatSpan.of(fb);
    }),
    HEAP_BYTES_BIG(v -> bytes(v, ByteBuffer.allocate(4 * v.length + 8), ByteOrder.BIG_ENDIAN)),
    HEAP_BYTES_LITTLE(v -> bytes(v, ByteBuffer.allocate(4 * v.length + 8), ByteOrder.LITTLE_ENDIAN)),
    DIRECT_NATIVE(v -> bytes(v, ByteBuffer.allocateDirect(4 * v.length + 8), ByteOrder.nativeOrder())),
    DIRECT_SWAPPED(v -> bytes(v, ByteBuffer.allocateDirect(4 * v.length + 8),
            ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN));

    private final Function<float[], FloatSpan> make;

    Storage(Function<float[], FloatSpan> make) {
        this.make = make;
    }

    FloatSpan of(float[] values) {
        return make.apply(values);
    }

    /** A float buffer view starting one float into {@code bb}, in {@code order}, with position 1 and limit 1 + n. */
    private static FloatSpan bytes(float[] v, ByteBuffer bb, ByteOrder order) {
        FloatBuffer fb = bb.order(order).asFloatBuffer();
        fb.position(1);
        fb.put(v);
        fb.position(1).limit(1 + v.length);
        return FloatSpan.of(fb);
    }

    static float[] values(FloatSpan s) {
        float[] out = new float[s.length()];
        s.copyTo(out);
        return out;
    }
}
