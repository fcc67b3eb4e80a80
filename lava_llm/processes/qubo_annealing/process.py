"""The QuboAnnealer Process (annealing neurons with their coupling synapses and cost readout),
a hierarchical Process: one fused leaf, or its :class:`AnnealingNeurons`,
:class:`CouplingSynapses` and :class:`CostReadout` Processes."""
from __future__ import annotations

import typing as ty

import numpy as np
import scipy.sparse as sp
from lava.magma.core.process.ports.ports import InPort, OutPort
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
    bit), ``bias_q``, ``beta_q``, ``beta_sat`` (24 bit), ``exp_table`` (17 bit, the
    acceptance LUT :func:`kernels.exp_table` that the fixed model reads), ``wake`` (9 bit,
    the threshold on the 8-bit wake draw, 1..256), ``ref_bits`` (4 bit), ``colour`` (8 bit),
    ``rng`` (32 bit); the float ``couplings``, ``bias``, ``beta`` feed the float model.
    Host-side bookkeeping in the problem's own units (float64, never read by the integer
    dynamics): ``unit`` (``1 / scale``), ``track_true`` and ``field_true`` (a float field
    kept when the quantisation is lossy), ``best_cost``, ``best_x`` and ``cost_history`` (T,
    replicas), the cost of every step (step ``t > T`` overwrites the last row).

    Two forms, chosen by the run config (``granularity``): the *fused* leaf (neurons, their
    synapses ``J`` as a sparse matrix and the cost integrator in one OS process), and the
    *fine* form (``SubQuboAnnealerModel``): :class:`AnnealingNeurons` -> :class:`CouplingSynapses`
    -> back to the neurons (same step: the neurons send their flip spikes, then receive the
    field change) -> :class:`CostReadout` (:mod:`.fine_kernels`). In both a flip spike reaches
    the neighbours' fields in the same step (the engine's incremental-field semantics); both
    equal the engine bit for bit on ``sim-fixed``. In the fine form the parent's state and
    bookkeeping Vars alias the components' (``x``, ``field``, ``ref``, ``rng``,
    ``exp_table``; ``cost``, ``best_cost``, ``best_x``, ``cost_history``), so reading them
    works the same.

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
    exp_table : array (kernels.A_MAX + 1,) of ints in [0, kernels.P_ONE], optional
        The fixed model's acceptance look-up table, indexed by the saturated ``delta * beta``
        (default :func:`kernels.exp_table`, ``exp(-a / 2**EXP_IN_FRAC)`` in 16-bit
        fractions); the float model uses ``exp`` itself.
    """

    def __init__(self, *, q, temperatures, replicas: int = 1, seed: int = 0,
                 p_wake: float = 0.35, ref_bits: int = 2, scale: ty.Optional[float] = None,
                 x0=None, colour=None, quantize: bool = True, strict: bool = False,
                 exp_table=None, name: ty.Optional[str] = None,
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
        self.exp_table = Var(shape=(kernels.A_MAX + 1,), init=_exp_table(exp_table))
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


def _exp_table(table) -> np.ndarray:
    """The acceptance LUT Var's value: :func:`kernels.exp_table` by default, else ``table``
    checked (shape ``(A_MAX + 1,)``, integers in ``[0, P_ONE]``)."""
    if table is None:
        return kernels.exp_table().astype(np.int64)
    table = V.check_int_range("exp_table", np.asarray(table), 0, kernels.P_ONE)
    return V.check_shape("exp_table", table, (kernels.A_MAX + 1,)).astype(np.int64)


# --------------------------------------------------------------------------- fine form
class AnnealingNeurons(ValidatedProcess):
    r"""Binary annealing neurons (one per variable and replica), without their synapses.

    Dynamics (each time step ``t``; see :mod:`lava_llm.processes.qubo_annealing.fine_kernels`)::

        r = xorshift32(r); flip = ref == 0 & wake draw < wake & colour == (t-1) % n_colours
                                  & acc draw < LUT_exp(delta * beta[t])    (float: exp)
        s_out = flip * (1 - 2 x_old);  x ^= flip;  ref updated              (sent first)
        h += a_in                                                       (the field change)
        x_out = x;  h_out = h

    Vars: ``x`` (1 bit), ``field`` (24 bit; the float model's float), ``ref`` (8 bit), ``rng``
    (32 bit), ``wake`` (9 bit), ``ref_bits`` (4 bit), ``colour`` (8 bit), ``beta_q``,
    ``beta_sat`` (24 bit), ``exp_table`` (17 bit, :func:`kernels.exp_table`), ``beta`` (float),
    the initial fields ``field0`` (24 bit, ``c + x0 K``) and ``field0_f`` (float, ``d + x0 J``)
    set on the host at build time (as a host writes neuron state), and ``quantized``.
    """

    def __init__(self, *, x0, rng, field0, field0_f, wake: int, ref_bits: int, colour,
                 beta_q, beta_sat, beta, quantized: bool = True, exp_table=None,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        x0 = V.check_int_range("x0", V.check_ndim("x0", x0, 2), 0, 1)
        shape = x0.shape
        rng = V.check_shape("rng", V.check_int_range("rng", rng, 0, 2**32 - 1), shape)
        field0 = V.check_shape("field0", V.check_int_range(
            "field0", field0, -(2**23), 2**23 - 1), shape)
        field0_f = V.check_shape("field0_f", V.check_finite("field0_f", field0_f), shape)
        wake = V.check_int("wake", wake, 1, 1 << kernels.WAKE_BITS)
        ref_bits = V.check_int("ref_bits", ref_bits, 0, kernels.REF_BITS_MAX)
        colour = V.check_shape("colour", V.check_int_range("colour", colour, 0, 255),
                               (shape[1],))
        beta_q = V.check_int_range("beta_q", np.atleast_1d(beta_q), 0, 2**24 - 1)
        T = beta_q.size
        beta_sat = V.check_shape("beta_sat", V.check_int_range(
            "beta_sat", np.atleast_1d(beta_sat), 0, 2**24 - 1), (T,))
        beta = V.check_shape("beta", V.check_finite("beta", np.atleast_1d(beta)), (T,))
        super().__init__(shape=shape, name=name, log_config=log_config)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.x_out = OutPort(shape=shape)
        self.h_out = OutPort(shape=shape)
        self.x = Var(shape=shape, init=x0)
        self.field = Var(shape=shape, init=np.zeros(shape))   # set from field0 on step 1
        self.field0 = Var(shape=shape, init=field0)
        self.field0_f = Var(shape=shape, init=field0_f.astype(np.float64))
        self.ref = Var(shape=shape, init=np.zeros(shape, np.int64))
        self.rng = Var(shape=shape, init=rng)
        self.wake = Var(shape=(1,), init=np.array([wake]))
        self.ref_bits = Var(shape=(1,), init=np.array([ref_bits]))
        self.colour = Var(shape=(shape[1],), init=colour)
        self.beta_q = Var(shape=(T,), init=beta_q)
        self.beta_sat = Var(shape=(T,), init=beta_sat)
        self.beta = Var(shape=(T,), init=beta.astype(np.float64))
        self.exp_table = Var(shape=(kernels.A_MAX + 1,), init=_exp_table(exp_table))
        self.quantized = Var(shape=(1,), init=np.array([int(bool(quantized))]))


class CouplingSynapses(ValidatedProcess):
    r"""The couplings: flip spikes in, field changes out.

    Dynamics (each time step, every replica)::

        float:  a_out = s_in @ J
        fixed:  a_out = s_in @ K            (8-bit weights; |a_out| < 2**23 by construction)

    ``couplings_q`` (``K``, 8-bit, sparse) and ``couplings`` (``J``, float). Lava's own
    ``Sparse`` is not used: it sends the previous step's sum (a one-step delay) and takes 1-D
    ports, while the annealer needs the field change within the step, per replica.
    """

    def __init__(self, *, couplings_q, couplings, replicas: int,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        Kq = sp.csr_matrix(couplings_q)
        J = sp.csr_matrix(couplings, dtype=np.float64)
        n = Kq.shape[0]
        if Kq.shape != (n, n) or J.shape != (n, n):
            raise ValueError(f"couplings must be square and alike, got {Kq.shape}, {J.shape}")
        if Kq.nnz and np.abs(Kq.data).max() > (1 << (kernels.WEIGHT_BITS - 1)):
            raise ValueError(f"couplings_q must hold {kernels.WEIGHT_BITS}-bit weights")
        replicas = V.check_int("replicas", replicas, 1, 4096)
        super().__init__(shape=(replicas, n), name=name, log_config=log_config)
        self.s_in = InPort(shape=(replicas, n))
        self.a_out = OutPort(shape=(replicas, n))
        self.couplings_q = Var(shape=(n, n), init=Kq.astype(np.int64))
        self.couplings = Var(shape=(n, n), init=J)


class CostReadout(ValidatedProcess):
    r"""Cost integrator and best-state keeper of each replica.

    Dynamics (each time step)::

        cost  = (sum_i x_i (h_i + c_i)) >> 1     (32-bit register; float: * 0.5)
        a_out = (cost & (2**23 - 1), cost >> 23)  two 24-bit words per replica (float: (cost, 0))

    Host-side bookkeeping in the problem's units (never fed back): ``cost * unit``, or, when
    the quantisation is lossy (``track_true``), the cost from a float field ``field_true``
    kept with the unrounded ``couplings``/``bias``; the lowest one per replica goes to
    ``best_cost``/``best_x``, every step's to ``cost_history`` (step ``t > T`` overwrites the
    last row). Vars: ``bias_q`` (24 bit), ``bias``, ``unit``, ``couplings`` (float, lossy
    case only), ``cost`` (32 bit).
    """

    def __init__(self, *, bias_q, bias, unit: float, x0, steps: int, couplings=None,
                 field_true0=None, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        x0 = V.check_int_range("x0", V.check_ndim("x0", x0, 2), 0, 1)
        shape = x0.shape
        R, n = shape
        bias_q = V.check_shape("bias_q", V.check_int_range(
            "bias_q", np.atleast_1d(bias_q), -(2**23), 2**23 - 1), (n,))
        bias = V.check_shape("bias", V.check_finite("bias", np.atleast_1d(bias)), (n,))
        unit = V.check_positive("unit", unit)
        steps = V.check_int("steps", steps, 1)
        track = couplings is not None
        super().__init__(shape=shape, name=name, log_config=log_config)
        self.x_in = InPort(shape=shape)
        self.h_in = InPort(shape=shape)
        self.a_out = OutPort(shape=(R, 2))
        self.bias_q = Var(shape=(n,), init=bias_q)
        self.bias = Var(shape=(n,), init=bias.astype(np.float64))
        self.unit = Var(shape=(1,), init=np.array([unit]))
        self.track_true = Var(shape=(1,), init=np.array([int(track)]))
        J = sp.csr_matrix(couplings, dtype=np.float64) if track else sp.csr_matrix((1, 1))
        self.couplings = Var(shape=J.shape, init=J)
        ft = (V.check_shape("field_true0", np.asarray(field_true0, np.float64), shape)
              if track else np.zeros((1, 1)))
        self.field_true = Var(shape=ft.shape, init=ft)
        self.x_prev = Var(shape=shape, init=x0.copy())
        self.cost = Var(shape=(R,), init=np.zeros(R))
        self.best_cost = Var(shape=(R,), init=np.full(R, np.inf))
        self.best_x = Var(shape=shape, init=x0.copy())
        self.cost_history = Var(shape=(steps, R), init=np.zeros((steps, R)))
