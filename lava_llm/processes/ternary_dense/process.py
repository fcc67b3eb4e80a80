"""The TernaryDense Process (BitLinear synapses), a hierarchical Process: its fused model and
its fine-grained form, a :class:`TernarySynapse` (weights) feeding :class:`Rescale` neurons."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import LogConfig
from lava.magma.core.process.variable import Var

from lava_llm import fixed_point as fp
from lava_llm import validation as V
from lava_llm.processes.base import ValidatedProcess
from lava_llm.processes.ternary_dense import kernels


class TernaryDense(ValidatedProcess):
    r"""Dense layer with ternary weights and one scale: BitLinear on Lava.

    Dynamics (each time step ``t``; ``W_t`` in {-1, 0, +1}, shape ``(out, in)``)::

        float:  a_out[t] = scale * W_t @ x[t],
                x[t] = s_in[t], or with bitlinear=True
                x[t] = quant_int8(RMSNorm(s_in[t]) * norm_weight)   (per-token absmax)
        fixed:  a_out[t] = sat_24(((W_t @ sat_8(s_in[t])) << weight_exp) * mant >> shift)

    ``>>`` rounds half away from zero (:func:`lava_llm.fixed_point.rshift`). The fixed model
    takes graded int8 spikes (saturated to 8 bits) and sends 24-bit graded spikes (saturated);
    its only multiply is the per-layer rescale by ``mant`` (16-bit). The BitLinear front end
    (RMSNorm + dynamic activation quantisation) is part of the float model only: in a
    fixed-point network that work is done upstream by an integer RMSNorm with a static scale.

    On Loihi 2 this is a synapse: ``weights`` are 8-bit synaptic weight mantissas (here -1, 0,
    +1) with the exponent ``weight_exp`` (0 for a ternary layer); the accumulated dendritic
    sum is rescaled by the post-synaptic neuron (``mant``, ``shift``). ``weight_exp`` folds
    into the shift exactly (``(acc << e) * m >> s == acc * m >> (s - e)``), so ``shift >=
    weight_exp``. Every parameter is a Var.

    Two models: the fused ``PyTernaryDenseModel{Float,Fixed}`` and ``SubTernaryDenseModel``
    (``granularity="fine"``): :class:`TernarySynapse` -> :class:`Rescale` (bit-exact while the
    dendritic sum fits 24 bits: ``n_in * 128 * 2**weight_exp < 2**23``; the fine form has no
    BitLinear front end).

    Parameters
    ----------
    weights : array (out, in) of {-1, 0, +1}
        Ternary weights ``W_t``.
    scale : float
        Per-tensor scale ``alpha`` (> 0) of the float model.
    mant, shift : int, optional
        Integer rescale of the fixed model. By default derived from ``scale``, ``in_frac``
        and ``out_frac`` with :func:`kernels.fixed_rescale`.
    in_frac, out_frac : int
        Fractional bits of the fixed model's input and output messages.
    bitlinear : bool
        Apply the BitLinear front end in the float model.
    norm_weight : array (in,), optional
        RMSNorm gain of the front end (default ones).
    eps : float
        RMSNorm epsilon (1e-6 as in matmulfreellm).
    weight_exp : int
        Synaptic weight exponent in [0, 7].
    """

    def __init__(self, *, weights, scale: float = 1.0, mant: ty.Optional[int] = None,
                 shift: ty.Optional[int] = None, in_frac: int = 0, out_frac: int = 0,
                 bitlinear: bool = False, norm_weight=None, eps: float = kernels.RMS_EPS,
                 weight_exp: int = 0, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        trits = V.check_ternary("weights", V.check_ndim("weights", weights, 2))
        n_out, n_in = trits.shape
        if n_out == 0 or n_in == 0:
            raise ValueError(f"weights must be non-empty, got shape {trits.shape}")
        scale = V.check_positive("scale", scale)
        if (mant is None) != (shift is None):
            raise ValueError("give both mant and shift, or neither (then derived from scale)")
        if mant is None:
            mant, shift = kernels.fixed_rescale(scale, in_frac, out_frac)
        mant = V.check_int("mant", mant, 0, (1 << kernels.MULT_BITS) - 1)
        shift = V.check_int("shift", shift, 0, 62)
        weight_exp = V.check_int("weight_exp", weight_exp, 0, 7)
        if shift < weight_exp:
            raise ValueError(f"shift={shift} must be >= weight_exp={weight_exp}")
        if norm_weight is None:
            norm_weight = np.ones(n_in)
        norm_weight = V.check_shape("norm_weight", V.check_finite("norm_weight", norm_weight),
                                    (n_in,)).astype(np.float64)
        V.check_positive("eps", eps)
        super().__init__(shape=(n_out, n_in), name=name, log_config=log_config)
        self.s_in = InPort(shape=(n_in,))
        self.a_out = OutPort(shape=(n_out,))
        self.weights = Var(shape=(n_out, n_in), init=trits)
        self.scale = Var(shape=(1,), init=np.array([scale]))
        self.mant = Var(shape=(1,), init=np.array([mant]))
        self.shift = Var(shape=(1,), init=np.array([shift]))
        self.norm_weight = Var(shape=(n_in,), init=norm_weight)
        self.weight_exp = Var(shape=(1,), init=np.array([weight_exp]))
        self.bitlinear = Var(shape=(1,), init=np.array([int(bool(bitlinear))]))
        self.eps = Var(shape=(1,), init=np.array([float(eps)]))

    @classmethod
    def from_packed(cls, *, packed, shape, scale: float, **kwargs) -> "TernaryDense":
        """Build from packed trits (:func:`lava_llm.fixed_point.pack_trits`), e.g. the
        output of :func:`lava_llm.training.bitlinear.export_bitlinear`."""
        return cls(weights=fp.unpack_trits(packed, shape), scale=scale, **kwargs)


class TernarySynapse(ValidatedProcess):
    r"""Synapses with 8-bit weights and an exponent: the weight half of :class:`TernaryDense`.

    Dynamics (each time step)::

        float:  a_out = W @ s_in
        fixed:  a_out = sat24((W @ sat8(s_in)) << weight_exp)     (the dendritic sums)

    ``weights`` (out, in): 8-bit signed synaptic weights (ternary layers use -1, 0, +1).
    """

    def __init__(self, *, weights, weight_exp: int = 0, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        w = fp.check_bits("weights", V.check_ndim("weights", weights, 2), fp.WEIGHT_BITS)
        weight_exp = V.check_int("weight_exp", weight_exp, 0, 7)
        super().__init__(shape=w.shape, name=name, log_config=log_config)
        self.s_in = InPort(shape=(w.shape[1],))
        self.a_out = OutPort(shape=(w.shape[0],))
        self.weights = Var(shape=w.shape, init=w.astype(np.int8))
        self.weight_exp = Var(shape=(1,), init=np.array([weight_exp]))


class Rescale(ValidatedProcess):
    r"""Post-synaptic neurons that rescale dendritic sums: the neuron half of TernaryDense.

    Dynamics (each time step)::

        float:  s_out = scale * a_in
        fixed:  s_out = sat24(a_in * mant >> shift)        (16-bit unsigned multiplier)
    """

    def __init__(self, *, n: int, scale: float = 1.0, mant: int = 1, shift: int = 0,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        n = V.check_int("n", n, 1)
        scale = V.check_positive("scale", scale)
        mant = V.check_int("mant", mant, 0, (1 << kernels.MULT_BITS) - 1)
        shift = V.check_int("shift", shift, 0, 62)
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        self.scale = Var(shape=(1,), init=np.array([scale]))
        self.mant = Var(shape=(1,), init=np.array([mant]))
        self.shift = Var(shape=(1,), init=np.array([shift]))
