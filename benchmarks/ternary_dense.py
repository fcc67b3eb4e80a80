"""TernaryDense speed and size: per-step time on each backend, Lava's per-leaf cost, bytes.

    python -m benchmarks.ternary_dense            (or: lava-llm bench ternary_dense)

Writes benchmarks/results/ternary_dense.{json,md} and ternary_dense_leaves.{json,md}.
Times are wall-clock on this CPU (2 cores, shared); Lava times include nothing of compile or
start-up (they are measured over a second run of the already started network).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks._common import write_results
from lava_llm import fixed_point as fp
from lava_llm.models.dense import make_layer_data, quantize_input
from lava_llm.processes.ternary_dense import TernaryDense, kernels
from lava_llm.run import lava_session, run_config, wire_open_loop


def lava_chain(backend: str, trits, alpha, x, n_layers: int, steps: int) -> float:
    """Seconds per step of source -> n_layers x TernaryDense (square) -> sink."""
    fixed = backend == "sim-fixed"
    x_q, e = quantize_input(x)
    data = x_q if fixed else x
    layers = [TernaryDense(weights=trits, scale=alpha, in_frac=e, out_frac=e)
              for _ in range(n_layers)]
    src, _ = wire_open_loop(layers, np.tile(data, (1, 2 * steps // data.shape[1] + 1))
                            [:, :2 * steps])
    with lava_session(src, run_config(backend)) as session:
        session.run(steps)  # compile, start, warm up
        t0 = time.perf_counter()
        session.run(steps)
        return (time.perf_counter() - t0) / steps


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args(argv)
    rows = []
    for n in (256, 1024):
        trits, alpha, x = make_layer_data(0, n, n, 16)
        x_q, e = quantize_input(x)
        m, s = kernels.fixed_rescale(alpha, e, 8)
        reps = 50
        t0 = time.perf_counter()
        for _ in range(reps):
            kernels.int_step(x_q[:, 0], trits, m, s)
        eng_step = (time.perf_counter() - t0) / reps
        t0 = time.perf_counter()
        kernels.int_step(np.tile(x_q, (1, 64)).T, trits, m, s)
        eng_batch = (time.perf_counter() - t0) / (16 * 64)
        row = {"layer": f"{n}x{n}", "weights": n * n,
               "bytes_packed_trits": int(fp.pack_trits(trits).nbytes),
               "bytes_fp16": 2 * n * n,
               "engine_ms_per_step": 1e3 * eng_step,
               "engine_ms_per_vector_batched": 1e3 * eng_batch}
        for backend in ("sim-float", "sim-fixed"):
            row[f"{backend}_ms_per_step"] = 1e3 * lava_chain(backend, trits, alpha, x, 1,
                                                             args.steps)
        rows.append(row)
    write_results("ternary_dense", rows, command="python -m benchmarks.ternary_dense",
                  notes="One layer between a RingBuffer source and sink (3 leaf processes). "
                        "engine = kernels.int_step in numpy, one vector per call or 1024 vectors "
                        "in one call.")
    trits, alpha, x = make_layer_data(0, 64, 64, 16)
    leaf_rows = []
    for n_layers in (1, 2, 4, 8):
        leaf_rows.append({"layers": n_layers, "leaf_processes": n_layers + 2,
                          "sim-fixed_ms_per_step": 1e3 * lava_chain(
                              "sim-fixed", trits, alpha, x, n_layers, args.steps)})
    base = leaf_rows[0]["sim-fixed_ms_per_step"]
    for r in leaf_rows:
        r["ms_per_added_leaf"] = ((r["sim-fixed_ms_per_step"] - base) / (r["layers"] - 1)
                                  if r["layers"] > 1 else "")
    write_results("ternary_dense_leaves", leaf_rows,
                  command="python -m benchmarks.ternary_dense",
                  notes="Chains of 64x64 TernaryDense leaves on sim-fixed: the cost of Lava's "
                        "CPU backend grows with the number of leaf ProcessModels (one OS "
                        "process each), not with the work inside them.")


if __name__ == "__main__":
    main()
