"""Compiled one-pass forms of LM block step functions of
:mod:`lava_llm.processes.lm_blocks.kernels` (the readable numpy references stay there; the
tests run one against the other). Outside the Process folder because Lava imports every module
of a Process's folder again at each compile."""
import numpy as np
from numba import njit

from numba import prange

from lava_llm._fixed_point_numba import rshift1
from lava_llm._ternary_layout import BLOCK_BYTES as G
from lava_llm._ternary_numba import prefetch_row, row_dot


@njit(cache=True, error_model="numpy")
def _bit_length(v):
    b = np.int64(0)
    t = abs(v)
    while t > 0:
        b += 1
        t >>= 1
    return b


@njit(inline="always", error_model="numpy")
def _shift(v, n):
    # fixed_point.shift: left for n >= 0, rounding right otherwise
    return v << n if n >= 0 else rshift1(v, -n)


@njit(cache=True, error_model="numpy")
def rsqrt_norm1(v, c, table):
    """``lm_blocks.kernels.rsqrt_norm`` of one value: ``(r, k)`` with ``1/sqrt(v) ~= r *
    2**-(F + k)``; ``c`` = (norm_t, F, newton steps, index_bits, table_frac)."""
    F, ib = c[1], c[3]
    v = max(v, np.int64(1))
    e = _bit_length(v) - 1
    two_k = e - (e & 1)
    un = _shift(v, F - two_k)
    idx = min(max((un >> (F - ib)) - (np.int64(1) << ib), np.int64(0)),
              (np.int64(3) << ib) - 1)
    r = table[idx] << (F - c[4])
    for _ in range(c[2]):
        t = (un * ((r * r) >> F)) >> F
        r = (r * ((np.int64(3) << F) - t)) >> (F + 1)
    return r, two_k >> 1


@njit(inline="always", error_model="numpy")
def _rms(x, wm, ws, eps_q, c, table, out):
    # int_rms_norm of one vector: ss = sum x*x + eps_q; (r, k) = rsqrt_norm(ss);
    # t = shift(x r, norm_t - F - k); out = (t * wm) >> ws (rounding)
    ss = np.int64(0)
    for j in range(x.size):
        ss += x[j] * x[j]
    r, k = rsqrt_norm1(ss + eps_q, c, table)
    s1 = c[0] - c[1] - k
    for j in range(x.size):
        out[j] = rshift1(_shift(x[j] * r, s1) * wm[j], ws)


@njit(cache=True, error_model="numpy")
def rms_norm_rows(x, wm, ws, eps_q, c, table, out):
    """``int_rms_norm`` over the rows of ``x`` (N, n) int64 with gains ``wm`` (n,) int64 and
    the constants ``c`` of :func:`rsqrt_norm1` (int64 arithmetic wraps as numpy's)."""
    for t in range(x.shape[0]):
        _rms(x[t], wm, ws, eps_q, c, table, out[t])


@njit(inline="always", error_model="numpy")
def _sat24(v):
    return min(max(v, -(np.int64(1) << 23)), (np.int64(1) << 23) - 1)


@njit(inline="always", error_model="numpy")
def _quant(y, m_max, F, ib, lut, q):
    # int_dynamic_quant of one 24-bit vector y into int8 q (padding columns 0); returns m:
    # m = clip(max|y|, 1, m_max), 1/m by recip_norm (clz, the LUT, one Newton step),
    # q = sat8((y * 127 * r) >> (F + e)) (rounding)
    mx = np.int64(0)
    for j in range(y.size):
        mx = max(mx, abs(y[j]))
    mt = min(max(mx, np.int64(1)), m_max)
    e = _bit_length(mt) - 1
    un = mt << (F - e)
    r0 = lut[(un >> (F - ib)) - (np.int64(1) << ib)]
    tt = (un * r0) >> F
    r = (r0 * ((np.int64(2) << F) - tt)) >> F
    qr = np.int64(127) * r
    for j in range(y.size):
        q[j] = min(max(rshift1(y[j] * qr, F + e), np.int64(-128)), np.int64(127))
    for j in range(y.size, q.size):
        q[j] = 0
    return mt


@njit(inline="always", error_model="numpy")
def _rescale(acc, m, mant, shift, out):
    # sat24(int_dynamic_rescale(acc, m, mant, shift)) = sat24(shift(acc * m * mant, -shift))
    f = m * mant
    for j in range(acc.size):
        out[j] = _sat24(_shift(acc[j] * f, -shift))


@njit(cache=True, error_model="numpy")
def dynamic_quant_rows(y, m_max, recip_frac, recip_index_bits, recip_lut, q, m):
    """``int_dynamic_quant(y, 8)`` over the rows of ``y`` (N, n) int64 into int8 ``q`` (N,
    n_pad; the padding columns are set to 0) and the per-token max ``m`` (N,); ``y`` is
    saturated to 24 bits first (into a scratch row, ``y`` is not modified)."""
    ys = np.empty(y.shape[1], np.int64)
    for t in range(y.shape[0]):
        for j in range(ys.size):
            ys[j] = _sat24(y[t, j])
        m[t] = _quant(ys, m_max, recip_frac, recip_index_bits, recip_lut, q[t])


@njit(cache=True, error_model="numpy")
def dynamic_rescale_rows(acc, m, mant, shift, out):
    """``sat24(int_dynamic_rescale(acc, m, mant, shift))`` over the rows of ``acc`` (N, R)
    int64 with the per-token max ``m`` (N,)."""
    for t in range(acc.shape[0]):
        _rescale(acc[t], m[t], np.int64(mant), shift, out[t])


# --------------------------------------------------------------------------- fused decode
# One MLGRU + GLU layer of the integer LM for one token (decode) in one compiled call: the
# same integers as gated_recurrence.kernels.mixer_pre_int / mlgru_int / mixer_post_int and
# lm_blocks.kernels.glu_block_int with dynamic int8 BitLinear inputs and packed trits (tests
# compare the two). ``par``: every matvec's output rows are split over numba's threads
# (``_mv_par``, a prange) or run on one (``_mv_ser``); nothing else differs.
#
# Arguments: ``nm`` (3, 2) int64 = (ws, eps_q) of attn_norm, g_norm, mlp_norm with gains
# ``nw0..nw2``; ``lm`` (6, 4) int64 = (ws, eps_q, mant, shift) of the BitLinears i, f, g, o,
# gate, down with gains ``lw0..lw5`` and packed rows ``pk0..pk5``; ``c`` the rsqrt constants
# of :func:`rsqrt_norm1` with its table ``rs``; ``k`` int64 = (m_max, recip_frac,
# recip_index_bits, P, sig_x_min, sig_step_shift, has_lb) with the reciprocal LUT ``rc`` and
# the sigmoid LUT ``sg`` (P -> P); ``lb`` the forget-gate lower bounds (used if has_lb).
ROW_CHUNK = 32


@njit(inline="always", error_model="numpy")
def _sig(x, k, sg):
    # sigmoid_int: the LUT linearly interpolated between its bucket centres
    s = k[5]
    d = x - k[4] - ((np.int64(1) << s) >> 1)
    i = d >> s
    f = d - (i << s)
    n = sg.size
    t0 = sg[min(max(i, np.int64(0)), n - 1)]
    t1 = sg[min(max(i + 1, np.int64(0)), n - 1)]
    return t0 + rshift1((t1 - t0) * f, s)


@njit(inline="always", error_model="numpy")
def _silu(x, k, sg):
    return rshift1(x * _sig(x, k, sg), k[3])


@njit(cache=True, error_model="numpy")
def _mv_ser(pk, q, acc):
    # acc = W_t @ q over packed rows, one thread
    xs = np.int64(0)
    for j in range(q.size):
        xs += q[j]
    lane = np.empty(G, np.int16)
    flat = pk.reshape(-1)
    for r in range(pk.shape[0]):
        prefetch_row(flat, pk.shape[1], r)
        acc[r] = row_dot(pk[r], q, xs, lane)


@njit(cache=True, parallel=True, error_model="numpy")
def _mv_par(pk, q, acc):
    # the same, chunks of ROW_CHUNK output rows over numba's threads
    xs = np.int64(0)
    for j in range(q.size):
        xs += q[j]
    R = pk.shape[0]
    flat = pk.reshape(-1)
    for c in prange((R + ROW_CHUNK - 1) // ROW_CHUNK):
        lane = np.empty(G, np.int16)
        for r in range(c * ROW_CHUNK, min((c + 1) * ROW_CHUNK, R)):
            prefetch_row(flat, pk.shape[1], r)
            acc[r] = row_dot(pk[r], q, xs, lane)


@njit(cache=True, error_model="numpy")
def _bitlinear(par, x, meta, wm, pk, c, rs, k, rc, y, q, acc, out):
    # out = sat24(BitLinear(x)) with dynamic int8 inputs; meta = (ws, eps_q, mant, shift)
    _rms(x, wm, meta[0], meta[1], c, rs, y)
    for j in range(y.size):
        y[j] = _sat24(y[j])
    m = _quant(y, k[0], k[1], k[2], rc, q)
    if par:
        _mv_par(pk, q, acc)
    else:
        _mv_ser(pk, q, acc)
    _rescale(acc, m, meta[2], meta[3], out)


@njit(cache=True, error_model="numpy")
def decode_layer(par, x, h, nm, nw0, nw1, nw2, lm, lw0, lw1, lw2, lw3, lw4, lw5,
                 pk0, pk1, pk2, pk3, pk4, pk5, c, rs, k, rc, sg, lb):
    H = x.size
    I2 = pk4.shape[0]
    I = I2 // 2
    P = k[3]
    one = np.int64(1) << P
    nmax = max(H, I2)
    npad = max(max(pk0.shape[1], pk3.shape[1]), pk5.shape[1]) * 4
    y = np.empty(nmax, np.int64)
    q = np.empty(npad, np.int8)
    acc = np.empty(nmax, np.int64)
    a = np.empty(H, np.int64)
    ip = np.empty(H, np.int64)
    fp_ = np.empty(H, np.int64)
    gp = np.empty(H, np.int64)
    # token mixer: a = sat24(norm(x)); i, f, g pre-activations
    _rms(x, nw0, nm[0, 0], nm[0, 1], c, rs, a)
    for j in range(H):
        a[j] = _sat24(a[j])
    n0 = pk0.shape[1] * 4
    _bitlinear(par, a, lm[0], lw0, pk0, c, rs, k, rc, y[:H], q[:n0], acc[:H], ip)
    _bitlinear(par, a, lm[1], lw1, pk1, c, rs, k, rc, y[:H], q[:n0], acc[:H], fp_)
    _bitlinear(par, a, lm[2], lw2, pk2, c, rs, k, rc, y[:H], q[:n0], acc[:H], gp)
    # MLGRU neuron: h = sat24((f * h >> P) + c)
    for j in range(H):
        f = _sig(fp_[j], k, sg)
        if k[6]:
            f = lb[j] + rshift1((one - lb[j]) * f, P)
        cc = rshift1(_silu(ip[j], k, sg) * (one - f), P)
        h[j] = _sat24(rshift1(f * h[j], P) + cc)
    # o = sat24(sat24(norm(g)) * silu(h) >> P); x = sat24(x + BL_o(o))
    _rms(gp, nw1, nm[1, 0], nm[1, 1], c, rs, a)
    for j in range(H):
        a[j] = _sat24(rshift1(_sat24(a[j]) * _silu(h[j], k, sg), P))
    _bitlinear(par, a, lm[3], lw3, pk3, c, rs, k, rc, y[:H], q[:n0], acc[:H], ip)
    for j in range(H):
        x[j] = _sat24(x[j] + ip[j])
    # channel mixer: x = sat24(x + BL_down(glu(BL_gate(sat24(norm(x))))))
    _rms(x, nw2, nm[2, 0], nm[2, 1], c, rs, a)
    for j in range(H):
        a[j] = _sat24(a[j])
    z = np.empty(I2, np.int64)
    _bitlinear(par, a, lm[4], lw4, pk4, c, rs, k, rc, y[:H], q[:pk4.shape[1] * 4],
               acc[:I2], z)
    u = np.empty(I, np.int64)
    for j in range(I):
        u[j] = _sat24(rshift1(_silu(z[j], k, sg) * z[I + j], P))
    _bitlinear(par, u, lm[5], lw5, pk5, c, rs, k, rc, y[:I], q[:pk5.shape[1] * 4],
               acc[:H], ip)
    for j in range(H):
        x[j] = _sat24(x[j] + ip[j])
