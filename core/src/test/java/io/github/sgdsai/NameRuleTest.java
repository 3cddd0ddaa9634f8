// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link NameRule} and {@link NameRules} on realistic parameter lists of PyTorch / Hugging Face, DL4J and DJL. */
class NameRuleTest {

    private static void rejected(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    private static Set<String> matching(NameRule rule, List<String> names) {
        return names.stream().filter(rule::matches).collect(Collectors.toCollection(LinkedHashSet::new));
    }

    private static void assertPresetsDisjoint(List<String> names) {
        for (String n : names) {
            assertFalse(NameRule.biasesAndNorms().matches(n) && NameRule.embeddings().matches(n), n);
        }
        NameRules both = NameRules.of(NameRule.biasesAndNorms(), NameRule.embeddings());
        for (String n : names) {
            both.route(n); // never ambiguous
        }
    }

    // ------------------------------------------------------------------------------ realistic name lists

    /** GPT2LMHeadModel.named_parameters() of GPT-2 small (lm_head.weight is tied to wte and not listed). */
    static List<String> gpt2Small() {
        List<String> names = new ArrayList<>(List.of("transformer.wte.weight", "transformer.wpe.weight"));
        for (int i = 0; i < 12; i++) {
            String h = "transformer.h." + i + ".";
            for (String p : List.of("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                    "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight",
                    "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")) {
                names.add(h + p);
            }
        }
        names.add("transformer.ln_f.weight");
        names.add("transformer.ln_f.bias");
        return names;
    }

    /** LlamaForCausalLM.named_parameters(), 4 layers. */
    static List<String> llama() {
        List<String> names = new ArrayList<>(List.of("model.embed_tokens.weight"));
        for (int i = 0; i < 4; i++) {
            String l = "model.layers." + i + ".";
            for (String p : List.of("self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                    "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
                    "input_layernorm.weight", "post_attention_layernorm.weight")) {
                names.add(l + p);
            }
        }
        names.add("model.norm.weight");
        names.add("lm_head.weight");
        return names;
    }

    /** LeNet-5 as a DL4J MultiLayerNetwork with batch norm: paramTable() keys. */
    static final List<String> LENET_DL4J = List.of(
            "0_W", "0_b",                          // ConvolutionLayer
            // 1: SubsamplingLayer has no parameters
            "2_gamma", "2_beta", "2_mean", "2_var", // BatchNormalization
            "3_W", "3_b",                          // ConvolutionLayer
            "5_W", "5_b",                          // DenseLayer
            "6_W", "6_b", "6_g",                   // DenseLayer with layer norm (gain g)
            "7_W", "7_b");                         // OutputLayer

    @Test
    void gpt2SmallSplitsLikeHuggingFaceTrainer() {
        List<String> names = gpt2Small();
        assertEquals(148, names.size());
        Set<String> noDecay = matching(NameRule.biasesAndNorms(), names);
        Set<String> emb = matching(NameRule.embeddings(), names);
        // Trainer: decay = weights outside LayerNorm modules, i.e. everything but biases and ln_* weights
        Set<String> expectedNoDecay = names.stream()
                .filter(n -> n.endsWith(".bias") || n.contains(".ln_"))
                .collect(Collectors.toCollection(LinkedHashSet::new));
        assertEquals(expectedNoDecay, noDecay);
        assertEquals(98, noDecay.size());
        assertTrue(noDecay.contains("transformer.h.0.attn.c_attn.bias"));
        assertTrue(noDecay.contains("transformer.h.0.ln_1.weight"));
        assertTrue(noDecay.contains("transformer.ln_f.weight"));
        assertFalse(noDecay.contains("transformer.h.11.mlp.c_fc.weight"));
        assertEquals(Set.of("transformer.wte.weight", "transformer.wpe.weight"), emb);
        assertPresetsDisjoint(names);

        NameRules rules = NameRules.of(NameRule.biasesAndNorms().withLabel("no decay"), NameRule.embeddings()).exhaustive();
        rejected(IllegalArgumentException.class, "tensor 'transformer.h.0.attn.c_attn.weight' matches none of the rules"
                + " ['no decay', 'embeddings'], but every tensor must match one", () -> rules.route("transformer.h.0.attn.c_attn.weight"));
        NameRules routing = NameRules.of(NameRule.biasesAndNorms(), NameRule.embeddings());
        int[] counts = new int[3];
        for (String n : names) {
            counts[routing.route(n) + 1]++;
        }
        assertEquals(List.of(48, 98, 2), Arrays.stream(counts).boxed().toList());
    }

    @Test
    void llamaNormsAndEmbeddings() {
        List<String> names = llama();
        Set<String> noDecay = matching(NameRule.biasesAndNorms(), names);
        Set<String> expected = new LinkedHashSet<>();
        for (int i = 0; i < 4; i++) {
            expected.add("model.layers." + i + ".input_layernorm.weight");
            expected.add("model.layers." + i + ".post_attention_layernorm.weight");
        }
        expected.add("model.norm.weight");
        assertEquals(expected, noDecay);
        assertEquals(Set.of("model.embed_tokens.weight"), matching(NameRule.embeddings(), names));
        assertFalse(NameRule.biasesAndNorms().matches("lm_head.weight"));
        assertFalse(NameRule.embeddings().matches("lm_head.weight"));
        // Qwen-style attention biases and q/k norms
        assertTrue(NameRule.biasesAndNorms().matches("model.layers.0.self_attn.q_proj.bias"));
        assertTrue(NameRule.biasesAndNorms().matches("model.layers.0.self_attn.q_norm.weight"));
        assertPresetsDisjoint(names);
    }

    @Test
    void bertAndTorchvisionNames() {
        NameRule nd = NameRule.biasesAndNorms();
        assertTrue(nd.matches("bert.embeddings.LayerNorm.weight"));
        assertTrue(nd.matches("bert.embeddings.LayerNorm.bias"));
        assertTrue(nd.matches("bert.encoder.layer.0.attention.output.LayerNorm.weight"));
        assertTrue(nd.matches("bert.encoder.layer.0.attention.self.query.bias"));
        assertTrue(nd.matches("bert.embeddings.LayerNorm.gamma")); // pytorch-pretrained-bert's old names
        assertTrue(nd.matches("encoder.block.0.layer.0.layer_norm.weight")); // T5
        assertTrue(nd.matches("decoder.final_layer_norm.weight"));
        assertFalse(nd.matches("bert.encoder.layer.0.attention.self.query.weight"));
        assertFalse(nd.matches("bert.pooler.dense.weight"));
        NameRule emb = NameRule.embeddings();
        assertTrue(emb.matches("bert.embeddings.word_embeddings.weight"));
        assertTrue(emb.matches("bert.embeddings.position_embeddings.weight"));
        assertTrue(emb.matches("bert.embeddings.token_type_embeddings.weight"));
        assertTrue(emb.matches("model.decoder.embed_positions.weight"));
        assertFalse(emb.matches("bert.embeddings.LayerNorm.weight"));
        assertFalse(emb.matches("embed_norm.weight") && nd.matches("embed_norm.weight"));
        assertTrue(nd.matches("embed_norm.weight"));

        List<String> resnet = List.of("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.conv2.weight",
                "layer1.0.bn2.weight", "layer1.0.bn2.bias", "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight",
                "layer2.0.downsample.1.bias", "fc.weight", "fc.bias");
        assertEquals(Set.of("bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "layer1.0.bn1.weight",
                        "layer1.0.bn1.bias", "layer1.0.bn2.weight", "layer1.0.bn2.bias", "layer2.0.downsample.1.bias", "fc.bias"),
                matching(nd, resnet));
        // documented miss: a batch norm inside an unnamed nn.Sequential; a glob adds it
        assertFalse(nd.matches("layer2.0.downsample.1.weight"));
        NameRule withDownsample = nd.or(NameRule.glob("downsample norms", "*.downsample.1.weight"));
        assertTrue(withDownsample.matches("layer2.0.downsample.1.weight"));
        assertEquals("biases and norms or downsample norms", withDownsample.label());
        assertPresetsDisjoint(resnet);
    }

    @Test
    void lenetInDl4jNaming() {
        assertEquals(Set.of("0_b", "2_gamma", "2_beta", "2_mean", "2_var", "3_b", "5_b", "6_b", "6_g", "7_b"),
                matching(NameRule.biasesAndNorms(), LENET_DL4J));
        assertEquals(Set.of(), matching(NameRule.embeddings(), LENET_DL4J));
        assertTrue(NameRule.biasesAndNorms().matches("2_log10stdev")); // BatchNormalization with useLogStd
        // ComputationGraph: layer names are any strings, the key follows the last underscore
        List<String> graph = List.of("conv1_W", "conv1_b", "bn_1_gamma", "bn_1_beta", "bn_1_mean", "bn_1_log10stdev",
                "lstm_fW", "lstm_fRW", "lstm_fb", "lstm_bW", "lstm_bRW", "lstm_bb", "graves_WF", "graves_bF",
                "graves_WB", "graves_bB", "prelu_Alpha", "sep_W", "sep_pW", "sep_b", "out_W", "out_b", "my_bias_layer_W");
        assertEquals(Set.of("conv1_b", "bn_1_gamma", "bn_1_beta", "bn_1_mean", "bn_1_log10stdev", "lstm_fb", "lstm_bb",
                "graves_bF", "graves_bB", "sep_b", "out_b"), matching(NameRule.biasesAndNorms(), graph));
        assertPresetsDisjoint(LENET_DL4J);
        assertPresetsDisjoint(graph);

        // route LeNet into "no decay" and, exhaustively, "decay" by glob on the W keys
        NameRules rules = NameRules.of(NameRule.biasesAndNorms().withLabel("no decay"), NameRule.glob("decay", "*_W")).exhaustive();
        for (String n : LENET_DL4J) {
            assertEquals(n.endsWith("_W") ? 1 : 0, rules.route(n), n);
        }
        rejected(IllegalArgumentException.class, "tensor 'prelu_Alpha' matches none of the rules ['no decay', 'decay']",
                () -> rules.route("prelu_Alpha"));
    }

    @Test
    void djlBlockPaths() {
        // Mlp(784, 10, {128, 64}): a SequentialBlock of batch-flatten lambdas, Linear blocks and activations
        List<String> mlp = List.of("02Linear_weight", "02Linear_bias", "04Linear_weight", "04Linear_bias",
                "06Linear_weight", "06Linear_bias");
        assertEquals(Set.of("02Linear_bias", "04Linear_bias", "06Linear_bias"), matching(NameRule.biasesAndNorms(), mlp));
        // ResNet-style: conv without bias, batch norm, residual ParallelBlocks of SequentialBlocks, a Linear head
        List<String> resnet = List.of("01Conv2d_weight", "02BatchNorm_gamma", "02BatchNorm_beta", "02BatchNorm_runningMean",
                "02BatchNorm_runningVar", "04ParallelBlock_01SequentialBlock_01Conv2d_weight",
                "04ParallelBlock_01SequentialBlock_02BatchNorm_gamma", "04ParallelBlock_01SequentialBlock_02BatchNorm_beta",
                "04ParallelBlock_01SequentialBlock_02BatchNorm_runningMean",
                "04ParallelBlock_01SequentialBlock_02BatchNorm_runningVar",
                "04ParallelBlock_02SequentialBlock_01Conv2d_weight", "07Linear_weight", "07Linear_bias");
        Set<String> expected = resnet.stream().filter(n -> !n.endsWith("_weight"))
                .collect(Collectors.toCollection(LinkedHashSet::new));
        assertEquals(expected, matching(NameRule.biasesAndNorms(), resnet));
        assertFalse(NameRule.biasesAndNorms().matches("04ParallelBlock_02SequentialBlock_01Conv2d_weight"));
        // transformer-ish: embedding, layer norm, recurrent blocks
        List<String> other = List.of("01Embedding_embedding", "02LayerNorm_gamma", "02LayerNorm_beta",
                "03LSTM_l_0_i2h_WEIGHT", "03LSTM_l_0_h2h_WEIGHT", "03LSTM_l_0_i2h_BIAS", "03LSTM_r_0_h2h_BIAS",
                "01tokenEmbedding_embedding", "positionEmbedding", "04embeddingNorm_gamma", "06transformer_0_01Linear_bias");
        assertEquals(Set.of("02LayerNorm_gamma", "02LayerNorm_beta", "03LSTM_l_0_i2h_BIAS", "03LSTM_r_0_h2h_BIAS",
                "04embeddingNorm_gamma", "06transformer_0_01Linear_bias"), matching(NameRule.biasesAndNorms(), other));
        assertEquals(Set.of("01Embedding_embedding", "01tokenEmbedding_embedding", "positionEmbedding"),
                matching(NameRule.embeddings(), other));
        assertPresetsDisjoint(mlp);
        assertPresetsDisjoint(resnet);
        assertPresetsDisjoint(other);
    }

    // ------------------------------------------------------------------------------ globs and regexes

    @Test
    void globsMatchTheWholeName() {
        NameRule r = NameRule.glob("biases", "*.bias");
        assertTrue(r.matches("fc.bias"));
        assertTrue(r.matches("transformer.h.0.attn.c_attn.bias"));
        assertTrue(r.matches(".bias"));
        assertFalse(r.matches("fc.bias_scale"));
        assertFalse(r.matches("bias"));
        assertFalse(r.matches("fc.Bias"));
        NameRule q = NameRule.glob("layer 0-9 biases", "?_b");
        assertTrue(q.matches("0_b"));
        assertFalse(q.matches("10_b"));
        assertFalse(q.matches("_b"));
        NameRule multi = NameRule.glob("attention", "transformer.h.*.attn.*", "*.ln_?.*");
        assertTrue(multi.matches("transformer.h.11.attn.c_proj.weight"));
        assertTrue(multi.matches("transformer.h.0.ln_2.bias"));
        assertFalse(multi.matches("transformer.h.0.mlp.c_fc.weight"));
        assertTrue(NameRule.glob("all", "*").matches(""));
        assertTrue(NameRule.glob("all", "*").matches("anything.at.all"));
        assertTrue(NameRule.glob("stars", "a**b*c").matches("aXXbYbc"));
        assertFalse(NameRule.glob("stars", "a*b*c").matches("aXXbYcd"));
        assertTrue(NameRule.glob("literal brackets", "w[0]").matches("w[0]"));
        assertFalse(NameRule.glob("literal brackets", "w[0]").matches("w0"));
        assertTrue(NameRule.glob("exact", "0_W").matches("0_W"));
        assertFalse(NameRule.glob("exact", "0_W").matches("10_W"));
        // backtracking across many stars stays correct
        assertTrue(NameRule.glob("deep", "*a*a*a*a*b").matches("aaaaaaaaaaaaaaaaaaaaab"));
        assertFalse(NameRule.glob("deep", "*a*a*a*a*b").matches("aaaaaaaaaaaaaaaaaaaaaa"));
    }

    @Test
    void regexMatchesTheWholeName() {
        NameRule r = NameRule.regex("biases", "bias");
        assertTrue(r.matches("bias"));
        assertFalse(r.matches("fc.bias"), "whole-name match, not find");
        NameRule suffix = NameRule.regex("biases", ".*\\.bias");
        assertTrue(suffix.matches("fc.bias"));
        assertFalse(suffix.matches("fc.bias.x"));
        NameRule layers = NameRule.regex("early layers", "transformer\\.h\\.[0-5]\\..*");
        assertTrue(layers.matches("transformer.h.5.attn.c_attn.weight"));
        assertFalse(layers.matches("transformer.h.6.attn.c_attn.weight"));
        assertTrue(NameRule.regex("any case", "(?i).*layernorm.*").matches("x.LayerNorm.weight"));
    }

    @Test
    void ofExceptOrAndLabels() {
        NameRule big = NameRule.of("long names", n -> n.length() > 10);
        assertTrue(big.matches("abcdefghijk"));
        assertFalse(big.matches("short"));
        NameRule nd = NameRule.biasesAndNorms().except(NameRule.glob("head", "classifier.*"));
        assertEquals("biases and norms except head", nd.label());
        assertTrue(nd.matches("encoder.fc.bias"));
        assertFalse(nd.matches("classifier.bias"));
        assertEquals("no decay", NameRule.biasesAndNorms().withLabel("no decay").label());
        assertEquals("biases and norms", NameRule.biasesAndNorms().label());
        assertEquals("embeddings", NameRule.embeddings().label());
        assertEquals("'b' (glob [*.bias, *_b])", NameRule.glob("b", "*.bias", "*_b").toString());
        assertEquals("'r' (regex .*x)", NameRule.regex("r", ".*x").toString());
    }

    @Test
    void aGlobOfOnePatternIsLabelledByIt() {
        NameRule r = NameRule.glob("*.bias");
        assertEquals("*.bias", r.label());
        assertTrue(r.matches("fc.bias"));
        assertFalse(r.matches("fc.weight"));
    }

    @Test
    void aRuleThatMatchesNothingIsAnErrorUnlessOptional() {
        float[] w = new float[4];
        float[] b = new float[2];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SgdSai.builder().lr(0.1)
                .add("fc.weight", w, w.clone()).add("fc.b", b, b.clone())
                .group(NameRule.glob("*.bias"), g -> g.weightDecay(0)).build());
        assertTrue(e.getMessage().contains("group of rule '*.bias' (glob [*.bias]) matched no tensor"), e.getMessage());
        assertTrue(e.getMessage().contains("[fc.weight, fc.b]"), e.getMessage());
        try (SgdSai opt = SgdSai.builder().lr(0.1).add("fc.weight", w, w.clone()).add("fc.b", b, b.clone())
                .group(NameRule.glob("*.bias").optional(), g -> g.weightDecay(0))
                .group(NameRule.glob("*.b"), g -> g.weightDecay(0.5)).build()) {
            assertEquals(2, opt.groups().size());
            assertEquals(0.5, opt.tensor("fc.b").group().weightDecay());
        }
        assertTrue(NameRule.glob("*.bias").optional().withLabel("x").isOptional());
    }

    @Test
    void badRulesAreRejectedNamingThem() {
        rejected(IllegalArgumentException.class, "rule label is blank", () -> NameRule.glob(" ", "*"));
        rejected(NullPointerException.class, "rule label is null", () -> NameRule.glob(null, "*"));
        rejected(IllegalArgumentException.class, "rule 'x': give at least one glob pattern",
                () -> NameRule.glob("x", new String[0]));
        rejected(IllegalArgumentException.class, "the first argument is the rule's label and '*.bias' looks like a pattern",
                () -> NameRule.glob("*.bias", "*.b"));
        rejected(IllegalArgumentException.class, "glob pattern is empty", () -> NameRule.glob(""));
        rejected(NullPointerException.class, "rule 'x': glob 1 is null", () -> NameRule.glob("x", "*", null));
        rejected(IllegalArgumentException.class, "rule 'x': glob 0 is empty", () -> NameRule.glob("x", ""));
        rejected(IllegalArgumentException.class, "rule 'bad': regex does not compile: Unclosed group",
                () -> NameRule.regex("bad", "(abc"));
        rejected(NullPointerException.class, "rule 'x': regex is null", () -> NameRule.regex("x", null));
        rejected(NullPointerException.class, "rule 'x': predicate is null", () -> NameRule.of("x", null));
        rejected(IllegalArgumentException.class, "rule label is blank", () -> NameRule.biasesAndNorms().withLabel(""));
        rejected(NullPointerException.class, "tensor name is null", () -> NameRule.biasesAndNorms().matches(null));
    }

    // ------------------------------------------------------------------------------ routing

    @Test
    void routeReturnsTheSingleMatchOrMinusOne() {
        NameRules rules = NameRules.of(NameRule.biasesAndNorms(), NameRule.embeddings());
        assertEquals(0, rules.route("fc.bias"));
        assertEquals(1, rules.route("transformer.wte.weight"));
        assertEquals(-1, rules.route("fc.weight"));
        assertFalse(rules.isExhaustive());
        assertTrue(rules.exhaustive().isExhaustive());
        assertEquals(2, rules.rules().size());
        assertEquals(-1, NameRules.of().route("anything"));
        assertEquals(-1, NameRules.of(List.of()).route("anything"));
    }

    @Test
    void twoMatchingRulesAreAnErrorNamingTheTensorAndBothLabels() {
        NameRules rules = NameRules.of(NameRule.biasesAndNorms().withLabel("no decay"), NameRule.glob("head", "lm_head.*"),
                NameRule.glob("biases", "*.bias"));
        assertEquals(1, rules.route("lm_head.weight"));
        rejected(IllegalArgumentException.class, "tensor 'lm_head.bias' matches 3 rules: rule 0 'no decay', rule 1 'head'"
                + " and rule 2 'biases'", () -> rules.route("lm_head.bias"));
        // exactly two: "both"
        rejected(IllegalArgumentException.class, "tensor 'fc.bias' matches both rule 0 'no decay' and rule 2 'biases';"
                + " a tensor may match only one rule", () -> rules.route("fc.bias"));
        // also when exhaustive
        rejected(IllegalArgumentException.class, "matches both rule 0 'no decay' and rule 2 'biases'",
                () -> rules.exhaustive().route("fc.bias"));
    }

    @Test
    void tryRouteDefersTheErrorToBuild() {
        NameRules rules = NameRules.of(NameRule.glob("a", "x.*"), NameRule.glob("b", "*.y")).exhaustive();
        NameRules.Route ok = rules.tryRoute("x.z");
        assertTrue(ok.ok());
        assertEquals(0, ok.rule());
        assertNull(ok.problem());
        assertEquals(0, ok.orThrow());
        NameRules.Route both = rules.tryRoute("x.y");
        assertFalse(both.ok());
        assertEquals(0, both.rule());
        assertEquals("x.y", both.tensor());
        rejected(IllegalArgumentException.class, "tensor 'x.y' matches both rule 0 'a' and rule 1 'b'", both::orThrow);
        NameRules.Route none = rules.tryRoute("w");
        assertEquals(-1, none.rule());
        rejected(IllegalArgumentException.class, "tensor 'w' matches none of the rules ['a', 'b'], but every tensor must"
                + " match one (the rules are exhaustive)", none::orThrow);
        NameRules.Route lenient = NameRules.of(NameRule.glob("a", "x.*")).tryRoute("w");
        assertTrue(lenient.ok());
        assertEquals(-1, lenient.orThrow());
    }

    @Test
    void badRuleListsAreRejected() {
        rejected(IllegalArgumentException.class, "rules 0 and 2 have the same label 'a'",
                () -> NameRules.of(NameRule.glob("a", "*"), NameRule.glob("b", "*"), NameRule.glob("a", "x")));
        rejected(NullPointerException.class, "rule 1 is null", () -> NameRules.of(NameRule.glob("a", "*"), null));
        List<NameRule> withNull = new ArrayList<>(Arrays.asList(NameRule.glob("a", "*"), null));
        rejected(NullPointerException.class, "rule 1 is null", () -> NameRules.of(withNull));
        rejected(NullPointerException.class, "tensor name is null", () -> NameRules.of().route(null));
        assertEquals("NameRules['a' (glob [*])] (exhaustive)", NameRules.of(NameRule.glob("a", "*")).exhaustive().toString());
    }
}
