"""Compiled one-pass forms of :mod:`lava_llm.fixed_point` helpers (used by it for large
arrays; same integer results, tested against the numpy expressions)."""
import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def _rshift_flat(x, n, out):
    half = np.int64(1) << np.int64(n - 1)
    for i in range(x.size):
        v = x[i]
        if v < 0:
            out[i] = -((-v + half) >> n)
        else:
            out[i] = (v + half) >> n


def rshift_nearest(x: np.ndarray, n: int) -> np.ndarray:
    """``sign(x) * ((|x| + 2**(n-1)) >> n)`` for int64 ``x`` and ``1 <= n <= 62``."""
    out = np.empty(x.shape, np.int64)
    _rshift_flat(np.ascontiguousarray(x).reshape(-1), n, out.reshape(-1))
    return out


@njit(cache=True, error_model="numpy")
def rshift1(v, n):
    # rshift(v, n) "nearest" for one int64 and n >= 0
    if n == 0:
        return v
    half = np.int64(1) << np.int64(n - 1)
    return -((-v + half) >> n) if v < 0 else (v + half) >> n


@njit(cache=True, error_model="numpy")
def _shift1(v, n):
    # fixed_point.shift for one value: left for n >= 0, rounding right otherwise
    return v << n if n >= 0 else rshift1(v, -n)


@njit(cache=True, error_model="numpy")
def rsqrt1(v, in_frac, out_frac, table, index_bits, table_frac):
    # rsqrt_fixed of one int64 value
    n_idx = np.int64(3) << np.int64(index_bits)
    x = max(v, np.int64(1))
    b, t = np.int64(0), x           # bit_length
    while t > 0:
        b += 1
        t >>= 1
    e = b - 1
    two_k = e - (e & 1)
    ub = _shift1(x, index_bits - two_k)
    if two_k > index_bits:
        ub = x >> (two_k - index_bits)
    idx = min(max(ub - (np.int64(1) << np.int64(index_bits)), np.int64(0)), n_idx - 1)
    return _shift1(table[idx], out_frac - table_frac + in_frac // 2 - two_k // 2)


@njit(cache=True, error_model="numpy")
def _rsqrt_flat(v, in_frac, out_frac, table, index_bits, table_frac, out):
    for i in range(v.size):
        out[i] = rsqrt1(v[i], in_frac, out_frac, table, index_bits, table_frac)


def rsqrt_fixed(v: np.ndarray, in_frac: int, out_frac: int, table: np.ndarray,
                index_bits: int, table_frac: int) -> np.ndarray:
    """:func:`lava_llm.fixed_point.rsqrt_fixed` element by element (int64 ``v``)."""
    out = np.empty(v.shape, np.int64)
    _rsqrt_flat(np.ascontiguousarray(v).reshape(-1), in_frac, out_frac, table, index_bits,
                table_frac, out.reshape(-1))
    return out
