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

import threading
import time

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm._ternary_layout import (  # noqa: F401  (re-exported)
    BLOCK_BYTES, FLUSH_BLOCKS, PREFETCH_BYTES)

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


def ternary_matvec_naive(x_q: np.ndarray, trits: np.ndarray) -> np.ndarray:
    """Readable reference of :func:`ternary_matvec`: ``W_t @ x`` over the last axis, exact,
    as int64.

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


# --------------------------------------------------------------------------- packed kernel
#: Inputs per block of the packed layout (``BLOCK_BYTES`` bytes, 4 codes each).
BLOCK = 4 * BLOCK_BYTES
#: Rows per token tile of the batched kernel (keeps a tile of activations in L2).
TOKEN_TILE = 128
#: Matrices with at least this many trits use the threaded kernels (smaller ones, e.g. the
#: per-token calls of Lava ProcessModels on small models, are not worth a thread launch).
PARALLEL_MIN_TRITS = 1 << 20


class PackedTernary:
    """A ternary matrix ``(out, in)`` in the blocked 2-bit layout of the compiled kernel,
    derived once (at load) from the trits.

    Layout: every row is padded to a multiple of :data:`BLOCK` = 256 inputs (padding trits
    are 0) and cut into blocks of 256; byte ``k`` (0..63) of block ``b`` holds the codes
    ``trit + 1`` (0, 1 or 2) of inputs ``256 b + k + 64 j`` in bits ``2j, 2j + 1``
    (``j = 0..3``). So one byte lane ``k`` meets four *contiguous* 64-wide slices of the
    activation block, and the kernel's inner loop over ``k`` is a plain SIMD loop (shift,
    mask, 16-bit multiply-add). ``sum(code * x) - sum(x) == sum(trit * x)``: the offset of
    the unsigned code is removed once per activation vector.

    2 bits per weight (the memory floor of the model is ``nbytes`` per token). Pickles (Lava
    passes it to its ProcessModels); ``np.asarray(p)`` / :meth:`to_trits` give the int8
    trits back; ``shape``, ``size``, ``ndim`` are those of the trit matrix.
    """

    def __init__(self, data: np.ndarray, shape):
        self.data = np.ascontiguousarray(data, dtype=np.uint8)
        self.shape = (int(shape[0]), int(shape[1]))
        want = (self.shape[0], padded_inputs(self.shape[1]) // 4)
        if self.data.shape != want:
            raise ValueError(f"packed data has shape {self.data.shape}, trits {self.shape} "
                             f"need {want}")

    ndim = 2
    dtype = np.dtype(np.int8)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    @property
    def n_pad(self) -> int:
        return padded_inputs(self.shape[1])

    @classmethod
    def from_trits(cls, trits, rows_per_chunk: int = 4096) -> "PackedTernary":
        """Pack an int ``(out, in)`` array of values in {-1, 0, 1} (ValueError otherwise)."""
        trits = np.asarray(trits)
        if trits.ndim != 2:
            raise ValueError(f"trits must be 2-D (out, in), got shape {trits.shape}")
        R, n = trits.shape
        out = np.empty((R, padded_inputs(n) // 4), np.uint8)
        for r0 in range(0, R, rows_per_chunk):   # bounded temporaries for large matrices
            t = trits[r0:r0 + rows_per_chunk]
            if t.size and (t.min() < -1 or t.max() > 1):
                bad = t[(t < -1) | (t > 1)].ravel()[0]
                raise ValueError(f"trits must be in {{-1, 0, 1}}, got {bad}")
            out[r0:r0 + rows_per_chunk] = _pack_rows(t)
        return cls(out, (R, n))

    @classmethod
    def from_packed(cls, packed, shape, rows_per_chunk: int = 4096) -> "PackedTernary":
        """From the row-major 2-bit storage format of :func:`lava_llm.fixed_point.pack_trits`
        (checkpoints), converted a chunk of rows at a time."""
        R, n = int(shape[0]), int(shape[1])
        packed = np.asarray(packed, np.uint8).ravel()
        if packed.size != (R * n + 3) // 4:
            raise ValueError(f"packed trits hold {packed.size} bytes, shape {(R, n)} needs "
                             f"{(R * n + 3) // 4}")
        out = np.empty((R, padded_inputs(n) // 4), np.uint8)
        step = max(4, rows_per_chunk - rows_per_chunk % 4)
        for r0 in range(0, R, step):
            r1 = min(R, r0 + step)
            b0, b1 = (r0 * n) // 4, -(-(r1 * n) // 4)
            skip = r0 * n - 4 * b0           # 0 when r0 * n is a multiple of 4
            codes = np.stack([(packed[b0:b1] >> k) & 3 for k in (0, 2, 4, 6)], axis=1)
            codes = codes.ravel()[skip: skip + (r1 - r0) * n]
            if np.any(codes == 3):
                raise ValueError("packed trits contain the invalid code 0b11")
            t = np.where(codes == 2, -1, codes).astype(np.int8).reshape(r1 - r0, n)
            out[r0:r1] = _pack_rows(t)
        return cls(out, (R, n))

    def to_trits(self) -> np.ndarray:
        """The int8 trits ``(out, in)``."""
        R, n = self.shape
        d = self.data.reshape(R, -1, BLOCK_BYTES)
        codes = np.stack([(d >> (2 * j)) & 3 for j in range(4)], axis=2)   # (R, nb, 4, 64)
        return (codes.reshape(R, -1)[:, :n].astype(np.int8) - 1)

    def astype(self, dtype) -> np.ndarray:
        """The trits as a plain array of ``dtype``."""
        return self.to_trits().astype(dtype)

    def __array__(self, dtype=None, copy=None):
        t = self.to_trits()
        return t if dtype is None else t.astype(dtype)

    def __repr__(self) -> str:
        return f"PackedTernary(shape={self.shape}, nbytes={self.nbytes})"

    def __getstate__(self):
        return {"data": self.data, "shape": self.shape}

    def __setstate__(self, state):
        self.data, self.shape = state["data"], tuple(state["shape"])


def padded_inputs(n_in: int) -> int:
    """Inputs per row of the packed layout: ``n_in`` rounded up to a multiple of BLOCK."""
    return -(-int(n_in) // BLOCK) * BLOCK


def _pack_rows(trits: np.ndarray) -> np.ndarray:
    R, n = trits.shape
    n_pad = padded_inputs(n)
    code = np.ones((R, n_pad), np.uint8)              # padding: code 1 = trit 0
    code[:, :n] = trits.astype(np.int16) + 1
    c = code.reshape(R, n_pad // BLOCK, 4, BLOCK_BYTES)
    return (c[:, :, 0] | (c[:, :, 1] << 2) | (c[:, :, 2] << 4) | (c[:, :, 3] << 6)).reshape(
        R, n_pad // 4)


def pack_ternary(trits) -> PackedTernary:
    """``trits`` as a :class:`PackedTernary` (returned as is when it already is one)."""
    return trits if isinstance(trits, PackedTernary) else PackedTernary.from_trits(trits)


def _compiled():
    """The numba kernels (:mod:`lava_llm._ternary_numba`, imported on first use; compiled
    once and cached on disk by numba). They live outside this Process folder because Lava
    imports every module of a Process's folder again at each compile."""
    global _KERNELS
    if _KERNELS is None:
        import numba

        from lava_llm import numba_threads

        numba_threads.start()   # Lava may still choose its fork start method after

        from lava_llm import _ternary_numba as pn

        _KERNELS = {"vec_par": pn.matvec_par, "vec_ser": pn.matvec_ser,
                    "mat_par": pn.matmat_par, "mat_ser": pn.matmat_ser,
                    "to_int8": pn.to_int8_padded, "numba": numba}
    return _KERNELS


def warm_up() -> None:
    """Run every kernel variant once on a tiny matrix: numba's one-time start-up (loading the
    cached machine code, starting its thread pool) then happens here, at model preparation,
    not in the first token."""
    p = PackedTernary.from_trits(np.zeros((2, 3), np.int8))
    for parallel in (False, True):
        for n_tok in (1, 2):
            packed_matvec(np.zeros((n_tok, 3), np.int8), p, parallel=parallel)


_KERNELS = None
_INT8_MIN, _INT8_MAX = -128, 127


def _use_threads(k, n_trits: int) -> bool:
    # numba's default (workqueue) threading layer must not be entered from two threads at
    # once: parallel kernels run from the main thread only, serial ones elsewhere; one
    # numba thread (``numba.set_num_threads(1)``, ``--threads 1``) runs the serial kernel
    return (n_trits >= PARALLEL_MIN_TRITS and k["numba"].get_num_threads() > 1
            and threading.current_thread() is _MAIN_THREAD)


class ThreadPolicy:
    """Chooses, call by call, between the threaded and the one-thread kernel by measured
    speed: both cores when they are free, one when the second is busy.

    On a shared machine a threaded call can cost 100x its compute (a descheduled worker holds
    the whole call at the end-of-loop barrier). So each default-mode call is timed (ns per
    trit) for the mode it ran in; the mode with the lower median over its last ``window``
    calls runs, the two alternate until each has ``window`` samples, and the slower one is
    re-tried after ``explore`` calls (the interval doubles, up to ``max_explore``, while the
    re-tries keep losing, and resets when one wins) so that the choice follows the machine's
    load without paying much for the re-tries."""

    def __init__(self, explore: int = 64, window: int = 5, max_explore: int = 8192):
        import collections

        self.base, self.window, self.max_explore = int(explore), int(window), int(max_explore)
        self.explore = self.base
        self.next_try = 0
        self.hist = {True: collections.deque(maxlen=self.window),
                     False: collections.deque(maxlen=self.window)}
        self.calls = 0

    def cost(self, parallel: bool) -> float:
        # the median of at most ``window`` floats: a sort of a short list (np.median costs
        # ~12 us a call, more than a 1024 x 1024 matvec's wrapper should)
        h = sorted(self.hist[parallel])
        n = len(h)
        if not n:
            return float("nan")
        return h[n // 2] if n % 2 else 0.5 * (h[n // 2 - 1] + h[n // 2])

    def choose(self) -> bool:
        self.calls += 1
        n_par, n_ser = len(self.hist[True]), len(self.hist[False])
        if min(n_par, n_ser) < self.window:     # fill both windows, threaded first
            return n_par <= n_ser
        best = self.cost(True) <= self.cost(False)
        if self.calls >= self.next_try:
            self.next_try = self.calls + self.explore
            self._trying = not best
            return not best
        return best

    def record(self, parallel: bool, ns_per_trit: float) -> None:
        self.hist[parallel].append(float(ns_per_trit))
        if getattr(self, "_trying", None) is parallel:   # the result of a re-try
            self._trying = None
            lost = ns_per_trit > self.cost(not parallel)
            # re-try a mode that keeps losing ever less often (back-off), reset on a win
            self.explore = min(2 * self.explore, self.max_explore) if lost else self.base


class ThreadPolicies:
    """One :class:`ThreadPolicy` per matrix shape and call kind (one token or several): a
    small matrix and a large one, or decode and prefill, win with different modes (the
    threaded kernel's fixed cost, ~5-10 us for the launch and the barrier, is a large part
    of a 1024 x 1024 decode call and nothing for the 32000-row head)."""

    def __init__(self, **kw):
        self.kw = kw
        self.by_key: dict = {}

    def get(self, key) -> ThreadPolicy:
        pol = self.by_key.get(key)
        if pol is None:
            pol = self.by_key[key] = ThreadPolicy(**self.kw)
        return pol

    @property
    def calls(self) -> int:
        return sum(p.calls for p in self.by_key.values())

    def run(self, key, work, *, trits: int, parallel: bool | None = None, calls: int = 1):
        """``work(par)`` in the mode ``parallel`` forces, else in the one the policy of
        ``key`` picks (timed and recorded as ns per trit of ``trits * calls``) where threads
        may run (:func:`_use_threads` for a matrix of ``trits``), else on one thread."""
        if parallel is not None or not _use_threads(_compiled(), trits):
            return work(bool(parallel))
        pol = self.get(key)
        par = pol.choose()
        t_start = time.perf_counter()
        out = work(par)
        pol.record(par, (time.perf_counter() - t_start) * 1e9 / (trits * max(1, calls)))
        return out


POLICY = ThreadPolicies()


def packed_matvec(x_q, packed: PackedTernary, parallel: bool | None = None, *,
                  _fallback: bool = False) -> np.ndarray:
    """``W_t @ x`` over the last axis of int8-valued ``x_q`` (any leading axes) with the
    compiled packed kernel; exact int64. ``x_q`` outside [-128, 127] raises ValueError (use
    :func:`ternary_matvec`, which falls back to the exact reference).

    ``parallel``: True / False force the threaded (numba ``prange`` over output rows) / the
    one-thread kernel; None (default) uses one thread for matrices under
    :data:`PARALLEL_MIN_TRITS`, with one numba thread or off the main thread, and otherwise
    lets :data:`POLICY` (one :class:`ThreadPolicy` per matrix shape and call kind) pick the
    faster of the two by measured speed. The result is the same integer array in every
    mode. (``_fallback``: return None instead of raising for values outside int8, for
    :func:`ternary_matvec`.)"""
    x_q = np.asarray(x_q)
    R, n = packed.shape
    if x_q.shape[-1:] != (n,):
        raise ValueError(f"x_q has {x_q.shape[-1:]} inputs, the weights take {n}")
    lead = x_q.shape[:-1]
    x2 = x_q.reshape(-1, n)
    N = x2.shape[0]
    k = _compiled()
    n_pad = packed.n_pad
    if x2.dtype == np.int8 and n == n_pad:
        xp = np.ascontiguousarray(x2)
    else:
        if x2.dtype.kind not in "iu":
            if N and not np.array_equal(x2, np.round(x2)):
                raise ValueError("x_q must be int8-valued for the packed kernel")
            x2 = x2.astype(np.int64)
        xp = np.empty((N, n_pad), np.int8)
        if not k["to_int8"](x2, xp):
            if _fallback:
                return None
            raise ValueError("x_q must be int8-valued for the packed kernel")
    return packed_matvec_padded(xp, packed, parallel).reshape(lead + (R,))


_MAIN_THREAD = threading.main_thread()


def packed_matvec_padded(xp: np.ndarray, packed: PackedTernary,
                         parallel: bool | None = None) -> np.ndarray:
    """:func:`packed_matvec` on inputs already in the kernel's form: C-contiguous int8
    ``(N, packed.n_pad)`` rows whose padding columns are 0 (as the compiled quantisers write
    them); ``(N, out)`` int64. No checks beyond the shape: the caller guarantees the form."""
    R, n = packed.shape
    N = xp.shape[0]
    if xp.ndim != 2 or xp.shape[1] != packed.n_pad or xp.dtype != np.int8:
        raise ValueError(f"padded inputs must be int8 (N, {packed.n_pad}), got "
                         f"{xp.dtype} {xp.shape}")
    k = _compiled()
    out = np.empty((N, R), np.int64)

    def work(par):
        if N == 1:
            k["vec_par" if par else "vec_ser"](packed.data, xp[0], out[0])
        else:
            for t0 in range(0, N, TOKEN_TILE):
                k["mat_par" if par else "mat_ser"](packed.data, xp[t0:t0 + TOKEN_TILE],
                                                   out[t0:t0 + TOKEN_TILE])

    POLICY.run((R, n, N == 1), work, trits=R * n, parallel=parallel, calls=N)
    return out


def ternary_matvec(x_q: np.ndarray, trits) -> np.ndarray:
    """``W_t @ x`` over the last axis of ``x``, exact, as int64.

    ``trits`` is a :class:`PackedTernary` (the layout the integer engines derive once at load)
    or an int array. Packed weights with int8-valued ``x`` run the compiled kernel
    (:func:`packed_matvec`: 2-bit weights, 16-bit lanes, both cores for one token); anything
    else runs the readable reference :func:`ternary_matvec_naive`. Both are exact, so the
    result is the same integer array either way (tested with ``==``).
    """
    if isinstance(trits, PackedTernary):
        x = np.asarray(x_q)
        if x.dtype.kind in "iu":        # one pass checks the range and packs the inputs
            out = packed_matvec(x, trits, _fallback=True)
            if out is not None:
                return out
        elif x.size == 0 or (x.min() >= _INT8_MIN and x.max() <= _INT8_MAX):
            return packed_matvec(x, trits)
        return ternary_matvec_naive(x, trits.to_trits())
    return ternary_matvec_naive(x_q, trits)


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
