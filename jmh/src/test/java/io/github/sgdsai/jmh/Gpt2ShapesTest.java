// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class Gpt2ShapesTest {
    @Test
    void parameterCountsAreGpt2s() {
        assertEquals(124_439_808L, Gpt2Shapes.parameters(Gpt2Shapes.Model.SMALL));
        assertEquals(354_823_168L, Gpt2Shapes.parameters(Gpt2Shapes.Model.MEDIUM));
        assertEquals(774_030_080L, Gpt2Shapes.parameters(Gpt2Shapes.Model.LARGE));
    }

    @Test
    void tensorsAndNames() {
        var t = Gpt2Shapes.tensors(Gpt2Shapes.Model.SMALL);
        assertEquals(2 + 12 * 12 + 2, t.size());
        assertEquals("transformer.wte.weight", t.get(0).name());
        assertEquals(50257 * 768, t.get(0).length());
        assertEquals("transformer.h.0.attn.c_attn.weight", t.get(4).name());
        assertEquals(768 * 2304, t.get(4).length());
        assertEquals("transformer.ln_f.bias", t.getLast().name());
    }

    @Test
    void adamMiniBlocksFollowTheOfficialRules() {
        var m = Gpt2Shapes.Model.SMALL;
        var t = Gpt2Shapes.tensors(m);
        assertEquals(768, Gpt2Shapes.adamMiniBlock(m, t.get(0)));              // wte: per token
        assertEquals(1024 * 768, Gpt2Shapes.adamMiniBlock(m, t.get(1)));       // wpe: no rule, one block
        assertEquals(768, Gpt2Shapes.adamMiniBlock(m, t.get(2)));              // ln_1.weight (768): one block
        assertEquals(768 * 2304, Gpt2Shapes.adamMiniBlock(m, t.get(4)));       // c_attn: one block (fused qkv)
        assertEquals(1, Gpt2Shapes.adamMiniBlock(m, t.get(5)));                // bias: per element
        assertEquals(768 * 768, Gpt2Shapes.adamMiniBlock(m, t.get(6)));        // attn.c_proj: one block
        assertEquals(3072, Gpt2Shapes.adamMiniBlock(m, t.get(10)));            // mlp.c_fc (768 × 3072): rows of 3072
        assertEquals(768, Gpt2Shapes.adamMiniBlock(m, t.get(12)));             // mlp.c_proj (3072 × 768): rows of 768
        // 50257 wte rows + wpe + 12 × (4 whole + 8448 bias elements + 768 + 3072 mlp rows) + ln_f.weight + 768
        assertEquals(198_531L, Gpt2Shapes.adamMiniBlocks(m));
    }

    @Test
    void fillIsDeterministic() {
        float[] a = new float[200_000];
        float[] b = new float[200_000];
        Gpt2Shapes.fillNormal(a, 7, 1);
        Gpt2Shapes.fillNormal(b, 7, 1);
        assertEquals(java.util.Arrays.hashCode(a), java.util.Arrays.hashCode(b));
    }
}
