// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official Adam-mini partition (adam-mini 1.1.1) of real models' parameters: Hugging Face GPT-2 small, BERT base
 * and TinyLlama 1.1B (grouped-query attention), every tensor with its name and shape as {@code named_parameters()}
 * lists them. The expected block size of each was derived by hand from {@code Adam_mini.step}'s branches (bias first,
 * then query/key in {@code view(-1, dim·dim/n_heads)}, then embedding/output/value/attention-projection/MLP with
 * {@code mean(g², dim=1)} over the tensor as laid out, else one block), independently of the library, and is written
 * out below; the blocks are consecutive, so a block size gives the boundaries.
 */
class AdamMiniPartitionTest {

    /** A table row: name, shape, expected elements per block, whether the official rule decays it. */
    record Row(String name, int[] shape, int block, boolean decays) {
        int length() {
            int n = 1;
            for (int d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    static Row row(String name, int block, boolean decays, int... shape) {
        return new Row(name, shape, block, decays);
    }

    /** Expands {@code {i}} in the per-layer rows for every layer, between the head and tail rows. */
    static List<Row> model(List<Row> head, List<Row> layer, int layers, List<Row> tail) {
        List<Row> out = new ArrayList<>(head);
        for (int i = 0; i < layers; i++) {
            for (Row r : layer) {
                out.add(new Row(r.name().replace("{i}", Integer.toString(i)), r.shape(), r.block(), r.decays()));
            }
        }
        out.addAll(tail);
        return out;
    }

    // Hugging Face GPT2LMHeadModel, gpt2 (small): d 768, 12 heads, 12 layers; Conv1D weights are (in, out); the lm_head
    // is tied to wte. Only wte is an embedding by name (wpe is not); c_attn and attn.c_proj match no name list.
    static final List<Row> GPT2_SMALL = model(
            List.of(row("transformer.wte.weight", 768, true, 50257, 768),              // embedding: 50257 rows
                    row("transformer.wpe.weight", 1024 * 768, true, 1024, 768)),       // no rule: one block
            List.of(row("transformer.h.{i}.ln_1.weight", 768, false, 768),             // no rule; "ln": no decay
                    row("transformer.h.{i}.ln_1.bias", 1, false, 768),                 // bias: Adam
                    row("transformer.h.{i}.attn.c_attn.weight", 768 * 2304, true, 768, 2304), // fused qkv: one block
                    row("transformer.h.{i}.attn.c_attn.bias", 1, false, 2304),
                    row("transformer.h.{i}.attn.c_proj.weight", 768 * 768, true, 768, 768),   // not "attn.proj"
                    row("transformer.h.{i}.attn.c_proj.bias", 1, false, 768),
                    row("transformer.h.{i}.ln_2.weight", 768, false, 768),
                    row("transformer.h.{i}.ln_2.bias", 1, false, 768),
                    row("transformer.h.{i}.mlp.c_fc.weight", 3072, true, 768, 3072),   // mlp: 768 rows of 3072
                    row("transformer.h.{i}.mlp.c_fc.bias", 1, false, 3072),
                    row("transformer.h.{i}.mlp.c_proj.weight", 768, true, 3072, 768),  // mlp: 3072 rows of 768
                    row("transformer.h.{i}.mlp.c_proj.bias", 1, false, 768)),
            12,
            List.of(row("transformer.ln_f.weight", 768, false, 768),
                    row("transformer.ln_f.bias", 1, false, 768)));

    // Hugging Face BertModel, bert-base-uncased: d 768, 12 heads, 12 layers, ffn 3072; Linear weights are (out, in).
    // "embeddings.LayerNorm.weight" and "output.LayerNorm.weight" match a per-row rule but are 1-D: the official code
    // fails on them, the library makes each one block.
    static final List<Row> BERT_BASE = model(
            List.of(row("embeddings.word_embeddings.weight", 768, true, 30522, 768),
                    row("embeddings.position_embeddings.weight", 768, true, 512, 768),
                    row("embeddings.token_type_embeddings.weight", 768, true, 2, 768),
                    row("embeddings.LayerNorm.weight", 768, false, 768),               // 1-D row rule: one block
                    row("embeddings.LayerNorm.bias", 1, false, 768)),                  // bias before embedding
            List.of(row("encoder.layer.{i}.attention.self.query.weight", 49152, true, 768, 768),  // 768²/12
                    row("encoder.layer.{i}.attention.self.query.bias", 1, false, 768),   // bias before query
                    row("encoder.layer.{i}.attention.self.key.weight", 49152, true, 768, 768),
                    row("encoder.layer.{i}.attention.self.key.bias", 1, false, 768),
                    row("encoder.layer.{i}.attention.self.value.weight", 768, true, 768, 768),
                    row("encoder.layer.{i}.attention.self.value.bias", 1, false, 768),
                    row("encoder.layer.{i}.attention.output.dense.weight", 768, true, 768, 768),
                    row("encoder.layer.{i}.attention.output.dense.bias", 1, false, 768),  // bias before output
                    row("encoder.layer.{i}.attention.output.LayerNorm.weight", 768, false, 768),
                    row("encoder.layer.{i}.attention.output.LayerNorm.bias", 1, false, 768),
                    row("encoder.layer.{i}.intermediate.dense.weight", 3072 * 768, true, 3072, 768), // no rule
                    row("encoder.layer.{i}.intermediate.dense.bias", 1, false, 3072),
                    row("encoder.layer.{i}.output.dense.weight", 3072, true, 768, 3072),  // output: rows of 3072
                    row("encoder.layer.{i}.output.dense.bias", 1, false, 768),
                    row("encoder.layer.{i}.output.LayerNorm.weight", 768, false, 768),
                    row("encoder.layer.{i}.output.LayerNorm.bias", 1, false, 768)),
            12,
            List.of(row("pooler.dense.weight", 768 * 768, true, 768, 768),
                    row("pooler.dense.bias", 1, false, 768)));

    // Hugging Face LlamaForCausalLM, TinyLlama-1.1B: d 2048, 32 heads, 4 key/value heads, 22 layers, ffn 5632, vocab
    // 32000, untied lm_head. Query/key blocks are 2048²/32 = 131072 elements: 32 for q_proj, 4 for k_proj.
    static final List<Row> TINY_LLAMA = model(
            List.of(row("model.embed_tokens.weight", 2048, true, 32000, 2048)),
            List.of(row("model.layers.{i}.self_attn.q_proj.weight", 131072, true, 2048, 2048),
                    row("model.layers.{i}.self_attn.k_proj.weight", 131072, true, 256, 2048),
                    row("model.layers.{i}.self_attn.v_proj.weight", 2048, true, 256, 2048),
                    row("model.layers.{i}.self_attn.o_proj.weight", 2048, true, 2048, 2048),
                    row("model.layers.{i}.mlp.gate_proj.weight", 2048, true, 5632, 2048),
                    row("model.layers.{i}.mlp.up_proj.weight", 2048, true, 5632, 2048),
                    row("model.layers.{i}.mlp.down_proj.weight", 5632, true, 2048, 5632),  // rows of ffn
                    row("model.layers.{i}.input_layernorm.weight", 2048, false, 2048),
                    row("model.layers.{i}.post_attention_layernorm.weight", 2048, false, 2048)),
            22,
            List.of(row("model.norm.weight", 2048, false, 2048),
                    row("lm_head.weight", 2048, true, 32000, 2048)));

    static void assertTable(List<Row> table, int dim, int heads, long parameters, long blocks, int tensors) {
        assertEquals(tensors, table.size(), "tensor count");
        long n = 0;
        long b = 0;
        NameRule noDecay = AdamMini.officialNoDecay();
        for (Row r : table) {
            AdamMini.Partition p = AdamMini.officialPartition(r.name(), r.shape(), dim, heads);
            int size = p.blockSize(r.name(), r.length());
            assertEquals(r.block(), size, r.name() + ": elements per block (" + p + ")");
            assertEquals(!r.decays(), noDecay.matches(r.name()), r.name() + ": official weight decay");
            n += r.length();
            b += r.length() / size;
        }
        assertEquals(parameters, n, "parameters");
        assertEquals(blocks, b, "second-moment blocks");
    }

    @Test
    void gpt2SmallIsPartitionedAsTheOfficialPackageDoes() {
        // 50257 wte rows + wpe + 12 × (4 whole + 8448 bias elements + 768 + 3072 mlp rows) + ln_f weight + 768
        assertTable(GPT2_SMALL, 768, 12, 124_439_808L, 50257 + 1 + 12 * (4 + 8448 + 3840) + 1 + 768, 148);
    }

    @Test
    void bertBaseIsPartitionedAsTheOfficialPackageDoes() {
        // embeddings 30522 + 512 + 2 + 1 + 768; per layer 12 + 12 query/key heads, 768 + 768 value/attention-output
        // rows, 768 output rows, 2 + 1 whole, 768·7 + 3072 bias elements; pooler 1 + 768
        assertTable(BERT_BASE, 768, 12, 109_482_240L,
                31805 + 12L * (24 + 1536 + 768 + 3 + 7 * 768 + 3072) + 769, 5 + 12 * 16 + 2);
    }

    @Test
    void tinyLlamaWithGroupedQueryAttentionIsPartitionedAsTheOfficialPackageDoes() {
        // per layer 32 + 4 heads, 256 + 2048 + 5632 + 5632 + 2048 rows, 2 norms; embed and lm_head 32000 rows each
        assertTable(TINY_LLAMA, 2048, 32, 1_100_048_384L, 32000 + 22L * (36 + 15616 + 2) + 1 + 32000, 1 + 22 * 9 + 2);
    }

    @Test
    void groupedQueryHeadsGivesTheSameBlocksForLlamaAndCutsWiderHeads() {
        // TinyLlama: one block per head either way (q 32, k 4)
        int d = 2048;
        try (AdamMini opt = AdamMini.builder().lr(1e-3).modelShape(d, 32).groupedQueryHeads(4)
                .add("self_attn.q_proj.weight", new float[d * d], new float[d * d], d, d)
                .add("self_attn.k_proj.weight", new float[256 * d], new float[256 * d], 256, d)
                .build()) {
            assertEquals(d * d / 32, opt.tensor("self_attn.q_proj.weight").blockSize());
            assertEquals(256 * d / 4, opt.tensor("self_attn.k_proj.weight").blockSize());
        }
        // Gemma 7B: d 3072, 16 heads of 256 (q_proj 4096 × 3072): 3072²/16 does not divide q_proj; the official code
        // fails, and so does modelShape; groupedQueryHeads cuts one block per head.
        int[] gemmaQ = {4096, 3072};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdamMini.officialPartition("model.layers.0.self_attn.q_proj.weight", gemmaQ, 3072, 16));
        assertTrue(e.getMessage().contains("'model.layers.0.self_attn.q_proj.weight'") && e.getMessage().contains("589824"),
                e.getMessage());
        // Scaled down 64×: d 48, 16 heads of 4 (q_proj 64 × 48; 48²/16 = 144 does not divide 3072)
        float[] p = new float[64 * 48];
        Supplier<AdamMini.Builder> gemma = () -> AdamMini.builder().lr(1e-3).modelShape(48, 16)
                .add("self_attn.q_proj.weight", p, new float[p.length], 64, 48);
        assertRejected(() -> gemma.get().build(), "'self_attn.q_proj.weight'", "144");
        try (AdamMini opt = gemma.get().groupedQueryHeads(16).build()) {
            assertEquals(64 * 48 / 16, opt.tensor("self_attn.q_proj.weight").blockSize());
        }
        assertRejected(() -> gemma.get().groupedQueryHeads(5).build(), "groupedQueryHeads(5)", "16");
        assertRejected(() -> AdamMini.builder().lr(1e-3).groupedQueryHeads(2).add("w", p, new float[p.length]).build(),
                "needs modelShape");
        assertThrows(IllegalArgumentException.class, () -> AdamMini.builder().groupedQueryHeads(0));
    }

    @Test
    void theBuilderGivesTheTablesPartitionsToTensorsAddedWithTheirShapes() {
        // one GPT-2-small layer and ln_f through the builder (the whole model would need a gigabyte of arrays)
        List<Row> rows = new ArrayList<>(GPT2_SMALL.subList(2, 14));              // transformer.h.0.*
        rows.addAll(GPT2_SMALL.subList(GPT2_SMALL.size() - 2, GPT2_SMALL.size())); // transformer.ln_f.*
        assertEquals("transformer.h.0.ln_1.weight", rows.get(0).name());
        assertEquals("transformer.h.0.mlp.c_proj.bias", rows.get(11).name());
        AdamMini.Builder b = AdamMini.builder().lr(1e-3).weightDecay(0.1).official(768, 12);
        for (Row r : rows) {
            b.add(r.name(), new float[r.length()], new float[r.length()], r.shape());
        }
        try (AdamMini opt = b.build()) {
            for (Row r : rows) {
                Optimizer.Tensor t = opt.tensor(r.name());
                assertEquals(r.block(), t.blockSize(), r.name());
                assertEquals(r.decays() ? 0.1 : 0.0, t.group().weightDecay(), r.name() + " weight decay");
            }
        }
    }

    @Test
    void ruleOrderPutsBiasFirstThenQueryKeyThenRows() {
        int[] vec = {768};
        int[] mat = {768, 768};
        // bias wins over every other list
        for (String name : new String[] {"attention.self.query.bias", "attention.self.key.bias", "embeddings.LayerNorm.bias",
                "output.dense.bias", "lm_head.bias", "mlp.bias", "Some.BIAS"}) {
            assertEquals(AdamMini.Partition.perElement(), AdamMini.officialPartition(name, vec, 768, 12), name);
        }
        // query/key wins over rows: a name with both is cut into heads
        assertEquals(49152, AdamMini.officialPartition("mlp.query.weight", mat, 768, 12).blockSize("x", 768 * 768));
        assertEquals(49152, AdamMini.officialPartition("output.key", mat, 768, 12).blockSize("x", 768 * 768));
        // every name of every per-row list, matched anywhere in the lower-cased name
        for (String name : new String[] {"EMBED", "x.embd.y", "wte", "lm_head", "Output", "final_layer", "v_proj", "wv",
                "value", "o_proj", "wo", "attn.proj", "feed_forward", "Linear", "mlp"}) {
            assertEquals(AdamMini.Partition.perRow(4), AdamMini.officialPartition(name, new int[] {3, 4}, 768, 12), name);
        }
        assertEquals(AdamMini.Partition.whole(), AdamMini.officialPartition("attn.c_proj.weight", mat, 768, 12));
        assertEquals(AdamMini.Partition.whole(), AdamMini.officialPartition("norm.weight", mat, 768, 12));
    }

    @Test
    void rowsFollowTheShapeWhateverItsRank() {
        // 2-D: rows as laid out, also (n, 1) (per element) and (1, n) (one block), as mean(dim=1) gives them
        assertEquals(1, AdamMini.officialPartition("mlp.w", new int[] {12, 1}, 8, 2).blockSize("x", 12));
        assertEquals(12, AdamMini.officialPartition("mlp.w", new int[] {1, 12}, 8, 2).blockSize("x", 12));
        // rank 0 and 1: one block (the official code fails)
        assertEquals(AdamMini.Partition.whole(), AdamMini.officialPartition("output.LayerNorm.weight", new int[] {768}, 768, 12));
        assertEquals(AdamMini.Partition.whole(), AdamMini.officialPartition("output.scale", new int[0], 768, 12));
        // rank 3 and 4: one block per slice along the first axis (official: the same when the rest is (b, 1, ..))
        assertEquals(AdamMini.Partition.perRow(3 * 3 * 5), AdamMini.officialPartition("mlp.conv.weight",
                new int[] {8, 5, 3, 3}, 8, 2));
        assertEquals(AdamMini.Partition.perRow(5), AdamMini.officialPartition("mlp.w", new int[] {8, 5, 1, 1}, 8, 2));
        // a query/key vector that cannot hold dim²/heads blocks is one block; a matrix is refused
        assertEquals(AdamMini.Partition.whole(), AdamMini.officialPartition("query_norm.weight", new int[] {1, 96}, 768, 12));
        assertThrows(IllegalArgumentException.class,
                () -> AdamMini.officialPartition("q_proj.weight", new int[] {96, 768}, 768, 12));
        // the shape-less form keeps the rows of dim it always had, and refuses what it cannot cut
        assertEquals(AdamMini.Partition.perRow(768), AdamMini.officialPartition("mlp.c_fc.weight", 768 * 3072, 768, 12));
        assertEquals(AdamMini.Partition.whole(), AdamMini.officialPartition("output.LayerNorm.weight", 768, 768, 12));
        assertEquals(AdamMini.Partition.perElement(), AdamMini.officialPartition("embeddings.LayerNorm.bias", 768, 768, 12));
        assertThrows(IllegalArgumentException.class, () -> AdamMini.officialPartition("q_proj.weight", 96, 768, 12));
        assertThrows(IllegalArgumentException.class, () -> AdamMini.officialPartition("q_proj.weight", new int[] {0, 3}, 8, 2));
        assertThrows(IllegalArgumentException.class, () -> AdamMini.officialPartition("w", new int[] {2}, 0, 2));
        assertRejected(() -> AdamMini.officialPartition("q_proj.weight", new int[] {10, 10}, 10, 3), "'q_proj.weight'",
                "not a multiple of 3");
    }

    @Test
    void theOfficialWeightDecayRuleIsASubstringRuleQuirksIncluded() {
        NameRule r = AdamMini.officialNoDecay();
        for (String name : new String[] {"ln_f.weight", "h.0.ln_1.bias", "embeddings.LayerNorm.weight", "model.norm.weight",
                "fc.bias", "Block.LN.weight", // lower-cased first
                "head.kiln.weight", "vulnerable.weight", "encoder.normalizer.weight", "unbiased_scale",  // quirks
                "02BatchNorm_gamma"}) {
            assertTrue(r.matches(name), name);
        }
        for (String name : new String[] {"0_b", "1_W", "01Linear_weight", "mlp.c_fc.weight", "model.embed_tokens.weight",
                "02Conv2d_beta"}) {
            assertFalse(r.matches(name), name);
        }
        // official(dim, heads) = modelShape + the rule as a group with λ = 0
        float[] a = new float[4];
        float[] c = new float[4];
        try (AdamMini opt = AdamMini.builder().lr(1e-3).weightDecay(0.2).official(2, 1)
                .add("mlp.weight", a, new float[4], 2, 2).add("ln.weight", c, new float[4], 4).build()) {
            assertEquals(0.2, opt.tensor("mlp.weight").group().weightDecay());
            assertEquals(0.0, opt.tensor("ln.weight").group().weightDecay());
            assertEquals(2, opt.tensor("mlp.weight").blockSize());
            assertEquals(4, opt.tensor("ln.weight").blockSize());
        }
        // a model without such names has no such group (the rule is optional)
        try (AdamMini opt = AdamMini.builder().lr(1e-3).weightDecay(0.2).official(2, 1)
                .add("0_W", a, new float[4], 2, 2).add("0_b", c, new float[4], 1, 4).build()) {
            assertEquals(1, opt.groups().size());
            assertEquals(0.2, opt.tensor("0_b").group().weightDecay());
        }
    }

    @Test
    void defaultsAreTheOfficialPackages() {
        try (AdamMini opt = AdamMini.builder().lr(1e-3).add("w", new float[3], new float[3]).build()) {
            Optimizer.Group g = opt.group(0);
            assertEquals(0.0, g.weightDecay());
            assertEquals(0.9, g.beta1());
            assertEquals(0.999, g.beta2());
            assertEquals(1e-8, g.eps());
        }
    }

    @Test
    void aShapeMustFitItsTensor() {
        float[] p = new float[12];
        float[] g = new float[12];
        assertRejected(() -> AdamMini.builder().lr(1).add("mlp.w", p, g, 5, 2), "'mlp.w'", "[5, 2]", "10", "12");
        assertRejected(() -> AdamMini.builder().lr(1).add("mlp.w", p, g, 12, 0), "'mlp.w'", "[12, 0]", "below 1");
        assertRejected(() -> AdamMini.builder().lr(1).add("mlp.w", p, g, 65536, 65536, 4), "'mlp.w'", "more than");
        assertRejected(() -> AdamMini.builder().lr(1).add("mlp.w", p, g, new int[0]), "'mlp.w'", "[]");
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> AdamMini.builder().lr(1).add("mlp.w", p, g, (int[]) null));
        assertTrue(e.getMessage().contains("'mlp.w'"), e.getMessage());
        // every add form takes a shape; the other optimizers ignore it
        java.nio.FloatBuffer bp = java.nio.FloatBuffer.allocate(12);
        java.nio.FloatBuffer bg = java.nio.FloatBuffer.allocate(12);
        try (AdamMini opt = AdamMini.builder().lr(1).modelShape(4, 1).add("mlp.a", p, g, 3, 4).add("mlp.b", bp, bg, 2, 6)
                .add("mlp.c", FloatSpan.of(new float[12]), FloatSpan.of(new float[12]), 1, 12, 1).build()) {
            assertEquals(4, opt.tensor("mlp.a").blockSize());
            assertEquals(6, opt.tensor("mlp.b").blockSize());
            assertEquals(12, opt.tensor("mlp.c").blockSize());
        }
        try (AdamW opt = AdamW.builder().lr(1).add("mlp.a", p, g, 3, 4).build()) {
            assertEquals(1, opt.tensor("mlp.a").blockSize());
        }
    }

    /** Records what is logged. */
    static final class Recorder implements System.Logger {
        final List<String> warnings = new ArrayList<>();

        @Override
        public String getName() {
            return "recorder";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            warnings.add(level + " " + msg);
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            warnings.add(level + " " + java.text.MessageFormat.format(format, params));
        }
    }

    @Test
    void aRowRuleTensorWithoutShapeKeepsRowsOfDimAndWarnsOnceNamingIt() {
        Recorder rec = new Recorder();
        AdamMini.Builder b = AdamMini.builder().lr(1e-3).modelShape(8, 2)
                .add("mlp.c_fc.weight", new float[8 * 32], new float[8 * 32])             // rows guessed: of 8
                .add("output.LayerNorm.weight", new float[8], new float[8])               // one block, guessed
                .add("mlp.c_proj.weight", new float[32 * 8], new float[32 * 8], 32, 8)    // shaped: no warning
                .add("mlp.c_fc.bias", new float[32], new float[32])                       // bias: needs no shape
                .add("attn.q_proj.weight", new float[64], new float[64])                  // nor do query/key
                .add("ln_1.weight", new float[8], new float[8]);                          // nor anything else
        b.log = rec;
        try (AdamMini opt = b.build()) {
            assertEquals(8, opt.tensor("mlp.c_fc.weight").blockSize());
            assertEquals(8, opt.tensor("output.LayerNorm.weight").blockSize());
            assertEquals(8, opt.tensor("mlp.c_proj.weight").blockSize());
            assertEquals(1, opt.tensor("mlp.c_fc.bias").blockSize());
            assertEquals(32, opt.tensor("attn.q_proj.weight").blockSize());
        }
        assertEquals(2, rec.warnings.size(), rec.warnings.toString());
        assertTrue(rec.warnings.get(0).startsWith("WARNING") && rec.warnings.get(0).contains("'mlp.c_fc.weight'")
                && rec.warnings.get(0).contains("rows of dim = 8"), rec.warnings.get(0));
        assertTrue(rec.warnings.get(1).contains("'output.LayerNorm.weight'") && rec.warnings.get(1).contains("one block"),
                rec.warnings.get(1));
        // without modelShape nothing is guessed, so nothing is said
        Recorder quiet = new Recorder();
        AdamMini.Builder plain = AdamMini.builder().lr(1e-3).add("mlp.c_fc.weight", new float[8], new float[8]);
        plain.log = quiet;
        plain.build().close();
        assertEquals(List.of(), quiet.warnings);
    }

    @Test
    void aQueryOrKeyTensorThatCannotBeCutIsRefusedAtBuildNamingIt() {
        assertRejected(() -> AdamMini.builder().lr(1e-3).modelShape(8, 2)
                        .add("attn.k_proj.weight", new float[40], new float[40], 5, 8).build(),
                "'attn.k_proj.weight'", "32", "[5, 8]", "partition");
        // an explicit partition wins
        try (AdamMini opt = AdamMini.builder().lr(1e-3).modelShape(8, 2)
                .add("attn.k_proj.weight", new float[40], new float[40], 5, 8)
                .partition("attn.k_proj.weight", AdamMini.Partition.perRow(8)).build()) {
            assertEquals(8, opt.tensor("attn.k_proj.weight").blockSize());
        }
    }

    static void assertRejected(Runnable r, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message lacks '" + f + "': " + e.getMessage());
        }
    }
}
