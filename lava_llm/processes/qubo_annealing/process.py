"""The QuboAnnealer Process: annealing neurons with their coupling synapses and cost readout."""
from __future__ import annotations

import typing as ty

import numpy as np
import scipy.sparse as sp
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.process import LogConfig
from lava.magma.core.process.variable import Var

from lava_llm import validation as V
from lava_llm.processes.qubo_annealing import kernels
from lava_llm.processes.base import ValidatedProcess


class QuboAnnealer(ValidatedProcess):
    r"""Parallel simulated annealing of a QUBO: one binary neuron per variable, per replica.

    Dynamics (each time step ``t``, all neurons of all replicas at once; see
    :mod:`lava_llm.processes.qubo_annealing.kernels` for the exact integer form)::

        r      <- xorshift32(r)                        per-neuron PRNG (32-bit state)
        delta  =  (1 - 2 x) * h                        cost change of flipping x_i
        flip   =  ref == 0  and  wake draw < p_wake  and  acc draw < exp(-delta * beta[t])
        ref    <- refractory draw if flip else max(ref - 1, 0)
        x      <- x XOR flip
        h      <- h + s @ J,   s = flip * (1 - 2 x_old)     (flip spikes through synapses J)
        cost   =  1/2 sum_i x_i (h_i + d_i);  best cost / best state kept
        a_out  <- (cost & (2**23 - 1), cost >> 23)        two 24-bit words per replica

    with ``d_i = Q_ii`` and ``J_ij = Q_ij + Q_ji`` (so ``cost = x^T Q x``). The fixed model uses
    ``K = round(scale * J)`` (8-bit weights), ``c = round(scale * d)`` (24-bit), 24-bit fields,
    a 24-bit ``beta`` with 16 fractional bits per step, an exp look-up table and an integer
    compare with a 16-bit draw; its cost register counts units of ``1 / scale`` and leaves
    through ``a_out`` as two signed 24-bit words per replica (``a_out`` has shape
    ``(replicas, 2)``; :func:`kernels.join_cost_words` joins them; the float model sends
    ``(cost, 0)``). Everything is checked to fit at construction (``ValueError`` otherwise),
    so the models never wrap or saturate.

    Every parameter is a Var with its precision declared in the models: ``couplings_q`` (8
    bit), ``bias_q``, ``beta_q``, ``beta_sat`` (24 bit), ``wake`` (9 bit, the threshold on the
    8-bit wake draw, 1..256), ``ref_bits`` (4 bit), ``colour`` (8 bit), ``rng`` (32 bit); the float ``couplings``,
    ``bias``, ``beta`` feed the float model. Host-side bookkeeping in the problem's own units
    (float64, never read by the integer dynamics): ``unit`` (``1 / scale``), ``track_true``
    and ``field_true`` (a float field kept when the quantisation is lossy), ``best_cost``,
    ``best_x`` and ``cost_history`` (T, replicas), the cost of every step (step ``t > T``
    overwrites the last row).

    This is one *fused* leaf: neurons, their synapses (``J`` as a sparse matrix) and the cost
    integrator. A flip spike is applied to the neighbours' fields in the same step, which is
    the incremental-field semantics of the engine and of Loihi's on-core synapses, and keeps
    Lava's CPU backend at one OS process for the whole solver (plus an optional sink).

    Parameters
    ----------
    q : array (N, N) or scipy sparse
        QUBO matrix, symmetric or upper triangular, finite, non-empty.
    temperatures : array (T,)
        Temperature per step (in units of Q), > 0. Steps past ``T`` reuse the last one.
    replicas : int
        Independent copies annealed in parallel (different PRNG streams).
    seed : int
        Seeds the per-neuron PRNG states and the random initial state.
    p_wake : float
        Probability that a neuron may flip in a step (8-bit threshold); with the stochastic
        refractory period it keeps neighbours from flipping together.
    ref_bits : int
        Refractory period after a flip is uniform in ``[0, 2**ref_bits - 1]`` steps.
    scale : float, optional
        Q scale of the fixed model (default: 1 for small integer Q, else a power of two
        fitting the 8-bit weights; see :func:`kernels.quantize_qubo`).
    x0 : array (replicas, N) of {0, 1}, optional
        Initial state (default: random from ``seed``).
    colour : array (N,) of ints in [0, 255], optional
        Phase gating (chromatic schedule): at time step ``t`` (1-based) only neurons with
        ``colour == (t - 1) % n_colours`` may flip (``n_colours = max(colour) + 1``). With a
        proper colouring of the coupling graph (:func:`kernels.graph_colouring`) neighbours
        never flip together. Default: no gating.
    quantize : bool
        Build the fixed-point Vars (default). ``False`` skips every fixed-point check (for a
        Q or schedule only the float model can run; the fixed model then refuses to run).
    strict : bool
        Refuse (``ValueError``) a Q whose quantisation zeroes a coefficient or changes one by
        more than ``kernels.REL_TOL`` of its value (:func:`kernels.quantization_report`).
    """

    def __init__(self, *, q, temperatures, replicas: int = 1, seed: int = 0,
                 p_wake: float = 0.35, ref_bits: int = 2, scale: ty.Optional[float] = None,
                 x0=None, colour=None, quantize: bool = True, strict: bool = False,
                 name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        J, d = kernels.split_qubo(q, "q")
        n = d.size
        replicas = V.check_int("replicas", replicas, 1, 4096)
        seed = V.check_int("seed", seed, 0, 2**63 - 1)
        ref_bits = V.check_int("ref_bits", ref_bits, 0, kernels.REF_BITS_MAX)
        wake = kernels.wake_threshold(p_wake)
        temps = V.check_finite("temperatures", temperatures).astype(np.float64).ravel()
        if quantize:
            K, c, scale = kernels.quantize_qubo(J, d, scale, strict=strict)
            beta_q = kernels.beta_fixed(temps, scale)
            exact = kernels.quantization_report(J, d, scale)["exact"]
        else:
            if temps.size == 0 or np.any(temps <= 0):
                raise ValueError("temperatures must be non-empty and > 0")
            K, c, scale = sp.csr_matrix(J.shape, dtype=np.int64), np.zeros(n, np.int64), 1.0
            beta_q, exact = np.ones(temps.shape, np.int64), True
        if colour is None:
            colour = np.zeros(n, np.int64)
        colour = V.check_shape("colour", V.check_int_range("colour", colour, 0, 255), (n,))
        x_rand, r0 = kernels.initial_state(seed, replicas, n)
        if x0 is None:
            x0 = x_rand
        x0 = V.check_shape("x0", V.check_int_range("x0", x0, 0, 1), (replicas, n))
        super().__init__(shape=(replicas, n), name=name, log_config=log_config)
        shape = (replicas, n)
        self.a_out = OutPort(shape=(replicas, 2))
        self.x = Var(shape=shape, init=x0)
        self.field = Var(shape=shape, init=np.zeros(shape))   # set from x on the first step
        self.ref = Var(shape=shape, init=np.zeros(shape, dtype=np.int64))
        self.rng = Var(shape=shape, init=r0.astype(np.int64))
        self.wake = Var(shape=(1,), init=np.array([wake]))
        self.ref_bits = Var(shape=(1,), init=np.array([ref_bits]))
        self.colour = Var(shape=(n,), init=colour.astype(np.int64))
        self.couplings = Var(shape=(n, n), init=J)
        self.bias = Var(shape=(n,), init=d)
        self.couplings_q = Var(shape=(n, n), init=K)
        self.bias_q = Var(shape=(n,), init=c)
        self.quantized = Var(shape=(1,), init=np.array([int(bool(quantize))]))
        self.beta = Var(shape=temps.shape, init=1.0 / temps)
        self.beta_q = Var(shape=temps.shape, init=beta_q)
        self.beta_sat = Var(shape=temps.shape, init=kernels.saturation_delta(beta_q))
        self.unit = Var(shape=(1,), init=np.array([1.0 / scale]))
        self.track_true = Var(shape=(1,), init=np.array([int(not exact)]))
        self.field_true = Var(shape=shape if not exact else (1, 1),
                              init=np.zeros(shape if not exact else (1, 1)))
        self.cost = Var(shape=(replicas,), init=np.zeros(replicas))
        self.best_cost = Var(shape=(replicas,), init=np.full(replicas, np.inf))
        self.best_x = Var(shape=shape, init=x0.copy())
        self.cost_history = Var(shape=(temps.size, replicas),
                                init=np.zeros((temps.size, replicas)))
        self.n_vars = n
        self.scale = scale
