"""The fine-grained TernaryDense split into its synapse and its post-synaptic neurons (the
numeric truth of :class:`~lava_llm.processes.ternary_dense.process.TernarySynapse` and
:class:`~lava_llm.processes.ternary_dense.process.Rescale`)::

    synapse:  acc = sat24((W_t @ sat8(x)) << weight_exp)       dendritic sum, 24-bit message
    neurons:  y   = sat24(acc * mant >> shift)                  16-bit multiplier, rounding shift

Composed, they equal :func:`lava_llm.processes.ternary_dense.kernels.int_step` with shift
``shift - weight_exp`` whenever the dendritic sum fits 24 bits, i.e. ``n_in * 128 *
2**weight_exp < 2**23`` (:func:`acc_fits`; the sub-process model checks it).
"""
from __future__ import annotations

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm.processes.ternary_dense import kernels


def synapse_float(x, trits) -> np.ndarray:
    """``W_t @ x`` in float64."""
    return kernels.float_step(x, trits, 1.0)


def synapse_int(x_q, trits, weight_exp: int) -> np.ndarray:
    """``sat24((W_t @ sat8(x)) << weight_exp)``."""
    acc = kernels.ternary_matvec(fp.saturate(x_q, fp.ACT_BITS), trits)
    return fp.saturate(fp.shift(acc, int(weight_exp)), fp.MSG_BITS)


def rescale_int(acc, mant: int, shift: int) -> np.ndarray:
    """``sat24(acc * mant >> shift)``."""
    return fp.saturate(fp.mul_shift(acc, int(mant), int(shift)), fp.MSG_BITS)


def acc_fits(n_in: int, weight_exp: int = 0) -> bool:
    """Whether every dendritic sum of an ``n_in``-input layer fits a 24-bit message."""
    return int(n_in) * (1 << (fp.ACT_BITS - 1)) * (1 << int(weight_exp)) < 1 << (fp.MSG_BITS - 1)
