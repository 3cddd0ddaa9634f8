#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Independent NumPy implementation of Adam-mini as the official package (adam-mini 1.1.1, Adam_mini.step)
partitions and steps real parameter names, writing the fixtures core's AdamMiniOfficialFixtureTest checks
AdamMini.builder().official(dim, heads) against (and backend-cpu's test, on the vector backend).

Run from the repository root with Debian's python3-numpy:
    python3 core/src/test/python/make_adam_mini_official_fixtures.py
Only NumPy is used; nothing here calls the Java code or copies the official code: the rules below are written from
reading Adam_mini.step. For each name and shape this script decides the official branch and how that branch cuts the
tensor (rules in `official_block`), then runs several steps twice:

  * "official": the official branch's float32 operations in torch's order (bias: addcmul / addcdiv; other
    branches: mean(g*g, dim=1) or sum(g*g)/numel summed in float32, vmean*b2 + (1-b2)*mean,
    update = m * ((1/bc1) / h) * lr with 1/h computed as a reciprocal, as torch's float/Tensor does). The Java
    test compares parameters with |dp| <= 1e-6 * max(|p|, lr): float32 sums and torch's own sqrt/fma choices
    cannot be reproduced bit for bit (REFERENCE-NOTES.md).
  * "library": the float arithmetic AdamMini documents (block mean in double in the fixed 16-lane order of
    ScalarBackend.sumSquares, v = fma((f)(1-b2), q, v*(f)b2), p = p*(f)(1-wd*lr) + ((f)(-lr/bc1)*m)/d), with
    exactly rounded float32 FMA. The Java test requires parameters, m and every block's v bit for bit.

Where the official code fails (a 1-D tensor whose name matches a per-row rule, e.g. BERT's LayerNorm weights
under "embeddings" or "output"), both runs use the library's documented choice, one block; such tensors are
marked "deviation" in the fixture.
"""
import os
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures")
f32 = np.float32
f64 = np.float64

# adam-mini 1.1.1, Adam_mini.__init__: substrings of the lower-cased name
EMBD = ("embed", "embd", "wte")
OUTPUT = ("lm_head", "output", "final_layer")
WQK = ("k_proj", "q_proj", "wq", "wk", "query", "key")
WV = ("v_proj", "wv", "value")
ATTN_PROJ = ("o_proj", "wo", "attn.proj")
MLP = ("feed_forward", "linear", "mlp")
SUM_BLOCK, SUM_LANES = 4096, 16  # ScalarBackend.sumSquares' order


def has(s, parts):
    return any(p in s for p in parts)


def official_branch(name):
    """The branch of Adam_mini.step a parameter takes: its if/elif order."""
    s = name.lower()
    if "bias" in s:
        return "adam"
    if has(s, WQK):
        return "qk"
    if has(s, EMBD) or has(s, OUTPUT) or has(s, WV) or has(s, MLP) or has(s, ATTN_PROJ):
        return "rows"
    return "whole"


def official_decays(name):
    s = name.lower()
    return not ("norm" in s or "ln" in s or "bias" in s)


def official_block(name, shape, dim, heads):
    """(elements per block, deviation?) as the official branch cuts a tensor of `shape`."""
    n = int(np.prod(shape))
    b = official_branch(name)
    if b == "adam":
        return 1, False
    if b == "qk":
        assert dim * dim % heads == 0
        head_numel = dim * dim // heads          # m.view(-1, head_numel)
        assert n % head_numel == 0, name
        return head_numel, False
    if b == "rows":
        if len(shape) < 2:                       # m[0:n, 0:1] fails on a 1-D tensor
            return n, True
        assert len(shape) == 2, name             # mean(dim=1) of a 2-D tensor: rows as laid out
        return shape[1], False
    return n, False


# ---- exactly rounded float32 arithmetic -----------------------------------------------------------------------------

def fma(a, b, c):
    """float32 fma(a, b, c), exactly rounded: the product of two floats is exact in float64; where the one rounding
    of the sum to float64 lands exactly on a float32 midpoint, its error (TwoSum) says which neighbour is nearer."""
    a, b, c = np.broadcast_arrays(np.asarray(a, f32), np.asarray(b, f32), np.asarray(c, f32))
    s = a.astype(f64) * b.astype(f64)
    c64 = c.astype(f64)
    r = s + c64
    bb = r - s
    err = (s - (r - bb)) + (c64 - bb)            # r + err == s + c exactly
    out = r.astype(f32)
    back = out.astype(f64)
    other = np.nextafter(out, np.where(r > back, f32(np.inf), f32(-np.inf)).astype(f32))
    tie = (r != back) & (2 * (r - back) == other.astype(f64) - back)
    lo, hi = np.minimum(out, other), np.maximum(out, other)
    fixed = np.where(err > 0, hi, lo)
    return np.where(tie & (err != 0), fixed, out).astype(f32)


def lerp(m, g, w):
    """torch's float lerp (and ScalarBackend.lerp)."""
    d = (g - m).astype(f32)
    if w < f32(0.5):
        return fma(w, d, m)
    return fma(f32(w - f32(1)), d, g)


def sum_squares(g):
    """ScalarBackend.sumSquares(g, 1, 0, n): float64, blocks of 4096, 16 lanes each, everything in order."""
    total = 0.0
    for b in range(0, len(g), SUM_BLOCK):
        e = min(len(g), b + SUM_BLOCK)
        block = 0.0
        for lane in range(SUM_LANES):
            acc = 0.0
            for x in g[b + lane:e:SUM_LANES]:
                x = float(x)
                acc += x * x
            block += acc
        total += block
    return total


# ---- the two steppers -----------------------------------------------------------------------------------------------

class Library:
    """AdamMini's documented float arithmetic."""

    def __init__(self, p, block):
        self.p, self.block = p.copy(), block
        self.m = np.zeros_like(p)
        self.v = np.zeros(len(p) // block, f32)

    def step(self, g, t, lr, b1, b2, eps, wd):
        bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        sbc2, neg = f32(np.sqrt(bc2)), f32(-lr / bc1)
        p = (self.p * f32(1.0 - wd * lr)).astype(f32)
        self.m = lerp(self.m, g, f32(1.0 - b1))
        if self.block == 1:
            self.v = fma((f32(1.0 - b2) * g).astype(f32), g, (self.v * f32(b2)).astype(f32))
            d = self.v
        else:
            k = self.block
            q = np.array([f32(sum_squares(g[i * k:(i + 1) * k]) / k) for i in range(len(self.v))], f32)
            self.v = fma(f32(1.0 - b2), q, (self.v * f32(b2)).astype(f32))
            d = np.repeat(self.v, k)
        d = (np.sqrt(d).astype(f32) / sbc2 + f32(eps)).astype(f32)
        self.p = (p + ((neg * self.m).astype(f32) / d).astype(f32)).astype(f32)


class Official:
    """The official branch's torch operations, emulated in float32 (sums in float32, pairwise)."""

    def __init__(self, p, block, branch):
        self.p, self.block, self.branch = p.copy(), block, branch
        self.m = np.zeros_like(p)
        self.v = np.zeros(len(p) if branch == "adam" else len(p) // block, f32)

    def step(self, g, t, lr, b1, b2, eps, wd):
        bc1, bc2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        sbc2 = f32(np.sqrt(bc2))
        if self.branch == "adam":
            # v.mul_(b2).addcmul_(g, g, value=1-b2); p.mul_(1-lr*wd); m.lerp_; h = sqrt(v)/sbc2 + eps;
            # p.addcdiv_(m, h, value=-lr/bc1)
            self.v = ((self.v * f32(b2)).astype(f32) + ((f32(1.0 - b2) * g).astype(f32) * g).astype(f32)).astype(f32)
            if wd > 0:
                self.p = (self.p * f32(1.0 - lr * wd)).astype(f32)
            self.m = lerp(self.m, g, f32(1.0 - b1))
            h = ((np.sqrt(self.v).astype(f32) / sbc2).astype(f32) + f32(eps)).astype(f32)
            self.p = (self.p + ((f32(-lr / bc1) * self.m).astype(f32) / h).astype(f32)).astype(f32)
            return
        k = self.block
        sq = (g * g).astype(f32).reshape(-1, k)
        tmp = (np.sum(sq, axis=1, dtype=f32) / f32(k)).astype(f32)   # mean(g*g, dim=1) or sum(g*g)/numel
        if wd > 0:
            self.p = (self.p * f32(1.0 - lr * wd)).astype(f32)
        self.m = lerp(self.m, g, f32(1.0 - b1))
        self.v = fma(tmp, f32(1.0 - b2), (self.v * f32(b2)).astype(f32))  # vmean.mul_(b2).add_(tmp, alpha=1-b2)
        h = ((np.sqrt(self.v).astype(f32) / sbc2).astype(f32) + f32(eps)).astype(f32)
        stepsize = ((f32(1) / h).astype(f32) * f32(1.0 / bc1)).astype(f32)  # (1/bc1) / h = h.reciprocal() * (1/bc1)
        update = ((self.m.reshape(-1, k) * stepsize[:, None]).astype(f32) * f32(lr)).astype(f32).reshape(-1)
        self.p = (self.p + (-update)).astype(f32)


def floats(xs):
    """Shortest decimal strings that read back as the same float32 values."""
    return " ".join(str(f32(x)) for x in xs)


def run(case, tensors, dim, heads, lr, betas, eps, wd, steps, seed):
    """tensors: (name, shape) in named_parameters() order. Writes fixtures/<case>.txt."""
    rng = np.random.default_rng(seed)
    b1, b2 = betas
    lines = [f"# generated by core/src/test/python/make_adam_mini_official_fixtures.py (numpy {np.__version__}); "
             "do not edit",
             f"dim {dim}", f"heads {heads}", f"lr {lr!r}", f"beta1 {b1!r}", f"beta2 {b2!r}", f"eps {eps!r}",
             f"weight_decay {wd!r}", f"steps {steps}"]
    for name, shape in tensors:
        n = int(np.prod(shape))
        block, deviation = official_block(name, shape, dim, heads)
        branch = official_branch(name) if not deviation else "whole"
        decays = official_decays(name)
        p = (rng.standard_normal(n) * 0.5).astype(f32)
        rows = shape[0] if len(shape) == 2 else 1
        grads = []
        for _ in range(steps):
            # rows of different magnitudes, so that a wrong cut changes the result
            row_scale = np.repeat(np.exp(rng.standard_normal(rows)), n // rows)
            grads.append((rng.standard_normal(n) * row_scale).astype(f32))
        lib, off = Library(p, block), Official(p, block, branch)
        for k in range(steps):
            lib.step(grads[k], k + 1, lr, b1, b2, eps, wd if decays else 0.0)
            off.step(grads[k], k + 1, lr, b1, b2, eps, wd if decays else 0.0)
        lines.append(f"tensor {name} {','.join(map(str, shape))} {block} {int(decays)} "
                     f"{'deviation' if deviation else branch}")
        lines.append("param " + floats(p))
        for g in grads:
            lines.append("grad " + floats(g))
        lines.append("final " + floats(lib.p))
        lines.append("m " + floats(lib.m))
        lines.append("v " + floats(lib.v))
        lines.append("official " + floats(off.p))
        lines.append("official_v " + floats(off.v))
    with open(os.path.join(OUT, case + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def gpt2(vocab, ctx, d, layers):
    """Hugging Face GPT2LMHeadModel.named_parameters() (lm_head tied to wte): Conv1D weights are (in, out)."""
    t = [("transformer.wte.weight", (vocab, d)), ("transformer.wpe.weight", (ctx, d))]
    for i in range(layers):
        h = f"transformer.h.{i}."
        t += [(h + "ln_1.weight", (d,)), (h + "ln_1.bias", (d,)),
              (h + "attn.c_attn.weight", (d, 3 * d)), (h + "attn.c_attn.bias", (3 * d,)),
              (h + "attn.c_proj.weight", (d, d)), (h + "attn.c_proj.bias", (d,)),
              (h + "ln_2.weight", (d,)), (h + "ln_2.bias", (d,)),
              (h + "mlp.c_fc.weight", (d, 4 * d)), (h + "mlp.c_fc.bias", (4 * d,)),
              (h + "mlp.c_proj.weight", (4 * d, d)), (h + "mlp.c_proj.bias", (d,))]
    return t + [("transformer.ln_f.weight", (d,)), ("transformer.ln_f.bias", (d,))]


def bert(vocab, pos, types, d, inter, layers):
    """Hugging Face BertModel.named_parameters(): Linear weights are (out, in)."""
    t = [("embeddings.word_embeddings.weight", (vocab, d)), ("embeddings.position_embeddings.weight", (pos, d)),
         ("embeddings.token_type_embeddings.weight", (types, d)),
         ("embeddings.LayerNorm.weight", (d,)), ("embeddings.LayerNorm.bias", (d,))]
    for i in range(layers):
        e = f"encoder.layer.{i}."
        for x in ("query", "key", "value"):
            t += [(e + f"attention.self.{x}.weight", (d, d)), (e + f"attention.self.{x}.bias", (d,))]
        t += [(e + "attention.output.dense.weight", (d, d)), (e + "attention.output.dense.bias", (d,)),
              (e + "attention.output.LayerNorm.weight", (d,)), (e + "attention.output.LayerNorm.bias", (d,)),
              (e + "intermediate.dense.weight", (inter, d)), (e + "intermediate.dense.bias", (inter,)),
              (e + "output.dense.weight", (d, inter)), (e + "output.dense.bias", (d,)),
              (e + "output.LayerNorm.weight", (d,)), (e + "output.LayerNorm.bias", (d,))]
    return t + [("pooler.dense.weight", (d, d)), ("pooler.dense.bias", (d,))]


def llama(vocab, d, heads, kv_heads, ffn, layers):
    """Hugging Face LlamaForCausalLM.named_parameters() (untied lm_head), grouped-query attention."""
    hd = d // heads
    t = [("model.embed_tokens.weight", (vocab, d))]
    for i in range(layers):
        l = f"model.layers.{i}."
        t += [(l + "self_attn.q_proj.weight", (heads * hd, d)), (l + "self_attn.k_proj.weight", (kv_heads * hd, d)),
              (l + "self_attn.v_proj.weight", (kv_heads * hd, d)), (l + "self_attn.o_proj.weight", (d, heads * hd)),
              (l + "mlp.gate_proj.weight", (ffn, d)), (l + "mlp.up_proj.weight", (ffn, d)),
              (l + "mlp.down_proj.weight", (d, ffn)),
              (l + "input_layernorm.weight", (d,)), (l + "post_attention_layernorm.weight", (d,))]
    return t + [("model.norm.weight", (d,)), ("lm_head.weight", (vocab, d))]


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    run("adam_mini_official_gpt2", gpt2(11, 6, 8, 2), 8, 2, 5e-3, (0.9, 0.999), 1e-8, 0.1, 5, 21)
    run("adam_mini_official_bert", bert(13, 6, 2, 8, 16, 1), 8, 2, 2e-3, (0.3, 0.95), 1e-6, 0.05, 4, 22)
    run("adam_mini_official_llama_gqa", llama(10, 8, 4, 2, 12, 1), 8, 4, 1e-3, (0.9, 0.95), 1e-8, 0.1, 5, 23)
