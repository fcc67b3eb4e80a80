"""Generation speed of the MatMul-free LM on every backend, and Lava's per-step overhead.

Two tables (``benchmarks/results/lm_backends*.{json,md}``):

``lm_backends``
    tokens/s and time-to-first-token of ``lava_llm.models.lm`` generation from the shipped
    checkpoint on ``sim-float``, ``sim-fixed``, ``engine`` and ``torch`` (same prompt, same
    number of new tokens, greedy), and ``loihi2`` reported as unavailable with the reason
    :func:`lava_llm.run.loihi2_status` gives.
``lm_lava_overhead``
    Wall time per step of the LM's Lava network against a plain Lava chain
    (``RingBuffer source -> N x (Dense | LIF) -> RingBuffer sink``) with the same number of
    leaf ProcessModels, stepped the same way (one ``run(1)`` per token with a host read of
    one Var in between, as generation does; and one blocking ``run(S)``).

Run: ``python -m benchmarks.lm_backends`` (``--quick`` for a smoke run).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import write_results  # noqa: E402


def plain_chain(n_leaves: int, width: int, steps: int, backend: str = "sim-float",
                rt_steps: int = 20) -> dict:
    """Per-step wall time of ``source -> n_leaves x (Dense | LIF alternating) -> sink``.

    Returns ``{"compile_first_step_s", "step_ms_run1_get", "step_ms_blocking"}``: the first
    ``run(1)`` (compile + start of the runtime), then ``steps`` steps as ``run(1)`` + a read of
    the sink's buffer each (the host-in-the-loop pattern of token-by-token generation), then
    ``steps`` steps as one blocking ``run(steps)``. The host-round-trip pattern is timed over
    ``rt_steps`` steps only (it costs tens to hundreds of ms per step).
    """
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF

    from lava_llm.run import lava_session, run_config

    rt_steps = min(rt_steps, steps)
    total = rt_steps + steps + 1
    fixed = backend == "sim-fixed"
    rng = np.random.default_rng(0)
    data = rng.integers(0, 100, (width, total)) if fixed else rng.random((width, total))
    src = Source(data=data)
    prev = src.s_out
    for k in range(n_leaves):
        if k % 2 == 0:
            p = Dense(weights=np.eye(width, dtype=int) * (2 if fixed else 1))
            prev.connect(p.s_in)
            prev = p.a_out
        else:
            p = LIF(shape=(width,), du=4095 if fixed else 1.0, dv=0, vth=10)
            prev.connect(p.a_in)
            prev = p.s_out
    sink = Sink(shape=(width,), buffer=total)
    prev.connect(sink.a_in)
    with lava_session(src, run_config(backend)) as session:
        t0 = time.perf_counter()
        session.run(1)
        t1 = time.perf_counter()
        for _ in range(rt_steps):
            session.run(1)
            sink.data.get()
        t2 = time.perf_counter()
        session.run(steps)
        t3 = time.perf_counter()
    return {"compile_first_step_s": t1 - t0,
            "step_ms_run1_get": 1e3 * (t2 - t1) / rt_steps if rt_steps else float("nan"),
            "step_ms_blocking": 1e3 * (t3 - t2) / steps}


def load_model(seed: int = 0):
    """The shipped checkpoint if present, else random parameters of the shipped shape (and say
    which)."""
    from lava_llm.models.lm.checkpoint import DEFAULT_CHECKPOINT
    from lava_llm.models.lm.generate import LanguageModel

    if (DEFAULT_CHECKPOINT / "config.json").is_file():
        return LanguageModel.load(), f"shipped checkpoint {DEFAULT_CHECKPOINT.name}"
    from lava_llm.models.lm.config import LMConfig
    from lava_llm.models.lm.params import random_params

    cfg = LMConfig(vocab_size=65, hidden_size=128, num_layers=2)
    return LanguageModel(random_params(cfg, seed)), \
        "random parameters (65 tokens, H=128, 2 layers; shipped checkpoint absent)"


def prompt_ids(lm, n: int) -> np.ndarray:
    """``n`` prompt tokens: Shakespeare-like text through the tokenizer when there is one."""
    base = ("ROMEO:\nBut soft, what light through yonder window breaks? It is the east, "
            "and Juliet is the sun. Arise, fair sun, and kill the envious moon, who is "
            "already sick and pale with grief. ")
    if lm.tokenizer is not None:
        try:
            ids = lm.encode((base * (n // len(base) + 1))[:n])
            if ids.size == n:
                return ids
        except ValueError:
            pass
    return np.random.default_rng(1).integers(0, lm.config.vocab_size, n)


def backend_rows(lm, prompts, n_new, repeat):
    from lava_llm.run import Loihi2UnavailableError, loihi2_status

    lm.torch_model()  # build the torch model once (not part of time-to-first-token)
    lm.int_model
    rows, tokens = [], {}
    for P in prompts:
        ids = prompt_ids(lm, P)
        for backend in ("engine", "torch", "sim-float", "sim-fixed", "loihi2"):
            if backend == "loihi2":
                ok, why = loihi2_status()
                try:
                    lm.generate(ids, n_new, backend=backend)
                    raise AssertionError("loihi2 ran: this benchmark does not time hardware")
                except Loihi2UnavailableError:
                    rows.append({"backend": backend, "prompt_tokens": P, "new_tokens": n_new,
                                 "tokens_per_s": "unavailable",
                                 "time_to_first_token_s": "unavailable",
                                 "note": why})
                continue
            reps = repeat if backend in ("engine", "torch") else 1
            outs = [lm.generate(ids, n_new, backend=backend) for _ in range(reps)]
            tps = float(np.median([o["tokens_per_s"] for o in outs]))
            ttft = float(np.median([o["time_to_first_token_s"] for o in outs]))
            tokens[(backend, P)] = outs[0]["token_ids"]
            row = {"backend": backend, "prompt_tokens": P, "new_tokens": n_new,
                   "tokens_per_s": tps, "time_to_first_token_s": ttft}
            if "startup_s" in outs[0]:
                row["note"] = (f"{outs[0]['leaf_processes']} leaf processes; TTFT includes "
                               f"{outs[0]['startup_s']:.2f} s build+compile+start+first step")
            else:
                row["note"] = f"median of {reps}"
            rows.append(row)
        same = all(np.array_equal(tokens[("sim-fixed", P)], tokens[(b, P)])
                   for b in ("engine",))
        for r in rows:
            if r["prompt_tokens"] == P and r["backend"] == "sim-fixed":
                r["note"] += "; tokens == engine" if same else "; TOKENS DIFFER from engine"
    return rows


def compute_ms_per_token(lm, fixed: bool, steps: int, repeat: int = 3) -> float:
    """Best-of-``repeat`` ms per token of the numpy engine stepping one token at a time with
    carried state: ``int_forward`` (the arithmetic of the fixed_pt models) or
    ``float_forward`` (that of the floating_pt models)."""
    from lava_llm.models.lm import engine

    model = lm.int_model if fixed else lm.float_model
    fwd = engine.int_forward if fixed else engine.float_forward
    best = np.inf
    for _ in range(repeat):
        state, tok = None, 0
        t0 = time.perf_counter()
        for _ in range(steps):
            logits, state = fwd(model, np.array([[tok]]), state)
            tok = int(np.argmax(logits[0, -1]))
        best = min(best, (time.perf_counter() - t0) / steps)
    return 1e3 * best


def transformer_rows(lm, prompts, n_new, repeat):
    """The equal-size KV-cache transformer of :mod:`benchmarks.lm_cost` (torch float32,
    random weights), greedy, same prompt lengths: time to first token (prefill of the prompt
    in one batched pass) and tokens/s."""
    import torch

    from benchmarks import lm_cost as bc

    c = lm.config
    max_len = max(prompts) + n_new + 1
    mlp = bc.equal_param_mlp(c.vocab_size, c.hidden_size, c.num_layers, c.intermediate_size,
                             max_len)
    torch.manual_seed(0)
    tf = bc.KVTransformer(c.vocab_size, c.hidden_size, c.num_layers, mlp,
                          max(1, c.hidden_size // 64), max_len).eval()
    rows = []
    for P in prompts:
        ids = torch.from_numpy(prompt_ids(lm, P))
        ttfts, rates = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            cache = tf.new_cache(max_len)
            tok = int(tf(ids, cache)[-1].argmax())
            t1 = time.perf_counter()
            for _ in range(n_new - 1):
                tok = int(tf(torch.tensor([tok]), cache)[-1].argmax())
            t2 = time.perf_counter()
            ttfts.append(t1 - t0)
            rates.append((n_new - 1) / (t2 - t1))
        rows.append({"backend": "transformer (torch, KV cache)", "prompt_tokens": P,
                     "new_tokens": n_new, "tokens_per_s": float(np.median(rates)),
                     "time_to_first_token_s": float(np.median(ttfts)),
                     "note": f"equal parameter count ({mlp}-wide MLP), random weights; "
                             f"median of {repeat}"})
    return rows


def overhead_rows(lm, steps):
    """LM network vs a plain chain with the same leaf count, same width."""
    rows = []
    ids = prompt_ids(lm, 1)
    H = lm.config.hidden_size
    # the same arithmetic per token in one process, no Lava: the model's own work
    compute = {"sim-float": compute_ms_per_token(lm, False, steps // 2, repeat=5),
               "sim-fixed": compute_ms_per_token(lm, True, steps // 2, repeat=5)}
    for backend in ("sim-float", "sim-fixed"):
        outs = [lm.generate(ids, steps, backend=backend) for _ in range(3)]
        out = outs[0]
        leaves = int(out["leaf_processes"])
        lm_ms = min(1e3 / o["tokens_per_s"] for o in outs)
        chain = plain_chain(leaves - 2, H, steps, backend)
        chain["step_ms_blocking"] = min(
            [chain["step_ms_blocking"]]
            + [plain_chain(leaves - 2, H, steps, backend, rt_steps=0)["step_ms_blocking"]
               for _ in range(2)])
        rows.append({"backend": backend, "leaf_processes": leaves,
                     "lm_ms_per_step": lm_ms,
                     "chain_ms_per_step": chain["step_ms_blocking"],
                     "compute_ms_per_token": compute[backend],
                     "lm_minus_compute_ms": lm_ms - compute[backend],
                     "lm_startup_s": out["startup_s"],
                     "chain_startup_s": chain["compile_first_step_s"],
                     "chain_ms_per_step_host_round_trip": chain["step_ms_run1_get"]})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short prompts, few tokens")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    lm, what = load_model()
    prompts = (8,) if args.quick else (32, 512)
    n_new = 8 if args.quick else 64
    steps = 20 if args.quick else 200
    load0 = os.getloadavg()[0]
    cmd = "python -m benchmarks.lm_backends" + (" --quick" if args.quick else "")
    rows = backend_rows(lm, prompts, n_new, 1 if args.quick else args.repeat)
    rows += transformer_rows(lm, prompts, n_new, 1 if args.quick else args.repeat)
    write_results(
        "lm_backends", rows, command=cmd,
        columns=["backend", "prompt_tokens", "new_tokens", "tokens_per_s",
                 "time_to_first_token_s", "note"],
        notes=(f"Model: {what}. Greedy decoding, this CPU, torch.set_num_threads(1). "
               "tokens_per_s: generated tokens after the first / their wall time. "
               "time_to_first_token_s: from the call to the first generated token (prompt "
               "prefill included; for Lava also network build, compile and runtime start; the "
               "torch model and the integer export are built beforehand). Lava runs the whole "
               "generation as one closed-loop run (the head feeds its token back to the "
               "embedding), so there is no host round trip per token. The transformer rows are a "
               "reference point on the same CPU: a float32 torch decoder of the same parameter "
               "count with a KV cache (benchmarks/lm_cost.py)."
               f" Machine load (1-min load average) {load0:.1f} before and "
               f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs shared with other "
               "work."),
        extra={"model": what})
    orows = overhead_rows(lm, steps)
    write_results(
        "lm_lava_overhead", orows, command=cmd,
        notes=(f"Model: {what}. lm_ms_per_step: the LM's Lava network, one token per step, "
               f"{steps} steps in one blocking run. chain_ms_per_step: RingBuffer source -> "
               "(leaf_processes - 2) alternating lava Dense (identity weights) / LIF -> "
               "RingBuffer sink, width H, the same number of leaf ProcessModels, "
               f"{steps} steps in one blocking run. LM and chain: best of 3 runs. "
               "compute_ms_per_token: the same "
               "arithmetic token by token in one process without Lava (numpy engine: "
               "float_forward for sim-float, int_forward for sim-fixed; best of 5 runs of "
               f"{steps // 2} tokens). "
               "lm_minus_compute_ms: the LM's Lava cost beyond its arithmetic (messaging, one "
               "OS process per leaf), to set against chain_ms_per_step (Lava's cost for the "
               "same leaf count with trivial arithmetic). "
               "chain_ms_per_step_host_round_trip: the chain stepped as run(1) + one Var get "
               "per step, 20 steps (what a host-in-the-loop generation would pay)."
               f" 1-min load average after: {os.getloadavg()[0]:.1f}."),
        extra={"model": what})


if __name__ == "__main__":
    main()
