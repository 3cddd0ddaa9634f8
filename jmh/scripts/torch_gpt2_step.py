# SPDX-License-Identifier: Apache-2.0
"""torch's fused CPU optimizers stepping GPT-2 small's parameters: the peer of Gpt2StepBenchmark (issue 24, item 6).

Hugging Face GPT-2 small's 148 tensors (124,439,808 parameters, lm_head tied), float32, gradients standard normals
from a fixed seed, filled once; torch.set_num_threads(1). Each optimizer takes its first step untimed (state
allocation), then rounds of timed steps, the optimizers interleaved round by round. Writes one JSON file.

    python3 jmh/scripts/torch_gpt2_step.py jmh/results/torch-gpt2-small.json
"""
import json
import platform
import statistics
import sys
import time

import torch


def gpt2_small_shapes(layers=12, d=768, vocab=50257, ctx=1024):
    shapes = [("wte.weight", (vocab, d)), ("wpe.weight", (ctx, d))]
    for i in range(layers):
        h = f"h.{i}."
        shapes += [(h + "ln_1.weight", (d,)), (h + "ln_1.bias", (d,)),
                   (h + "attn.c_attn.weight", (d, 3 * d)), (h + "attn.c_attn.bias", (3 * d,)),
                   (h + "attn.c_proj.weight", (d, d)), (h + "attn.c_proj.bias", (d,)),
                   (h + "ln_2.weight", (d,)), (h + "ln_2.bias", (d,)),
                   (h + "mlp.c_fc.weight", (d, 4 * d)), (h + "mlp.c_fc.bias", (4 * d,)),
                   (h + "mlp.c_proj.weight", (4 * d, d)), (h + "mlp.c_proj.bias", (d,))]
    shapes += [("ln_f.weight", (d,)), ("ln_f.bias", (d,))]
    return shapes


def params(seed):
    g = torch.Generator().manual_seed(seed)
    ps = []
    for _, shape in gpt2_small_shapes():
        p = torch.nn.Parameter(torch.randn(shape, generator=g) * 0.02)
        p.grad = torch.randn(shape, generator=g)
        ps.append(p)
    return ps


def main(out):
    torch.set_num_threads(1)
    makers = {
        "torch AdamW(fused=True)": lambda ps: torch.optim.AdamW(ps, lr=1e-4, weight_decay=0.01, fused=True),
        "torch SGD(momentum=0.9, fused=True)": lambda ps: torch.optim.SGD(ps, lr=1e-4, momentum=0.9, fused=True),
        "torch AdamW(foreach=False)": lambda ps: torch.optim.AdamW(ps, lr=1e-4, weight_decay=0.01, foreach=False),
    }
    opts = {}
    for i, (name, make) in enumerate(makers.items()):
        ps = params(i + 1)
        assert sum(p.numel() for p in ps) == 124_439_808
        opt = make(ps)
        opt.step()  # first step: state allocation
        opts[name] = opt
    times = {name: [] for name in opts}
    for _ in range(5):  # rounds
        for name, opt in opts.items():
            for _ in range(4):
                t0 = time.perf_counter()
                opt.step()
                times[name].append((time.perf_counter() - t0) * 1e3)
    result = {
        "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
        "parameters": 124_439_808, "tensors": len(gpt2_small_shapes()),
        "ms_per_step": {n: {"median": statistics.median(t), "min": min(t), "max": max(t), "samples": t}
                        for n, t in times.items()},
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    for n, t in times.items():
        print(f"{n}: median {statistics.median(t):.1f} ms, min {min(t):.1f}, max {max(t):.1f} ({len(t)} steps)")


if __name__ == "__main__":
    main(sys.argv[1])
