// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.StepBatch;

import java.util.Arrays;
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
 * orders the last line as {@code p −= (m·((1/bc₁)/h))·η} and sums g² in float; results agree with it to about 1e-6
 * relative. Weight decay is applied to every tensor of a group with λ &gt; 0; {@link Builder#officialWeightDecay}
 * switches it off by name as the official package does.
 *
 * <h2>Partitions</h2>
 * Given per tensor with {@link Builder#partition}; otherwise {@link Builder#modelShape} assigns them from names (and
 * the shapes tensors were {@linkplain GroupSpec#add(String, FloatSpan, FloatSpan, int...) added with}) as the
 * official package does ({@link #officialPartition(String, int[], int, int)}); a tensor with neither is one block.
 * {@link Builder#official} adds the official weight-decay rule. The rules, their differences from the official code
 * and worked tables for GPT-2, BERT and Llama are in {@code docs/adam-mini.md}.
 *
 * <pre>{@code
 * try (AdamMini opt = AdamMini.builder().lr(1e-3).weightDecay(0.1)
 *         .official(768, 12)                              // partitions and weight decay as adam-mini 1.1.1
 *         .add("transformer.h.0.mlp.c_fc.weight", w, dw, 768, 3072)   // with its shape: rows of 3072
 *         .add("transformer.h.0.mlp.c_fc.bias", b, db)                // a bias: per element, no decay
 *         .build()) {
 *     opt.step();
 * }
 * }</pre>
 */
public final class AdamMini extends Optimizer {

    private static final System.Logger LOG = System.getLogger("io.github.sgdsai");

    // The name lists of adam-mini 1.1.1 (Adam_mini.__init__), matched as substrings of the lower-cased name.
    private static final String[] EMBEDDING = {"embed", "embd", "wte"};
    private static final String[] OUTPUT = {"lm_head", "output", "final_layer"};
    private static final String[] QUERY = {"q_proj", "wq", "query"};
    private static final String[] KEY = {"k_proj", "wk", "key"};
    private static final String[] VALUE = {"v_proj", "wv", "value"};
    private static final String[] ATTN_PROJ = {"o_proj", "wo", "attn.proj"};
    private static final String[] MLP = {"feed_forward", "linear", "mlp"};
    private static final String[] NO_DECAY = {"norm", "ln", "bias"};

    private AdamMini(Builder b, List<Group> groups, Backend backend) {
        super(b, groups, backend);
    }

    /**
     * A new builder. Defaults as the official package's: betas (0.9, 0.999), eps 1e-8, weight decay 0, maximize
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
            /**
             * Consecutive blocks of a given length: the rows of a matrix as laid out (embeddings, output, value,
             * projections, MLP), or the official query/key blocks of {@code dim·dim/heads} elements.
             */
            ROWS,
            /** The tensor in {@code heads} equal blocks ({@link Builder#groupedQueryHeads}'s query and key). */
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
         * One block per row: consecutive blocks of {@code rowLength} elements.
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
     * The partition the official package ({@code adam-mini} 1.1.1, {@code Adam_mini.step}) gives a tensor of
     * {@code shape} (as laid out, row-major), for a model of dimension {@code dim} with {@code heads} attention heads.
     * The name is lower-cased and matched by substring; the first rule that matches wins:
     * <ol>
     *   <li>{@code bias}: per element (plain Adam);</li>
     *   <li>query and key ({@code q_proj}, {@code k_proj}, {@code wq}, {@code wk}, {@code query}, {@code key}):
     *       consecutive blocks of {@code dim·dim/heads} elements, whatever the tensor's shape (so a grouped-query
     *       {@code k_proj} of {@code kvHeads·dim/heads} rows gets {@code kvHeads} blocks);</li>
     *   <li>embedding ({@code embed}, {@code embd}, {@code wte}), output ({@code lm_head}, {@code output},
     *       {@code final_layer}), value ({@code v_proj}, {@code wv}, {@code value}), attention projection
     *       ({@code o_proj}, {@code wo}, {@code attn.proj}) and MLP ({@code feed_forward}, {@code linear},
     *       {@code mlp}): one block per row of the tensor as laid out: a 2-D {@code (rows, cols)} tensor in blocks of
     *       {@code cols} (a torch {@code Linear} weight {@code (out, in)} per output neuron, a Hugging Face
     *       {@code Conv1D} weight {@code (in, out)} in rows of {@code out});</li>
     *   <li>anything else (norms; Hugging Face GPT-2's fused {@code attn.c_attn} and its {@code attn.c_proj}): one
     *       block.</li>
     * </ol>
     * Where the official code fails, this method does not:
     * <ul>
     *   <li>a tensor of rank 0 or 1 matched by a per-row rule (e.g. BERT's {@code output.LayerNorm.weight}) is one
     *       block;</li>
     *   <li>a tensor of rank 3 or more matched by a per-row rule is cut into {@code shape[0]} blocks (one per slice
     *       along the first axis: per output channel of a convolution kernel); the official code gives the same
     *       blocks where the dimensions after the second are 1, and fails otherwise;</li>
     *   <li>a query/key tensor whose length is not a multiple of {@code dim·dim/heads} is one block if it is a vector
     *       (every dimension but one is 1), and refused otherwise.</li>
     * </ul>
     *
     * @param name  the tensor's name
     * @param shape its dimensions as laid out, each {@code >= 1}
     * @param dim   the model dimension, {@code >= 1}
     * @param heads the number of attention heads, {@code >= 1}
     * @return the partition
     * @throws IllegalArgumentException naming the tensor if a dimension is below 1, or if it is a query/key tensor
     *                                  that cannot be cut into blocks of {@code dim·dim/heads} elements (or
     *                                  {@code dim·dim} is not a multiple of {@code heads}; the official code fails
     *                                  in both cases too)
     */
    public static Partition officialPartition(String name, int[] shape, int dim, int heads) {
        Objects.requireNonNull(name, "tensor name is null");
        Objects.requireNonNull(shape, () -> "tensor '" + name + "': shape is null");
        checkModel(dim, heads);
        long n = 1;
        for (int d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                        + " has a dimension below 1");
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                        + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
        return officialOf(name, (int) n, shape, dim, heads, 0);
    }

    /**
     * The partition {@link #officialPartition(String, int[], int, int)} gives a tensor of {@code n} elements whose
     * shape is not known. The official rules need the shape only for the per-row rule: such a tensor is cut into rows
     * of {@code dim} when {@code n} is a multiple of {@code dim} larger than {@code dim}, else one block (which is
     * the official partition only when its rows are {@code dim} long; {@link Builder#build} warns about every such
     * tensor). A query/key tensor whose length is not a multiple of {@code dim·dim/heads} is refused.
     *
     * @param name  the tensor's name
     * @param n     its length, {@code >= 1}
     * @param dim   the model dimension, {@code >= 1}
     * @param heads the number of attention heads, {@code >= 1}
     * @return the partition
     * @throws IllegalArgumentException as {@link #officialPartition(String, int[], int, int)}
     */
    public static Partition officialPartition(String name, int n, int dim, int heads) {
        Objects.requireNonNull(name, "tensor name is null");
        checkModel(dim, heads);
        if (n < 1) {
            throw new IllegalArgumentException("tensor '" + name + "': length must be >= 1, got " + n);
        }
        return officialOf(name, n, null, dim, heads, 0);
    }

    /**
     * The weight-decay rule of the official package as a name rule: it matches the tensors the official package
     * does not decay, those whose lower-cased name contains {@code norm}, {@code ln} or {@code bias}. Plain
     * substrings, quirks included: {@code ln} also matches names that merely contain those two letters (e.g.
     * {@code kiln}, {@code vulnerable}), {@code norm} matches {@code normalizer} and {@code enormous}, {@code bias}
     * matches {@code unbiased}; DL4J's biases ({@code 0_b}) and DJL's {@code beta}/{@code gamma} of a layer not
     * named with {@code norm} are not matched. Use it as {@code group(AdamMini.officialNoDecay(), g ->
     * g.weightDecay(0))}, which is what {@link Builder#officialWeightDecay} does. The rule is
     * {@linkplain NameRule#optional() optional}: a model none of whose names it matches (e.g. a numbered DL4J network)
     * simply has no such group.
     *
     * @return the rule
     */
    public static NameRule officialNoDecay() {
        return NameRule.of("adam-mini 1.1.1 no weight decay (lower-cased name contains norm, ln or bias)",
                name -> has(name.toLowerCase(Locale.ROOT), NO_DECAY)).optional();
    }

    /** Which official rule a name falls under, in the official order. */
    private enum Rule {
        BIAS, QUERY, KEY, ROWS, WHOLE
    }

    private static Rule rule(String name) {
        String s = name.toLowerCase(Locale.ROOT);
        if (s.contains("bias")) {
            return Rule.BIAS;
        }
        if (has(s, QUERY)) {
            return Rule.QUERY;
        }
        if (has(s, KEY)) {
            return Rule.KEY;
        }
        if (has(s, EMBEDDING) || has(s, OUTPUT) || has(s, VALUE) || has(s, ATTN_PROJ) || has(s, MLP)) {
            return Rule.ROWS;
        }
        return Rule.WHOLE;
    }

    private static void checkModel(int dim, int heads) {
        if (dim < 1 || heads < 1) {
            throw new IllegalArgumentException("modelShape: dim and heads must be >= 1, got " + dim + ", " + heads);
        }
    }

    /**
     * The official partition of a tensor of {@code n} elements and {@code shape} (null: unknown); {@code kvHeads} 0
     * for the official query/key blocks, else {@link Builder#groupedQueryHeads}'s.
     */
    private static Partition officialOf(String name, int n, int[] shape, int dim, int heads, int kvHeads) {
        Rule rule = rule(name);
        switch (rule) {
            case BIAS -> {
                return Partition.perElement();
            }
            case QUERY, KEY -> {
                String cut;
                if (kvHeads > 0) {
                    int h = rule == Rule.QUERY ? heads : kvHeads;
                    if (n % h == 0) {
                        return Partition.perHead(h);
                    }
                    cut = "into " + h + " heads (groupedQueryHeads: " + (rule == Rule.QUERY ? "query" : "key") + ")";
                } else {
                    long dd = (long) dim * dim;
                    if (dd % heads != 0) {
                        throw new IllegalArgumentException("tensor '" + name + "': Adam-mini's query/key rule cuts it"
                                + " into blocks of dim·dim/heads elements, but modelShape(" + dim + ", " + heads
                                + ") has dim·dim = " + dd + ", not a multiple of " + heads
                                + " (the official package fails here too)");
                    }
                    long block = dd / heads;
                    if (n % block == 0) {
                        return Partition.perRow((int) block);
                    }
                    cut = "into blocks of dim·dim/heads = " + block + " elements (modelShape(" + dim + ", " + heads + "))";
                }
                if (shape != null && isVector(shape)) {
                    return Partition.whole();
                }
                throw new IllegalArgumentException("tensor '" + name + "': Adam-mini's query/key rule cannot cut its "
                        + n + " elements" + (shape == null ? "" : " (shape " + Arrays.toString(shape) + ")")
                        + " " + cut + " (the official package fails here too); check modelShape, or give the tensor a"
                        + " partition of its own with partition(name, ...)");
            }
            case ROWS -> {
                if (shape == null) {
                    return n % dim == 0 && n > dim ? Partition.perRow(dim) : Partition.whole();
                }
                return shape.length < 2 ? Partition.whole() : Partition.perRow(n / shape[0]);
            }
            default -> {
                return Partition.whole();
            }
        }
    }

    /** Whether every dimension but (at most) one is 1. */
    private static boolean isVector(int[] shape) {
        int big = 0;
        for (int d : shape) {
            big += d > 1 ? 1 : 0;
        }
        return big <= 1;
    }

    private static boolean has(String s, String[] parts) {
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
        private static final GroupSpec.Values DEFAULTS = new GroupSpec.Values(Double.NaN, 0.9, 0.999, 1e-8, 0.0, false,
                null, false, null, null, null);
        private final Map<String, Partition> partitions = new HashMap<>();
        private int dim;
        private int heads;
        private int kvHeads;
        /** Where {@link #build} warns; a test may replace it. */
        System.Logger log = LOG;

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
         * Assigns partitions from tensor names and shapes as the official package ({@code adam-mini} 1.1.1) does for a
         * model of dimension {@code dim} with {@code heads} attention heads ({@link #officialPartition(String, int[],
         * int, int)}): biases per element, query and key in blocks of {@code dim·dim/heads}, embeddings, output,
         * value, attention projection and MLP per row of the tensor as laid out, everything else one block.
         *
         * <p>The per-row rule needs the tensor's shape: add such tensors with it
         * ({@link GroupSpec#add(String, FloatSpan, FloatSpan, int...)}). A tensor the per-row rule matches that was
         * added without one is cut into rows of {@code dim} if its length is a multiple of {@code dim} larger than
         * {@code dim}, else it is one block, and {@link #build} logs one warning naming it (logger
         * {@code io.github.sgdsai}, level WARNING).
         *
         * @param dim   the model dimension
         * @param heads the number of attention heads
         * @return this builder
         */
        public Builder modelShape(int dim, int heads) {
            checkModel(dim, heads);
            this.dim = dim;
            this.heads = heads;
            return this;
        }

        /**
         * A deliberate difference from the official package, not its default: query and key tensors are cut into one
         * block per attention head counted from the tensor, a query tensor ({@code q_proj}, {@code wq}, {@code query})
         * into {@code heads} equal blocks and a key tensor ({@code k_proj}, {@code wk}, {@code key}) into
         * {@code kvHeads} (a name with both, like a fused {@code query_key_value}, counts as a query). The official
         * package accepts {@code n_kv_heads} but does not use it: its blocks are {@code dim·dim/heads} elements
         * whatever the tensor. Both agree where a head is {@code dim/heads} wide (Llama, Mistral: a grouped-query
         * {@code k_proj} gets {@code kvHeads} blocks either way); this one also cuts models whose heads are wider or
         * narrower than {@code dim/heads} (e.g. Gemma 7B: 16 heads of 256 for a dimension of 3072), where the official
         * code fails. Needs {@link #modelShape}, with {@code heads} a multiple of {@code kvHeads} (as the official
         * package asserts).
         *
         * @param kvHeads the number of key/value heads (query groups), {@code >= 1}
         * @return this builder
         */
        public Builder groupedQueryHeads(int kvHeads) {
            if (kvHeads < 1) {
                throw new IllegalArgumentException("groupedQueryHeads: kvHeads must be >= 1, got " + kvHeads);
            }
            this.kvHeads = kvHeads;
            return this;
        }

        /**
         * Switches weight decay off, as the official package does, for every tensor added to this builder whose
         * lower-cased name contains {@code norm}, {@code ln} or {@code bias} ({@link #officialNoDecay()}, quirks
         * included): they go to a group of their own with λ = 0 and this builder's other hyperparameters. The same as
         * {@code group(AdamMini.officialNoDecay(), g -> g.weightDecay(0))}; tensors added to explicit groups are not
         * moved (see {@link #group(NameRule, java.util.function.Consumer)}).
         *
         * @return this builder
         */
        public Builder officialWeightDecay() {
            return group(officialNoDecay(), g -> g.weightDecay(0));
        }

        /**
         * Adam-mini as the official package ({@code adam-mini} 1.1.1) sets it up for a model of dimension
         * {@code dim} with {@code heads} attention heads: {@link #modelShape}{@code (dim, heads)} and
         * {@link #officialWeightDecay()}. With the tensors added with their shapes and the official defaults
         * ({@link #builder()}), a step computes what the official one does, to its float rounding.
         *
         * @param dim   the model dimension
         * @param heads the number of attention heads
         * @return this builder
         */
        public Builder official(int dim, int heads) {
            return modelShape(dim, heads).officialWeightDecay();
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
            if (kvHeads > 0 && dim == 0) {
                throw new IllegalArgumentException("groupedQueryHeads(" + kvHeads + ") needs modelShape(dim, heads)");
            }
            if (kvHeads > 0 && heads % kvHeads != 0) {
                throw new IllegalArgumentException("groupedQueryHeads(" + kvHeads + "): the " + heads
                        + " heads of modelShape are not a multiple of it");
            }
            int n = t.param().length();
            Partition p = partitions.get(t.name());
            if (p == null && dim > 0) {
                p = officialOf(t.name(), n, t.shape(), dim, heads, kvHeads);
                if (t.shape() == null && rule(t.name()) == Rule.ROWS) {
                    log.log(System.Logger.Level.WARNING, "sgdsai: Adam-mini tensor ''{0}'' falls under the official"
                            + " per-row rule but was added without a shape, so its rows are guessed ({1}); add it with"
                            + " its shape, add(name, param, grad, rows, cols), to get the official partition",
                            t.name(), p.kind() == Partition.Kind.ROWS ? "rows of dim = " + dim : "one block");
                }
            } else if (p == null) {
                p = Partition.whole();
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
