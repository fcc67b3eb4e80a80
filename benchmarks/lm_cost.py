"""Per-token cost of the MatMul-free LM against a KV-cache transformer of equal size, model
bytes, and an analytic estimate for the 370M configuration.

Three tables (``benchmarks/results/lm_cost_*.{json,md}``):

``lm_cost_context``
    Wall time per generated token after a prompt of ``c`` tokens, ``c`` in 128 ... 4096, on
    this CPU with ``torch.set_num_threads(1)``: the recurrent model (library torch float model
    and integer engine; state of constant size) against a decoder-only torch transformer with
    the same hidden size, layers, vocabulary and parameter count and a KV cache (cost grows
    with ``c``). Also the per-sequence state / KV-cache bytes at ``c``.
``lm_cost_bytes``
    Model bytes: trits packed 4 per byte (+ fp16 embeddings and gains) against all-fp16, for
    the shipped config and the 370M configuration (24 layers, hidden 1024, vocab 32000).
``lm_cost_370m``
    Analytic memory and synaptic operations per token for the 370M configuration, as formulas
    and numbers (see :func:`estimate`).

Run: ``python -m benchmarks.lm_cost`` (``--quick`` for a smoke run with fewer contexts).
"""
from __future__ import annotations

import argparse
import os
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import write_results  # noqa: E402

CONTEXTS = (128, 512, 1024, 2048, 4096)
CFG_370M = dict(vocab_size=32000, hidden_size=1024, num_layers=24)


# --------------------------------------------------------------------------- the transformer
class KVTransformer(nn.Module):
    """Pre-norm decoder-only transformer (GPT-style: LayerNorm, multi-head attention with a KV
    cache, GELU MLP, parameter-free sinusoidal positions, untied head), float32. ``mlp`` is
    chosen by :func:`equal_param_mlp` so that the parameter count equals the recurrent model's."""

    def __init__(self, vocab: int, hidden: int, layers: int, mlp: int, heads: int,
                 max_len: int):
        super().__init__()
        self.heads, self.hd = heads, hidden // heads
        self.emb = nn.Embedding(vocab, hidden)
        pos = torch.arange(max_len)[:, None] / 10000 ** (torch.arange(0, hidden, 2) / hidden)
        self.register_buffer("pos", torch.cat([pos.sin(), pos.cos()], 1)[:, :hidden].float())
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict(dict(
                ln1=nn.LayerNorm(hidden), qkv=nn.Linear(hidden, 3 * hidden, bias=False),
                o=nn.Linear(hidden, hidden, bias=False), ln2=nn.LayerNorm(hidden),
                up=nn.Linear(hidden, mlp, bias=False), down=nn.Linear(mlp, hidden, bias=False))))
        self.ln = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, vocab, bias=False)
        self.max_len = max_len

    def new_cache(self, length: int):
        L, H = len(self.blocks), self.heads
        return {"k": torch.zeros(L, H, length, self.hd), "v": torch.zeros(L, H, length, self.hd),
                "n": 0}

    @torch.no_grad()
    def forward(self, ids: torch.Tensor, cache) -> torch.Tensor:
        """Tokens ``ids`` (T,) appended after ``cache['n']`` cached ones; logits (T, vocab)."""
        n, T = cache["n"], ids.shape[0]
        x = self.emb(ids) + self.pos[n:n + T]
        causal = torch.ones(T, n + T, dtype=torch.bool).tril(n)
        for i, b in enumerate(self.blocks):
            q, k, v = b["qkv"](b["ln1"](x)).view(T, 3, self.heads, self.hd).unbind(1)
            cache["k"][i, :, n:n + T] = k.transpose(0, 1)
            cache["v"][i, :, n:n + T] = v.transpose(0, 1)
            att = nn.functional.scaled_dot_product_attention(
                q.transpose(0, 1), cache["k"][i, :, :n + T], cache["v"][i, :, :n + T],
                attn_mask=causal)
            x = x + b["o"](att.transpose(0, 1).reshape(T, -1))
            x = x + b["down"](nn.functional.gelu(b["up"](b["ln2"](x))))
        cache["n"] = n + T
        return self.head(self.ln(x))


def hgrn_params(vocab: int, hidden: int, layers: int, inter: int) -> dict:
    """Parameter counts of the HGRNBit model (HF layout), by kind."""
    H, I, L, V = hidden, inter, layers, vocab
    ternary = L * (4 * H * H + 3 * H * I) + V * H
    gains = L * (3 * H + 5 * H + I) + H + H   # block norms, BitLinear norms, final, head
    return {"ternary": ternary, "embedding": V * H, "lower_bounds": L * H, "gains": gains,
            "total": ternary + V * H + L * H + gains}


def transformer_params(vocab: int, hidden: int, layers: int, mlp: int, max_len: int) -> int:
    H, L, V = hidden, layers, vocab
    return V * H + L * (4 * H * H + 2 * H * mlp + 4 * H) + 2 * H + V * H


def equal_param_mlp(vocab: int, hidden: int, layers: int, inter: int, max_len: int) -> int:
    """MLP width of the transformer that makes its parameter count equal the HGRN model's
    (as close as an integer width allows)."""
    target = hgrn_params(vocab, hidden, layers, inter)["total"]
    base = transformer_params(vocab, hidden, layers, 0, max_len)
    return max(1, round((target - base) / (2 * hidden * layers)))


# --------------------------------------------------------------------------- timing
def time_per_token(prefill, step, context: int, new_tokens: int, repeat: int) -> float:
    """Best (minimum) over ``repeat`` runs of the mean seconds per token of ``new_tokens``
    greedy decode steps after a ``context``-token prompt (prefill not timed). The minimum is
    the least disturbed by other work on a shared machine."""
    times = []
    for _ in range(repeat):
        state = prefill(context)
        t0 = time.perf_counter()
        for _ in range(new_tokens):
            state = step(state)
        times.append((time.perf_counter() - t0) / new_tokens)
    return float(np.min(times))


def transformer_timer(vocab, hidden, layers, mlp, heads, max_len, seed=0):
    torch.manual_seed(seed)
    model = KVTransformer(vocab, hidden, layers, mlp, heads, max_len).eval()
    g = torch.Generator().manual_seed(seed)

    def prefill(c):
        cache = model.new_cache(max_len)
        ids = torch.randint(0, vocab, (c,), generator=g)
        logits = model(ids, cache)
        return cache, int(logits[-1].argmax())

    def step(state):
        cache, tok = state
        logits = model(torch.tensor([tok]), cache)
        return cache, int(logits[-1].argmax())

    return model, prefill, step


# --------------------------------------------------------------------------- estimates
def bytes_table(name: str, vocab: int, hidden: int, layers: int, inter: int) -> dict:
    p = hgrn_params(vocab, hidden, layers, inter)
    packed_w = sum(math.ceil(n / 4) for n in _linear_sizes(vocab, hidden, layers, inter))
    fp16_rest = 2 * (p["embedding"] + p["lower_bounds"] + p["gains"])
    return {"config": name, "layers": layers, "hidden": hidden, "vocab": vocab,
            "intermediate": inter, "params": p["total"], "ternary_weights": p["ternary"],
            "MB_packed_trits+fp16_rest": (packed_w + fp16_rest) / 1e6,
            "MB_packed_trits_only": packed_w / 1e6,
            "MB_all_fp16": 2 * p["total"] / 1e6,
            "ratio_fp16/packed": 2 * p["total"] / (packed_w + fp16_rest)}


def _linear_sizes(vocab, hidden, layers, inter):
    H, I = hidden, inter
    per_layer = [H * H] * 4 + [2 * I * H, I * H]
    return per_layer * layers + [vocab * H]


def estimate(vocab: int, hidden: int, layers: int, inter: int, zero_frac: float,
             contexts=CONTEXTS) -> list[dict]:
    """Analytic per-token memory and synaptic operations (see the returned 'formula's)."""
    H, I, L, V = hidden, inter, layers, vocab
    p = hgrn_params(V, H, L, inter)
    W = p["ternary"]
    rows = [
        {"quantity": "ternary weights W", "formula": "L*(4H^2 + 3HI) + VH", "value": W},
        {"quantity": "synaptic ops/token, dense trits (adds/subs)",
         "formula": "W (each weight: one add or subtract of an int8 activation)",
         "value": W},
        {"quantity": f"synaptic ops/token, {zero_frac:.0%} zero trits",
         "formula": "(1 - z) * W, z = fraction of zero trits", "value": (1 - zero_frac) * W},
        {"quantity": "rescale multiplies/token", "formula": "L*(4H + 2I + H) + V "
         "(one 16-bit multiply per BitLinear output)", "value": L * (5 * H + 2 * I) + V},
        {"quantity": "element-wise ops/token (norms, quantisers, gates, LUTs, residuals)",
         "formula": "~ L*(36H + 5I) + 4H (an RMSNorm ~4 ops/element, a LUT lookup 1 op)",
         "value": L * (36 * H + 5 * I) + 4 * H},
        {"quantity": "MB weights, packed trits", "formula": "sum_layers ceil(n/4) bytes",
         "value": sum(math.ceil(n / 4) for n in _linear_sizes(V, H, L, I)) / 1e6},
        {"quantity": "MB weights, one 8-bit synaptic weight per trit",
         "formula": "W bytes", "value": W / 1e6},
        {"quantity": "MB embedding table (fp16 / 24-bit fixed point as exported)",
         "formula": "2VH / 3VH", "value": f"{2 * V * H / 1e6:.1f} / {3 * V * H / 1e6:.1f}"},
        {"quantity": "KB recurrent state per sequence (24-bit)", "formula": "L*H*3 bytes",
         "value": L * H * 3 / 1e3},
    ]
    for c in contexts:
        rows.append({"quantity": f"KB KV cache of the equal-size transformer at context {c} "
                                 "(fp16)", "formula": "2*L*c*H*2 bytes",
                     "value": 2 * L * c * H * 2 / 1e3})
    attn = {c: 2 * L * c * H for c in contexts}
    w_t = p["total"] - V * H  # equal parameter count; the input embedding is a lookup
    rows.append({"quantity": "equal-size transformer multiply-accumulates/token at c=128 / "
                             "4096", "formula": "(P - VH) + 2*L*c*H (weights + QK^T and AV)",
                 "value": f"{w_t + attn[128]:.3e} / {w_t + attn[4096]:.3e}"})
    return rows


def ternary_zero_fraction_gaussian() -> float:
    """Zero-trit fraction of absmean ternarisation on Gaussian latents:
    ``P(|w| < 0.5 * E|w|) = erf(0.5 * sqrt(2/pi) / sqrt(2))``."""
    return math.erf(0.5 * math.sqrt(2 / math.pi) / math.sqrt(2))


# --------------------------------------------------------------------------- the recurrent side
def recurrent_torch_timer(cfg, seed=0):
    """The library's torch model (float32, frozen ternary BitLinears, fake-quant int8
    activations) from random parameters, decoding with its per-layer state."""
    from lava_llm.models.lm.params import random_params
    from lava_llm.training.hgrn import HGRNBitForCausalLM

    model = HGRNBitForCausalLM.from_params(random_params(cfg, seed), dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(seed)

    def prefill(c):
        # The state has the same size after any prompt: a random state stands in for c tokens.
        state = [torch.randn(1, cfg.hidden_size, generator=g) for _ in range(cfg.num_layers)]
        return state, int(torch.randint(0, cfg.vocab_size, (1,), generator=g))

    @torch.no_grad()
    def step(s):
        state, tok = s
        logits, state = model(torch.tensor([[tok]]), state)
        return state, int(logits[0, -1].argmax())

    return prefill, step


def recurrent_engine_timer(cfg, seed=0):
    """The library's integer engine (numpy int64, bit-exact with Lava sim-fixed) on random
    parameters calibrated on random token ids, decoding one token at a time."""
    from lava_llm.models.lm import engine
    from lava_llm.models.lm.export import calibrate, export_int
    from lava_llm.models.lm.params import random_params

    params = random_params(cfg, seed)
    rng = np.random.default_rng(seed)
    q = export_int(params, calibrate(params, rng.integers(0, cfg.vocab_size, (1, 64))))

    def prefill(c):
        state = [rng.integers(-(1 << 14), 1 << 14, (1, cfg.hidden_size))
                 for _ in range(cfg.num_layers)]
        return state, int(rng.integers(0, cfg.vocab_size))

    def step(s):
        state, tok = s
        logits, state = engine.int_forward(q, np.array([[tok]]), state)
        return state, int(logits[0, -1].argmax())

    return prefill, step


def transformer_synthetic_timer(vocab, hidden, layers, mlp, heads, max_len, seed=0):
    """Transformer decode at context c with a KV cache of c entries (random contents: the
    attention cost is the same as after a real prefill, which is not timed)."""
    torch.manual_seed(seed)
    model = KVTransformer(vocab, hidden, layers, mlp, heads, max_len + 64).eval()
    g = torch.Generator().manual_seed(seed)

    def prefill(c):
        cache = model.new_cache(max_len + 64)
        cache["k"][:, :, :c] = torch.randn(layers, heads, c, hidden // heads, generator=g)
        cache["v"][:, :, :c] = torch.randn(layers, heads, c, hidden // heads, generator=g)
        cache["n"] = c
        return cache, int(torch.randint(0, vocab, (1,), generator=g))

    def step(s):
        cache, tok = s
        logits = model(torch.tensor([tok]), cache)
        return cache, int(logits[-1].argmax())

    return model, prefill, step


def shipped_config():
    """``(name, LMConfig)`` of the shipped demo checkpoint, or None when it is absent."""
    from lava_llm.models.lm.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint

    if not (DEFAULT_CHECKPOINT / "config.json").is_file():
        return None
    return DEFAULT_CHECKPOINT.name, load_checkpoint(DEFAULT_CHECKPOINT).params.config


def load_checkpoint_params():
    from lava_llm.models.lm.checkpoint import load_checkpoint

    return load_checkpoint().params


def context_rows(name, cfg, contexts, new_tokens, repeat):
    from lava_llm.models.lm.params import random_params  # noqa: F401  (fails early if absent)

    V, H, L, inter = cfg.vocab_size, cfg.hidden_size, cfg.num_layers, cfg.intermediate_size
    heads = max(1, H // 64)
    mlp = equal_param_mlp(V, H, L, inter, max(contexts) + 64)
    p_rec = hgrn_params(V, H, L, inter)["total"]
    p_tf = transformer_params(V, H, L, mlp, max(contexts) + 64)
    _, tf_prefill, tf_step = transformer_synthetic_timer(V, H, L, mlp, heads, max(contexts))
    rec_prefill, rec_step = recurrent_torch_timer(cfg)
    eng = recurrent_engine_timer(cfg)
    rows = []
    for c in contexts:
        row = {"model": name, "context": c,
               "recurrent_torch_ms": 1e3 * time_per_token(rec_prefill, rec_step, c,
                                                         new_tokens, repeat)}
        row["recurrent_engine_ms"] = 1e3 * time_per_token(eng[0], eng[1], c, new_tokens,
                                                          repeat)
        row["transformer_kv_ms"] = 1e3 * time_per_token(tf_prefill, tf_step, c, new_tokens,
                                                        repeat)
        row["recurrent_MACs"] = hgrn_params(V, H, L, inter)["ternary"]
        row["transformer_MACs"] = p_tf - V * H + 2 * L * c * H
        row["state_KB"] = L * H * 3 / 1e3
        row["kv_cache_KB_fp32"] = 2 * L * c * H * 4 / 1e3
        rows.append(row)
    meta = {"model": name, "hidden": H, "layers": L, "vocab": V, "intermediate": inter,
            "recurrent_params": p_rec, "transformer_params": p_tf, "transformer_mlp": mlp,
            "transformer_heads": heads}
    return rows, meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 contexts, 4 tokens (smoke run)")
    ap.add_argument("--tokens", type=int, default=16, help="decode steps timed per context")
    ap.add_argument("--repeat", type=int, default=5, help="repeats (best of)")
    ap.add_argument("--skip-timing", action="store_true",
                    help="write only the bytes and 370M tables (no timing)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from lava_llm.models.lm.config import LMConfig

    contexts = (128, 512) if args.quick else CONTEXTS
    tokens = 4 if args.quick else args.tokens
    repeat = 1 if args.quick else args.repeat
    configs = []
    shipped = shipped_config()
    if shipped is not None:  # small and fast: more steps and repeats against noise
        configs.append((f"shipped ({shipped[0]})", shipped[1], 4 * tokens, repeat + 2))
    # the full 370M model (24 layers): fewer steps and repeats (each step is ~100x the
    # shipped model's)
    configs.append(("370M (24 layers)", LMConfig(**CFG_370M), max(2, tokens // 2),
                     max(1, repeat - 2)))
    load0 = os.getloadavg()[0]
    cmd = "python -m benchmarks.lm_cost" + (" --quick" if args.quick else "") + (
        " --skip-timing" if args.skip_timing else "")
    if not args.skip_timing:
        timing_tables(configs, contexts, tokens, repeat, load0, cmd)
    write_static_tables(shipped, cmd)


def timing_tables(configs, contexts, tokens, repeat, load0, cmd):
    rows, metas = [], []
    for name, cfg, n_tok, n_rep in configs:
        r, m = context_rows(name, cfg, contexts, n_tok, n_rep)
        rows += r
        metas.append(m)
    notes = ("Wall ms per generated token after a context of c tokens, torch.set_num_threads(1)"
             f", best of {repeat + 2} runs of {4 * tokens} (shipped) / {max(1, repeat - 2)} "
             f"runs of {max(2, tokens // 2)} (370M) decode steps each; caches/states hold random "
             "values (decode cost does not depend on their contents; prefill is not timed). "
             "Transformer: pre-norm GPT (LayerNorm, MHA with KV cache via "
             "scaled_dot_product_attention, GELU MLP, sinusoidal positions), float32, MLP width "
             "chosen for equal parameter count: "
             + "; ".join(f"{m['model']}: H={m['hidden']}, L={m['layers']}, V={m['vocab']}, "
                         f"{m['recurrent_params'] / 1e6:.2f}M recurrent vs "
                         f"{m['transformer_params'] / 1e6:.2f}M transformer params "
                         f"(MLP {m['transformer_mlp']}, {m['transformer_heads']} heads)"
                         for m in metas)
             + ". recurrent_torch: the library's torch HGRNBit (float32, frozen ternary "
               "weights used as alpha*trits in a float matmul, so no ternary speed-up on a "
               "CPU); recurrent_engine: the library's integer engine (compiled packed 2-bit "
               "ternary kernel, default threads, bit-exact with Lava sim-fixed). state_KB: 24-bit MLGRU state; "
               "kv_cache_KB_fp32: the transformer's K and V. *_MACs: multiply-accumulates "
               "(for the recurrent model: ternary additions) per token, counted: the "
               "recurrent model's ternary weights; the transformer's weights except the input "
               "embedding plus 2*L*c*H for QK^T and AV."
               f" Machine load (1-min load average) {load0:.1f} before and "
               f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs shared with other "
               "work: absolute times are noisy, the trend with context is the result.")
    write_results("lm_cost_context", rows, command=cmd, notes=notes, extra={"models": metas})


def write_static_tables(shipped, cmd):
    from lava_llm.models.lm.config import LMConfig

    byte_rows = []
    if shipped is not None:
        c = shipped[1]
        byte_rows.append(bytes_table(f"shipped ({shipped[0]})", c.vocab_size, c.hidden_size,
                                     c.num_layers, c.intermediate_size))
        ck = load_checkpoint_params()
        trits = np.concatenate([np.ravel(lin.trits) for lin in ck.linears.values()])
        byte_rows[-1]["zero_trit_frac"] = float(np.mean(trits == 0))
        byte_rows[-1]["synaptic_ops_per_token"] = int(np.count_nonzero(trits))
    c370 = LMConfig(**CFG_370M)
    byte_rows.append(bytes_table("370M", c370.vocab_size, c370.hidden_size, c370.num_layers,
                                 c370.intermediate_size))
    write_results("lm_cost_bytes", byte_rows, command=cmd,
                  notes="Packed: 2 bits per trit (fixed_point.pack_trits, 4 per byte) plus "
                        "fp16 embedding, lower bounds and RMSNorm gains; all_fp16: every "
                        "parameter as a 16-bit latent weight (the HF checkpoint form). "
                        "zero_trit_frac / synaptic_ops_per_token: measured on the shipped "
                        "checkpoint's trits (one add/subtract per nonzero trit per token).")
    z = ternary_zero_fraction_gaussian()
    est = estimate(c370.vocab_size, c370.hidden_size, c370.num_layers,
                   c370.intermediate_size, z)
    for r in est:
        if isinstance(r["value"], float):
            r["value"] = float(f"{r['value']:.4g}")
    write_results("lm_cost_370m", est, command=cmd,
                  notes=(f"370M configuration: L=24, H=1024, V=32000, I={c370.intermediate_size}"
                         " (256*ceil(int(8H/3)/256)). Synaptic ops count one addition or "
                         "subtraction per nonzero ternary weight per token (activations are "
                         f"dense int8). z={z:.3f} is the zero-trit fraction of absmean "
                         "ternarisation for Gaussian latent weights, erf(0.5*sqrt(2/pi)/"
                         "sqrt(2)); a trained model's z is measured from its trits. Analytic: "
                         "not measured on hardware."))


if __name__ == "__main__":
    main()
