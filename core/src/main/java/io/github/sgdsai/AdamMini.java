// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.StepBatch;

import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Adam-mini (Zhang et al., "Adam-mini: Use Fewer Learning Rates To Gain More", arXiv 2406.16793; the official package
 * {@code adam-mini} 1.1.1): Adam whose second moment is one value per block of parameters, the exponential moving
 * average of the block's mean of g². The first moment stays per element, so it keeps about one float per parameter
 * against AdamW's two.
 *
 * <h2>The update</h2>
 * Each tensor is cut into consecutive blocks by its {@link Partition}. For a block B of a tensor taking part in a
 * step, with g as in {@link AdamW} and the same hyperparameters:
 * <pre>
 * p = p·(1 − λη);   m = m + (1 − β₁)(g − m)
 * v_B = β₂·v_B + (1 − β₂)·mean_{i∈B}(g_i²)
 * p = p − η/(1 − β₁ᵗ) · m / (sqrt(v_B) / sqrt(1 − β₂ᵗ) + ε)
 * </pre>
 * The mean is computed in double ({@link io.github.sgdsai.spi.ScalarBackend#sumSquares}) and rounded to float; then
 * {@code v_B = fma((f)(1−β₂), mean, v_B·(f)β₂)}, and the rest is AdamW's float arithmetic, so a tensor partitioned
 * {@link Partition#perElement() per element} is stepped exactly like AdamW (the same kernel). The official package
 * orders the last line as {@code p −= (m·((1/bc₁)/h))·η}; results agree with it to about 1e-6 relative.
 * Weight decay is applied to every tensor of a group with λ &gt; 0: keep norms and biases out of it with groups
 * (the official package switches it off by name).
 *
 * <h2>Partitions</h2>
 * Given per tensor with {@link Builder#partition}; otherwise {@link Builder#modelShape} assigns them from names as the
 * official package does ({@link #officialPartition}); a tensor with neither is one block.
 *
 * <p>Example: a GPT-2-style model with Hugging Face names, partitions from the names, one given by hand.
 * <pre>{@code
 * try (AdamMini opt = AdamMini.builder()
 *         .lr(6e-4).betas(0.9, 0.95).weightDecay(0.1)
 *         .modelShape(768, 12)                                       // dim, heads: partitions from the names
 *         .partition("h.0.mlp.c_fc.weight", Partition.perRow(768))  // or one tensor at a time
 *         .add("wte.weight", wte, dwte).add("h.0.mlp.c_fc.weight", fc, dfc).add("ln_f.weight", ln, dln)
 *         .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0))
 *         .build()) {
 *     opt.step();
 * }
 * }</pre>
 */
public final class AdamMini extends Optimizer {

    private AdamMini(Builder b, List<Group> groups, Backend backend) {
        super(b, groups, backend);
    }

    /**
     * A new builder. Defaults as the official package's: betas (0.9, 0.999), eps 1e-8, weight decay 0.1, maximize
     * false; lr has none.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    Kind kind() {
        return Kind.ADAM_MINI;
    }

    @Override
    Set<Backend.Feature> features() {
        return EnumSet.of(Backend.Feature.ADAMW, Backend.Feature.ADAM_MINI);
    }

    @Override
    void setEntry(StepBatch batch, int i, Tensor t, float gs) {
        if (t.momentum == null) {
            t.momentum = backend.allocateMomentum(t.param);
            t.second = allocate(t, t.length() / t.blockSize);
            batch.setMomentum(i, t.momentum);
        }
        AdamW.setAdam(batch, i, t, gs, t.blockSize == 1 ? StepBatch.Kind.ADAMW : StepBatch.Kind.ADAM_MINI, t.blockSize);
    }

    /**
     * How a tensor is cut into second-moment blocks.
     *
     * @param kind      which rule
     * @param parameter the row length ({@link Kind#ROWS}) or number of heads ({@link Kind#HEADS}); 0 otherwise
     */
    public record Partition(Kind kind, int parameter) {
        /** The partition rules. */
        public enum Kind {
            /** One block per element: plain Adam (the official package's choice for biases). */
            ELEMENTS,
            /** One block per row of a given length (embeddings, output, value, projections, MLP). */
            ROWS,
            /** One block per attention head: the tensor in {@code heads} equal blocks (query and key). */
            HEADS,
            /** The whole tensor is one block (norms, and anything unrecognised). */
            WHOLE
        }

        /**
         * Validates the rule.
         *
         * @param kind      which rule
         * @param parameter its parameter
         */
        public Partition {
            Objects.requireNonNull(kind, "partition kind is null");
            if ((kind == Kind.ROWS || kind == Kind.HEADS) ? parameter < 1 : parameter != 0) {
                throw new IllegalArgumentException("partition " + kind + ": parameter must be "
                        + (kind == Kind.ROWS ? "a row length >= 1" : kind == Kind.HEADS ? "a head count >= 1" : "0")
                        + ", got " + parameter);
            }
        }

        /** {@return one block per element (plain Adam)} */
        public static Partition perElement() {
            return new Partition(Kind.ELEMENTS, 0);
        }

        /**
         * One block per row.
         *
         * @param rowLength elements per row
         * @return the partition
         */
        public static Partition perRow(int rowLength) {
            return new Partition(Kind.ROWS, rowLength);
        }

        /**
         * One block per head: {@code n / heads} consecutive elements each ({@code dim²/heads} for a square query or
         * key matrix).
         *
         * @param heads number of attention heads
         * @return the partition
         */
        public static Partition perHead(int heads) {
            return new Partition(Kind.HEADS, heads);
        }

        /** {@return the whole tensor as one block} */
        public static Partition whole() {
            return new Partition(Kind.WHOLE, 0);
        }

        /**
         * Elements per block for a tensor of {@code n} elements.
         *
         * @param tensor the tensor's name, for the message
         * @param n      its length
         * @return the block size
         * @throws IllegalArgumentException if the blocks do not divide the tensor
         */
        public int blockSize(String tensor, int n) {
            int b = switch (kind) {
                case ELEMENTS -> 1;
                case ROWS -> parameter;
                case HEADS -> n / parameter;
                case WHOLE -> n;
            };
            if (b < 1 || n % b != 0 || (kind == Kind.HEADS && n % parameter != 0)) {
                throw new IllegalArgumentException("tensor '" + tensor + "': Adam-mini partition " + this + " does not divide its "
                        + n + " elements" + (kind == Kind.ROWS ? " into rows of " + parameter : kind == Kind.HEADS
                        ? " into " + parameter + " heads" : ""));
            }
            return b;
        }
    }

    /**
     * The partition the official package ({@code adam-mini} 1.1.1) gives a tensor, from its name (lower-cased,
     * matched by substring, first rule wins):
     * <ol>
     *   <li>{@code embed}, {@code embd}, {@code wte}, {@code lm_head}, {@code output}, {@code final_layer}: per row of
     *       {@code dim};</li>
     *   <li>{@code q_proj}, {@code k_proj}, {@code wq}, {@code wk}, {@code query}, {@code key}: per head
     *       ({@code heads} blocks);</li>
     *   <li>{@code bias}: per element (plain Adam);</li>
     *   <li>{@code v_proj}, {@code wv}, {@code value}, {@code o_proj}, {@code wo}, {@code attn.proj},
     *       {@code feed_forward}, {@code linear}, {@code mlp}: per row of {@code dim};</li>
     *   <li>anything else (norms; Hugging Face GPT-2's fused {@code attn.c_attn} and its {@code attn.c_proj}): one
     *       block.</li>
     * </ol>
     * Differences: a tensor of a per-row rule whose length is not a multiple of {@code dim} (e.g. a one-dimensional
     * {@code output.LayerNorm.weight}, which crashes the official code) is one block; rows of another length than
     * {@code dim} (e.g. a down-projection of shape (dim, ffn)) must be given with {@link Builder#partition}.
     *
     * @param name  the tensor's name
     * @param n     its length
     * @param dim   the model dimension
     * @param heads the number of attention heads
     * @return the partition
     */
    public static Partition officialPartition(String name, int n, int dim, int heads) {
        String s = name.toLowerCase(Locale.ROOT);
        if (has(s, "embed", "embd", "wte", "lm_head", "output", "final_layer")) {
            return n % dim == 0 && n > dim ? Partition.perRow(dim) : Partition.whole();
        }
        if (has(s, "q_proj", "k_proj", "wq", "wk", "query", "key")) {
            return n % heads == 0 ? Partition.perHead(heads) : Partition.whole();
        }
        if (s.contains("bias")) {
            return Partition.perElement();
        }
        if (has(s, "v_proj", "wv", "value", "o_proj", "wo", "attn.proj", "feed_forward", "linear", "mlp")) {
            return n % dim == 0 && n > dim ? Partition.perRow(dim) : Partition.whole();
        }
        return Partition.whole();
    }

    private static boolean has(String s, String... parts) {
        for (String p : parts) {
            if (s.contains(p)) {
                return true;
            }
        }
        return false;
    }

    /** Hyperparameters and tensors of a group added with {@link Builder#group}. */
    public static final class GroupBuilder extends GroupSpec<GroupBuilder> implements AdamSettings<GroupBuilder> {
        private GroupBuilder() {
        }
    }

    /** Builds an {@link AdamMini}; hyperparameters set here are the defaults of every group. */
    public static final class Builder extends Optimizer.Builder<Builder, GroupBuilder, AdamMini>
            implements AdamSettings<Builder> {
        private static final GroupSpec.Values DEFAULTS = new GroupSpec.Values(Double.NaN, 0.9, 0.999, 1e-8, 0.1, false,
                null, false, null, null, null);
        private final Map<String, Partition> partitions = new HashMap<>();
        private int dim;
        private int heads;

        private Builder() {
        }

        /**
         * The partition of the tensor called {@code tensor} (in any group), overriding {@link #modelShape}.
         *
         * @param tensor    the tensor's name
         * @param partition how to cut it
         * @return this builder
         */
        public Builder partition(String tensor, Partition partition) {
            partitions.put(Objects.requireNonNull(tensor, "tensor name is null"),
                    Objects.requireNonNull(partition, "partition is null"));
            return this;
        }

        /**
         * Assigns partitions from tensor names as the official package does ({@link #officialPartition}) for a model of
         * dimension {@code dim} with {@code heads} attention heads.
         *
         * @param dim   the model dimension
         * @param heads the number of attention heads
         * @return this builder
         */
        public Builder modelShape(int dim, int heads) {
            if (dim < 1 || heads < 1) {
                throw new IllegalArgumentException("modelShape: dim and heads must be >= 1, got " + dim + ", " + heads);
            }
            this.dim = dim;
            this.heads = heads;
            return this;
        }

        @Override
        GroupBuilder newGroup() {
            return new GroupBuilder();
        }

        @Override
        GroupSpec.Values defaults() {
            return DEFAULTS;
        }

        @Override
        int blockSize(Group g, GroupSpec.TensorSpec t) {
            int n = t.param().length();
            Partition p = partitions.get(t.name());
            if (p == null) {
                p = dim > 0 ? officialPartition(t.name(), n, dim, heads) : Partition.whole();
            }
            return p.blockSize(t.name(), n);
        }

        @Override
        AdamMini create(List<Group> groups, Backend backend) {
            for (String name : partitions.keySet()) {
                boolean found = groups.stream().anyMatch(g -> g.tensors.stream().anyMatch(t -> t.name.equals(name)));
                if (!found) {
                    throw new IllegalArgumentException("partition given for tensor '" + name + "', which was not added");
                }
            }
            return new AdamMini(this, groups, backend);
        }
    }
}
