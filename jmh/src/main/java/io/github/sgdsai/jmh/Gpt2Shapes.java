// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.AdamMini;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The parameter tensors of GPT-2 (Radford et al. 2019) with the names and shapes of Hugging Face's
 * {@code GPT2LMHeadModel}: {@code transformer.wte.weight} (vocab × d), {@code transformer.wpe.weight} (context × d),
 * per layer i {@code transformer.h.i.ln_1.weight/bias} (d), {@code attn.c_attn.weight} (d × 3d) / bias (3d),
 * {@code attn.c_proj.weight} (d × d) / bias (d), {@code ln_2.weight/bias} (d), {@code mlp.c_fc.weight} (d × 4d) /
 * bias (4d), {@code mlp.c_proj.weight} (4d × d) / bias (d), and {@code transformer.ln_f.weight/bias} (d). The
 * {@code lm_head} is tied to {@code wte}, so it is not a tensor of its own. Parameter counts: 124,439,808 (small),
 * 354,823,168 (medium), 774,030,080 (large); {@code main} checks them.
 */
public final class Gpt2Shapes {
    /** GPT-2's vocabulary and context length. */
    public static final int VOCAB = 50257;
    public static final int CONTEXT = 1024;

    /** A model size: layers, model dimension, attention heads, and its published parameter count. */
    public enum Model {
        SMALL(12, 768, 12, 124_439_808L),
        MEDIUM(24, 1024, 16, 354_823_168L),
        LARGE(36, 1280, 20, 774_030_080L);

        public final int layers;
        public final int dim;
        public final int heads;
        public final long expectedParameters;

        Model(int layers, int dim, int heads, long expectedParameters) {
            this.layers = layers;
            this.dim = dim;
            this.heads = heads;
            this.expectedParameters = expectedParameters;
        }

        /** {@code small}, {@code medium} or {@code large} (a benchmark parameter). */
        public static Model of(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One tensor: its Hugging Face name and shape (cols = 1 for vectors). */
    public record Tensor(String name, int rows, int cols) {
        public int length() {
            return Math.multiplyExact(rows, cols);
        }

        /** Its shape as {@code named_parameters()} gives it: {@code (rows)} for a vector, else {@code (rows, cols)}. */
        public int[] shape() {
            return cols == 1 ? new int[] {rows} : new int[] {rows, cols};
        }
    }

    private Gpt2Shapes() {
    }

    /** Every tensor of {@code m}, in {@code model.named_parameters()} order. */
    public static List<Tensor> tensors(Model m) {
        int d = m.dim;
        List<Tensor> t = new ArrayList<>();
        t.add(new Tensor("transformer.wte.weight", VOCAB, d));
        t.add(new Tensor("transformer.wpe.weight", CONTEXT, d));
        for (int i = 0; i < m.layers; i++) {
            String h = "transformer.h." + i + ".";
            t.add(new Tensor(h + "ln_1.weight", d, 1));
            t.add(new Tensor(h + "ln_1.bias", d, 1));
            t.add(new Tensor(h + "attn.c_attn.weight", d, 3 * d));
            t.add(new Tensor(h + "attn.c_attn.bias", 3 * d, 1));
            t.add(new Tensor(h + "attn.c_proj.weight", d, d));
            t.add(new Tensor(h + "attn.c_proj.bias", d, 1));
            t.add(new Tensor(h + "ln_2.weight", d, 1));
            t.add(new Tensor(h + "ln_2.bias", d, 1));
            t.add(new Tensor(h + "mlp.c_fc.weight", d, 4 * d));
            t.add(new Tensor(h + "mlp.c_fc.bias", 4 * d, 1));
            t.add(new Tensor(h + "mlp.c_proj.weight", 4 * d, d));
            t.add(new Tensor(h + "mlp.c_proj.bias", d, 1));
        }
        t.add(new Tensor("transformer.ln_f.weight", d, 1));
        t.add(new Tensor("transformer.ln_f.bias", d, 1));
        return t;
    }

    /** Total parameters of {@code m} (lm_head tied). */
    public static long parameters(Model m) {
        return tensors(m).stream().mapToLong(Tensor::length).sum();
    }

    /**
     * Adam-mini's second-moment block size for tensor {@code t} of {@code m}: the official partition
     * ({@code modelShape(d, heads)} of a tensor added with its shape), e.g. {@code mlp.c_fc.weight} (d × 4d) in rows of
     * 4d, {@code mlp.c_proj.weight} (4d × d) in rows of d, {@code wte} per token, biases per element, everything else
     * (norms, {@code wpe}, the fused {@code c_attn}, {@code attn.c_proj}) one block.
     */
    public static int adamMiniBlock(Model m, Tensor t) {
        return AdamMini.officialPartition(t.name(), t.shape(), m.dim, m.heads).blockSize(t.name(), t.length());
    }

    /** Adam-mini's second-moment floats for {@code m}: one per block. */
    public static long adamMiniBlocks(Model m) {
        return tensors(m).stream().mapToLong(t -> t.length() / adamMiniBlock(m, t)).sum();
    }

    /**
     * Nominal bytes one step moves through memory for {@code traffic} = {@code sgd} (SGD-SaI, SGDM: read p, g, m, write
     * p, m: 20 B/param), {@code adamw} (+ read and write v: 28 B/param) or {@code adam-mini} (20 B/param, plus reading
     * and writing each block's v (8 B per block), plus a second read of g (4 B/param) for blocks bigger than a work
     * item of {@code chunk} elements, which must be summed before their update; per-element blocks as adamw), plus a
     * read of g (4 B/param) when the step is checked for non-finite gradients first. What
     * {@link Gpt2BaselineBenchmark} moves and the optimizers must move at least.
     */
    public static long trafficBytes(Model m, String traffic, boolean checked, int chunk) {
        long bytes = 0;
        for (Tensor t : tensors(m)) {
            long n = t.length();
            bytes += checked ? 4 * n : 0;
            bytes += switch (traffic) {
                case "sgd" -> 20 * n;
                case "adamw" -> 28 * n;
                case "adam-mini" -> {
                    int b = adamMiniBlock(m, t);
                    yield b == 1 ? 28 * n : 20 * n + 8 * (n / b) + (b > chunk ? 4 * n : 0);
                }
                default -> throw new IllegalArgumentException("traffic " + traffic);
            };
        }
        return bytes;
    }

    /** The baseline ({@code traffic}) whose bytes an optimizer of the GPT-2 benchmarks moves. */
    public static String trafficOf(String optimizer) {
        return switch (optimizer) {
            case "sgd-sai", "sgdm" -> "sgd";
            case "adamw" -> "adamw";
            case "adam-mini" -> "adam-mini";
            default -> throw new IllegalArgumentException("optimizer " + optimizer);
        };
    }

    /** Standard normals from a fixed seed, the pool {@link #fillNormal} draws windows from (4 MiB). */
    private static final float[] NORMALS = new float[1 << 20];

    static {
        SplittableRandom r = new SplittableRandom(0x5EED);
        for (int i = 0; i < NORMALS.length; i++) {
            NORMALS[i] = (float) r.nextGaussian();
        }
    }

    /**
     * Fills {@code a} with normal numbers of standard deviation {@code sigma}, deterministic for a seed: each chunk of
     * 2^16 elements is {@code sigma} times a window of a fixed pool of 2^20 standard normals, at an offset drawn from
     * the seed and the chunk's index. About as fast as a copy (GPT-2 large's 1.5 G floats of parameters and gradients
     * in about a second instead of half a minute of {@code nextGaussian}), and as good as independent draws for what
     * the benchmarks do with the numbers (stream them; g-SNR and Adam moments of whole tensors and rows).
     */
    public static void fillNormal(float[] a, long seed, double sigma) {
        int chunk = 1 << 16;
        int chunks = (a.length + chunk - 1) / chunk;
        float s = (float) sigma;
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int from = c * chunk;
            int len = Math.min(a.length, from + chunk) - from;
            int at = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + c).nextInt(NORMALS.length - chunk);
            for (int i = 0; i < len; i++) {
                a[from + i] = s * NORMALS[at + i];
            }
        });
    }

    /** Self-check: prints every model's tensor and parameter counts and fails unless they are GPT-2's. */
    public static void main(String[] args) {
        boolean ok = true;
        for (Model m : Model.values()) {
            long n = parameters(m);
            boolean good = n == m.expectedParameters;
            ok &= good;
            System.out.printf(Locale.ROOT, "%-6s layers %2d d %4d heads %2d: %3d tensors, %,d parameters (expected %,d) %s;"
                            + " Adam-mini blocks %,d%n", m.label(), m.layers, m.dim, m.heads, tensors(m).size(), n,
                    m.expectedParameters, good ? "ok" : "WRONG", adamMiniBlocks(m));
        }
        if (!ok) {
            throw new AssertionError("GPT-2 parameter counts differ from the published ones");
        }
    }
}
