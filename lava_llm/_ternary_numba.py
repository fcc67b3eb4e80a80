"""numba kernels of the packed ternary matvec (layout:
:class:`lava_llm.processes.ternary_dense.kernels.PackedTernary`).

Imported on first use by :func:`lava_llm.processes.ternary_dense.kernels.packed_matvec`.
Module-level functions so that numba's on-disk cache is reused across processes.

Per row: ``sum_k code[k] * x[k] - sum(x)`` with ``code = trit + 1`` in {0, 1, 2}. The inner
loop over the 64 byte lanes of a block reads one packed byte and four contiguous int8
activations per lane and accumulates in 16-bit lanes (LLVM vectorises it: shifts, masks and
16-bit multiply-adds); the lanes are flushed into an int64 total every ``FL`` blocks, before
they could overflow (a lane gains at most 4 * 2 * 128 = 1024 per block). Stores into the
int16 lanes wrap modulo 2**16 and every true lane value fits, so the result is exact.
"""
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from lava_llm._ternary_layout import BLOCK_BYTES as G
from lava_llm._ternary_layout import FLUSH_BLOCKS as FL
from lava_llm._ternary_layout import PREFETCH_BYTES


@intrinsic
def _prefetch(typingctx, arr, idx):
    """``llvm.prefetch`` (read, high locality) of ``arr[idx]`` (1-D array): a hint, no
    effect on results. The kernels fetch the rows they will read a few rows ahead; without
    it the packed stream runs several times slower from memory than from cache here."""
    sig = types.void(arr, idx)

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i8p = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [i8p, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def prefetch_row(flat, width, r):
    # the bytes of row r + ahead (~PREFETCH_BYTES ahead), one hint per cache line
    ahead = max(1, PREFETCH_BYTES // width)
    base = (r + ahead) * width
    if base + width <= flat.size:
        for off in range(0, width, 64):
            _prefetch(flat, base + off)


@njit(inline="always", error_model="numpy")
def row_dot(prow, x, xs, lane):
    # sum_k code[k] * x[k] - sum(x) for one packed row; 16-bit lanes flushed every FL
    # blocks into the 64-bit total (exact: a lane stays within 2**14 in magnitude)
    nblk = prow.size // G
    total = np.int64(0)
    lane[:] = 0
    for b0 in range(0, nblk, FL):
        for b in range(b0, min(b0 + FL, nblk)):
            pb = prow[b * G:(b + 1) * G]
            xb = x[4 * b * G:4 * (b + 1) * G]
            for k in range(G):
                v = pb[k]
                lane[k] += ((v & 3) * xb[k] + ((v >> 2) & 3) * xb[G + k]
                            + ((v >> 4) & 3) * xb[2 * G + k] + (v >> 6) * xb[3 * G + k])
        for k in range(G):
            total += lane[k]
            lane[k] = 0
    return total - xs


@njit(cache=True)
def to_int8_padded(x, out):
    """Copy the integer rows ``x`` (N, n) into the zero-padded int8 rows ``out`` (N, n_pad)
    in one pass; False (``out`` partly written) when a value is outside [-128, 127]."""
    N, n = x.shape
    for t in range(N):
        for j in range(n):
            v = x[t, j]
            if v < -128 or v > 127:
                return False
            out[t, j] = v
        for j in range(n, out.shape[1]):
            out[t, j] = 0
    return True


@njit(cache=True, error_model="numpy")
def xsum(x):
    s = np.int64(0)
    for j in range(x.size):
        s += x[j]
    return s


@njit(parallel=True, cache=True)
def matvec_par(data, x, out):
    xs = xsum(x)
    flat = data.reshape(-1)
    for r in prange(data.shape[0]):
        lane = np.empty(G, np.int16)
        prefetch_row(flat, data.shape[1], r)
        out[r] = row_dot(data[r], x, xs, lane)


@njit(cache=True)
def matvec_ser(data, x, out):
    xs = xsum(x)
    lane = np.empty(G, np.int16)
    flat = data.reshape(-1)
    for r in range(data.shape[0]):
        prefetch_row(flat, data.shape[1], r)
        out[r] = row_dot(data[r], x, xs, lane)


@njit(parallel=True, cache=True)
def matmat_par(data, X, out):
    N = X.shape[0]
    xs = np.empty(N, np.int64)
    for t in range(N):
        xs[t] = xsum(X[t])
    flat = data.reshape(-1)
    for r in prange(data.shape[0]):
        lane = np.empty(G, np.int16)
        prefetch_row(flat, data.shape[1], r)
        prow = data[r]
        for t in range(N):
            out[t, r] = row_dot(prow, X[t], xs[t], lane)


@njit(cache=True)
def matmat_ser(data, X, out):
    lane = np.empty(G, np.int16)
    for t in range(X.shape[0]):
        xs = xsum(X[t])
        for r in range(data.shape[0]):
            out[t, r] = row_dot(data[r], X[t], xs, lane)

