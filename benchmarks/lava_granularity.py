"""Fused vs fine-grained Lava forms: leaf Processes and wall time per Lava step.

    python -m benchmarks.lava_granularity          (or: lava-llm bench lava_granularity)

For tiny networks (the MatMul-free LM with 1 and 2 layers, hidden 16; one TernaryDense layer
64 -> 32), the shipped 8 kHz S5 denoiser (2 layers; one step = one 8 ms frame) and a QUBO
annealer (Max-Cut of a seeded 64-node random graph, 4 replicas) on ``sim-fixed``, each form
(``granularity`` fused / fine) is built, compiled and
started (``startup_s``: build + compile + start + first step), warmed up, then timed over
``--steps`` Lava steps (``ms_per_step``). ``leaf_processes`` is read from the compiled
network (each leaf is one OS process on Lava's CPU backend); ``equals_engine`` checks the
tokens / outputs of the run against the integer engine. Writes
benchmarks/results/lava_granularity.{json,md}.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks._common import write_results
from lava_llm.models.dense import make_layer_data, quantize_input
from lava_llm.models.lm.config import LMConfig
from lava_llm.models.lm.generate import LanguageModel
from lava_llm.models.lm.network import build_network
from lava_llm.models.lm.params import random_params
from lava_llm.processes.ternary_dense import TernaryDense, kernels
from lava_llm.run import lava_session, run_config, wire_open_loop

WARM = 5


def lm_row(layers: int, granularity: str, steps: int) -> dict:
    cfg = LMConfig(vocab_size=13, hidden_size=16, num_layers=layers, intermediate_size=24)
    lm = LanguageModel(random_params(cfg, seed=layers))
    prompt = np.array([1, 2])
    n_new = 1 + WARM + steps
    eng = lm.generate(prompt, n_new, backend="engine")
    t0 = time.perf_counter()
    net = build_network(lm.float_model, lm.int_model, prompt, n_new, record_logits=False)
    with lava_session(net.embedding, run_config("sim-fixed", granularity=granularity),
                      timeout_s="auto") as s:
        s.run(1)
        startup = time.perf_counter() - t0
        s.run(prompt.size + WARM - 1)
        t1 = time.perf_counter()
        s.run(steps)
        ms = (time.perf_counter() - t1) / steps * 1e3
        leaves = s.leaf_processes
        tokens = np.rint(net.head.tokens.get()).astype(np.int64)[prompt.size - 1:]
    return {"network": f"LM {layers} layer(s), hidden 16", "granularity": granularity,
            "leaf_processes": leaves, "ms_per_step": ms, "startup_s": startup,
            "equals_engine": bool(np.array_equal(tokens, eng["token_ids"]))}


def _timed(proc, granularity: str, steps: int):
    t0 = time.perf_counter()
    with lava_session(proc, run_config("sim-fixed", granularity=granularity),
                      timeout_s="auto") as s:
        s.run(1)
        startup = time.perf_counter() - t0
        s.run(WARM - 1)
        t1 = time.perf_counter()
        s.run(steps)
        ms = (time.perf_counter() - t1) / steps * 1e3
        yield {"leaf_processes": s.leaf_processes, "ms_per_step": ms, "startup_s": startup}


def dense_row(granularity: str, steps: int) -> dict:
    trits, alpha, x = make_layer_data(0, 64, 32, WARM + steps)
    x_q, e = quantize_input(x)
    layer = TernaryDense(weights=trits, scale=alpha, in_frac=e, out_frac=8)
    _, sink = wire_open_loop(layer, x_q)
    gen = _timed(layer, granularity, steps)
    row = next(gen)
    y = sink.data.get()
    gen.close()
    m, sh = int(layer.mant.init[0]), int(layer.shift.init[0])
    ref = kernels.int_step(x_q.T, trits, m, sh).T
    return {"network": "TernaryDense 64 -> 32 (+ source, sink)", "granularity": granularity,
            **row, "equals_engine": bool(np.array_equal(y, ref))}


def denoiser_row(granularity: str, steps: int) -> dict:
    from lava_llm.models.denoiser import network
    from lava_llm.processes.ssm_diagonal import SSMDiagonal
    from lava_llm.processes.ssm_diagonal import kernels as sk

    den = network.Denoiser()
    rng = np.random.default_rng(0)
    _, feats = den.analyse(rng.standard_normal(64 * (WARM + steps + 4)) * 0.1)
    fq = den.quantize(feats[:WARM + steps]).astype(np.int32)
    proc = SSMDiagonal(params=den.params)
    _, sink = wire_open_loop(proc, fq.T.copy())
    gen = _timed(proc, granularity, steps)
    row = next(gen)
    y = np.asarray(sink.data.get()).T.astype(np.int64)
    gen.close()
    want, _ = sk.int_run(den.net("q"), fq)
    L = sk.dims(den.params)[0]
    return {"network": f"S5 denoiser 8 kHz, {L} layers (+ source, sink)",
            "granularity": granularity, **row, "equals_engine": bool(np.array_equal(y, want))}


def qubo_row(granularity: str, steps: int) -> dict:
    from lava.proc.io.sink import RingBuffer

    from lava_llm.models.qubo import engine, maxcut, temperatures
    from lava_llm.processes.qubo_annealing import QuboAnnealer
    from lava_llm.processes.qubo_annealing import kernels as qk

    rng = np.random.default_rng(0)
    n = 64
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    edges = pairs[rng.random(len(pairs)) < 0.1]
    prob = maxcut(n, edges, np.ones(len(edges)))
    temps = temperatures(WARM + steps, 4.0, 0.2)
    proc = QuboAnnealer(q=prob.q, temperatures=temps, replicas=4, seed=1)
    sink = RingBuffer(shape=(4, 2), buffer=len(temps))
    proc.a_out.connect(sink.a_in)
    gen = _timed(proc, granularity, steps)
    row = next(gen)
    words = np.moveaxis(np.asarray(sink.data.get()), -1, 0).astype(np.int64)
    gen.close()
    eng = engine.anneal(prob, temps, replicas=4, seed=1, mode="fixed")
    trace = qk.join_cost_words(words)
    return {"network": f"QUBO Max-Cut, {n} nodes, 4 replicas (+ sink)",
            "granularity": granularity, **row,
            "equals_engine": bool(np.array_equal(trace, eng["trace"]))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=40, help="timed Lava steps per run")
    args = ap.parse_args(argv)
    rows = []
    for g in ("fused", "fine"):
        rows.append(dense_row(g, args.steps))
    for layers in (1, 2):
        for g in ("fused", "fine"):
            rows.append(lm_row(layers, g, args.steps))
    for g in ("fused", "fine"):
        rows.append(denoiser_row(g, args.steps))
    for g in ("fused", "fine"):
        rows.append(qubo_row(g, args.steps))
    write_results("lava_granularity", rows,
                  command=f"python -m benchmarks.lava_granularity --steps {args.steps}",
                  notes="sim-fixed on a shared 2-core machine; wall time per Lava step after "
                        f"{WARM} warm-up steps (one step = one token for the LM, one 8 ms frame "
                        "for the denoiser, one annealing sweep for QUBO). Both forms "
                        "are bit-exact with the integer engine; the fine form is for mapping "
                        "(lava-llm resources), not CPU speed.")


if __name__ == "__main__":
    main()
