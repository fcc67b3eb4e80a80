"""A thin adapter shaped like lava-optimization's QUBO API, over :func:`solve`.

lava-optimization (``lava.lib.optimization``) solves a QUBO with::

    problem = QUBO(q)
    solver = OptimizationSolver(problem)
    report = solver.solve(config=SolverConfig(timeout=1000, target_cost=-10, backend="CPU"))
    report.best_cost, report.best_state, report.best_timestep, report.cost_timeseries

Its CPU path is disabled in recent releases; this module offers the same calling shape on
lava-llm's annealer so that such code runs with an import change::

    from lava_llm.models.qubo.lava_optimization import QUBO, OptimizationSolver, SolverConfig

Differences (documented, not hidden): ``best_cost`` is ``x^T Q x`` in Q's own units (the
library reports its integer cost); the run always lasts ``timeout`` steps (a ``target_cost``
does not stop it early: ``report.target_reached`` says whether and ``best_timestep`` when it
was reached); ``backend`` ``"CPU"`` is the compiled engine, and lava-llm's own backend names
(``"sim-fixed"``, ``"sim-float"``, ``"loihi2"``) are accepted too; ``hyperparameters`` are
this annealer's (:data:`HYPERPARAMETERS`), not lava-optimization's neuron parameters.
"""
from __future__ import annotations

import dataclasses
import typing as ty

import numpy as np

from lava_llm.models.qubo import problem as P
from lava_llm.models.qubo.solver import BACKENDS, solve

#: hyperparameter -> solve() argument
HYPERPARAMETERS = {"temperature": "t_start", "t_start": "t_start", "t_end": "t_end",
                   "annealing_schedule": "schedule", "restarts": "restarts",
                   "p_wake": "p_wake", "ref_bits": "ref_bits", "strict": "strict"}
_BACKENDS = {"CPU": "engine", "cpu": "engine", "Loihi2": "loihi2", **{b: b for b in BACKENDS}}


class QUBO:
    """A QUBO ``minimise x^T q x`` over binary ``x`` (``q`` symmetric or upper triangular,
    dense or scipy sparse), validated on construction."""

    def __init__(self, q):
        self.q = q
        self.problem = P.from_matrix(q, name="QUBO")

    @property
    def num_variables(self) -> int:
        return self.problem.n

    def evaluate_cost(self, solution) -> float:
        """``x^T q x`` of a 0/1 vector."""
        return float(self.problem.energy(np.asarray(solution, dtype=np.float64)))


@dataclasses.dataclass
class SolverConfig:
    """What to run: ``timeout`` time steps, stop target ``target_cost`` (reported, see the
    module notes), ``backend``, ``hyperparameters`` (:data:`HYPERPARAMETERS`), ``probe_cost``
    (fill ``cost_timeseries``), ``num_replicas`` and ``seed``."""

    timeout: int = 1000
    target_cost: ty.Optional[float] = None
    backend: str = "CPU"
    hyperparameters: ty.Optional[dict] = None
    probe_cost: bool = False
    num_replicas: int = 1
    seed: int = 0


@dataclasses.dataclass
class SolverReport:
    """``best_cost`` (Q units), ``best_state`` (0/1), ``best_timestep`` (0-based step at which
    ``best_cost`` was first reached), ``cost_timeseries`` (steps,) lowest current cost over the
    replicas per step, or None without ``probe_cost``), ``target_reached``, ``solver_config``,
    ``seconds``."""

    best_cost: float
    best_state: np.ndarray
    best_timestep: int
    cost_timeseries: ty.Optional[np.ndarray]
    target_reached: ty.Optional[bool]
    solver_config: SolverConfig
    seconds: float


class OptimizationSolver:
    """``OptimizationSolver(problem).solve(config=SolverConfig(...)) -> SolverReport``."""

    def __init__(self, problem: QUBO):
        if not isinstance(problem, QUBO):
            raise TypeError(f"problem must be a QUBO, got {type(problem).__name__}")
        self.problem = problem

    def solve(self, config: ty.Optional[SolverConfig] = None) -> SolverReport:
        config = SolverConfig() if config is None else config
        if config.backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {sorted(_BACKENDS)}, got "
                             f"{config.backend!r}")
        kwargs = {}
        for key, value in (config.hyperparameters or {}).items():
            if key not in HYPERPARAMETERS:
                raise ValueError(f"unknown hyperparameter {key!r}; supported: "
                                 f"{sorted(HYPERPARAMETERS)}")
            kwargs[HYPERPARAMETERS[key]] = value
        res = solve(self.problem.problem, backend=_BACKENDS[config.backend],
                    steps=config.timeout, replicas=config.num_replicas, seed=config.seed,
                    **kwargs)
        trace = res.cost_trace
        best_t = int(np.flatnonzero(trace <= res.best_cost + 1e-9 * max(1.0, abs(res.best_cost)))[0])
        reached = None if config.target_cost is None else bool(
            res.best_cost <= config.target_cost)
        return SolverReport(res.best_cost, res.assignment.astype(np.int8), best_t,
                            trace.copy() if config.probe_cost else None, reached, config,
                            res.seconds)
