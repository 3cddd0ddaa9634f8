// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.FloatSpan;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * The generators every property draws from. All are built on QuickTheories' own primitives, so failures shrink
 * (to shorter arrays, fewer steps, simpler values) and print a seed that reproduces them.
 */
public final class Gens {
    private Gens() {
    }

    /** Every kind of storage a span can live in. */
    public enum Storage {
        /** A float[] slice at an offset. */
        ARRAY_OFFSET(v -> {
            float[] a = new float[v.length + 3];
            System.arraycopy(v, 0, a, 2, v.length);
            return FloatSpan.of(a, 2, v.length);
        }),
        /** A heap FloatBuffer over a float[] with a non-zero array offset. */
        HEAP_BUFFER(v -> {
            float[] a = new float[v.length + 2];
            System.arraycopy(v, 0, a, 1, v.length);
            return FloatSpan.of(FloatBuffer.wrap(a, 1, v.length).slice());
        }),
        /** A FloatBuffer view of a heap ByteBuffer, big-endian. */
        HEAP_BYTES_BIG(v -> bytes(v, ByteBuffer.allocate(4 * v.length + 4), ByteOrder.BIG_ENDIAN)),
        /** A FloatBuffer view of a heap ByteBuffer, little-endian. */
        HEAP_BYTES_LITTLE(v -> bytes(v, ByteBuffer.allocate(4 * v.length + 4), ByteOrder.LITTLE_ENDIAN)),
        /** A direct buffer, little-endian. */
        DIRECT_LITTLE(v -> bytes(v, ByteBuffer.allocateDirect(4 * v.length + 4), ByteOrder.LITTLE_ENDIAN)),
        /** A direct buffer, big-endian. */
        DIRECT_BIG(v -> bytes(v, ByteBuffer.allocateDirect(4 * v.length + 4), ByteOrder.BIG_ENDIAN));

        private final Function<float[], FloatSpan> make;

        Storage(Function<float[], FloatSpan> make) {
            this.make = make;
        }

        /** A new span of this kind holding a copy of {@code values}. */
        public FloatSpan of(float[] values) {
            return make.apply(values);
        }

        private static FloatSpan bytes(float[] v, ByteBuffer bb, ByteOrder order) {
            FloatBuffer fb = bb.order(order).asFloatBuffer();
            fb.position(1);
            fb.put(v);
            fb.position(1);
            return FloatSpan.of(fb);
        }
    }

    /** The span's values as a new array. */
    public static float[] values(FloatSpan s) {
        float[] out = new float[s.length()];
        s.copyTo(out);
        return out;
    }

    /** Any storage kind. */
    public static Gen<Storage> storage() {
        return Generate.enumValues(Storage.class);
    }

    /** Lengths biased to vector tails: 1–70 (every AVX-512/AVX2/SSE tail), and 2^k − 1, 2^k, 2^k + 1 up to 2^14 + 1. */
    public static Gen<Integer> length() {
        Gen<Integer> small = Generate.range(1, 70);
        Gen<Integer> pow = Generate.range(3, 14).zip(Generate.range(-1, 1), (k, d) -> (1 << k) + d);
        return Generate.frequency(org.quicktheories.api.Pair.of(3, small), org.quicktheories.api.Pair.of(1, pow));
    }

    /**
     * Floats biased to the edges: zeros of both signs, small integers, ordinary values, huge values up to
     * {@code Float.MAX_VALUE}, subnormals, and values with any exponent from 1e-38 to 1e38.
     */
    public static Gen<Float> edgyFloat() {
        Gen<Float> zero = Generate.booleans().map(neg -> neg ? -0f : 0f);
        Gen<Float> smallInt = Generate.range(-4, 4).map(i -> (float) i);
        Gen<Float> ordinary = Generate.range(-1_000_000, 1_000_000).map(i -> i / 250_000f);
        Gen<Float> huge = bits(0xE0, 0xFE); // |x| in [2^97, 2^127]: up to MAX_VALUE
        Gen<Float> subnormal = Generate.range(1, 0x7FFFFF).zip(Generate.booleans(),
                (m, neg) -> Float.intBitsToFloat((neg ? 0x80000000 : 0) | m));
        Gen<Float> anyExponent = bits(0x01, 0xFE);
        return Generate.frequency(
                org.quicktheories.api.Pair.of(1, zero), org.quicktheories.api.Pair.of(2, smallInt),
                org.quicktheories.api.Pair.of(6, ordinary), org.quicktheories.api.Pair.of(1, huge),
                org.quicktheories.api.Pair.of(1, subnormal), org.quicktheories.api.Pair.of(3, anyExponent));
    }

    /** Finite floats whose biased exponent lies in [lo, hi], any mantissa and sign. */
    public static Gen<Float> bits(int lo, int hi) {
        return in -> {
            int e = Generate.range(lo, hi).generate(in);
            int m = Generate.range(0, 0x7FFFFF).generate(in);
            boolean neg = Generate.booleans().generate(in);
            return Float.intBitsToFloat((neg ? 0x80000000 : 0) | e << 23 | m);
        };
    }

    /** Arrays of {@code length} elements drawn from {@code element}. */
    public static Gen<float[]> floats(Gen<Integer> length, Gen<Float> element) {
        return in -> {
            int n = length.generate(in);
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = element.generate(in);
            }
            return a;
        };
    }

    /** Gradients: edge-biased floats at vector-tail lengths. */
    public static Gen<float[]> gradient() {
        return floats(length(), edgyFloat());
    }

    /**
     * Hyperparameters of one group. Momentum is 0 a quarter of the time; lr, weight decay and eps span
     * several decades (eps > 0: a one-element tensor has σ = 0); maximize half the time.
     *
     * @param lr          learning rate η at step 0
     * @param momentum    μ ∈ [0, 1)
     * @param weightDecay λ ≥ 0
     * @param eps         ε ≥ 0
     * @param maximize    whether to maximize
     */
    public record Hyper(double lr, double momentum, double weightDecay, double eps, boolean maximize) {
    }

    /** Valid hyperparameters of one group. */
    public static Gen<Hyper> hyper() {
        return in -> new Hyper(
                Generate.pick(List.of(0.0, 1e-4, 1e-3, 3e-3, 1e-2, 0.1)).generate(in),
                Generate.pick(List.of(0.0, 0.5, 0.9, 0.99, 0.3)).generate(in),
                Generate.pick(List.of(0.0, 1e-2, 0.1)).generate(in),
                Generate.pick(List.of(1e-8, 1e-3)).generate(in),
                Generate.booleans().generate(in));
    }

    /**
     * One tensor of a scenario.
     *
     * @param length       number of elements
     * @param group        group index
     * @param paramStorage storage of the parameter
     * @param gradStorage  storage of the gradient
     */
    public record TensorCase(int length, int group, Storage paramStorage, Storage gradStorage) {
    }

    /**
     * A training run: groups, tensors, a number of steps, and a seed from which every value (initial
     * parameters, gradients, lr schedule, who sits out which step) is drawn.
     *
     * @param groups  hyperparameters of each group
     * @param tensors the tensors
     * @param steps   number of steps
     * @param seed    seed of every value
     */
    public record Scenario(List<Hyper> groups, List<TensorCase> tensors, int steps, long seed) {

        /** Initial parameters of tensor {@code t}. */
        public float[] initialParam(int t) {
            return random(t, -1, tensors.get(t).length());
        }

        /** Gradient of tensor {@code t} at step {@code k}: well-scaled values most of the time, with edges. */
        public float[] grad(int t, int k) {
            return random(t, k, tensors.get(t).length());
        }

        /** Whether tensor {@code t} sits out step {@code k} (about one step in five, never all in step 0). */
        public boolean frozen(int t, int k) {
            return new Random(seed * 31 + t * 1_000_003L + k).nextInt(5) == 0 && !(k == 0 && t == 0);
        }

        /** lr of group {@code g} at step {@code k}: the group's lr times a decaying schedule. */
        public double lr(int g, int k) {
            return groups.get(g).lr() * (1.0 / (1 + 0.1 * k));
        }

        private float[] random(int t, int k, int n) {
            Random r = new Random(seed ^ (t * 0x9E3779B97F4A7C15L) ^ (k * 0xC2B2AE3D27D4EB4FL));
            float scale = (float) Math.pow(10, r.nextInt(7) - 3);
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) (r.nextGaussian() + 0.1) * scale;
            }
            return a;
        }
    }

    /** Scenarios of 1–2 groups, 1–4 tensors, 1–{@code maxSteps} steps, any storage. */
    public static Gen<Scenario> scenario(int maxSteps) {
        return in -> {
            int nTensors = Generate.range(1, 4).generate(in);
            int nGroups = Math.min(nTensors, Generate.range(1, 2).generate(in)); // no empty group
            List<Hyper> groups = new ArrayList<>();
            for (int g = 0; g < nGroups; g++) {
                groups.add(hyper().generate(in));
            }
            List<TensorCase> tensors = new ArrayList<>();
            for (int t = 0; t < nTensors; t++) {
                tensors.add(new TensorCase(length().generate(in), t % nGroups, storage().generate(in), storage().generate(in)));
            }
            int steps = Generate.range(1, maxSteps).generate(in);
            long seed = Generate.longRange(0, Long.MAX_VALUE).generate(in);
            return new Scenario(groups, tensors, steps, seed);
        };
    }
}
