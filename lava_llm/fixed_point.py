"""Loihi-style fixed-point arithmetic: the one place where it is defined.

Every component's integer step function (and so every ``fixed_pt`` ProcessModel and every
integer engine) uses these helpers; the torch training code uses the same quantisers for
quantisation-aware training. Nothing here divides or uses floats on integer data at run time;
floats appear only when *building* parameters (scales, lookup tables) ahead of time.

Conventions
-----------
* Integers are carried as ``np.int64`` while computing; a value's *declared* bit width is
  enforced with :func:`saturate` (clip) or :func:`wrap` (two's complement), and asserted with
  :func:`check_bits`.
* A fixed-point number with ``frac`` fractional bits represents ``q * 2**-frac``.
* :func:`rshift` is the only rounding right shift. Its default rounding, ``"nearest"``, is
  *round half away from zero* applied to the magnitude, so that ``rshift(-x, n) ==
  -rshift(x, n)`` (sign-preserving; a plain arithmetic shift would round towards -inf and bias
  negative values). ``"floor"`` is the plain arithmetic shift (Loihi's native ``>>``).
* Scaling by a real factor is an integer multiply and a rounding shift: ``x * m >> s`` with
  ``(m, s) = mant_exp(factor, mant_bits)``.

Bit widths used on Loihi 2 (and by our ProcessModels)
-----------------------------------------------------
``MSG_BITS = 24``   graded-spike payload between neurons.
``STATE_BITS = 24`` neuron state (u, v, recurrent state).
``WEIGHT_BITS = 8`` synaptic weight mantissa.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from lava_llm import validation as V

MSG_BITS = 24
STATE_BITS = 24
WEIGHT_BITS = 8
ACT_BITS = 8  # int8 activations of BitLinear


# --------------------------------------------------------------------------- integer helpers
def int_range(bits: int, signed: bool = True) -> tuple[int, int]:
    """Inclusive range of a ``bits``-wide integer."""
    V.check_int("bits", bits, 1, 63)
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def saturate(x, bits: int, signed: bool = True) -> np.ndarray:
    """Clip ``x`` to the range of a ``bits``-wide integer (Loihi's saturating behaviour)."""
    lo, hi = _int_range_cached(bits, signed)
    return np.minimum(np.maximum(np.asarray(x, dtype=np.int64), lo), hi)


@functools.lru_cache(maxsize=None)
def _int_range_cached(bits, signed):
    lo, hi = int_range(bits, signed)   # raises (uncached) for a bad width
    return np.int64(lo), np.int64(hi)


def wrap(x, bits: int) -> np.ndarray:
    """Two's-complement wrap of ``x`` to ``bits`` bits (what an unchecked register does)."""
    x = np.asarray(x, dtype=np.int64)
    half = np.int64(1) << np.int64(bits - 1)
    return ((x + half) & ((np.int64(1) << np.int64(bits)) - 1)) - half


def check_bits(name: str, x, bits: int, signed: bool = True) -> np.ndarray:
    """Raise ``ValueError`` naming ``name`` unless every element of ``x`` fits ``bits`` bits."""
    lo, hi = int_range(bits, signed)
    return V.check_int_range(f"{name} ({bits}-bit {'signed' if signed else 'unsigned'})",
                             x, lo, hi)


def rshift(x, n, rounding: str = "nearest") -> np.ndarray:
    """Right shift ``x`` by ``n`` bits (``n`` >= 0, scalar or broadcastable array).

    ``rounding="nearest"``: sign-preserving round half away from zero,
    ``sign(x) * ((|x| + 2**(n-1)) >> n)``; ``rounding="floor"``: arithmetic shift ``x >> n``.
    """
    x = np.asarray(x, dtype=np.int64)
    if isinstance(n, (int, np.integer)) and 0 <= n <= 62:
        # the common case, one shift for the whole array: the same values, fewer array ops
        n = int(n)
        if rounding == "floor":
            return x >> n
        if rounding != "nearest":
            raise ValueError(f"rounding={rounding!r} is not one of ['nearest', 'floor']")
        if n == 0:
            return x.copy()
        if x.size >= _COMPILED_MIN_SIZE:
            return _compiled_rshift()(x, n)
        mag = (np.abs(x) + (1 << (n - 1))) >> n
        return np.where(x < 0, -mag, mag)
    n = np.asarray(n, dtype=np.int64)
    if np.any(n < 0):
        raise ValueError(f"shift n must be >= 0, got {n.min()}")
    if rounding == "floor":
        return x >> n
    if rounding != "nearest":
        raise ValueError(f"rounding={rounding!r} is not one of ['nearest', 'floor']")
    half = np.where(n > 0, np.int64(1) << np.maximum(n - 1, 0), 0)
    mag = (np.abs(x) + half) >> n
    return np.where(x < 0, -mag, mag)


#: Arrays at least this large take the compiled one-pass rounding shift (same values).
_COMPILED_MIN_SIZE = 512
_RSHIFT_NB = None


def _compiled_rshift():
    """numba version of the scalar-``n`` nearest rounding shift (one pass over ``x``; numba
    is imported on first use). Equal to the numpy expression by construction and by test."""
    global _RSHIFT_NB
    if _RSHIFT_NB is None:
        from lava_llm._fixed_point_numba import rshift_nearest

        _RSHIFT_NB = rshift_nearest
    return _RSHIFT_NB


def shift(x, n) -> np.ndarray:
    """Shift left by ``n`` where ``n`` >= 0, right (rounding to nearest) where ``n`` < 0."""
    x = np.asarray(x, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    return np.where(n >= 0, x << np.maximum(n, 0), rshift(x, np.maximum(-n, 0)))


def bit_length(x) -> np.ndarray:
    """Number of bits of ``|x|`` (``0`` for 0), by integer compares only (count leading zeros)."""
    x = np.abs(np.asarray(x, dtype=np.int64))
    n = np.zeros_like(x)
    for k in (32, 16, 8, 4, 2, 1):
        big = (x >> k) > 0
        n = np.where(big, n + k, n)
        x = np.where(big, x >> k, x)
    return n + (x > 0)


def mant_exp(factor: float, mant_bits: int = 16, max_shift: int = 40) -> tuple[int, int]:
    """Represent a positive real ``factor`` as ``m * 2**-s`` with ``m`` an unsigned
    ``mant_bits``-bit integer using as many bits as possible (built on the host, ahead of time).

    Raises
    ------
    ValueError
        If ``factor`` is not finite and positive, too large for ``mant_bits`` bits
        (``factor >= 2**mant_bits``) or too small to keep one significant bit with
        ``max_shift``.
    """
    f = V.check_positive("factor", factor)
    hi = (1 << mant_bits) - 1
    if f > hi:
        raise ValueError(f"scale factor {f:g} does not fit a {mant_bits}-bit multiplier "
                         f"(must be < {hi + 1})")
    s = 0
    while s < max_shift and f * (1 << (s + 1)) <= hi:
        s += 1
    m = int(round(f * (1 << s)))
    if m == 0:
        raise ValueError(f"scale factor {f:g} is below the smallest representable "
                         f"2**-{max_shift} with a {mant_bits}-bit multiplier")
    return min(m, hi), s


def mul_shift(x, m: int, s: int, rounding: str = "nearest") -> np.ndarray:
    """``x * m >> s``: multiply by the real factor ``m * 2**-s`` in integer arithmetic."""
    return rshift(np.asarray(x, dtype=np.int64) * np.int64(m), s, rounding)


# --------------------------------------------------------------------------- PRNG
def xorshift32(v):
    """Marsaglia's xorshift32 (13, 17, 5): the next 32-bit state of a Python int or of an int64
    array holding 32-bit states (a non-zero state stays non-zero; period 2**32 - 1).

    Three shifts, three XORs and masks: what a Loihi 2 microcode neuron (or an LFSR) can do
    per step. The one definition of the hardware-style PRNG: the LM's samplers call it, and the
    QUBO annealing kernel compiles this same function with numba (if it ever changed, that
    kernel's numba cache would have to be cleared: numba keys a cache on its own file only).
    """
    v = v ^ ((v << 13) & 0xFFFFFFFF)
    v = v ^ (v >> 17)
    return v ^ ((v << 5) & 0xFFFFFFFF)


def prng_states(seed: int, shape) -> np.ndarray:
    """Seeded non-zero 32-bit PRNG states (uint32), made on the host."""
    rng = np.random.default_rng(seed)
    return rng.integers(1, 1 << 32, size=shape, dtype=np.uint64).astype(np.uint32)


def draw_below(state: int, n: int) -> tuple[int, int]:
    """One integer draw in ``[0, n)``: ``state = xorshift32(state)``, then ``(state * n) >> 32``
    (the high word of a 32 x 32-bit product: no division, no modulo bias beyond 2**-32 per
    value). Returns ``(draw, state)``; ``n`` in ``[1, 2**32]``."""
    n = int(n)
    if not 1 <= n <= 1 << 32:
        raise ValueError(f"n must be in [1, 2**32], got {n}")
    state = xorshift32(int(state))
    return (state * n) >> 32, state


# --------------------------------------------------------------------------- quantisers
def _ns(x):
    """numpy or torch, by the type of ``x`` (without importing torch for numpy callers)."""
    if type(x).__module__.startswith("torch"):
        import torch

        return torch
    return np


def ternary_absmean(w, eps: float = 1e-5):
    """Ternarise by absmean (BitNet b1.58 / matmulfreellm ``weight_quant``).

    ``alpha = max(mean(|w|), eps)``; ``trits = clip(round(w / alpha), -1, 1)``;
    ``w ~= alpha * trits``. Works on numpy arrays and torch tensors alike (round half to even
    in both).

    Returns
    -------
    trits : same type as ``w``, values in {-1, 0, +1} (float dtype of ``w``)
    alpha : 0-d array / tensor, the per-tensor scale
    """
    xp = _ns(w)
    alpha = xp.clip(xp.abs(w).mean(), eps, None)
    trits = xp.clip(xp.round(w / alpha), -1, 1)
    return trits, alpha


def int8_absmax_per_token(x, eps: float = 1e-5, bits: int = ACT_BITS):
    """Per-token (last axis) absmax quantisation (matmulfreellm ``activation_quant``).

    ``s = (2**(bits-1) - 1) / max(max|x|, eps)``; ``q = clip(round(x * s), -2**(bits-1),
    2**(bits-1) - 1)``; ``x ~= q / s``.

    Returns
    -------
    q : same type as ``x`` (float dtype), integer values
    s : scale with a trailing axis of size 1
    """
    xp = _ns(x)
    qmax = float((1 << (bits - 1)) - 1)
    if xp is np:
        amax = np.max(np.abs(x), axis=-1, keepdims=True)
    else:
        amax = x.abs().amax(dim=-1, keepdim=True)
    s = qmax / xp.clip(amax, eps, None)
    q = xp.clip(xp.round(x * s), -qmax - 1, qmax)
    return q, s


def pow2_exponent(amax: float, bits: int) -> int:
    """Largest ``e`` with ``amax * 2**e <= 2**(bits-1) - 1``: the static power-of-two scale
    exponent that maps ``[-amax, amax]`` into a signed ``bits``-bit integer."""
    amax = V.check_positive("amax", amax)
    qmax = (1 << (bits - 1)) - 1
    e = int(np.floor(np.log2(qmax / amax)))
    while amax * 2.0 ** e > qmax:  # guard against log2 rounding
        e -= 1
    return e


def quantize_pow2(x, exponent: int, bits: int):
    """Static per-tensor quantisation with a power-of-two scale: ``q = clip(round(x * 2**e))``
    to a signed ``bits``-bit integer; ``x ~= q * 2**-e``. numpy or torch."""
    xp = _ns(x)
    lo, hi = int_range(bits)
    return xp.clip(xp.round(x * (2.0 ** exponent)), lo, hi)


def pack_trits(trits) -> np.ndarray:
    """Pack ternary values 4 per byte (2 bits each: 0 -> 0b00, +1 -> 0b01, -1 -> 0b10),
    row-major, zero-padded at the end. The shape is stored separately."""
    t = V.check_ternary("trits", trits).ravel()
    code = np.where(t < 0, 2, t).astype(np.uint8)
    pad = (-code.size) % 4
    code = np.concatenate([code, np.zeros(pad, np.uint8)]).reshape(-1, 4)
    return (code[:, 0] | (code[:, 1] << 2) | (code[:, 2] << 4) | (code[:, 3] << 6)).astype(
        np.uint8)


def unpack_trits(packed, shape) -> np.ndarray:
    """Inverse of :func:`pack_trits`; returns int8 trits of ``shape``."""
    packed = np.asarray(packed, dtype=np.uint8).ravel()
    n = int(np.prod(shape))
    if packed.size != (n + 3) // 4:
        raise ValueError(f"packed trits hold {packed.size} bytes, shape {tuple(shape)} needs "
                         f"{(n + 3) // 4}")
    code = np.stack([(packed >> k) & 3 for k in (0, 2, 4, 6)], axis=1).ravel()[:n]
    if np.any(code == 3):
        raise ValueError("packed trits contain the invalid code 0b11")
    return np.where(code == 2, -1, code).astype(np.int8).reshape(shape)


# --------------------------------------------------------------------------- lookup tables
@dataclasses.dataclass(frozen=True)
class Lut:
    """A uniform lookup table on fixed-point input.

    Input ``x`` has ``in_frac`` fractional bits; entries cover ``[x_min, x_min + len *
    2**step_shift)`` (in input integer units); inputs outside clamp to the end entries. Each
    entry holds ``round(fn(bucket centre) * 2**out_frac)``.
    """

    name: str
    in_frac: int
    out_frac: int
    x_min: int
    step_shift: int
    table: np.ndarray

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        idx = np.clip((x - self.x_min) >> self.step_shift, 0, self.table.size - 1)
        return self.table[idx]


def make_lut(name, fn, *, in_frac: int, out_frac: int, lo: float, hi: float,
             index_bits: int) -> Lut:
    """Build a :class:`Lut` for ``fn`` on ``[lo, hi)`` with ``2**index_bits`` entries (the span
    ``(hi - lo) * 2**in_frac`` must be a power of two times the entry count)."""
    x_min = int(round(lo * (1 << in_frac)))
    span = int(round((hi - lo) * (1 << in_frac)))
    step = span >> index_bits
    if step < 1 or step << index_bits != span or step & (step - 1):
        raise ValueError(f"LUT {name}: span {span} is not a power-of-two multiple of "
                         f"2**{index_bits} entries")
    step_shift = step.bit_length() - 1
    centres = (x_min + (np.arange(1 << index_bits) << step_shift) + (step - 1) / 2.0) \
        / (1 << in_frac)
    table = np.round(fn(centres) * (1 << out_frac)).astype(np.int64)
    return Lut(name, in_frac, out_frac, x_min, step_shift, table)


# Default Q formats shared by the components. A gate or activation pre-activation carries
# ACT_FRAC fractional bits; sigmoid outputs carry SIG_FRAC.
ACT_FRAC = 8
SIG_FRAC = 12

#: Max |error| of :func:`sigmoid_fixed` against the exact sigmoid, in real units, over all
#: inputs (stated; asserted by tests/test_fixed_point.py).
SIGMOID_MAX_ERR = 2.0e-3
#: Max |error| of :func:`silu_fixed` against exact SiLU for |x| <= 16 (real units).
SILU_MAX_ERR = 4.0e-3
#: :func:`exp_neg_fixed` error bound for x <= 0: ``|y - exp(x)| <= EXP_MAX_REL_ERR * exp(x)
#: + 0.5 LSB`` (the relative part is the 2**-8 input step; below exp(-16) it returns ~0).
EXP_MAX_REL_ERR = 4.0e-3
#: :func:`rsqrt_fixed` error bound over its whole input range: ``|y - 1/sqrt(v)| <=
#: RSQRT_MAX_REL_ERR / sqrt(v) + 0.5 LSB`` (the 0.5 LSB is the output format's own rounding).
RSQRT_MAX_REL_ERR = 1.0e-3


@functools.lru_cache(maxsize=None)
def sigmoid_lut(in_frac: int = ACT_FRAC, out_frac: int = SIG_FRAC) -> Lut:
    """Sigmoid on [-8, 8) with 1024 entries; beyond the range the end entries (within 3.4e-4
    of 0 and 1) apply."""
    return make_lut("sigmoid", lambda x: 1.0 / (1.0 + np.exp(-x)), in_frac=in_frac,
                    out_frac=out_frac, lo=-8.0, hi=8.0, index_bits=10)


def sigmoid_fixed(x, in_frac: int = ACT_FRAC, out_frac: int = SIG_FRAC) -> np.ndarray:
    """Integer sigmoid: ``x`` with ``in_frac`` fractional bits -> ``out_frac`` fractional bits."""
    return sigmoid_lut(in_frac, out_frac)(x)


def silu_fixed(x, in_frac: int = ACT_FRAC, sig_frac: int = SIG_FRAC) -> np.ndarray:
    """Integer SiLU ``x * sigmoid(x)``: one LUT and one multiply; keeps ``in_frac``."""
    x = np.asarray(x, dtype=np.int64)
    return rshift(x * sigmoid_fixed(x, in_frac, sig_frac), sig_frac)


@functools.lru_cache(maxsize=None)
def exp_neg_lut(in_frac: int = ACT_FRAC, out_frac: int = 16) -> Lut:
    """``exp(x)`` on [-16, 0) with 4096 entries (``x >= 0`` returns exp of the last bucket,
    ~1; ``x < -16`` returns ``round(exp(-16) * 2**out_frac)`` = 0 for out_frac <= 23)."""
    return make_lut("exp_neg", np.exp, in_frac=in_frac, out_frac=out_frac, lo=-16.0, hi=0.0,
                    index_bits=12)


def exp_neg_fixed(x, in_frac: int = ACT_FRAC, out_frac: int = 16) -> np.ndarray:
    """Integer ``exp(x)`` for ``x <= 0``."""
    return exp_neg_lut(in_frac, out_frac)(x)


RSQRT_INDEX_BITS = 8
RSQRT_TABLE_FRAC = 16


@functools.lru_cache(maxsize=None)
def _rsqrt_table() -> np.ndarray:
    # u in [1, 4) in buckets of 2**-RSQRT_INDEX_BITS; entry = 1/sqrt(centre) * 2**16.
    k = np.arange(3 << RSQRT_INDEX_BITS)
    centres = 1.0 + (k + 0.5) / (1 << RSQRT_INDEX_BITS)
    return np.round((1 << RSQRT_TABLE_FRAC) / np.sqrt(centres)).astype(np.int64)


def rsqrt_fixed(v, in_frac: int, out_frac: int) -> np.ndarray:
    """Integer ``1/sqrt(v)`` for ``v > 0`` (``v`` with ``in_frac`` fractional bits; ``in_frac``
    even) -> ``out_frac`` fractional bits. ``v <= 0`` returns the value for ``v = 1`` (one LSB).

    Normalise ``v = u * 4**k`` with ``u`` in [1, 4) by count-leading-zeros, look ``u`` up in a
    768-entry table, shift by ``k``. No division.
    """
    if in_frac % 2:
        raise ValueError(f"rsqrt_fixed needs an even in_frac, got {in_frac}")
    if isinstance(in_frac, (int, np.integer)) and isinstance(out_frac, (int, np.integer)):
        # the same steps per element, compiled (one call instead of ~60 array operations)
        from lava_llm._fixed_point_numba import rsqrt_fixed as compiled

        return compiled(np.asarray(v, dtype=np.int64), int(in_frac), int(out_frac),
                        _rsqrt_table(), RSQRT_INDEX_BITS, RSQRT_TABLE_FRAC)
    return rsqrt_fixed_numpy(v, in_frac, out_frac)


def rsqrt_fixed_numpy(v, in_frac: int, out_frac: int) -> np.ndarray:
    """The array form of :func:`rsqrt_fixed` (readable reference of the compiled one)."""
    if in_frac % 2:
        raise ValueError(f"rsqrt_fixed needs an even in_frac, got {in_frac}")
    v = np.maximum(np.asarray(v, dtype=np.int64), 1)
    e = bit_length(v) - 1             # v in [2**e, 2**(e+1))
    two_k = e - (e & 1)               # even, u = v / 2**two_k in [1, 4)
    ub = shift(v, RSQRT_INDEX_BITS - two_k)  # u * 2**INDEX_BITS, truncation below
    ub = np.where(two_k > RSQRT_INDEX_BITS,
                  v >> np.maximum(two_k - RSQRT_INDEX_BITS, 0), ub)
    idx = np.clip(ub - (1 << RSQRT_INDEX_BITS), 0, (3 << RSQRT_INDEX_BITS) - 1)
    r = _rsqrt_table()[idx]          # 1/sqrt(u) * 2**16
    # 1/sqrt(v_real) = 1/sqrt(u) * 2**(-k) * 2**(in_frac/2)
    return shift(r, out_frac - RSQRT_TABLE_FRAC + in_frac // 2 - two_k // 2)


RECIP_FRAC = 23
RECIP_INDEX_BITS = 10


@functools.lru_cache(maxsize=None)
def _recip_table() -> np.ndarray:
    # u in [1, 2) in 2**RECIP_INDEX_BITS buckets; entry = 2**RECIP_FRAC / centre.
    k = np.arange(1 << RECIP_INDEX_BITS)
    centres = 1.0 + (k + 0.5) / (1 << RECIP_INDEX_BITS)
    return np.round((1 << RECIP_FRAC) / centres).astype(np.int64)


#: Max relative error of :func:`recip_norm` (asserted by tests/models/lm/test_lm_fidelity.py):
#: a 1024-entry LUT (5e-4) refined by one Newton step (error squared) and 23-bit truncation.
RECIP_MAX_REL_ERR = 4.0e-7


def recip_table() -> np.ndarray:
    """The reciprocal LUT of :func:`recip_norm`: ``2**RECIP_INDEX_BITS`` unsigned 23-bit
    entries ``round(2**RECIP_FRAC / u)`` at the bucket centres ``u`` in [1, 2) (a copy)."""
    return _recip_table().copy()


def recip_norm(v, table=None) -> tuple[np.ndarray, np.ndarray]:
    """Integer reciprocal of ``v`` (integers in ``[1, 2**24)``; smaller values clamp to 1):
    ``1 / v ~= r * 2**-(RECIP_FRAC + e)`` with ``r`` in ``(2**22, 2**23]`` and ``e`` =
    ``bit_length(v) - 1``. No division.

    Normalise ``u = v / 2**e`` in [1, 2) by count-leading-zeros, look up ``r0 ~= 2**23 / u`` in
    a 1024-entry table, then one Newton step ``r = r0 * (2 - u * r0)`` (two multiplies and
    shifts, 47-bit products). Relative error <= :data:`RECIP_MAX_REL_ERR`. ``table``: the
    LUT (default :func:`recip_table`; the Lava models pass their ``recip_lut`` Var).
    """
    v = np.maximum(np.asarray(v, dtype=np.int64), 1)
    if np.any(v >= 1 << 24):
        raise ValueError(f"recip_norm takes values below 2**24, got {int(v.max())}")
    F = RECIP_FRAC
    e = bit_length(v) - 1
    un = v << (F - e)                                   # u * 2**F, exact (e <= 23)
    lut = _recip_table() if table is None else np.asarray(table, np.int64)
    r0 = lut[(un >> (F - RECIP_INDEX_BITS)) - (1 << RECIP_INDEX_BITS)]
    t = (un * r0) >> F                                  # ~ 2**F * (1 - d)
    r = (r0 * ((np.int64(2) << F) - t)) >> F            # r0 * (1 + d): error ~ d**2
    return r, e
