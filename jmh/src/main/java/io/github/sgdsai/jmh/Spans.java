// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.FloatSpan;

import java.lang.reflect.Array;
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

    /**
     * Backend name of an {@code impl} parameter: {@code scalar}, {@code vector-1}, {@code vector-all},
     * {@code tornado} (host-resident tensors, copied each step), {@code tornado-device} (device-resident tensors).
     */
    static String backend(String impl) {
        return impl.startsWith("vector") ? "vector" : impl.startsWith("tornado") ? "tornado" : impl;
    }

    /** Whether an {@code impl} parameter asks for device-resident tensors. */
    static boolean onDevice(String impl) {
        return impl.equals("tornado-device");
    }

    /**
     * A parameter and a gradient of n random floats as device-resident tensors of the tornado backend
     * ({@code DeviceTensors}, found by reflection so that this module compiles without a TornadoVM SDK), already on
     * the device. {@link Device#close()} releases them.
     */
    static Device device(int n, long seed) {
        try {
            Class<?> dt = Class.forName("io.github.sgdsai.tornado.DeviceTensors");
            Object b = dt.getMethod("builder").invoke(null);
            b.getClass().getMethod("add", String.class, int.class).invoke(b, "p", n);
            Object dev = b.getClass().getMethod("build").invoke(b);
            FloatSpan p = (FloatSpan) dt.getMethod("param", String.class).invoke(dev, "p");
            FloatSpan g = (FloatSpan) dt.getMethod("grad", String.class).invoke(dev, "p");
            float[] v = new float[n];
            random("array", n, seed).copyTo(v);
            p.copyFrom(v);
            random("array", n, seed + 1).copyTo(v);
            g.copyFrom(v);
            Class<?> tg = Class.forName("uk.ac.manchester.tornado.api.TaskGraph");
            dt.getMethod("plan", tg.arrayType()).invoke(dev, Array.newInstance(tg, 0)); // uploads p and g
            return new Device(p, g, (AutoCloseable) dev);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("device-resident tensors need the tornado backend (TornadoVM SDK): " + e, e);
        }
    }

    /** Device-resident p and g, and what owns their device memory. */
    record Device(FloatSpan param, FloatSpan grad, AutoCloseable owner) implements AutoCloseable {
        @Override
        public void close() {
            try {
                owner.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Thread count of an {@code impl} or {@code threads} parameter ({@code all} = available processors). */
    static int threads(String implOrThreads) {
        return implOrThreads.endsWith("all") ? Runtime.getRuntime().availableProcessors() : 1;
    }
}
