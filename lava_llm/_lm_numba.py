"""Compiled one-pass forms of LM block step functions of
:mod:`lava_llm.processes.lm_blocks.kernels` (the readable numpy references stay there; the
tests run one against the other). Outside the Process folder because Lava imports every module
of a Process's folder again at each compile."""
import numpy as np
from numba import njit

from numba import prange

from lava_llm._fixed_point_numba import rshift1, rsqrt1
from lava_llm._ternary_layout import BLOCK_BYTES as G
from lava_llm._ternary_numba import prefetch_row, row_dot


@njit(cache=True, error_model="numpy")
def rms_norm_rows(x, x_frac, wm, ws, eps_q, norm_r, norm_t, table, index_bits, table_frac,
                  out):
    """``int_rms_norm`` over the rows of ``x`` (N, n) int64 with ``wm`` (n,) int64: per row
    ``ss = sum(x*x) + eps_q``, ``r = rsqrt_fixed(ss, 2 x_frac, norm_r)``,
    ``out = ((x * r) >> (x_frac + norm_r - norm_t)) * wm >> ws`` (rounding shifts; int64
    arithmetic wraps exactly as numpy's)."""
    s1 = x_frac + norm_r - norm_t
    for t in range(x.shape[0]):
        ss = np.int64(0)
        for j in range(x.shape[1]):
            ss += x[t, j] * x[t, j]
        r = rsqrt1(ss + eps_q, 2 * x_frac, norm_r, table, index_bits, table_frac)
        for j in range(x.shape[1]):
            out[t, j] = rshift1(rshift1(x[t, j] * r, s1) * wm[j], ws)


@njit(cache=True, error_model="numpy")
def _bit_length(v):
    b = np.int64(0)
    t = abs(v)
    while t > 0:
        b += 1
        t >>= 1
    return b


@njit(cache=True, error_model="numpy")
def dynamic_quant_rows(y, bits, m_max, recip_frac, recip_index_bits, recip_lut, q, m):
    """``int_dynamic_quant`` over the rows of ``y`` (N, n) int64 into int8 ``q`` (N, n_pad;
    the padding columns are set to 0) and the per-token max ``m`` (N,): per row
    ``y = sat24(y)``, ``m = clip(max|y|, 1, m_max)``, ``1/m`` by ``recip_norm`` (clz, the LUT,
    one Newton step), ``q = sat_bits((y * qmax * r) >> (recip_frac + e))`` (rounding)."""
    lo24, hi24 = -(np.int64(1) << 23), (np.int64(1) << 23) - 1
    qmax = (np.int64(1) << (bits - 1)) - 1
    qmin = -qmax - 1
    F = recip_frac
    n = y.shape[1]
    for t in range(y.shape[0]):
        mx = np.int64(0)
        for j in range(n):
            v = min(max(y[t, j], lo24), hi24)
            mx = max(mx, abs(v))
        mt = min(max(mx, np.int64(1)), m_max)
        e = _bit_length(mt) - 1
        un = mt << (F - e)
        r0 = recip_lut[(un >> (F - recip_index_bits)) - (np.int64(1) << recip_index_bits)]
        tt = (un * r0) >> F
        r = (r0 * ((np.int64(2) << F) - tt)) >> F
        qr = qmax * r
        for j in range(n):
            v = min(max(y[t, j], lo24), hi24)
            q[t, j] = min(max(rshift1(v * qr, F + e), qmin), qmax)
        for j in range(n, q.shape[1]):
            q[t, j] = 0
        m[t] = mt


@njit(cache=True, error_model="numpy")
def dynamic_rescale_rows(acc, m, mant, shift, out_bits, out):
    """``sat(int_dynamic_rescale(acc, m, mant, shift), out_bits)`` over the rows of ``acc``
    (N, R) int64 with the per-token max ``m`` (N,): ``k = max(bit_length(m) - 16, 0)``,
    ``acc * (m >> k) * mant`` shifted by ``k - shift`` (left, or right with rounding)."""
    hi = (np.int64(1) << (out_bits - 1)) - 1
    lo = -hi - 1
    for t in range(acc.shape[0]):
        k = max(_bit_length(m[t]) - 16, np.int64(0))
        mh = rshift1(m[t], k)
        s = k - shift
        f = mh * np.int64(mant)
        for j in range(acc.shape[1]):
            p = acc[t, j] * f
            v = p << s if s >= 0 else rshift1(p, -s)
            out[t, j] = min(max(v, lo), hi)


# --------------------------------------------------------------------------- fused decode
# One MLGRU + GLU layer of the integer LM for one token (decode) in one compiled call: the
# same integers as gated_recurrence.kernels.mixer_pre_int / mlgru_int / mixer_post_int and
# lm_blocks.kernels.glu_block_int with dynamic int8 BitLinear inputs and packed trits (tests
# compare the two). ``par``: every matvec's output rows are split over numba's threads
# (``_mv_par``, a prange) or run on one (``_mv_ser``); nothing else differs.
#
# Arguments: ``nm`` (n_norms = 3, 3) int64 = (in_frac, ws, eps_q) of attn_norm, g_norm,
# mlp_norm with gains ``nw0..nw2``; ``lm`` (6, 5) int64 = (in_frac, ws, eps_q, mant, shift)
# of the BitLinears i, f, g, o, gate, down with gains ``lw0..lw5`` and packed rows
# ``pk0..pk5``; ``k`` int64 constants = (norm_r, norm_t, rsqrt_index_bits, rsqrt_table_frac,
# m_max, recip_frac, recip_index_bits, P, sig_x_min, sig_step_shift, has_lb); tables
# ``rs`` (rsqrt), ``rc`` (reciprocal), ``sg`` (sigmoid, P -> P); ``lb`` the forget-gate
# lower bounds (ignored unless has_lb).
ROW_CHUNK = 32


@njit(inline="always", error_model="numpy")
def _sat24(v):
    return min(max(v, -(np.int64(1) << 23)), (np.int64(1) << 23) - 1)


@njit(inline="always", error_model="numpy")
def _sig(x, k, sg):
    i = (x - k[8]) >> k[9]
    return sg[min(max(i, np.int64(0)), sg.size - 1)]


@njit(inline="always", error_model="numpy")
def _silu(x, k, sg):
    return rshift1(x * _sig(x, k, sg), k[7])


@njit(inline="always", error_model="numpy")
def _rms(x, x_frac, wm, ws, eps_q, k, rs, out):
    ss = np.int64(0)
    for j in range(x.size):
        ss += x[j] * x[j]
    r = rsqrt1(ss + eps_q, 2 * x_frac, k[0], rs, k[2], k[3])
    s1 = x_frac + k[0] - k[1]
    for j in range(x.size):
        out[j] = rshift1(rshift1(x[j] * r, s1) * wm[j], ws)


@njit(inline="always", error_model="numpy")
def _quant(y, k, rc, q):
    # dynamic_quant_rows of one vector (y already 24-bit); returns m
    mx = np.int64(0)
    for j in range(y.size):
        mx = max(mx, abs(y[j]))
    mt = min(max(mx, np.int64(1)), k[4])
    F = k[5]
    b, t = np.int64(0), mt
    while t > 0:
        b += 1
        t >>= 1
    e = b - 1
    un = mt << (F - e)
    r0 = rc[(un >> (F - k[6])) - (np.int64(1) << k[6])]
    tt = (un * r0) >> F
    r = (r0 * ((np.int64(2) << F) - tt)) >> F
    qr = np.int64(127) * r
    for j in range(y.size):
        q[j] = min(max(rshift1(y[j] * qr, F + e), np.int64(-128)), np.int64(127))
    for j in range(y.size, q.size):
        q[j] = 0
    return mt


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


@njit(inline="always", error_model="numpy")
def _rescale(acc, m, mant, shift, out):
    b, t = np.int64(0), m
    while t > 0:
        b += 1
        t >>= 1
    kk = max(b - 16, np.int64(0))
    f = rshift1(m, kk) * mant
    s = kk - shift
    for j in range(acc.size):
        p = acc[j] * f
        out[j] = _sat24(p << s if s >= 0 else rshift1(p, -s))


@njit(cache=True, error_model="numpy")
def _bitlinear(par, x, meta, wm, pk, k, rs, rc, y, q, acc, out):
    # out = sat24(BitLinear(x)) with dynamic int8 inputs
    _rms(x, meta[0], wm, meta[1], meta[2], k, rs, y)
    for j in range(y.size):
        y[j] = _sat24(y[j])
    m = _quant(y, k, rc, q)
    if par:
        _mv_par(pk, q, acc)
    else:
        _mv_ser(pk, q, acc)
    _rescale(acc, m, meta[3], meta[4], out)


@njit(cache=True, error_model="numpy")
def decode_layer(par, x, h, nm, nw0, nw1, nw2, lm, lw0, lw1, lw2, lw3, lw4, lw5,
          pk0, pk1, pk2, pk3, pk4, pk5, k, rs, rc, sg, lb):
    H = x.size
    I2 = pk4.shape[0]
    I = I2 // 2
    P = k[7]
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
    _rms(x, nm[0, 0], nw0, nm[0, 1], nm[0, 2], k, rs, a)
    for j in range(H):
        a[j] = _sat24(a[j])
    _bitlinear(par, a, lm[0], lw0, pk0, k, rs, rc, y[:H], q[:pk0.shape[1] * 4], acc[:H], ip)
    _bitlinear(par, a, lm[1], lw1, pk1, k, rs, rc, y[:H], q[:pk1.shape[1] * 4], acc[:H], fp_)
    _bitlinear(par, a, lm[2], lw2, pk2, k, rs, rc, y[:H], q[:pk2.shape[1] * 4], acc[:H], gp)
    # MLGRU neuron: h = sat24((f * h >> P) + c)
    for j in range(H):
        f = _sig(fp_[j], k, sg)
        if k[10]:
            f = lb[j] + rshift1((one - lb[j]) * f, P)
        c = rshift1(_silu(ip[j], k, sg) * (one - f), P)
        h[j] = _sat24(rshift1(f * h[j], P) + c)
    # o = sat24(sat24(norm(g)) * silu(h) >> P); x = sat24(x + BL_o(o))
    _rms(gp, nm[1, 0], nw1, nm[1, 1], nm[1, 2], k, rs, a)
    for j in range(H):
        a[j] = _sat24(rshift1(_sat24(a[j]) * _silu(h[j], k, sg), P))
    _bitlinear(par, a, lm[3], lw3, pk3, k, rs, rc, y[:H], q[:pk3.shape[1] * 4], acc[:H], ip)
    for j in range(H):
        x[j] = _sat24(x[j] + ip[j])
    # channel mixer: x = sat24(x + BL_down(glu(BL_gate(sat24(norm(x))))))
    _rms(x, nm[2, 0], nw2, nm[2, 1], nm[2, 2], k, rs, a)
    for j in range(H):
        a[j] = _sat24(a[j])
    z = np.empty(I2, np.int64)
    _bitlinear(par, a, lm[4], lw4, pk4, k, rs, rc, y[:H], q[:pk4.shape[1] * 4], acc[:I2], z)
    u = np.empty(I, np.int64)
    for j in range(I):
        u[j] = _sat24(rshift1(_silu(z[j], k, sg) * z[I + j], P))
    _bitlinear(par, u, lm[5], lw5, pk5, k, rs, rc, y[:I], q[:pk5.shape[1] * 4], acc[:H], ip)
    for j in range(H):
        x[j] = _sat24(x[j] + ip[j])

    
