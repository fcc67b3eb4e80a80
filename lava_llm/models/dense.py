"""One TernaryDense layer as a network: source -> TernaryDense -> sink.

Used by ``lava-llm dense`` and by ``make demo``: it runs the same random BitLinear layer in
float and in fixed point and reports how they agree, and that Lava's fixed-point run equals the
integer engine bit for bit. ``granularity="fine"`` runs the layer as its synapse and neuron
Processes (TernarySynapse -> Rescale, :class:`~lava_llm.processes.ternary_dense.TernaryDense`'s
sub-process model) instead of one fused leaf.
"""
from __future__ import annotations

import time

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm import validation as V

HELP = "run one TernaryDense layer on a backend and compare it with the integer engine"
BACKENDS = ("sim-float", "sim-fixed", "loihi2", "engine", "torch")
IN_FRAC_BITS = fp.ACT_BITS  # inputs are int8 with a static power-of-two scale
OUT_FRAC = 8


def make_layer_data(seed: int, n_in: int, n_out: int, steps: int):
    """Seeded random ternary weights (absmean of a Gaussian), scale and float inputs."""
    rng = np.random.default_rng(seed)
    trits, alpha = fp.ternary_absmean(rng.normal(0, 0.05, (n_out, n_in)))
    x = rng.normal(0, 1, (n_in, steps))
    return trits.astype(np.int8), float(alpha), x


def quantize_input(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Static per-tensor int8 quantisation with a power-of-two scale."""
    e = fp.pow2_exponent(float(np.abs(x).max()), fp.ACT_BITS)
    return fp.quantize_pow2(x, e, fp.ACT_BITS).astype(np.int64), e


def run_layer(backend: str, trits, alpha: float, x: np.ndarray, granularity: str = "fused",
              info: dict | None = None) -> tuple[np.ndarray, float]:
    """Run the layer over the columns of ``x`` (one per time step) on ``backend``; returns the
    output in real units (steps as columns) and the wall time in seconds. ``info`` (a dict)
    receives ``leaf_processes`` for Lava backends."""
    from lava_llm.processes.ternary_dense import kernels

    t0 = time.perf_counter()
    x_q, e = quantize_input(x)
    if backend == "engine":
        m, s = kernels.fixed_rescale(alpha, e, OUT_FRAC)
        y = kernels.int_step(x_q.T, trits, m, s).T / 2.0 ** OUT_FRAC
    elif backend == "torch":
        import torch

        with torch.no_grad():
            y = (alpha * torch.tensor(trits, dtype=torch.float64)
                 @ torch.tensor(x, dtype=torch.float64)).numpy()
    else:
        from lava_llm.processes.ternary_dense import TernaryDense
        from lava_llm.run import lava_session, run_config, wire_open_loop

        fixed = backend != "sim-float"
        cfg = run_config(backend, granularity=granularity)
        layer = TernaryDense(weights=trits, scale=alpha, in_frac=e, out_frac=OUT_FRAC)
        _, sink = wire_open_loop(layer, x_q if fixed else x)
        with lava_session(layer, cfg, timeout_s="auto") as session:
            session.run(x.shape[1])
            y = sink.data.get()
            if info is not None:
                info["leaf_processes"] = session.leaf_processes
        if fixed:
            y = y / 2.0 ** OUT_FRAC
    return np.asarray(y, dtype=np.float64), time.perf_counter() - t0


def compare(seed: int = 0, n_in: int = 64, n_out: int = 32, steps: int = 20,
            backends=("sim-float", "sim-fixed", "engine", "torch"),
            granularity: str = "fused") -> dict:
    """Run the same layer on ``backends``; report agreement with the float reference (torch)
    and whether Lava fixed point equals the integer engine exactly."""
    trits, alpha, x = make_layer_data(seed, n_in, n_out, steps)
    from lava_llm.run import check_granularity

    check_granularity(granularity)
    outs, secs, leaves = {}, {}, {}
    for b in backends:
        info: dict = {}
        outs[b], secs[b] = run_layer(b, trits, alpha, x, granularity, info)
        if "leaf_processes" in info:
            leaves[b] = info["leaf_processes"]
    ref = outs.get("torch", outs.get("sim-float"))
    scale = float(np.abs(ref).max())
    report = {"shape": [n_out, n_in], "steps": steps, "seconds": secs,
              "leaf_processes": leaves, "granularity": granularity,
              "max_abs_err_vs_float": {b: float(np.abs(o - ref).max()) for b, o in outs.items()},
              "rel_err_vs_float": {b: float(np.abs(o - ref).max() / scale)
                                   for b, o in outs.items()}}
    report["equals_engine"] = {b: bool(np.array_equal(outs[b], outs["engine"]))
                               for b in ("sim-fixed", "loihi2") if b in outs and "engine" in outs}
    return report


def add_arguments(parser) -> None:
    parser.add_argument("--inputs", type=int, default=64, help="input size (default 64)")
    parser.add_argument("--outputs", type=int, default=32, help="output size (default 32)")
    parser.add_argument("--steps", type=int, default=20, help="time steps (default 20)")
    parser.add_argument("--granularity", choices=("fused", "fine"), default="fused",
                        help="Lava form of the layer: fused (one leaf, default) or fine "
                        "(TernarySynapse -> Rescale)")


def run(args) -> dict:
    V.check_int("--inputs", args.inputs, 1, 1 << 16)
    V.check_int("--outputs", args.outputs, 1, 1 << 16)
    V.check_int("--steps", args.steps, 1, 1 << 20)
    backends = [args.backend] + [b for b in ("engine", "torch") if b != args.backend]
    granularity = getattr(args, "granularity", "fused")
    rep = compare(args.seed, args.inputs, args.outputs, args.steps, backends=backends,
                  granularity=granularity)
    out = {"backend": args.backend, "shape": rep["shape"], "steps": rep["steps"],
           "seconds": rep["seconds"][args.backend],
           "rel_err_vs_float": rep["rel_err_vs_float"][args.backend]}
    if args.backend in rep["leaf_processes"]:
        out["leaf_processes"] = rep["leaf_processes"][args.backend]
        out["granularity"] = granularity
    if args.backend in rep["equals_engine"]:
        out["equals_engine"] = rep["equals_engine"][args.backend]
    return out
