"""Ternary dense (BitLinear) step functions: the numeric truth of the component.

Float::

    x' = quant_int8(RMSNorm(x) * g)        (only with the BitLinear front end)
    y  = alpha * (W_t @ x')                 W_t in {-1, 0, +1}

Fixed (Loihi 2)::

    acc = W_t @ x_q                         x_q int8 graded spikes; additions/subtractions only
    y_q = sat24( rshift(acc * mant, shift) )

``mant``/``shift`` fold ``alpha`` and the input/output fixed-point scales into one integer
multiplier (see :func:`fixed_rescale`). The Lava ProcessModels, the integer engines and the
torch module (through :mod:`lava_llm.fixed_point`'s quantisers) all call these.
"""
from __future__ import annotations

import numpy as np

from lava_llm import fixed_point as fp

RMS_EPS = 1e-6
MULT_BITS = 16


def rms_norm(x: np.ndarray, weight: np.ndarray | None, eps: float = RMS_EPS) -> np.ndarray:
    """``x / sqrt(mean(x**2, -1) + eps) * weight`` over the last axis."""
    x = np.asarray(x, dtype=np.float64)
    y = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return y if weight is None else y * weight


def bitlinear_input(x: np.ndarray, norm_weight: np.ndarray | None,
                    eps: float = RMS_EPS) -> np.ndarray:
    """BitLinear front end: RMSNorm, then per-token absmax int8 fake quantisation."""
    q, s = fp.int8_absmax_per_token(rms_norm(x, norm_weight, eps))
    return q / s


def float_step(x: np.ndarray, trits: np.ndarray, alpha: float, *, bitlinear: bool = False,
               norm_weight: np.ndarray | None = None, eps: float = RMS_EPS) -> np.ndarray:
    """Float reference: ``alpha * W_t @ x`` (``x`` of shape ``(..., in)``)."""
    x = np.asarray(x, dtype=np.float64)
    if bitlinear:
        x = bitlinear_input(x, norm_weight, eps)
    return alpha * (x @ np.asarray(trits, dtype=np.float64).T)


#: float64 represents every integer up to 2**53 exactly.
_EXACT_FLOAT_LIMIT = 1 << 53


def ternary_matvec(x_q: np.ndarray, trits: np.ndarray) -> np.ndarray:
    """``W_t @ x`` over the last axis of ``x``, exact, as int64.

    With ternary weights every product is an addition, a subtraction or nothing, as on a Loihi
    synapse; the matmul is the vectorised simulation of those accumulations. When every partial
    sum is bounded by ``n_in * max|x| < 2**53`` the matmul runs in float64 (BLAS), which is
    exact for such integers; otherwise it runs in int64 (numpy's unaccelerated integer matmul).
    """
    x_q = np.asarray(x_q)
    trits = np.asarray(trits)
    bound = int(np.abs(x_q).max(initial=0)) * trits.shape[-1]
    if bound < _EXACT_FLOAT_LIMIT:
        acc = x_q.astype(np.float64) @ trits.astype(np.float64).T
        return acc.astype(np.int64)
    return x_q.astype(np.int64) @ trits.astype(np.int64).T


def int_step(x_q: np.ndarray, trits: np.ndarray, mant: int, shift: int,
             msg_bits: int = fp.MSG_BITS, in_bits: int = fp.ACT_BITS) -> np.ndarray:
    """Fixed-point step: int8 in (saturated to ``in_bits``), 24-bit graded output.

    Saturation: inputs beyond ``in_bits`` are clipped (as Loihi clips a graded payload);
    the rescaled output is clipped to ``msg_bits``.
    """
    x_q = fp.saturate(x_q, in_bits)
    acc = ternary_matvec(x_q, trits)
    return fp.saturate(fp.mul_shift(acc, mant, shift), msg_bits)


def fixed_rescale(alpha: float, in_frac: int = 0, out_frac: int = 0,
                  mult_bits: int = MULT_BITS) -> tuple[int, int]:
    """Integer ``(mant, shift)`` for ``y_q = acc * mant >> shift`` where the input carries
    ``in_frac`` and the output ``out_frac`` fractional bits: the real factor is
    ``alpha * 2**(out_frac - in_frac)``.

    Raises ValueError (naming ``scale``) when the factor does not fit a ``mult_bits``-bit
    multiplier.
    """
    factor = float(alpha) * 2.0 ** (out_frac - in_frac)
    try:
        return fp.mant_exp(factor, mult_bits)
    except ValueError as exc:
        raise ValueError(f"scale={alpha!r} with in_frac={in_frac}, out_frac={out_frac}: "
                         f"{exc}") from None
