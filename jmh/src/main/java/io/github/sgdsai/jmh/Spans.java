package io.github.sgdsai.jmh;

import io.github.sgdsai.FloatSpan;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Benchmark data: spans of random floats on the storage a benchmark's {@code storage} parameter names. */
final class Spans {
    private Spans() {
    }

    /** {@code "array"}: a float[]; {@code "direct"}: a native-order direct buffer. */
    static FloatSpan random(String storage, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return switch (storage) {
            case "array" -> FloatSpan.of(v);
            case "direct" -> {
                FloatSpan s = FloatSpan.of(ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer());
                s.copyFrom(v);
                yield s;
            }
            default -> throw new IllegalArgumentException("storage " + storage);
        };
    }

    /** Backend name of an {@code impl} parameter: {@code scalar}, {@code vector-1}, {@code vector-all}. */
    static String backend(String impl) {
        return impl.startsWith("vector") ? "vector" : impl;
    }

    /** Thread count of an {@code impl} or {@code threads} parameter ({@code all} = available processors). */
    static int threads(String implOrThreads) {
        return implOrThreads.endsWith("all") ? Runtime.getRuntime().availableProcessors() : 1;
    }
}
