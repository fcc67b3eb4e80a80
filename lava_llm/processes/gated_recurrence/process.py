"""Processes of the MLGRU: the neuron (per-channel state) and the fused token-mixer block."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import LogConfig
from lava.magma.core.process.variable import Var

from lava_llm import fixed_point as fp
from lava_llm import validation as V
from lava_llm.processes.gated_recurrence import kernels as gk
from lava_llm.processes.base import ValidatedProcess


class MLGRU(ValidatedProcess):
    r"""MLGRU neurons: ``n`` channels with a gated linear recurrent state.

    Dynamics (each time step; ``a_in = [i_pre, f_pre]``, shape ``(2n,)``)::

        float:  f = lb + (1 - lb) * sigmoid(f_pre);  c = SiLU(i_pre) * (1 - f)
                h = f * h + c;                        s_out = h
        fixed:  f = lb_q + ((2**16 - lb_q) * sigmoid_int(f_pre) >> 16)
                c = silu_int(i_pre) * (2**16 - f) >> 16
                h = sat24((f * h >> 16) + c);         s_out = h

    Fixed-point inputs, gates and state carry 16 fractional bits (``GATE_FRAC``); sigmoid and
    SiLU interpolate the sigmoid lookup table of :mod:`lava_llm.fixed_point`
    (:func:`lava_llm.processes.lm_blocks.kernels.sigmoid_int`); ``>>`` rounds half away from
    zero; the state saturates at 24 bits. ``lb = 0`` (default) is the plain recurrence
    (exactly, in both models).

    Parameters
    ----------
    n : int
        Number of channels.
    lower_bound : array (n,) in [0, 1), optional
        Forget-gate lower bound ``lb`` (HGRN's per-layer bound; 0 for the first layer).
    """

    def __init__(self, *, n: int, lower_bound=None, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        n = V.check_int("n", n, 1)
        lb = np.zeros(n) if lower_bound is None else V.check_shape(
            "lower_bound", V.check_finite("lower_bound", lower_bound), (n,)).astype(np.float64)
        if lb.size and (lb.min() < 0 or lb.max() >= 1):
            raise ValueError(f"lower_bound must lie in [0, 1), found [{lb.min()}, {lb.max()}]")
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(2 * n,))
        self.s_out = OutPort(shape=(n,))
        self.h = Var(shape=(n,), init=np.zeros(n))
        self.lb = Var(shape=(n,), init=lb)
        self.lb_q = Var(shape=(n,), init=np.round(lb * gk.ONE).astype(np.int64))


class MLGRUCell(MLGRU):
    r"""MLGRU neurons with the two pre-activations on two ports: ``a_in = i_pre``,
    ``f_in = f_pre`` (shape ``(n,)`` each); otherwise exactly :class:`MLGRU`.

    The fine-grained token mixer uses it: its two synapses (``BL_i``, ``BL_f``) each drive one
    port (Lava 0.10 cannot concatenate two OutPorts into one InPort).
    """

    def __init__(self, *, n: int, lower_bound=None, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        super().__init__(n=n, lower_bound=lower_bound, name=name, log_config=log_config)
        self.a_in = InPort(shape=(self.h.shape[0],))
        self.f_in = InPort(shape=(self.h.shape[0],))


class MLGRUBlock(ValidatedProcess):
    r"""Fused HGRNBit token mixer: one leaf that holds a whole ``attn`` sub-block.

    Dynamics (each time step, ``x = a_in`` the residual stream, ``h`` the MLGRU state)::

        a = RMSNorm(x) * attn_norm
        i_pre, f_pre, g_pre = BL_i(a), BL_f(a), BL_g(a)          (BitLinear: ternary weights)
        h = MLGRU(i_pre, f_pre; lb)                              (see :class:`MLGRU`)
        s_out = x + BL_o(RMSNorm(g_pre) * g_norm * SiLU(h))

    The float model evaluates it in float64 with per-token absmax int8 BitLinear inputs (as
    torch); the fixed model with the integer kernels of
    :mod:`lava_llm.processes.gated_recurrence.kernels` (residual ``x_frac`` fractional bits,
    24-bit saturating; int8 BitLinear inputs with static calibrated scales; 12-bit-fraction
    gates and 24-bit state).

    Two models: the fused ``PyMLGRUBlockModel{Float,Fixed}`` (one leaf: one OS process per
    block on the Lava CPU backend) and ``SubMLGRUBlockModel`` (``granularity="fine"``): the
    :data:`FINE_PROCESSES` neuron (RMSNorm, MLGRUCell, SiLUGate, ResidualAdd) and synapse
    (TernaryDense) Processes a chip would hold; ``h`` aliases the MLGRUCell's state. Every
    parameter is a Var (:mod:`lava_llm.processes.lm_blocks.var_layout`: ``i_*``, ``f_*``,
    ``g_*``, ``o_*``, ``attn_norm_*``, ``g_norm_*``, ``lb``, ``lb_q``, ``eps``).

    Parameters
    ----------
    layer_float : dict
        The layer's float parameters (:func:`lava_llm.models.lm.export.float_model`).
    layer_int : dict, optional
        The layer's integer parameters (:func:`lava_llm.models.lm.export.export_int`);
        needed by the fixed model.
    eps : float
        RMSNorm epsilon.
    """

    #: Component Processes of the fine-grained form (4 of them TernaryDense, each itself a
    #: TernarySynapse and a Rescale leaf in the fine form): 17 leaves.
    FINE_PROCESSES = 13
    FINE_LEAVES = 13 + 4

    def __init__(self, *, layer_float: dict, layer_int: ty.Optional[dict] = None,
                 eps: float = 1e-6, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        from lava_llm.processes.lm_blocks import var_layout as vl

        H = _check_layer(layer_float, layer_int)
        eps = V.check_positive("eps", eps)
        lb = layer_float.get("lb")
        lb = np.zeros(H) if lb is None else V.check_shape(
            "layer_float['lb']", V.check_finite("lb", lb), (H,)).astype(np.float64)
        q = layer_int or {}
        lb_q = q.get("lb_q")
        lb_q = np.zeros(H, np.int64) if lb_q is None else np.asarray(lb_q, np.int64)
        fp.check_bits("layer_int['lb_q']", lb_q, gk.P + 1, signed=False)
        super().__init__(shape=(H,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(H,))
        self.s_out = OutPort(shape=(H,))
        self.h = Var(shape=(H,), init=np.zeros(H))
        self.eps = Var(shape=(1,), init=np.array([eps]))
        self.lb = Var(shape=(H,), init=lb)
        self.lb_q = Var(shape=(H,), init=lb_q)
        for k in "ifgo":
            vl.add_linear_vars(self, k, layer_float[k], q.get(k))
        vl.add_recip_lut(self)
        for k in ("attn_norm", "g_norm"):
            vl.add_norm_vars(self, k, layer_float[k], q.get(k))


def _check_layer(layer_float: dict, layer_int) -> int:
    if not isinstance(layer_float, dict):
        raise TypeError(f"layer_float must be a dict, got {type(layer_float).__name__}")
    missing = [k for k in ("i", "f", "g", "o", "attn_norm", "g_norm") if k not in layer_float]
    if missing:
        raise ValueError(f"layer_float lacks {missing}")
    H = int(np.size(layer_float["attn_norm"]))
    for k in "ifgo":
        shp = tuple(np.shape(layer_float[k].trits))
        if shp != (H, H):
            raise ValueError(f"layer_float[{k!r}] weights have shape {shp}, need {(H, H)}")
    if layer_int is not None:
        for k in "ifgo":
            if tuple(np.shape(layer_int[k]["trits"])) != (H, H):
                raise ValueError(f"layer_int[{k!r}] trits do not have shape {(H, H)}")
        fp.check_bits("layer_int['o'] mant", layer_int["o"]["mant"], 16, signed=False)
    return H
