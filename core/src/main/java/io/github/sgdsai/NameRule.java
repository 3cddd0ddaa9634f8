// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A labelled predicate over tensor names, used to put tensors into parameter groups by name (e.g. "no weight
 * decay for biases and normalisation weights"). The label names the rule in error messages, so make it say
 * what the rule is for. {@link NameRules} routes a name through an ordered list of rules.
 *
 * <p>Factories: {@link #glob} (whole-name wildcards), {@link #regex} (whole-name regular expression),
 * {@link #of} (any predicate), and the presets {@link #biasesAndNorms()} and {@link #embeddings()}, which know
 * the naming conventions of PyTorch / Hugging Face, Deeplearning4j and DJL.
 *
 * <p>Names are matched as given, case-sensitively unless a rule says otherwise. Rules are immutable and
 * thread-safe if their predicate is.
 *
 * <p>Example: no weight decay on biases and norms, a smaller learning rate for the embeddings.
 * <pre>{@code
 * SgdSai opt = SgdSai.builder().lr(1e-2).weightDecay(0.1)
 *         .add("embed.weight", e, de).add("fc.weight", w, dw).add("fc.bias", b, db)
 *         .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0))         // fc.bias
 *         .group(NameRule.glob("embeddings", "embed.*"), g -> g.lr(1e-3))  // embed.weight
 *         .build();                                                         // fc.weight: the default group
 * }</pre>
 */
public final class NameRule {
    private final String label;
    private final Predicate<String> predicate;
    private final String description;
    private final boolean optional;

    private NameRule(String label, Predicate<String> predicate, String description) {
        this(label, predicate, description, false);
    }

    private NameRule(String label, Predicate<String> predicate, String description, boolean optional) {
        this.label = checkLabel(label);
        this.predicate = predicate;
        this.description = description;
        this.optional = optional;
    }

    private static String checkLabel(String label) {
        Objects.requireNonNull(label, "rule label is null");
        if (label.isBlank()) {
            throw new IllegalArgumentException("rule label is blank; give the rule a name that says what it is for");
        }
        return label;
    }

    /**
     * A rule matching names that match one glob pattern (see {@link #glob(String, String...)} for the syntax),
     * labelled by the pattern itself: {@code NameRule.glob("*.bias")}.
     *
     * @param pattern the pattern, not empty
     * @return the rule
     * @throws IllegalArgumentException if the pattern is empty
     * @throws NullPointerException     if the pattern is null
     */
    public static NameRule glob(String pattern) {
        Objects.requireNonNull(pattern, "glob pattern is null");
        if (pattern.isEmpty()) {
            throw new IllegalArgumentException("glob pattern is empty and would match no tensor");
        }
        return new NameRule(pattern, name -> globMatches(pattern, name), "glob [" + pattern + "]");
    }

    /**
     * A rule matching names that match any of the glob patterns, each against the whole name. In a pattern
     * {@code *} matches any run of characters (none included, dots and underscores included) and {@code ?}
     * exactly one character; every other character matches only itself (there is no escape and no
     * {@code [..]} class). For example {@code "*.bias"} matches {@code "fc.bias"} and
     * {@code "transformer.h.0.attn.c_attn.bias"} but not {@code "fc.bias_scale"}; {@code "?_b"} matches
     * {@code "0_b"} but not {@code "10_b"}.
     *
     * @param label the rule's name, not blank
     * @param globs at least one pattern, none null or empty
     * @return the rule
     * @throws IllegalArgumentException if the label is blank, no pattern is given or a pattern is empty
     * @throws NullPointerException     if the label, the array or a pattern is null
     */
    public static NameRule glob(String label, String... globs) {
        checkLabel(label);
        if (label.indexOf('*') >= 0 || label.indexOf('?') >= 0) {
            throw new IllegalArgumentException("glob: the first argument is the rule's label and '" + label + "' looks "
                    + "like a pattern; write glob(\"" + label + "\") for a rule of one pattern, or glob(\"a label\", \""
                    + label + "\", ...) for several");
        }
        Objects.requireNonNull(globs, () -> "rule '" + label + "': globs is null");
        if (globs.length == 0) {
            throw new IllegalArgumentException("rule '" + label + "': give at least one glob pattern");
        }
        String[] patterns = globs.clone();
        for (int i = 0; i < patterns.length; i++) {
            int index = i;
            Objects.requireNonNull(patterns[i], () -> "rule '" + label + "': glob " + index + " is null");
            if (patterns[i].isEmpty()) {
                throw new IllegalArgumentException("rule '" + label + "': glob " + i + " is empty and would match no tensor");
            }
        }
        return new NameRule(label, name -> {
            for (String p : patterns) {
                if (globMatches(p, name)) {
                    return true;
                }
            }
            return false;
        }, "glob " + Arrays.toString(patterns));
    }

    /**
     * A rule matching names that the regular expression ({@link Pattern} syntax) matches <em>as a whole</em>
     * ({@link java.util.regex.Matcher#matches()}, like {@link #glob}), not somewhere inside (as Python's
     * {@code re.search} would). So {@code "bias"} matches only the name {@code "bias"}; to match a name
     * containing it write {@code ".*bias.*"}, or ending with it {@code ".*\\.bias"}. Whole-name matching keeps
     * a short expression from matching far more than meant.
     *
     * @param label the rule's name, not blank
     * @param regex the expression
     * @return the rule
     * @throws IllegalArgumentException if the label is blank or the expression does not compile (the message
     *                                  names the rule and says why)
     * @throws NullPointerException     if the label or the expression is null
     */
    public static NameRule regex(String label, String regex) {
        checkLabel(label);
        Objects.requireNonNull(regex, () -> "rule '" + label + "': regex is null");
        Pattern pattern;
        try {
            pattern = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("rule '" + label + "': regex does not compile: " + e.getMessage(), e);
        }
        return new NameRule(label, name -> pattern.matcher(name).matches(), "regex " + regex);
    }

    /**
     * A rule matching the names for which {@code predicate} returns true.
     *
     * @param label     the rule's name, not blank
     * @param predicate the test, called with non-null names
     * @return the rule
     * @throws IllegalArgumentException if the label is blank
     * @throws NullPointerException     if the label or the predicate is null
     */
    public static NameRule of(String label, Predicate<String> predicate) {
        checkLabel(label);
        Objects.requireNonNull(predicate, () -> "rule '" + label + "': predicate is null");
        return new NameRule(label, predicate, "predicate");
    }

    /**
     * Whether the rule matches a tensor name.
     *
     * @param name the tensor's name
     * @return true if it matches
     * @throws NullPointerException if {@code name} is null
     */
    public boolean matches(String name) {
        Objects.requireNonNull(name, "tensor name is null");
        return predicate.test(name);
    }

    /**
     * The rule's name, as used in error messages.
     *
     * @return the label
     */
    public String label() {
        return label;
    }

    /**
     * The same rule under another label (e.g. {@code biasesAndNorms().withLabel("no decay")}).
     *
     * @param label the new name, not blank
     * @return the relabelled rule
     * @throws IllegalArgumentException if the label is blank
     * @throws NullPointerException     if the label is null
     */
    public NameRule withLabel(String label) {
        return new NameRule(label, predicate, description, optional);
    }

    /**
     * The same rule, allowed to match no tensor. A rule group whose rule matches nothing (and that has no tensors of
     * its own) is an error at {@code build()} — usually a typo or a model without the expected names — unless its
     * rule is optional; then the group is left out (and the groups after it move up one index).
     *
     * @return the optional rule
     */
    public NameRule optional() {
        return new NameRule(label, predicate, description, true);
    }

    /**
     * Whether the rule may match no tensor (see {@link #optional()}).
     *
     * @return true if optional
     */
    public boolean isOptional() {
        return optional;
    }

    /**
     * A rule matching what this rule matches and {@code other} does not, labelled {@code "<this> except
     * <other>"}: e.g. {@code biasesAndNorms().except(NameRule.glob("head", "classifier.*"))}.
     *
     * @param other the names to leave out
     * @return the narrowed rule
     * @throws NullPointerException if {@code other} is null
     */
    public NameRule except(NameRule other) {
        Objects.requireNonNull(other, "rule to except is null");
        return new NameRule(label + " except " + other.label, name -> predicate.test(name) && !other.predicate.test(name),
                description + " except " + other.description);
    }

    /**
     * A rule matching what this rule or {@code other} matches, labelled {@code "<this> or <other>"}.
     *
     * @param other the names to add
     * @return the widened rule
     * @throws NullPointerException if {@code other} is null
     */
    public NameRule or(NameRule other) {
        Objects.requireNonNull(other, "rule to add is null");
        return new NameRule(label + " or " + other.label, name -> predicate.test(name) || other.predicate.test(name),
                description + " or " + other.description);
    }

    /**
     * The label and how the rule matches, e.g. {@code "'decay-free' (glob [*.bias])"}.
     *
     * @return a description
     */
    @Override
    public String toString() {
        return "'" + label + "' (" + description + ")";
    }

    // ------------------------------------------------------------------------------------------------ globs

    /** Whole-string match of {@code *} (any run) and {@code ?} (one char); linear backtracking on the last star. */
    static boolean globMatches(String pattern, String name) {
        int p = 0;
        int n = 0;
        int star = -1;
        int mark = 0;
        while (n < name.length()) {
            if (p < pattern.length() && (pattern.charAt(p) == '?' || pattern.charAt(p) == name.charAt(n))
                    && pattern.charAt(p) != '*') {
                p++;
                n++;
            } else if (p < pattern.length() && pattern.charAt(p) == '*') {
                star = p++;
                mark = n;
            } else if (star >= 0) {
                p = star + 1;
                n = ++mark;
            } else {
                return false;
            }
        }
        while (p < pattern.length() && pattern.charAt(p) == '*') {
            p++;
        }
        return p == pattern.length();
    }

    // ------------------------------------------------------------------------------------------------ presets

    private static final Set<String> DOTTED_NORM_LEAVES = Set.of("weight", "bias", "gamma", "beta", "scale");
    private static final Set<String> RUNNING_STATS = Set.of("running_mean", "running_var");
    private static final Set<String> UNDOTTED_KEYS = Set.of(
            "bias", "BIAS", "b", "fb", "bb", "bF", "bB",
            "gamma", "beta", "g", "mean", "var", "log10stdev", "runningMean", "runningVar");
    private static final Pattern SHORT_NORM_MODULE = Pattern.compile("(ln|bn|gn)(_.*|\\d*)");

    private static final NameRule BIASES_AND_NORMS = new NameRule("biases and norms", NameRule::isBiasOrNorm,
            "preset: biases, normalisation weights and statistics");
    private static final NameRule EMBEDDINGS = new NameRule("embeddings",
            name -> isEmbedding(name) && !isBiasOrNorm(name), "preset: embedding tables");

    /**
     * The common "no weight decay" set: biases, and the weights (scales, shifts, running statistics) of
     * normalisation layers, which weight decay would pull towards zero for no benefit (e.g. Hugging Face's
     * {@code Trainer}, which exempts biases and LayerNorm weights, and Karpathy's minGPT). Labelled
     * {@code "biases and norms"}; relabel with {@link #withLabel}. Exactly these names match:
     *
     * <p><b>Names containing a dot</b> (PyTorch {@code named_parameters()}, Hugging Face, also their
     * {@code state_dict} keys). With <i>leaf</i> the part after the last dot and <i>module</i> the
     * dot-separated part before it:
     * <ol>
     *   <li>the leaf is {@code bias}: {@code fc.bias}, {@code transformer.h.0.attn.c_attn.bias};</li>
     *   <li>the leaf is {@code weight}, {@code bias}, {@code gamma}, {@code beta} or {@code scale} and the
     *       module is a normalisation layer: its name contains {@code norm} in any case
     *       ({@code LayerNorm}, {@code layer_norm}, {@code norm}, {@code norm1}, {@code input_layernorm},
     *       {@code post_attention_layernorm}, {@code final_layer_norm}, {@code q_norm}), or is {@code ln},
     *       {@code bn} or {@code gn}, optionally followed by digits or by {@code _} and anything
     *       ({@code ln_1}, {@code ln_f}, {@code ln_attn}, {@code bn1}, {@code gn2}): e.g.
     *       {@code transformer.ln_f.weight}, {@code bert.encoder.layer.0.output.LayerNorm.weight},
     *       {@code model.layers.0.input_layernorm.weight}, {@code model.norm.weight},
     *       {@code layer1.0.bn1.weight};</li>
     *   <li>the leaf is {@code running_mean} or {@code running_var} (batch-norm buffers, should they be
     *       registered).</li>
     * </ol>
     *
     * <p><b>Names without a dot</b> (Deeplearning4j {@code paramTable()} keys {@code <layer>_<key>}, e.g.
     * {@code 0_W}, {@code conv1_b}; DJL {@code Block.getParameters()} paths, child blocks joined by {@code _},
     * e.g. {@code 01Linear_bias}, {@code 02SequentialBlock_01BatchNorm_gamma}; a bare PyTorch {@code bias}).
     * With <i>key</i> the part after the last underscore (the whole name if there is none), the key is one of:
     * <ul>
     *   <li>biases: {@code b} (DL4J dense, convolution, output, LSTM, embedding layers), {@code fb},
     *       {@code bb} (DL4J {@code Bidirectional}: forward and backward biases), {@code bF}, {@code bB} (DL4J
     *       {@code GravesBidirectionalLSTM}), {@code bias} (DJL {@code Linear}, convolutions; PyTorch),
     *       {@code BIAS} (DJL recurrent blocks, e.g. {@code l_0_i2h_BIAS});</li>
     *   <li>normalisation: {@code gamma}, {@code beta} (DL4J {@code BatchNormalization}, DJL {@code BatchNorm}
     *       and {@code LayerNorm}), {@code g} (DL4J layer-norm gain of dense and simple-RNN layers, which DL4J
     *       itself counts as a weight), {@code mean}, {@code var}, {@code log10stdev} (DL4J batch-norm
     *       running statistics, kept in the parameter table), {@code runningMean}, {@code runningVar} (DJL
     *       batch-norm statistics).</li>
     * </ul>
     *
     * <p>Not matched, because the name does not tell: PyTorch normalisation layers inside an unnamed
     * {@code nn.Sequential} (torchvision ResNet's {@code layer1.0.downsample.1.weight}, any
     * {@code features.1.weight}), DL4J variational-autoencoder keys ({@code e0b}, {@code pXZb}), DJL's
     * {@code dictionaryBias}; add a {@link #glob} for those. Running statistics are not trained by gradient;
     * an integration would better leave them out of the optimizer altogether, but if they reach it this rule
     * at least keeps them from being decayed. Never matches a name that {@link #embeddings()} matches.
     *
     * @return the preset rule
     */
    public static NameRule biasesAndNorms() {
        return BIASES_AND_NORMS;
    }

    /**
     * Embedding tables, which some recipes also exempt from weight decay (Karpathy's minGPT does). Labelled
     * {@code "embeddings"}; it never matches a name that {@link #biasesAndNorms()} matches, so the two can be
     * routed together. Exactly these names match:
     * <ul>
     *   <li>names containing a dot: the leaf (after the last dot) is {@code weight} and the module before it
     *       contains {@code embed} in any case ({@code model.embed_tokens.weight},
     *       {@code bert.embeddings.word_embeddings.weight}, {@code decoder.embed_positions.weight}) or is
     *       {@code wte} or {@code wpe} (GPT-2, GPT-J: {@code transformer.wte.weight});</li>
     *   <li>names without a dot: the key (after the last underscore) is {@code embedding} (DJL
     *       {@code Embedding} and {@code IdEmbedding}, e.g. {@code 01tokenEmbedding_embedding}) or the name ends
     *       with {@code positionEmbedding} (DJL {@code BertBlock}).</li>
     * </ul>
     * Not matched: DL4J embedding layers (their table is {@code <layer>_W} like any dense weight; use a
     * {@link #glob} such as {@code "0_W"}), T5's {@code shared.weight}, untied output heads
     * ({@code lm_head.weight}).
     *
     * @return the preset rule
     */
    public static NameRule embeddings() {
        return EMBEDDINGS;
    }

    static boolean isBiasOrNorm(String name) {
        int dot = name.lastIndexOf('.');
        if (dot < 0) {
            return UNDOTTED_KEYS.contains(name.substring(name.lastIndexOf('_') + 1));
        }
        String leaf = name.substring(dot + 1);
        if (leaf.equals("bias") || RUNNING_STATS.contains(leaf)) {
            return true;
        }
        return DOTTED_NORM_LEAVES.contains(leaf) && isNormModule(module(name, dot));
    }

    private static String module(String name, int dot) {
        return name.substring(name.lastIndexOf('.', dot - 1) + 1, dot);
    }

    private static boolean isNormModule(String module) {
        return module.toLowerCase(Locale.ROOT).contains("norm") || SHORT_NORM_MODULE.matcher(module).matches();
    }

    static boolean isEmbedding(String name) {
        int dot = name.lastIndexOf('.');
        if (dot < 0) {
            return name.substring(name.lastIndexOf('_') + 1).equals("embedding") || name.endsWith("positionEmbedding");
        }
        if (!name.substring(dot + 1).equals("weight")) {
            return false;
        }
        String module = module(name, dot);
        return module.toLowerCase(Locale.ROOT).contains("embed") || module.equals("wte") || module.equals("wpe");
    }
}
