"""QUBO annealing neuron step functions: the numeric truth of the component.

Problem convention
------------------
Minimise ``E(x) = x^T Q x`` over binary ``x`` with ``Q`` symmetric (an upper-triangular ``Q`` is
symmetrised first; both give the same ``x^T Q x``). Split ``Q`` into a bias and couplings::

    d_i  = Q_ii                    (bias)
    J_ij = Q_ij + Q_ji  (i != j)   (coupling, symmetric, zero diagonal)
    E(x) = sum_i d_i x_i + sum_{i<j} J_ij x_i x_j

Each neuron ``i`` keeps its local field ``h_i = d_i + sum_j J_ij x_j``; flipping ``x_i`` changes
the cost by ``delta_i = (1 - 2 x_i) h_i``. The cost itself is ``E = 1/2 sum_i x_i (h_i + d_i)``,
so a cost readout needs only the neurons' own state.

One time step (every neuron of every replica in parallel; float and fixed share the structure
and the PRNG stream)::

    r      = xorshift32(r)                          per-neuron 32-bit PRNG state
    u_acc  = r & 0xFFFF                             uniform 16-bit acceptance draw
    u_wake = (r >> 16) & 0xFF                       uniform 8-bit wake draw
    u_ref  = (r >> 24) & ref_mask                   stochastic refractory period
    delta  = (1 - 2 x) * h
    p      = 1                    if delta <= 0
           = exp(-delta * beta)   else              float: exp; fixed: LUT (below)
    flip   = (ref == 0) & (u_wake < wake) & (colour == t % n_colours) & (u_acc < p * 2**16)
    ref    = u_ref if flip else max(ref - 1, 0)
    s      = flip * (1 - 2 x)                       signed flip spike (+1 on, -1 off)
    x      = x XOR flip
    h      = h + s @ J                              neighbours' fields from the flip spikes
    cost   = 1/2 sum_i x_i (h_i + d_i)              cost readout (two 24-bit words on a_out)

``colour`` is the phase gate of the chromatic schedule (:func:`graph_colouring`; all 0 and
``n_colours = 1`` when unused). The best state per replica is kept by the cost in the
problem's own units (host-side bookkeeping, below).

Fixed point (Loihi 2 widths)
----------------------------
* ``K = round(scale * J)`` signed ``WEIGHT_BITS`` = 8-bit weights, ``c = round(scale * d)``
  24-bit biases, fields ``h`` 24-bit. :func:`quantize_qubo` checks at build time that
  ``max_i |c_i| + sum_j |K_ij|`` fits 24 bits, so the field can never overflow (no wrap, no
  saturation needed) and raises ``ValueError`` when it would not.
* ``beta`` is an unsigned 24-bit integer with ``BETA_FRAC`` = 16 fractional bits, one value per
  step computed ahead of time on the host from the temperature schedule (``beta = 2**16 /
  (scale * T)``); the step itself has no division and no float operation: the field update
  ``h += s @ K`` is an int64 accumulation over the CSR rows of the neurons that flipped
  (:func:`_spread`; on Loihi, the synapses' integer accumulation).
* Acceptance: ``a = min(max(delta, 0) * beta >> (BETA_FRAC - EXP_IN_FRAC), 16 << EXP_IN_FRAC)``
  (a floor shift; saturates at ``delta/T = 16`` where ``exp(-16) * 2**16 < 0.5``), then ``p =
  exp_table()[a]``: the shared LUT :func:`lava_llm.fixed_point.exp_neg_fixed` (16-bit output)
  tabulated on ``a``, with ``p = 1`` (``2**16``) at ``a = 0`` (downhill, flat, or uphill by
  less than ``T / 256``) and ``p = 0`` at saturation; then the integer compare ``u_acc < p``
  with the 16-bit draw. The saturation is tested first, against a per-step threshold
  ``sat = ceil(2**20 / beta)`` made on the host with ``beta`` (:func:`saturation_delta`), so
  the multiply only runs when ``delta * beta < 2**20``: no product exceeds 24 bits.
* The cost register is 32-bit (checked at build time against ``sum |c| + sum_{i<j} |K|``).
  It leaves through ``a_out`` as two signed 24-bit words per replica (:func:`cost_words`:
  low 23 bits, then the arithmetic high part), so no message is wider than a 24-bit graded
  spike; :func:`join_cost_words` puts them back together on the receiving side.
* Costs in the problem's own units (the trace a user sees and the best cost / best state
  kept per replica) are host-side bookkeeping: ``cost / scale`` when the quantisation is exact,
  else recomputed from a float64 field with the unrounded ``J``, ``d`` (:func:`run_steps`).
  They never feed back into the integer dynamics.
"""
from __future__ import annotations

import functools
import types as types_

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from lava_llm import fixed_point as fp
from lava_llm import numba_threads

WEIGHT_BITS = fp.WEIGHT_BITS      # coupling weights K (signed)
FIELD_BITS = fp.STATE_BITS        # local field h and bias c (signed)
COST_BITS = 32                    # cost integrator register (signed)
BETA_BITS = 24                    # inverse temperature (unsigned)
BETA_FRAC = 16                    # fractional bits of beta
EXP_IN_FRAC = fp.ACT_FRAC         # fractional bits of delta*beta fed to the exp LUT (8)
EXP_OUT_FRAC = 16                 # p has 16 fractional bits: compared with a 16-bit draw
P_ONE = 1 << EXP_OUT_FRAC
A_MAX = 16 << EXP_IN_FRAC         # exp LUT domain [-16, 0)
WAKE_BITS = 8                     # wake draw width; wake threshold in [1, 256]
REF_BITS_MAX = 8                  # refractory draw is at most 8 bits (r >> 24)
REL_TOL = 0.05                    # strict quantisation: largest relative change of a coefficient
COST_WORD_BITS = 24               # cost readout: two signed 24-bit words per replica
COST_LO_BITS = 23                 # low word: cost & (2**23 - 1); high word: cost >> 23


# --------------------------------------------------------------------------- compiled kernels
# The step is compiled with numba (``cache=True``: once per install, then loaded from
# ``__pycache__``). It is plain integer code, neuron by neuron, which is how a Loihi 2
# microcode neuron runs it; numpy's per-operation overhead made the same step 5-8x slower.
# Constants from other modules are passed in as arguments (numba's cache is keyed on this
# file only, so a frozen foreign global could go stale); the one function taken from another
# module is the PRNG, which is fixed for good (changing it would change every trajectory).
_xs = njit(cache=True)(fp.xorshift32)


@njit(cache=True)
def _accept_fixed(delta, beta, sat, tab, shift):
    """Integer acceptance threshold (``P_ONE`` = certain): ``P_ONE`` for ``delta <= 0``, ``0``
    (the table's last entry) for ``delta >= sat``, else ``tab[delta * beta >> shift]``. With
    ``sat = saturation_delta(beta)`` the product stays below ``2**20``."""
    if delta <= 0:
        return 65536
    if delta >= sat:
        return tab[tab.shape[0] - 1]
    return tab[(delta * beta) >> shift]


@njit(cache=True)
def _accept_fixed_all(delta, beta, sat, tab, shift):
    out = np.empty(delta.size, np.int64)
    for i in range(delta.size):
        out[i] = _accept_fixed(delta[i], beta, sat, tab, shift)
    return out


@njit(cache=True)
def _draw(r, k, i, wake, ref_mask):
    """Advance neuron ``(k, i)``'s PRNG; return (may it try to flip, 16-bit acceptance draw,
    refractory draw). The wake draw is bits 16-23, the refractory draw bits 24-31."""
    v = _xs(r[k, i])
    r[k, i] = v
    return ((v >> 16) & 0xFF) < wake, v & 0xFFFF, (v >> 24) & ref_mask


@njit(cache=True)
def _spread(h, k, x, flips, nf, indptr, indices, weights):
    """Apply the flip spikes of replica ``k`` (neurons ``flips[:nf]``, already flipped in
    ``x``) to their neighbours' fields: ``h[k, j] += s_i * J_ij`` (CSR rows of the flipped)."""
    for f in range(nf):
        i = flips[f]
        s = 2 * x[k, i] - 1
        for p in range(indptr[i], indptr[i + 1]):
            h[k, indices[p]] += s * weights[p]


def _accepts(delta, beta, sat, u_acc, tab, shift):
    """The acceptance test ``u_acc < p(delta)``, chosen by the field's type when compiled
    (:func:`numba.extending.overload`): integer fields take the fixed-point LUT test
    (:func:`_accept_fixed`), float fields ``u_acc < 2**16 exp(-max(delta, 0) beta)``."""


@overload(_accepts)
def _accepts_typed(delta, beta, sat, u_acc, tab, shift):
    if isinstance(delta, types.Integer):
        return lambda delta, beta, sat, u_acc, tab, shift: u_acc < _accept_fixed(
            delta, beta, sat, tab, shift)
    return lambda delta, beta, sat, u_acc, tab, shift: u_acc < 65536.0 * np.exp(
        -max(delta, 0.0) * beta)


def _halve(total):
    """``sum_i x_i (h_i + c_i) / 2``: an exact shift for integers (the sum is even: it is
    ``2 x^T Q x``), ``* 0.5`` for floats."""


@overload(_halve)
def _halve_typed(total):
    if isinstance(total, types.Integer):
        return lambda total: total >> 1
    return lambda total: total * 0.5


def _anneal_body(x, h, ref, r, indptr, indices, weights, bias, betas, sats, wake, ref_bits,
                 tab, shift, trace, best_cost, best_x, ht, tindptr, tindices, wt, bt, track, unit,
                 true_trace, colour, n_colours, t0):
    """Steps, one per ``betas`` entry, all replicas; state arrays (R, N) updated in place.
    Compiled once for integer ``h``/``weights``/``bias``/``betas`` (the fixed model) and once
    for float64 ones (the float model), each sequential (:func:`_anneal`) and with the
    replicas spread over threads (:func:`_anneal_par`, ``prange``): replicas share nothing,
    so both give the same trajectories bit for bit.

    ``trace`` (steps, R) receives the model's cost (integer for the fixed model). The cost in
    the problem's own units goes to ``true_trace`` (steps, R) float64: ``cost * unit`` when the
    quantisation is exact (``track`` false; ``unit = 1/scale``), else ``1/2 sum x (ht + bt)``
    from a float64 field ``ht`` (R, N) kept beside ``h`` with the unrounded couplings (CSR
    ``tindptr``, ``tindices``, ``wt``) and biases ``bt`` (host-side bookkeeping: it never feeds back into the dynamics).
    ``best_cost`` (R,) float and ``best_x`` (R, N) keep the lowest true cost seen and its
    state.

    ``colour`` (N,) and ``n_colours``: phase gating (a chromatic schedule): at global step
    ``t0 + t`` only neurons with ``colour == (t0 + t) % n_colours`` may flip (all still draw,
    and count down their refractory period). With a proper colouring of the coupling graph no
    two neighbours flip together, so each step is exact sequential Metropolis on an
    independent set. ``n_colours = 1`` (all colours 0) gates nothing."""
    n_rep, n = x.shape
    ref_mask = (1 << ref_bits) - 1
    for k in prange(n_rep):
        flips = np.empty(n, np.int64)
        for t in range(betas.shape[0]):
            beta, sat = betas[t], sats[t]
            phase = (t0 + t) % n_colours
            nf = 0
            for i in range(n):                 # decide on this step's fields, then spread
                awake, u_acc, u_ref = _draw(r, k, i, wake, ref_mask)
                if ref[k, i] > 0:
                    ref[k, i] -= 1
                elif awake and colour[i] == phase and _accepts(
                        (1 - 2 * x[k, i]) * h[k, i], beta, sat, u_acc, tab, shift):
                    x[k, i] ^= 1
                    ref[k, i] = u_ref
                    flips[nf] = i
                    nf += 1
            _spread(h, k, x, flips, nf, indptr, indices, weights)
            total = bias[0] - bias[0]          # 0 of the field's type
            for i in range(n):
                if x[k, i]:
                    total += h[k, i] + bias[i]
            cost = _halve(total)
            trace[t, k] = cost
            if track:
                _spread(ht, k, x, flips, nf, tindptr, tindices, wt)
                tc = 0.0
                for i in range(n):
                    if x[k, i]:
                        tc += ht[k, i] + bt[i]
                tc *= 0.5
            else:
                tc = cost * unit
            true_trace[t, k] = tc
            if tc < best_cost[k]:
                best_cost[k] = tc
                best_x[k, :] = x[k, :]


def _renamed(fn, name):
    """A copy of ``fn`` under another name: numba's on-disk cache is keyed by the function's
    qualified name, so two compilations of one function (sequential, parallel) need two."""
    out = types_.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__,
                              fn.__closure__)
    out.__qualname__ = name
    out.__doc__ = fn.__doc__
    return out


_anneal = njit(cache=True)(_renamed(_anneal_body, "_anneal_seq"))
_anneal_par = njit(cache=True, parallel=True)(_renamed(_anneal_body, "_anneal_par"))
#: below this many neuron updates per call (replicas x N x steps) the threads' start-up
#: costs more than it saves; either way the result is the same
PARALLEL_MIN_WORK = 200_000


@njit(cache=True)
def _two_colour(indptr, indices, n):
    """BFS 2-colouring of the graph in CSR form; ``colour[0] = -1`` if it is not bipartite."""
    colour = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    for s in range(n):
        if colour[s] >= 0:
            continue
        colour[s] = 0
        head, tail = 0, 1
        queue[0] = s
        while head < tail:
            v = queue[head]
            head += 1
            for p in range(indptr[v], indptr[v + 1]):
                u = indices[p]
                if colour[u] < 0:
                    colour[u] = 1 - colour[v]
                    queue[tail] = u
                    tail += 1
                elif colour[u] == colour[v]:
                    colour[0] = -1
                    return colour
    return colour


@njit(cache=True)
def _greedy_colour(indptr, indices, order):
    """Greedy colouring in ``order``: each vertex takes the smallest colour no coloured
    neighbour has."""
    n = order.size
    colour = np.full(n, -1, np.int64)
    mark = np.full(n + 1, -1, np.int64)
    for v in order:
        for p in range(indptr[v], indptr[v + 1]):
            c = colour[indices[p]]
            if c >= 0:
                mark[c] = v
        c = 0
        while mark[c] == v:
            c += 1
        colour[v] = c
    return colour


def graph_colouring(J) -> np.ndarray:
    """A proper colouring of the coupling graph of ``J`` (CSR, symmetric): 2 colours when it is
    bipartite (BFS), else greedy in order of decreasing degree (Welsh-Powell). Returns
    ``colour`` (N,) int64 with values in ``[0, n_colours)``."""
    n = J.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    indptr = np.asarray(J.indptr, np.int64)
    indices = np.asarray(J.indices, np.int64)
    colour = _two_colour(indptr, indices, n)
    if colour[0] >= 0:
        return colour
    order = np.argsort(-np.diff(indptr), kind="stable").astype(np.int64)
    return _greedy_colour(indptr, indices, order)


# --------------------------------------------------------------------------- numpy API
@functools.lru_cache(maxsize=None)
def exp_table() -> np.ndarray:
    """``p[a] = exp(-a / 2**EXP_IN_FRAC) * 2**EXP_OUT_FRAC`` for ``a`` in ``[0, A_MAX]``, read
    from :func:`lava_llm.fixed_point.exp_neg_fixed` once (so the values are the shared LUT's),
    with ``p[0] = P_ONE`` (certain acceptance for ``delta * beta < 2**-8``) and ``p[A_MAX] =
    0``. Indexed directly by the saturated ``a``: one table read per neuron and step."""
    p = fp.exp_neg_fixed(-np.arange(A_MAX + 1), in_frac=EXP_IN_FRAC, out_frac=EXP_OUT_FRAC)
    p = np.asarray(p, dtype=np.int64).copy()
    p[0] = P_ONE
    p[A_MAX] = 0
    p.setflags(write=False)
    return p


def saturation_delta(betas) -> np.ndarray:
    """Host side, per step: ``sat = ceil(2**20 / beta)``, the smallest ``delta`` whose LUT
    index ``delta * beta >> (BETA_FRAC - EXP_IN_FRAC)`` reaches ``A_MAX`` (``p = 0``). The step
    compares ``delta >= sat`` first, so it only multiplies when the product is below ``2**20``
    (24-bit arithmetic throughout) and gives exactly the saturated table lookup otherwise."""
    b = np.asarray(betas, dtype=np.int64)
    if b.size and b.min() < 1:
        raise ValueError("fixed-point beta must be >= 1")
    lim = A_MAX << (BETA_FRAC - EXP_IN_FRAC)
    return (lim + b - 1) // b


def accept_prob_fixed(delta: np.ndarray, beta: int) -> np.ndarray:
    """Integer acceptance probability with ``EXP_OUT_FRAC`` fractional bits (``P_ONE`` = 1):
    ``exp_table()[min(max(delta, 0) * beta >> (BETA_FRAC - EXP_IN_FRAC), A_MAX)]``, the
    compiled step's own test."""
    delta = np.asarray(delta, dtype=np.int64)
    sat = int(saturation_delta([beta])[0])
    return _accept_fixed_all(delta.ravel(), np.int64(beta), np.int64(sat), exp_table(),
                             BETA_FRAC - EXP_IN_FRAC).reshape(delta.shape)


def initial_field(x, J, d):
    """``h = d + x @ J`` for states ``x`` (R, N) and symmetric CSR couplings ``J``: exact
    integers for the integer model (int64 ``K``, ``c``), float64 for the float model."""
    x = np.asarray(x, dtype=np.int64)
    return np.asarray(J @ x.T).T + np.asarray(d)


class AnnealState:
    """The mutable state of ``R`` replicas (all (R, N) int64 but the float model's field):
    ``x``, ``h``, ``ref``, ``r`` (PRNG, 32 bits held in int64), and the best so far
    (``best_cost`` (R,) float in the problem's units, ``+inf`` at first; ``best_x``). ``ht``:
    the float64 field in the problem's units, kept only when the quantisation is lossy (see
    :func:`run_steps`). Holds copies: the caller's arrays are never changed by
    :func:`run_steps`. After each :func:`run_steps`, ``true_trace`` (steps, R) holds the
    cost of every step in the problem's units."""

    def __init__(self, x, h, ref, r, best_cost=None, best_x=None, ht=None):
        self.x = np.array(x, dtype=np.int64, order="C")
        self.h = np.array(h, order="C")
        self.ref = np.array(ref, dtype=np.int64, order="C")
        self.r = np.array(r, dtype=np.int64, order="C")
        n_rep = self.x.shape[0]
        self.best_cost = (np.full(n_rep, np.inf) if best_cost is None else
                          np.array(best_cost, dtype=np.float64))
        self.best_x = (self.x.copy() if best_x is None else
                       np.array(best_x, dtype=np.int64, order="C"))
        self.ht = None if ht is None else np.array(ht, dtype=np.float64, order="C")
        self.true_trace = np.empty((0, n_rep))


_EMPTY_F = np.empty(0)
_EMPTY_I = np.empty(0, np.int32)


def run_steps(state: AnnealState, couplings, bias, betas, wake: int, ref_bits: int, *,
              fixed: bool, sats=None, true=None, unit: float = 1.0,
              parallel=None, colour=None, t0: int = 0, table=None) -> np.ndarray:
    """Advance ``state`` (in place) by one step per entry of ``betas``; return the cost trace
    (steps, R): int64 for ``fixed`` (integer ``K``, ``c``, ``beta``: the Loihi 2 model), float64
    otherwise. ``couplings`` is the symmetric CSR matrix (``K`` int64 or ``J`` float64),
    ``bias`` (N,). ``sats``: :func:`saturation_delta` of ``betas`` (fixed only; made here when
    not given, as host-side set-up). The one implementation of the step, for the Lava models
    and the engine.

    Costs in the problem's units (``state.true_trace``, ``state.best_cost``): ``trace * unit``
    (``unit = 1/scale``) when ``true`` is None, which is exact when the quantisation is
    (:func:`quantization_report`); else ``true = (J, d)``, the unrounded float couplings (CSR)
    and biases, and the true cost is tracked from ``state.ht`` (set from ``x`` when None).
    The best state per replica is the one with the lowest true cost.

    ``parallel``: run the replicas on numba's threads (``None``: when there are at least two
    and :data:`PARALLEL_MIN_WORK` neuron updates). Replicas are independent, so the result
    does not depend on it (tests assert ``==``).

    ``colour`` (N,) ints in ``[0, n_colours)`` (default: all 0, no gating) and ``t0`` (the
    global index of the first step, for the phase ``(t0 + t) % n_colours``): see
    :func:`_anneal_body`.

    ``table``: the acceptance LUT of the fixed test (default :func:`exp_table`; the Lava
    fixed model passes its ``exp_table`` Var)."""
    m = couplings
    betas = np.ascontiguousarray(betas, dtype=np.int64 if fixed else np.float64)
    if not fixed:
        sats = np.zeros(betas.shape, np.int64)                 # unused by the float test
    elif sats is None:
        sats = saturation_delta(betas)
    sats = np.ascontiguousarray(sats, dtype=np.int64)
    n_rep, n = state.x.shape
    dt = np.int64 if fixed else np.float64
    state.h = np.ascontiguousarray(state.h, dtype=dt)
    trace = np.empty((betas.shape[0], n_rep), dtype=dt)
    true_trace = np.empty((betas.shape[0], n_rep), dtype=np.float64)
    if true is not None:
        tj, td = true
        if state.ht is None:
            state.ht = np.ascontiguousarray(initial_field(state.x, tj, td), dtype=np.float64)
        targs = (state.ht, tj.indptr, tj.indices, np.ascontiguousarray(tj.data, np.float64),
                 np.ascontiguousarray(td, np.float64), True)
    else:
        targs = (np.empty((0, 0)), _EMPTY_I, _EMPTY_I, _EMPTY_F, _EMPTY_F, False)
    if parallel is None:
        parallel = n_rep > 1 and n_rep * n * betas.shape[0] >= PARALLEL_MIN_WORK
    if colour is None:
        colour, n_col = np.zeros(n, np.int64), 1
    else:
        colour = np.ascontiguousarray(colour, dtype=np.int64)
        n_col = int(colour.max()) + 1 if colour.size else 1
    if parallel:
        numba_threads.start()   # Lava may still choose its fork start method after
    fn = _anneal_par if parallel else _anneal
    # CSR index arrays go as they are (int32 from scipy): numba compiles for their type, and
    # the Lava models call this every step, so no per-step copy of them
    fn(state.x, state.h, state.ref, state.r, m.indptr, m.indices,
       np.ascontiguousarray(m.data, dtype=dt),
       np.ascontiguousarray(bias, dtype=dt), betas, sats, np.int64(wake), np.int64(ref_bits),
       exp_table() if table is None else np.ascontiguousarray(table, dtype=np.int64),
       np.int64(BETA_FRAC - EXP_IN_FRAC), trace, state.best_cost,
       state.best_x, *targs, np.float64(unit), true_trace, colour, np.int64(n_col),
       np.int64(t0))
    state.true_trace = true_trace
    return trace


def cost_words(cost) -> np.ndarray:
    """The cost readout as two signed 24-bit message words per replica (the library's graded
    spike width): ``(..., 2)`` with ``lo = cost & (2**23 - 1)`` in ``[0, 2**23)`` and ``hi =
    cost >> 23`` (arithmetic shift) in ``[-2**8, 2**8)`` for a 32-bit cost, so that
    :func:`join_cost_words` gives the cost back exactly. Float costs (the float model) go as
    ``(cost, 0)``, which :func:`join_cost_words` also reads back."""
    cost = np.asarray(cost)
    if np.issubdtype(cost.dtype, np.integer):
        c = cost.astype(np.int64)
        return np.stack([c & ((1 << COST_LO_BITS) - 1), c >> COST_LO_BITS], axis=-1)
    return np.stack([cost.astype(np.float64), np.zeros(cost.shape)], axis=-1)


def join_cost_words(words) -> np.ndarray:
    """Inverse of :func:`cost_words`: ``lo + hi * 2**23`` over the last axis (int64 for
    integer words, float64 for the float model's)."""
    w = np.asarray(words)
    if np.issubdtype(w.dtype, np.integer):
        w = w.astype(np.int64)
        return w[..., 0] + (w[..., 1] << COST_LO_BITS)
    return w[..., 0] + w[..., 1] * float(1 << COST_LO_BITS)


def wake_threshold(p_wake: float) -> int:
    """Wake probability -> integer threshold on the 8-bit wake draw (1..256)."""
    if not (0.0 < float(p_wake) <= 1.0):
        raise ValueError(f"p_wake must be in (0, 1], got {p_wake!r}")
    return int(min(1 << WAKE_BITS, max(1, round(float(p_wake) * (1 << WAKE_BITS)))))


def temperature_limits(scale: float) -> tuple[float, float]:
    """Lowest and highest temperature (Q units) whose fixed-point ``beta`` fits: ``beta`` in
    ``[1, 2**BETA_BITS - 1]`` with ``beta = 2**BETA_FRAC / (scale * T)``."""
    return ((1 << BETA_FRAC) / (scale * ((1 << BETA_BITS) - 1)),
            (1 << BETA_FRAC) / scale)


def beta_fixed(temperatures, scale: float) -> np.ndarray:
    """Host side: per-step integer inverse temperatures ``round(2**BETA_FRAC / (scale*T))``.

    Raises ``ValueError`` when a temperature is not finite and > 0, or its ``beta`` does not
    fit ``BETA_BITS`` unsigned bits or rounds to 0 (temperature too high or too low for the
    fixed-point format at this Q scale)."""
    t = np.asarray(temperatures, dtype=np.float64)
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("temperatures must be finite and > 0")
    bf = np.rint((1 << BETA_FRAC) / (t * float(scale)))
    hi = (1 << BETA_BITS) - 1
    if not np.all(np.isfinite(bf)) or bf.max() > hi or bf.min() < 1:
        b = np.clip(np.nan_to_num(bf, posinf=2.0**62), -2.0**62, 2.0**62).astype(np.int64)
        raise ValueError(
            f"schedule temperatures [{t.min():.4g}, {t.max():.4g}] at Q scale {scale:.4g} give "
            f"fixed-point beta in [{b.min()}, {b.max()}], outside the {BETA_BITS}-bit range "
            f"[1, {hi}] (beta = 2**{BETA_FRAC} / (scale * T)); raise the final temperature or "
            "lower the initial one")
    return bf.astype(np.int64)


# --------------------------------------------------------------------------- problem checks
def split_qubo(q, name: str = "Q"):
    """Validate a QUBO matrix and split it into ``(J, d)``: symmetric zero-diagonal couplings
    ``J`` (scipy CSR, float64) and biases ``d`` (float64), with ``x^T Q x = d.x + 1/2 x^T J x``.

    Accepted: a square, non-empty, finite matrix (numpy array or scipy sparse) that is either
    symmetric or upper triangular. Anything else raises ``ValueError`` naming ``name``.
    """
    import scipy.sparse as sp

    if sp.issparse(q):
        q = sp.csr_matrix(q, dtype=np.float64)
        data = q.data
    else:
        from lava_llm import validation as V

        q = V.as_array(name, q)
        if q.dtype == bool:
            q = q.astype(np.float64)
        if not (np.issubdtype(q.dtype, np.integer) or np.issubdtype(q.dtype, np.floating)):
            raise TypeError(f"{name} must be a real numeric matrix, got dtype {q.dtype}")
        data = q
    if q.ndim != 2 or q.shape[0] != q.shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {q.shape}")
    if q.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 variables): nothing to solve")
    bad = ~np.isfinite(np.asarray(data, dtype=np.float64))
    if bad.any():
        raise ValueError(f"{name} must be finite; found {int(bad.sum())} NaN/inf value(s)")
    q = sp.csr_matrix(q, dtype=np.float64)
    q.eliminate_zeros()
    lower = sp.tril(q, k=-1)
    upper = sp.triu(q, k=1)
    if lower.nnz and upper.nnz:
        asym = abs(q - q.T)
        if asym.nnz and asym.max() > 1e-12 * max(1.0, abs(q).max()):
            i, j = (int(v[0]) for v in asym.nonzero())
            raise ValueError(
                f"{name} must be symmetric or upper triangular (convention: minimise x^T Q x); "
                f"found {name}[{i},{j}]={q[i, j]:g} != {name}[{j},{i}]={q[j, i]:g}")
    elif lower.nnz:
        raise ValueError(f"{name} is lower triangular; pass it transposed (upper triangular) "
                         "or symmetric (convention: minimise x^T Q x)")
    off = upper + lower
    d = np.asarray(q.diagonal(), dtype=np.float64)
    j = sp.csr_matrix(off + off.T, dtype=np.float64)  # J_ij = Q_ij + Q_ji
    j.eliminate_zeros()
    j.sort_indices()
    return j, d


def quantize_qubo(J, d, scale=None, weight_bits: int = WEIGHT_BITS,
                  field_bits: int = FIELD_BITS, strict: bool = False,
                  rel_tol: float = None):
    """Integer couplings and biases for the fixed-point model.

    ``K = round(scale * J)`` must fit signed ``weight_bits``; ``c = round(scale * d)`` and every
    reachable field (``|c_i| + sum_j |K_ij|``) must fit signed ``field_bits``; the cost register
    must fit ``COST_BITS``. ``scale=None`` picks 1 when ``J`` and ``d`` are integers that fit,
    else the largest power of two that fits ``J`` into the weight range and every field into
    the field range (without couplings: ``d`` into the weight range). Raises ``ValueError``
    (never wraps) when anything does not fit; with ``strict=True`` also when rounding would
    zero a non-zero coupling or bias (the problem's dynamic range exceeds the bit widths) or
    change one by more than ``rel_tol`` (default :data:`REL_TOL`) of its value
    (:func:`quantization_report`). Rounding otherwise costs at most half a unit ``1/scale``
    per entry.

    Returns ``(K, c, scale)`` with ``K`` scipy CSR int64, ``c`` int64.
    """
    import scipy.sparse as sp

    wmax = (1 << (weight_bits - 1)) - 1
    fmax = (1 << (field_bits - 1)) - 1
    jmax = float(abs(J).max()) if J.nnz else 0.0
    dmax = float(np.abs(d).max()) if d.size else 0.0
    integral = np.all(np.mod(J.data, 1) == 0) and np.all(np.mod(d, 1) == 0)
    if scale is None:
        if integral and jmax <= wmax and dmax <= fmax:
            scale = 1.0
        elif jmax > 0:
            # largest power of two that fits the weights into 8 bits and every field into 24
            row = float((np.asarray(abs(J).sum(axis=1)).ravel() + np.abs(d)).max())
            scale = 2.0 ** np.floor(np.log2(min(wmax / jmax, fmax / row)))
        else:  # no couplings: put the biases on the same 8-bit scale
            scale = 2.0 ** np.floor(np.log2(wmax / dmax))
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be finite and > 0, got {scale!r}")
    K = sp.csr_matrix(J * scale)
    K.data = np.rint(K.data)
    c = np.rint(d * scale)
    if K.nnz and np.abs(K.data).max() > wmax:
        raise ValueError(f"Q couplings (Q_ij + Q_ji) times scale {scale:g} reach "
                         f"{np.abs(K.data).max():g}, beyond the {weight_bits}-bit weight range "
                         f"[-{wmax + 1}, {wmax}]; use a smaller scale")
    if strict:
        rep = quantization_report(J, d, scale, rel_tol)
        if rep["zeroed"] or rep["imprecise"]:
            raise ValueError(f"strict: {rep['message']}; rescale or round Q yourself, or "
                             "drop strict to accept the rounding")
    K.eliminate_zeros()
    row_abs = np.asarray(abs(K).sum(axis=1)).ravel() + np.abs(c)
    if row_abs.max() > fmax:
        i = int(np.argmax(row_abs))
        raise ValueError(f"local field of variable {i} can reach {row_abs[i]:g} "
                         f"(|c_i| + sum_j |K_ij| at scale {scale:g}), beyond the {field_bits}-bit "
                         f"field range [-{fmax + 1}, {fmax}]")
    cost_bound = np.abs(c).sum() + abs(K).sum() / 2
    if cost_bound > (1 << (COST_BITS - 1)) - 1:
        raise ValueError(f"|cost| can reach {cost_bound:g} at scale {scale:g}, beyond the "
                         f"{COST_BITS}-bit cost register")
    K = sp.csr_matrix(K, dtype=np.int64)
    K.sort_indices()
    return K, c.astype(np.int64), scale


def quantization_report(J, d, scale: float, rel_tol: float = None) -> dict:
    """How faithful the fixed model's ``K = round(scale J)``, ``c = round(scale d)`` are: ``zeroed`` (non-zero coefficients that round to 0), ``imprecise``
    (non-zero ones, zeroed included, whose value changes by more than ``rel_tol`` of itself,
    default :data:`REL_TOL`), ``max_rel_error``, ``total`` (non-zero coefficients: couplings
    ``J_ij`` counted once per pair, biases), ``exact`` (every coefficient represented
    exactly: then the fixed model's costs times ``1/scale`` are the true costs) and a
    one-line ``message``."""
    rel_tol = REL_TOL if rel_tol is None else float(rel_tol)
    if not (0.0 < rel_tol < 1.0):
        raise ValueError(f"rel_tol must be in (0, 1), got {rel_tol!r}")
    jv = np.asarray(J.data, dtype=np.float64)
    kv = np.rint(jv * scale) / scale
    dv = np.asarray(d, dtype=np.float64)
    cv = np.rint(dv * scale) / scale
    nzj, nzd = jv != 0, dv != 0
    err_j = np.abs(kv[nzj] - jv[nzj]) / np.abs(jv[nzj])
    err_d = np.abs(cv[nzd] - dv[nzd]) / np.abs(dv[nzd])
    # couplings are stored twice (J_ij and J_ji): count pairs once
    zeroed = int(np.sum(kv[nzj] == 0)) // 2 + int(np.sum(cv[nzd] == 0))
    imprecise = int(np.sum(err_j > rel_tol)) // 2 + int(np.sum(err_d > rel_tol))
    total = int(nzj.sum()) // 2 + int(nzd.sum())
    errs = np.r_[err_j, err_d]
    max_err = float(errs.max()) if errs.size else 0.0
    exact = bool(np.all(kv == jv) and np.all(cv == dv))
    msg = (f"{zeroed} of {total} non-zero Q coefficients round to 0 and {imprecise} change by "
           f"more than {rel_tol:g} of their value at fixed-point scale {scale:g} "
           f"({WEIGHT_BITS}-bit couplings Q_ij + Q_ji, largest relative error "
           f"{max_err:.3g})")
    return {"zeroed": zeroed, "imprecise": imprecise, "total": total,
            "max_rel_error": max_err, "rel_tol": rel_tol, "scale": float(scale),
            "exact": exact, "message": msg}


def initial_state(seed: int, replicas: int, n: int):
    """Host side, seeded: random initial states ``x0`` (R, N) and PRNG states ``r0`` (R, N)
    shared by the Lava Process and the engine so that both follow the same trajectory."""
    x0 = np.random.default_rng([seed, 1]).integers(0, 2, size=(replicas, n)).astype(np.int64)
    return x0, fp.prng_states(seed, (replicas, n))
