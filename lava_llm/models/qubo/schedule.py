"""Temperature schedules: linear and geometric, with restarts (re-heats)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from lava_llm import validation as V

SCHEDULES = ("geometric", "linear")


def default_range(problem) -> tuple[float, float]:
    """A starting and final temperature from the problem's couplings (in units of Q).

    Hot: a third of the median over variables of the root-sum-square of its couplings
    ``J_ij`` (a typical field fluctuation; the bias when there are no couplings). Cold: the
    smallest non-zero coupling or bias divided by ln(1000), so that the last steps accept an
    uphill move of that size with probability 1e-3.

    Max-Cut problems (``problem.kind == "maxcut"``) that are not spin-glass-like end colder,
    at probability 1e-6 (ln(10**6); in the fixed model's 16-bit test that is never: the end
    of the schedule is a quench). On Gset at 3200 steps (10 seeds) it lifts the mean cut of
    single chains from 97.0-97.6% to 98.6-98.8% of the best known on G11-G13 and from 99.2%
    to 99.4-99.6% on G14-G16, and leaves G1-G3 unchanged; on the MIS benchmark graphs it did
    the opposite (optimal in 43-87% of 30 graphs instead of 57-90%, and 2 of 90 best states
    infeasible), so other problems keep the 1e-3 end.

    Spin-glass-like problems (mixed-sign, not sparse: :func:`spin_glass`) start colder: at
    0.7 times the median over variables of the RMS of its couplings (a single coupling's
    scale rather than the root-sum-square, since a neighbourhood's signed contributions largely
    cancel): 1.4 instead of 4.6 on Gset G6-G10. Tuned on G6-G10 and G18-G20; single chains on
    G7/G8 at 6400 steps reach a median 99.55-99.58% of the best-known cut (20 seeds) against
    99.38% from the root-sum-square start, and 99.35% against 99.06% on G6-G10 at 1600 steps.
    They also end warmer, at acceptance 1e-3 (ln(1000)): the colder end lowers their cuts
    (G6, G9, G18 at 1600 steps: 99.6/99.1/99.3% -> 99.2/98.8/98.2%, 10 seeds)."""
    J, d = problem.J, problem.d
    rss = np.sqrt(np.asarray(J.multiply(J).sum(axis=1)).ravel())
    glass = spin_glass(problem)
    if np.any(rss > 0) and glass:
        deg = np.diff(sp.csr_matrix(J).indptr)
        rms = rss[deg > 0] / np.sqrt(deg[deg > 0])
        hot = 0.7 * float(np.median(rms))
    elif np.any(rss > 0):
        hot = float(np.median(rss[rss > 0])) / 3.0
    else:
        hot = float(np.abs(d).max()) if np.any(d) else 1.0
    nz = np.abs(np.r_[J.data, d])
    nz = nz[nz > 0]
    quench = problem.kind == "maxcut" and not glass
    cold = float(nz.min()) / np.log(1e6 if quench else 1e3) if nz.size else hot / 100.0
    return max(hot, 2.0 * cold), cold


def default_dynamics(problem) -> tuple[float, int]:
    """Wake probability and refractory width for the problem (a heuristic tuned on Gset).

    Parallel updates conflict when neighbours flip in the same step. With mixed-sign
    couplings (``|sum J| < 0.5 sum |J|``, spin-glass-like) and at least 8 neighbours on
    average, the field changes from simultaneous flips largely cancel, so every neuron may
    try every step and a 0-7 step refractory period is enough (``p_wake=1, ref_bits=3``;
    G6-G10, G18-G20); when the graph also has hubs (:func:`hubs`: the Gset planar +-1 graphs
    G18-G21, G39-G42, G59, G64), a 0-3 step refractory period (``ref_bits=2``): single chains
    on G18 (12800 steps), G39 and G42 (32000 steps) reach a median 99.55/99.71/99.60% of the
    best-known cut against 99.40/99.42/99.27% with ``ref_bits=3`` (6 seeds; G41 99.09
    against 99.06%). Hubs larger than :data:`LARGE_HUB_RATIO` times the mean degree (G59,
    G64: 47x and 50x, against 10-28x on G18-G21, G39-G42) collect more simultaneous
    neighbour flips per step, and keep ``ref_bits=3``: single chains on G64 reach a median
    99.49/99.57% at 32768/65536 steps against 98.97/99.44% with ``ref_bits=2`` (3 seeds),
    and its default call 99.60% against 99.36%; on G59 both give 99.61% at the default
    budget. Otherwise (same-sign couplings such as G1-G5, G14-G17 and MIS, or sparse graphs
    such as the G11-G13 tori) a neuron tries with probability 0.35 and rests 0-3 steps after
    a flip (``p_wake=0.35, ref_bits=2``)."""
    if problem.J.nnz == 0:
        return 1.0, 0
    if spin_glass(problem):
        return 1.0, 2 if hub_kind(problem) == "hubs" else 3
    return 0.35, 2


#: graphs whose greedy colouring needs at most this many colours get the chromatic schedule
CHROMATIC_MAX_COLOURS = 8


def default_moves(problem) -> dict:
    """How the neurons move, from measurable properties of the coupling graph: a dict with
    ``p_wake``, ``ref_bits``, ``colour`` ((N,) phase colouring or None), ``colours`` and
    ``rule`` (which case applied).

    * no couplings: every neuron every step (``p_wake=1, ref_bits=0``);
    * mixed-sign and dense (:func:`spin_glass`): :func:`default_dynamics` (all neurons may try,
      refractory 0-7 steps; 0-3 steps when the graph has :func:`hubs` below
      :data:`LARGE_HUB_RATIO` times the mean degree);
    * otherwise, when a proper colouring of the coupling graph
      (:func:`kernels.graph_colouring`: BFS 2-colouring of bipartite graphs such as the
      Gset tori, else greedy by decreasing degree) needs at most
      :data:`CHROMATIC_MAX_COLOURS` colours: the **chromatic schedule**, one colour class per
      step with ``p_wake=1, ref_bits=0``. No two neighbours ever flip in the same step, so a
      cycle of ``colours`` steps is one exact sequential Metropolis sweep (the conflicts of
      parallel updates that held the sparse tori below 99% are gone);
    * otherwise (many colours: dense same-sign graphs such as Gset G1-G5):
      :func:`default_dynamics`.
    """
    from lava_llm.processes.qubo_annealing import kernels

    if problem.J.nnz == 0:
        return {"p_wake": 1.0, "ref_bits": 0, "colour": None, "colours": 1, "rule": "no couplings"}
    if spin_glass(problem):
        p, r = default_dynamics(problem)
        kind = hub_kind(problem)
        return {"p_wake": p, "ref_bits": r, "colour": None, "colours": None,
                "rule": f"dense mixed-sign, {kind}" if kind else "dense mixed-sign"}
    colour = kernels.graph_colouring(problem.J)
    k = int(colour.max()) + 1
    if k <= CHROMATIC_MAX_COLOURS:
        return {"p_wake": 1.0, "ref_bits": 0, "colour": colour, "colours": k,
                "rule": f"chromatic ({k} colours)"}
    p, r = default_dynamics(problem)
    return {"p_wake": p, "ref_bits": r, "colour": None, "colours": k,
            "rule": f"parallel ({k} colours > {CHROMATIC_MAX_COLOURS})"}


DEFAULT_REPLICAS = 4
#: default steps: dense graphs (parallel moves), dense mixed-sign graphs with hubs, and the
#: chromatic schedule's range
STEPS_PER_VAR_PARALLEL, STEPS_MAX_PARALLEL = 8, 32768
STEPS_PER_VAR_HUBS, STEPS_MAX_HUBS = 32, 131072
STEPS_PER_VAR_CHROMATIC, STEPS_MAX_CHROMATIC = 16, 65536
STEPS_PER_VAR_FRUSTRATED, STEPS_MIN_FRUSTRATED = 24, 96000
STEPS_MIN, STEPS_MAX = 4000, 240000


def default_budget(problem, moves=None) -> tuple[int, int]:
    """Default ``(steps, replicas)`` from the problem's size and :func:`default_moves`.

    The number of sweeps a chain needs grows with N. With the parallel moves (dense graphs,
    where every neuron may move every step): ``STEPS_PER_VAR_PARALLEL * N`` steps clipped to
    ``[STEPS_MIN, STEPS_MAX_PARALLEL]`` (6400 on the 800-node Gset graphs, 16000 at N = 2000);
    dense mixed-sign graphs with :func:`hubs` (Gset planar +-1) need longer chains:
    ``STEPS_PER_VAR_HUBS * N`` clipped to ``[STEPS_MIN, STEPS_MAX_HUBS]`` (G41, 2000 nodes:
    99.13% of the best known at 16000 x 4, 99.79% at 64000 x 4, median of 3 seeds).
    Under the chromatic schedule a step moves one colour class: ``STEPS_PER_VAR_CHROMATIC *
    N`` steps clipped to ``[STEPS_MIN, STEPS_MAX_CHROMATIC]`` (same-sign sparse graphs: Gset
    planar +1, random +1 of mean degree < 8). Sparse frustrated graphs (:func:`mixed_sign`
    couplings: the +-1 tori above all) need more sweeps: ``STEPS_PER_VAR_FRUSTRATED * N``
    clipped to ``[STEPS_MIN_FRUSTRATED, STEPS_MAX]`` (96000 up to 4000 nodes, 120000 on the
    5000-node G57, 240000 on the 10000-node G72; the floor: on the 2000-node torus G33, 4
    replicas of 48000 steps reached 99.42% of the best known for 2 of 6 seeds (median
    99.57%), of 96000 steps >= 99.57% for all 6; single chains on G57 reach a median 99.37%
    at 65536 steps and 99.51% at 131072, on G62 99.59% at 131072, and two chains of 240000
    steps on G72 99.46 and 99.63%). ``DEFAULT_REPLICAS`` replicas (threads) either way."""
    moves = default_moves(problem) if moves is None else moves
    if moves["colour"] is None:
        if moves["rule"].endswith("hubs"):
            steps = STEPS_PER_VAR_HUBS * problem.n
            return int(np.clip(steps, STEPS_MIN, STEPS_MAX_HUBS)), DEFAULT_REPLICAS
        steps = STEPS_PER_VAR_PARALLEL * problem.n
        return int(np.clip(steps, STEPS_MIN, STEPS_MAX_PARALLEL)), DEFAULT_REPLICAS
    if mixed_sign(problem):
        steps = int(np.clip(STEPS_PER_VAR_FRUSTRATED * problem.n, STEPS_MIN_FRUSTRATED,
                            STEPS_MAX))
    else:
        steps = int(np.clip(STEPS_PER_VAR_CHROMATIC * problem.n, STEPS_MIN,
                            STEPS_MAX_CHROMATIC))
    return steps, DEFAULT_REPLICAS


def spin_glass(problem) -> bool:
    """Mixed-sign couplings (``|sum J| < 0.5 sum |J|``) with at least 8 neighbours on average
    (Gset G6-G10, G18-G20): the class :func:`default_dynamics` and :func:`default_range` treat
    apart."""
    return mixed_sign(problem) and problem.J.nnz / problem.n >= 8


def mixed_sign(problem) -> bool:
    """Mixed-sign couplings: ``|sum J| < 0.5 sum |J|`` (frustrated: Gset +-1 graphs)."""
    J = problem.J
    if J.nnz == 0:
        return False
    return abs(float(J.data.sum())) / float(np.abs(J.data).sum()) < 0.5


#: a hub's degree, as a multiple of the mean degree: :func:`hubs`, and hubs large enough to
#: keep the longer refractory period (:func:`default_dynamics`)
HUB_RATIO, LARGE_HUB_RATIO = 8, 32


def hub_ratio(problem) -> float:
    """The coupling graph's largest degree over its mean degree (0 without couplings)."""
    deg = np.diff(sp.csr_matrix(problem.J).indptr)
    return float(deg.max() / deg.mean()) if deg.size and deg.any() else 0.0


def hubs(problem, ratio: float = HUB_RATIO) -> bool:
    """The coupling graph has hubs: its largest degree exceeds ``ratio`` (default 8) times its
    mean degree (the Gset planar graphs: degree-4 vertices beside vertices of degree 120-330
    at N <= 2000, 560-590 at N = 5000-7000)."""
    return hub_ratio(problem) > ratio


def hub_kind(problem) -> str:
    """``"large hubs"`` (:func:`hub_ratio` above :data:`LARGE_HUB_RATIO`), ``"hubs"`` (above
    :data:`HUB_RATIO`) or ``""``, from one degree count."""
    r = hub_ratio(problem)
    return "large hubs" if r > LARGE_HUB_RATIO else "hubs" if r > HUB_RATIO else ""


def temperatures(steps: int, t_start: float, t_end: float, kind: str = "geometric",
                 restarts: int = 0) -> np.ndarray:
    """Per-step temperatures (``steps``,): ``restarts + 1`` equal cycles, each going from
    ``t_start`` to ``t_end`` linearly or geometrically (a restart re-heats; the state and the
    best-so-far are kept)."""
    steps = V.check_int("steps", steps, 1)
    restarts = V.check_int("restarts", restarts, 0, steps - 1)
    t_start = V.check_positive("t_start", t_start)
    t_end = V.check_positive("t_end", t_end)
    V.check_choice("schedule", kind, SCHEDULES)
    cycles = np.array_split(np.arange(steps), restarts + 1)
    out = np.empty(steps)
    for idx in cycles:
        k = len(idx)
        if kind == "geometric":
            out[idx] = np.geomspace(t_start, t_end, k) if k > 1 else t_end
        else:
            out[idx] = np.linspace(t_start, t_end, k) if k > 1 else t_end
    return out
