// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.AdamMini.Partition;
import io.github.sgdsai.FloatSpan;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
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

    // The optimizer family: SGD-SaI, AdamW, Adam-mini, with clipping ------------------------------------------

    /** Which optimizer a run builds. */
    public enum Algo {
        /** {@code SgdSai} (β₁ is its momentum; β₂ and amsgrad are ignored). */
        SGD_SAI,
        /** {@code AdamW}, with amsgrad where the group asks for it. */
        ADAMW,
        /** {@code AdamMini}, each tensor cut by its partition (amsgrad ignored). */
        ADAM_MINI
    }

    /**
     * Hyperparameters of one group of any optimizer of the family.
     *
     * @param lr          learning rate η at step 0
     * @param beta1       β₁ (SGD-SaI: momentum μ)
     * @param beta2       β₂ (ignored by SGD-SaI)
     * @param eps         ε
     * @param weightDecay λ
     * @param maximize    whether to maximize
     * @param amsgrad     whether AdamW keeps the running maximum of v (false for the others)
     */
    public record OptHyper(double lr, double beta1, double beta2, double eps, double weightDecay, boolean maximize,
                           boolean amsgrad) {
        /** The same hyperparameters with {@code amsgrad} replaced. */
        public OptHyper withAmsgrad(boolean on) {
            return new OptHyper(lr, beta1, beta2, eps, weightDecay, maximize, on);
        }
    }

    /**
     * Valid hyperparameters of one group of {@code algo}. β₁ reaches both of torch's lerp branches
     * ({@code (float)(1 − β₁)} below 0.5 and at or above it) and 0; β₂ spans 0 to 0.999; ε is 0 now and then for the
     * Adam family (never for SGD-SaI, whose g-SNR of a constant gradient needs ε &gt; 0); amsgrad half the time for
     * AdamW.
     */
    public static Gen<OptHyper> optHyper(Algo algo) {
        return in -> new OptHyper(
                Generate.pick(List.of(0.0, 1e-4, 1e-3, 1e-2, 0.1)).generate(in),
                Generate.pick(List.of(0.0, 0.3, 0.5, 0.6, 0.9, 0.99)).generate(in),
                Generate.pick(List.of(0.0, 0.5, 0.9, 0.99, 0.999)).generate(in),
                Generate.pick(algo == Algo.SGD_SAI ? List.of(1e-8, 1e-3) : List.of(1e-8, 1e-3, 1e-8, 0.0)).generate(in),
                Generate.pick(List.of(0.0, 1e-2, 0.1)).generate(in),
                Generate.booleans().generate(in),
                algo == Algo.ADAMW && Generate.booleans().generate(in));
    }

    /**
     * One tensor of an {@link OptScenario}: its length is always divisible by its partition.
     *
     * @param length       number of elements
     * @param group        group index
     * @param paramStorage storage of the parameter
     * @param gradStorage  storage of the gradient
     * @param partition    its Adam-mini partition (used by Adam-mini only)
     */
    public record BlockTensor(int length, int group, Storage paramStorage, Storage gradStorage, Partition partition) {
    }

    /**
     * A tensor length and a partition that divides it.
     *
     * @param length    number of elements
     * @param partition the partition
     */
    public record Partitioned(int length, Partition partition) {
    }

    /**
     * A length and a partition that divides it: per element at any vector-tail length; per row of 1–70 elements or of
     * 4095–8193 (blocks across {@code SUM_BLOCK} = 4096); per head (1–8 heads of 1–70, or 1–3 of 4095–8193 elements); the
     * whole tensor, at a vector-tail length or of 65 537–140 000 elements (more than one vector-backend chunk).
     */
    public static Gen<Partitioned> partitionedLength() {
        Gen<Integer> blockLen = Generate.frequency(org.quicktheories.api.Pair.of(3, Generate.range(1, 70)),
                org.quicktheories.api.Pair.of(1, Generate.pick(List.of(4095, 4096, 4097, 5000, 8193))));
        return in -> switch (Generate.range(0, 3).generate(in)) {
            case 0 -> new Partitioned(length().generate(in), Partition.perElement());
            case 1 -> {
                int row = blockLen.generate(in);
                int rows = Generate.range(1, row > 1000 ? 3 : 40).generate(in);
                yield new Partitioned(row * rows, Partition.perRow(row));
            }
            case 2 -> {
                int head = blockLen.generate(in);
                int heads = Generate.range(1, head > 1000 ? 3 : 8).generate(in);
                yield new Partitioned(heads * head, Partition.perHead(heads));
            }
            default -> new Partitioned(Generate.frequency(org.quicktheories.api.Pair.of(3, length()),
                    org.quicktheories.api.Pair.of(1, Generate.range(65_537, 140_000))).generate(in), Partition.whole());
        };
    }

    /**
     * A training run of one optimizer of the family: groups, tensors with partitions, steps, a seed every value is
     * drawn from, and an optional clipping threshold.
     *
     * @param algo         the optimizer
     * @param groups       hyperparameters of each group
     * @param tensors      the tensors
     * @param steps        number of steps
     * @param seed         seed of every value
     * @param clipFraction clipping threshold as a fraction of the step-0 gradient norm ({@link #clipMax()}), or NaN
     *                     for no clipping
     * @param edgy         whether gradients are sometimes edge values (zeros, subnormals, huge, any exponent)
     */
    public record OptScenario(Algo algo, List<OptHyper> groups, List<BlockTensor> tensors, int steps, long seed,
                              double clipFraction, boolean edgy) {

        /** Whether the run clips gradients. */
        public boolean clips() {
            return !Double.isNaN(clipFraction);
        }

        /**
         * The clipping threshold: {@code clipFraction} times the global norm of the step-0 gradients (or times 1 if
         * that is 0 or not finite), so most steps clip and some (fraction above 1) do not.
         */
        public double clipMax() {
            double sum = 0;
            for (int t = 0; t < tensors.size(); t++) {
                for (float x : grad(t, 0)) {
                    sum += (double) x * x;
                }
            }
            double norm = Math.sqrt(sum);
            return clipFraction * (norm > 0 && Double.isFinite(norm) ? norm : 1.0);
        }

        /** Initial parameters of tensor {@code t}. */
        public float[] initialParam(int t) {
            return random(t, -1, tensors.get(t).length());
        }

        /**
         * Gradient of tensor {@code t} at step {@code k}: well-scaled values, and when {@link #edgy} one time in four
         * edge values (zeros, subnormals, huge values up to {@code Float.MAX_VALUE} — up to 2^90 for SGD-SaI —, any
         * exponent).
         */
        public float[] grad(int t, int k) {
            float[] a = random(t, k, tensors.get(t).length());
            SplittableRandom r = new SplittableRandom(seed * 17 + t * 65_537L + k * 257L);
            if (edgy && r.nextInt(4) == 0) {
                for (int i = 0; i < a.length; i++) {
                    long bits = r.nextLong();
                    int kind = (int) ((bits >>> 32) % 10);
                    boolean neg = (bits & 1) != 0;
                    int mantissa = (int) (bits >>> 1) & 0x7FFFFF;
                    float x = switch (kind) {
                        case 0 -> 0f;
                        case 1 -> Float.intBitsToFloat(Math.max(1, mantissa)); // subnormal
                        case 2 -> Float.intBitsToFloat((0xE0 + (int) ((bits >>> 24) & 0x1F) % 0x1F) << 23 | mantissa); // huge
                        case 3 -> Float.intBitsToFloat((1 + (int) ((bits >>> 24) & 0xFF) % 254) << 23 | mantissa); // any exponent
                        default -> a[i];
                    };
                    if (algo == Algo.SGD_SAI && Math.abs(x) > 0x1p90f) {
                        // SGD-SaI refuses a first gradient whose g-SNR overflows float (about |g| / ε > 3.4e38 for
                        // one element; its own tests cover that): keep edge gradients of SGD-SaI below 2^90 so that
                        // runs step, huge values and overflowing updates included.
                        x = Math.scalb(x, -37);
                    }
                    a[i] = kind <= 3 && neg ? -x : x;
                }
            }
            return a;
        }

        /** Whether tensor {@code t} sits out step {@code k} (about one step in five, never tensor 0 at step 0). */
        public boolean frozen(int t, int k) {
            return new Random(seed * 31 + t * 1_000_003L + k).nextInt(5) == 0 && !(k == 0 && t == 0);
        }

        /** lr of group {@code g} at step {@code k}: the group's lr times a decaying schedule. */
        public double lr(int g, int k) {
            return groups.get(g).lr() * (1.0 / (1 + 0.1 * k));
        }

        /** The same run of another optimizer (same hyperparameters, tensors and values). */
        public OptScenario as(Algo other) {
            return new OptScenario(other, groups, tensors, steps, seed, clipFraction, edgy);
        }

        /** The same run with clipping at {@code fraction} of the step-0 norm (NaN: none). */
        public OptScenario withClip(double fraction) {
            return new OptScenario(algo, groups, tensors, steps, seed, fraction, edgy);
        }

        /** The same run with every group's amsgrad set by {@code on(group index)}. */
        public OptScenario withAmsgrad(java.util.function.IntPredicate on) {
            List<OptHyper> gs = new ArrayList<>();
            for (int g = 0; g < groups.size(); g++) {
                gs.add(groups.get(g).withAmsgrad(on.test(g)));
            }
            return new OptScenario(algo, gs, tensors, steps, seed, clipFraction, edgy);
        }

        /**
         * Values (x + 0.1)·10^j, j in [-3, 3] per tensor and step, x about standard normal (a centred sum of three
         * uniforms: cheap, and these runs draw millions of values).
         */
        private float[] random(int t, int k, int n) {
            SplittableRandom r = new SplittableRandom(seed ^ (t * 0x9E3779B97F4A7C15L) ^ (k * 0xC2B2AE3D27D4EB4FL));
            float scale = (float) Math.pow(10, r.nextInt(7) - 3);
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                long bits = r.nextLong();
                double x = ((bits & 0x1FFFFF) + (bits >>> 21 & 0x1FFFFF) + (bits >>> 42 & 0x1FFFFF)) * 0x1p-21 - 1.5;
                a[i] = (float) (2 * x + 0.1) * scale;
            }
            return a;
        }
    }

    /**
     * The runs of {@code runs} with tensor 0 replaced by one of 262 145–300 000 elements (rows of 4097 or the whole
     * tensor): more than the 4 × 65 536 elements below which the vector backend keeps a step on the calling thread.
     */
    public static Gen<OptScenario> poolSized(Gen<OptScenario> runs) {
        return in -> {
            OptScenario sc = runs.generate(in);
            boolean rows = Generate.booleans().generate(in);
            Partitioned big = rows ? new Partitioned(4097 * Generate.range(64, 73).generate(in), Partition.perRow(4097))
                    : new Partitioned(Generate.range(262_145, 300_000).generate(in), Partition.whole());
            List<BlockTensor> tensors = new ArrayList<>(sc.tensors());
            BlockTensor t0 = tensors.get(0);
            tensors.set(0, new BlockTensor(big.length(), t0.group(), t0.paramStorage(), t0.gradStorage(), big.partition()));
            return new OptScenario(sc.algo(), sc.groups(), tensors, sc.steps(), sc.seed(), sc.clipFraction(), sc.edgy());
        };
    }

    /** Clipping fractions: NaN (off) a third of the time, else well below, near and above the norm. */
    public static Gen<Double> clipFraction() {
        return Generate.pick(List.of(Double.NaN, Double.NaN, 0.01, 0.3, 0.9, 2.0));
    }

    /**
     * Runs of {@code algo}: 1–2 groups, 1–4 partitioned tensors, 1–{@code maxSteps} steps, any storage, edge gradients
     * half the time, and clipping drawn from {@code clip}.
     */
    public static Gen<OptScenario> optScenario(Algo algo, int maxSteps, Gen<Double> clip) {
        return in -> {
            int nTensors = Generate.range(1, 4).generate(in);
            int nGroups = Math.min(nTensors, Generate.range(1, 2).generate(in)); // no empty group
            List<OptHyper> groups = new ArrayList<>();
            for (int g = 0; g < nGroups; g++) {
                groups.add(optHyper(algo).generate(in));
            }
            List<BlockTensor> tensors = new ArrayList<>();
            for (int t = 0; t < nTensors; t++) {
                Partitioned lp = partitionedLength().generate(in);
                tensors.add(new BlockTensor(lp.length(), t % nGroups, storage().generate(in), storage().generate(in),
                        lp.partition()));
            }
            int steps = Generate.range(1, maxSteps).generate(in);
            long seed = Generate.longRange(0, Long.MAX_VALUE).generate(in);
            return new OptScenario(algo, groups, tensors, steps, seed, clip.generate(in), Generate.booleans().generate(in));
        };
    }
}
