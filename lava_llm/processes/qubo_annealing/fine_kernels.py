"""The QUBO annealer split into its populations: the numeric truth of the fine-grained
:class:`~lava_llm.processes.qubo_annealing.process.QuboAnnealer` (annealing neurons,
coupling synapses, cost readout), one step at a time and vectorised with numpy.

One time step ``t`` (1-based), in the order the Processes run it::

    neurons   r = xorshift32(r); draws (wake, acceptance, refractory) as in kernels
              flip = ref == 0 & wake & colour == (t - 1) % n_colours & u_acc < p(delta)
              ref, x updated;  s_out = flip * (1 - 2 x_old)          signed flip spikes
    synapses  a_out = s @ K                                           (24-bit field change)
    neurons   h += a_in;  x_out = x, h_out = h
    readout   cost = (sum_i x_i (h_i + c_i)) >> 1;  a_out = cost_words(cost)
              best cost / best state and the cost trace (host-side bookkeeping, the
              problem's units)

The neuron draws and the acceptance test are those of :func:`kernels._anneal_body` (same
PRNG bits, the same exp LUT, read here from a Var), so the fixed form equals the engine
bit for bit; the float form adds ``s @ J`` to ``h`` as one sum per neuron (the fused model
adds flip by flip), which is exact for integer-valued ``Q`` and within float rounding
otherwise.
"""
from __future__ import annotations

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm.processes.qubo_annealing import kernels as K

#: Leaf Processes of the fine form: neurons, coupling synapses, cost readout.
FINE_LEAVES = 3


def accept_fixed(delta, beta: int, sat: int, table) -> np.ndarray:
    """``u < p`` threshold of the fixed model (``P_ONE`` = certain), vectorised
    :func:`kernels._accept_fixed` over ``delta`` with the LUT ``table``."""
    delta = np.asarray(delta, np.int64)
    table = np.asarray(table, np.int64)
    prod = np.where((delta > 0) & (delta < sat), delta, 0) * np.int64(beta)
    idx = np.minimum(prod >> (K.BETA_FRAC - K.EXP_IN_FRAC), table.size - 1)
    p = np.where(delta >= sat, table[-1], table[idx])
    return np.where(delta <= 0, K.P_ONE, p)


def neuron_decide(x, h, ref, r, *, beta, sat, wake: int, ref_bits: int, colour, t: int,
                  fixed: bool, table=None):
    """The neurons' half-step before the synapses: returns ``(x, ref, r, spikes)`` (new
    arrays); ``t`` is the 1-based step, ``beta``/``sat`` that step's values."""
    x = np.asarray(x, np.int64)
    ref = np.asarray(ref, np.int64)
    v = fp.xorshift32(np.asarray(r, np.int64))
    awake = ((v >> 16) & 0xFF) < wake
    u_acc = v & 0xFFFF
    u_ref = (v >> 24) & ((1 << ref_bits) - 1)
    colour = np.asarray(colour, np.int64)
    n_col = int(colour.max()) + 1 if colour.size else 1
    delta = (1 - 2 * x) * np.asarray(h)
    if fixed:
        ok = u_acc < accept_fixed(delta, int(beta), int(sat), table)
    else:
        ok = u_acc < 65536.0 * np.exp(-np.maximum(delta, 0.0) * float(beta))
    flip = (ref == 0) & awake & (colour == (t - 1) % n_col)[None, :] & ok
    new_ref = np.where(ref > 0, ref - 1, np.where(flip, u_ref, 0))
    spikes = np.where(flip, 1 - 2 * x, 0)
    return x ^ flip.astype(np.int64), new_ref, v, spikes


def synapse_int(spikes, couplings) -> np.ndarray:
    """``s @ K`` for spikes ``(R, N)`` and symmetric CSR ``K`` (exact int64)."""
    return np.asarray(couplings.T @ np.asarray(spikes, np.int64).T).T


def synapse_float(spikes, couplings) -> np.ndarray:
    return np.asarray(couplings.T @ np.asarray(spikes, np.float64).T).T


def readout_cost(x, h, bias, fixed: bool):
    """``1/2 sum_i x_i (h_i + c_i)`` per replica: an exact shift for integers; float sums run
    in index order (``cumsum``), as the fused model's loop does."""
    x = np.asarray(x, bool)
    if fixed:
        return (np.where(x, np.asarray(h, np.int64) + np.asarray(bias, np.int64), 0)
                .sum(axis=1)) >> 1
    terms = np.where(x, np.asarray(h, np.float64) + np.asarray(bias, np.float64), 0.0)
    return (np.cumsum(terms, axis=1)[:, -1] if terms.shape[1] else np.zeros(len(x))) * 0.5


def spread_true(ht, x_old, x_new, couplings_true):
    """Float field in the problem's units after the flips ``x_old -> x_new``, flip by flip
    in index order (the fused model's order, so the same float sums)."""
    ht = np.array(ht, np.float64)
    J = couplings_true
    for k in range(x_new.shape[0]):
        for i in np.flatnonzero(x_new[k] != x_old[k]):
            s = 2.0 * x_new[k, i] - 1.0
            lo, hi = J.indptr[i], J.indptr[i + 1]
            ht[k, J.indices[lo:hi]] += s * J.data[lo:hi]
    return ht


def true_cost(ht, x, bias_true):
    """Cost in the problem's units from the float field (index order, like the fused loop)."""
    return readout_cost(x, ht, bias_true, fixed=False)
