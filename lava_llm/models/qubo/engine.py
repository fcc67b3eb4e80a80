"""The annealing engine: the QuboAnnealer's compiled step run over all steps at once.

``mode="fixed"`` is bit-exact with the Lava ``sim-fixed`` model (same kernel,
:func:`kernels.run_steps`; same PRNG stream; same initial state); ``mode="float"`` follows the
float model. All replicas advance together; fields are updated incrementally from the flip
spikes through the CSR rows of the neurons that flipped (event-driven, like Loihi's synapses).
"""
from __future__ import annotations

import numpy as np

from lava_llm import validation as V
from lava_llm.processes.qubo_annealing import kernels

CHUNK = 512  # steps per compiled call when a callback wants progress


def anneal(problem, temps, *, replicas: int = 8, seed: int = 0, p_wake: float = 0.35,
           ref_bits: int = 2, scale=None, mode: str = "fixed", x0=None,
           callback=None, parallel=None, strict: bool = False, colour=None) -> dict:
    """Run the annealer for ``len(temps)`` steps.

    Returns a dict: ``best_x`` (R, N) int8 best state per replica (lowest cost in the
    problem's units), ``best_cost`` (R,) in the problem's units (without ``offset``),
    ``trace`` (steps, R) the current cost per step in the problem's units (exact: recomputed
    with the unrounded Q when the quantisation is lossy), ``model_trace`` the model's own cost
    (integers, units of ``1/scale``, for ``fixed``), ``x`` the final state, ``scale`` and
    ``quantization`` (:func:`kernels.quantization_report`; None for ``float``).
    ``callback(steps_done)`` (optional) is called after every :data:`CHUNK` steps and at the
    end. ``parallel``: replicas on numba's threads (see :func:`kernels.run_steps`; the result
    does not depend on it). ``colour`` (N,): phase gating (chromatic schedule, see
    :func:`kernels.run_steps`; default none).
    """
    V.check_choice("mode", mode, ("fixed", "float"))
    replicas = V.check_int("replicas", replicas, 1, 4096)
    ref_bits = V.check_int("ref_bits", ref_bits, 0, kernels.REF_BITS_MAX)
    wake = kernels.wake_threshold(p_wake)
    temps = np.asarray(temps, dtype=np.float64)
    n = problem.n
    x_rand, r = kernels.initial_state(seed, replicas, n)
    x = x_rand if x0 is None else V.check_shape(
        "x0", V.check_int_range("x0", x0, 0, 1), (replicas, n))
    fixed = mode == "fixed"
    report, true = None, None
    if fixed:
        couplings, bias, scale = kernels.quantize_qubo(problem.J, problem.d, scale,
                                                       strict=strict)
        report = kernels.quantization_report(problem.J, problem.d, scale)
        betas = kernels.beta_fixed(temps, scale)
        sats = kernels.saturation_delta(betas)
        if not report["exact"]:
            true = (problem.J, problem.d)
    else:
        V.check_finite("temperatures", temps)
        if np.any(temps <= 0):
            raise ValueError("temperatures must be > 0")
        couplings, bias, scale, betas = problem.J, problem.d, 1.0, 1.0 / temps
        sats = None
    state = kernels.AnnealState(x, kernels.initial_field(x, couplings, bias),
                                np.zeros((replicas, n)), r)
    step = len(betas) if callback is None else CHUNK
    traces, true_traces = [], []
    for t0 in range(0, len(betas), step):
        traces.append(kernels.run_steps(
            state, couplings, bias, betas[t0:t0 + step], wake, ref_bits, fixed=fixed,
            sats=None if sats is None else sats[t0:t0 + step], true=true,
            unit=1.0 / scale, parallel=parallel, colour=colour, t0=t0))
        true_traces.append(state.true_trace)
        if callback is not None:
            callback(min(t0 + step, len(betas)))
    return {"best_x": state.best_x.astype(np.int8), "best_cost": state.best_cost,
            "trace": np.concatenate(true_traces),
            "model_trace": np.concatenate(traces).astype(np.float64),
            "x": state.x.astype(np.int8), "scale": scale, "quantization": report}
