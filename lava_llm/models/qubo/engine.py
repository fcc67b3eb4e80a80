"""The vectorised annealing engine: the QuboAnnealer step functions in a numpy loop.

``mode="fixed"`` is bit-exact with the Lava ``sim-fixed`` model (same kernels, same PRNG
stream, same initial state); ``mode="float"`` follows the float model. All replicas and
neurons advance together; fields are updated incrementally from the flip spikes (a sparse or
dense product, chosen by density).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from lava_llm import validation as V
from lava_llm.processes.qubo_annealing import kernels

DENSE_UP_TO = 2048   # dense couplings (float32 rows gathered per step) up to this many variables
DENSE_ABOVE = 0.05   # ... and up to 8192 variables above this density; CSR otherwise


def _couplings(m: sp.csr_matrix, dense, dtype):
    """Couplings for :func:`kernels.field_update`: dense (BLAS, rows gathered per step) when
    the matrix is small and dense enough, else CSR. Integer couplings go as float32, which is
    exact for them (see :func:`kernels.field_update`)."""
    if dense is None:
        n = m.shape[0]
        dense = n <= DENSE_UP_TO or (n <= 8192 and m.nnz > DENSE_ABOVE * n * n)
    return m.toarray().astype(dtype) if dense else sp.csr_matrix(m, dtype=dtype)


def anneal(problem, temps, *, replicas: int = 8, seed: int = 0, p_wake: float = 0.35,
           ref_bits: int = 2, scale=None, mode: str = "fixed", x0=None, dense=None,
           callback=None) -> dict:
    """Run the annealer for ``len(temps)`` steps.

    Returns a dict: ``best_x`` (R, N) int8 best state per replica, ``best_cost`` (R,) and
    ``trace`` (steps, R) the current cost per step, both in model units (integers times
    ``1/scale`` for ``fixed``; Q units for ``float``), ``x`` the final state, ``scale``.
    ``callback(t, cost)`` (optional) is called after each step.
    """
    V.check_choice("mode", mode, ("fixed", "float"))
    replicas = V.check_int("replicas", replicas, 1, 4096)
    ref_bits = V.check_int("ref_bits", ref_bits, 0, kernels.REF_BITS_MAX)
    wake = kernels.wake_threshold(p_wake)
    temps = np.asarray(temps, dtype=np.float64)
    n = problem.n
    x_rand, r = kernels.initial_state(seed, replicas, n)
    x = x_rand if x0 is None else V.check_shape(
        "x0", V.check_int_range("x0", x0, 0, 1), (replicas, n)).copy()
    if mode == "fixed":
        K, c, scale = kernels.quantize_qubo(problem.J, problem.d, scale)
        betas = kernels.beta_fixed(temps, scale)
        W, bias = _couplings(K, dense, np.float32), c
        h = np.rint(kernels.initial_field(x, W, bias)).astype(np.int64)
        step = kernels.int_step
    else:
        V.check_finite("temperatures", temps)
        if np.any(temps <= 0):
            raise ValueError("temperatures must be > 0")
        scale = 1.0
        betas = 1.0 / temps
        W, bias = _couplings(problem.J, dense, np.float64), problem.d
        h = kernels.initial_field(x, W, bias)
        step = kernels.float_step
    ref = np.zeros((replicas, n), dtype=np.int64)
    trace = np.empty((len(temps), replicas), dtype=np.float64)
    best_cost = np.full(replicas, np.inf)
    best_x = x.copy()
    for t, beta in enumerate(betas):
        x, h, ref, r, cost = step(x, h, ref, r, W, bias, beta, wake, ref_bits)
        trace[t] = cost
        better = cost < best_cost
        if better.any():
            best_cost = np.where(better, cost, best_cost)
            best_x[better] = x[better]
        if callback is not None:
            callback(t, cost)
    return {"best_x": best_x.astype(np.int8), "best_cost": best_cost, "trace": trace,
            "x": x.astype(np.int8), "scale": scale}
