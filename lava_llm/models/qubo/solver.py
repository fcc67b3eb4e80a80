"""``solve``: one entry point for the engine and the Lava backends."""
from __future__ import annotations

import dataclasses
import time
import typing as ty
import warnings

import numpy as np

from lava_llm import validation as V
from lava_llm.models.qubo import problem as P
from lava_llm.models.qubo import schedule as S
from lava_llm.run import check_backend, check_granularity

BACKENDS = ("engine", "sim-float", "sim-fixed", "loihi2")


class QuantizationWarning(UserWarning):
    """The fixed-point model rounds some of Q's coefficients to 0 or by more than the stated
    relative precision (``solve(strict=True)`` refuses such a Q instead)."""


@dataclasses.dataclass
class SolveResult:
    """What :func:`solve` returns. ``best_cost`` is ``x^T Q x + offset`` recomputed from the
    original ``Q`` for ``assignment``; ``cost_trace`` (steps,) is the lowest current cost over
    the replicas at each step, in the problem's own units (``x^T Q x + offset`` of the states
    with the unrounded Q, also for the fixed-point backends); ``cut`` is set for Max-Cut,
    ``feasible`` for MIS. ``assignment`` is 0/1, or -1/+1 for a SPIN ``dimod`` model
    (``vartype``). ``quantization``: :func:`kernels.quantization_report` of the fixed-point
    backends (None for ``sim-float``)."""

    assignment: np.ndarray
    best_cost: float
    cost_trace: np.ndarray
    seconds: float
    steps: int
    backend: str
    replicas: int
    scale: float
    cut: ty.Optional[float] = None
    feasible: ty.Optional[bool] = None
    labels: ty.Optional[list] = None
    vartype: str = "BINARY"
    quantization: ty.Optional[dict] = None
    replica_states: ty.Optional[np.ndarray] = None   # (R, N) best state per replica, 0/1
    replica_costs: ty.Optional[np.ndarray] = None    # (R,) their x^T Q x + offset
    leaf_processes: ty.Optional[int] = None          # Lava backends: leaves that ran

    def sample(self) -> dict:
        """The assignment as ``{label: value}`` (dimod-style, in the model's vartype)."""
        labels = self.labels if self.labels is not None else range(len(self.assignment))
        return {lab: int(v) for lab, v in zip(labels, self.assignment)}


def as_problem(problem) -> tuple[P.QuboProblem, ty.Optional[list]]:
    """Accept a QuboProblem, a (sparse) matrix or a dimod BinaryQuadraticModel."""
    if isinstance(problem, P.QuboProblem):
        return problem, None
    if type(problem).__module__.startswith("dimod"):
        return P.from_bqm(problem)
    return P.from_matrix(problem), None


def solve(problem, *, backend: str = "engine", steps: ty.Optional[int] = None,
          schedule: ty.Union[str, ty.Sequence[float]] = "geometric",
          replicas: ty.Optional[int] = None,
          seed: int = 0, t_start: ty.Optional[float] = None, t_end: ty.Optional[float] = None,
          restarts: int = 0, p_wake: ty.Optional[float] = None,
          ref_bits: ty.Optional[int] = None,
          scale: ty.Optional[float] = None, progress: bool = False, strict: bool = False,
          rel_tol: ty.Optional[float] = None, parallel: ty.Optional[bool] = None,
          chromatic: ty.Optional[bool] = None, granularity: str = "fused") -> SolveResult:
    """Minimise ``x^T Q x + offset`` by parallel simulated annealing.

    Parameters
    ----------
    problem : QuboProblem, array (N, N), scipy sparse or dimod.BinaryQuadraticModel
        Q symmetric or upper triangular (see :mod:`lava_llm.models.qubo.problem`).
    backend : str
        ``"engine"`` (compiled integer engine, bit-exact with ``sim-fixed``),
        ``"sim-float"``, ``"sim-fixed"`` (Lava CPU simulation) or ``"loihi2"``.
    steps : int, optional
        Time steps (each step every neuron of every replica may flip; under the chromatic
        schedule one colour class). Default: :func:`schedule.default_budget` (from N and the
        graph's moves).
    schedule : "geometric", "linear" or array (steps,)
        Temperature schedule; arrays are used as given (in Q units).
    replicas : int, optional
        Independent runs in parallel (numba threads on the engine); the best is returned.
        Default :data:`schedule.DEFAULT_REPLICAS`.
    seed : int
        PRNG seed (initial state and per-neuron xorshift states).
    t_start, t_end : float, optional
        Temperature range (default :func:`schedule.default_range`).
    restarts : int
        Re-heats: the schedule runs ``restarts + 1`` times within ``steps``.
    p_wake, ref_bits : float, int, optional
        Neuron wake probability and refractory width (see :class:`QuboAnnealer`); default
        :func:`schedule.default_moves` of the problem.
    chromatic : bool, optional
        Phase-gate the neurons by a colouring of the coupling graph (only one colour class
        may flip per step, so neighbours never flip together); default
        :func:`schedule.default_moves` (on for graphs with few colours).
    scale : float, optional
        Fixed-point Q scale (default automatic; errors if Q does not fit).
    strict : bool
        Fixed-point backends: raise ``ValueError`` when a non-zero coefficient of Q rounds to
        0 or changes by more than ``rel_tol`` (default ``kernels.REL_TOL`` = 5%) of its value.
        Otherwise such a Q runs with a :class:`QuantizationWarning` giving the counts.
        ``sim-float`` quantises nothing and checks nothing.
    parallel : bool, optional
        Engine: replicas on numba's threads (default: when it pays); the result is the same.
    granularity : str
        Lava backends: ``"fused"`` (one leaf, default) or ``"fine"`` (annealing neurons,
        coupling synapses and cost readout as three Processes); the same trajectories.
    """
    from lava_llm.processes.qubo_annealing import kernels

    check_backend(backend, BACKENDS)
    check_granularity(granularity)
    prob, labels = as_problem(problem)
    moves = None
    if steps is None or replicas is None:
        moves = S.default_moves(prob)
        auto_steps, auto_replicas = S.default_budget(prob, moves)
        if isinstance(schedule, str):
            steps = auto_steps if steps is None else steps
        elif steps is None:
            steps = len(schedule)
        replicas = auto_replicas if replicas is None else replicas
    steps = V.check_int("steps", steps, 1, 10_000_000)
    replicas = V.check_int("replicas", replicas, 1, 4096)
    seed = V.check_int("seed", seed, 0, 2**63 - 1)
    P.check_memory(f"replicas={replicas} x n={prob.n}", P.state_bytes(prob.n, replicas)
                   + 16 * steps * replicas)
    fixed = backend != "sim-float"
    report = None
    if fixed:
        _, _, q_scale = kernels.quantize_qubo(prob.J, prob.d, scale, strict=strict,
                                              rel_tol=rel_tol)
        report = kernels.quantization_report(prob.J, prob.d, q_scale, rel_tol)
        if report["zeroed"] or report["imprecise"]:
            warnings.warn(f"{report['message']}; costs are reported in Q's own units, but the "
                          "dynamics see the rounded Q (strict=True / --strict refuses)",
                          QuantizationWarning, stacklevel=2)
    if isinstance(schedule, str):
        hot, cold = S.default_range(prob)
        if fixed:
            # keep the default range inside what the fixed-point beta can represent
            t_lo, t_hi = kernels.temperature_limits(q_scale)
            cold = min(max(cold, 1.001 * t_lo), 0.999 * t_hi)
            hot = min(max(hot, cold), 0.999 * t_hi)
        temps = S.temperatures(steps, hot if t_start is None else t_start,
                               cold if t_end is None else t_end, schedule, restarts)
    else:
        temps = V.check_shape("schedule", V.check_finite("schedule", schedule), (steps,))
        if np.any(temps <= 0):
            raise ValueError("schedule temperatures must be > 0")
        temps = temps.astype(np.float64)
    moves = S.default_moves(prob) if moves is None else moves
    p_wake = moves["p_wake"] if p_wake is None else p_wake
    ref_bits = moves["ref_bits"] if ref_bits is None else ref_bits
    colour = moves["colour"] if chromatic is None else (
        kernels.graph_colouring(prob.J) if chromatic else None)
    t0 = time.perf_counter()
    if backend == "engine":
        out = _run_engine(prob, temps, replicas, seed, p_wake, ref_bits, scale, progress,
                          parallel, colour)
    else:
        out = _run_lava(prob, temps, backend, replicas, seed, p_wake, ref_bits, scale, colour,
                        granularity)
    seconds = time.perf_counter() - t0
    energies = prob.energy(out["best_x"].astype(np.float64))
    k = int(np.argmin(energies))
    x = out["best_x"][k].astype(np.int8)
    res = SolveResult(x, float(energies[k]), out["trace"].min(axis=1) + prob.offset, seconds,
                      steps, backend, replicas, out["scale"], labels=labels,
                      vartype=prob.vartype, quantization=report,
                      replica_states=out["best_x"].astype(np.int8), replica_costs=energies,
                      leaf_processes=out.get("leaf_processes"))
    if prob.vartype == "SPIN":
        res.assignment = (2 * x - 1).astype(np.int8)
    if prob.kind == "maxcut":
        res.cut = prob.cut(x)
    if prob.kind == "mis":
        res.feasible = prob.violations(x) == 0
    return res


def _run_engine(prob, temps, replicas, seed, p_wake, ref_bits, scale, progress, parallel,
                colour):
    from lava_llm.models.qubo import engine

    bar = None
    if progress:
        from lava_llm.progress import bar as tqdm

        bar = tqdm(total=len(temps), desc="anneal", unit="step", leave=False)
    cb = (lambda done: bar.update(done - bar.n)) if bar is not None else None
    try:
        return engine.anneal(prob, temps, replicas=replicas, seed=seed, p_wake=p_wake,
                             ref_bits=ref_bits, scale=scale, mode="fixed", callback=cb,
                             parallel=parallel, colour=colour)
    finally:
        if bar is not None:
            bar.close()


def _run_lava(prob, temps, backend, replicas, seed, p_wake, ref_bits, scale, colour,
              granularity="fused"):
    from lava_llm.processes.qubo_annealing import QuboAnnealer
    from lava_llm.run import lava_session, run_config

    # raises Loihi2UnavailableError before anything is built
    cfg = run_config(backend, granularity=granularity)
    steps = len(temps)
    fixed = backend != "sim-float"
    # sim-float builds no fixed-point Vars, so it runs any Q and schedule the float model can
    proc = QuboAnnealer(q=prob.q, temperatures=temps, replicas=replicas, seed=seed,
                        p_wake=p_wake, ref_bits=ref_bits, scale=scale, quantize=fixed,
                        colour=colour)
    with lava_session(proc, cfg, timeout_s="auto") as session:
        session.run(steps)
        best_x = np.asarray(proc.best_x.get()).astype(np.int8)
        # the cost of every step in Q's units (host-side bookkeeping of the model)
        trace = np.asarray(proc.cost_history.get(), dtype=np.float64)   # (steps, R)
        leaves = session.leaf_processes
    return {"best_x": best_x, "trace": trace, "scale": proc.scale if fixed else 1.0,
            "leaf_processes": leaves}
