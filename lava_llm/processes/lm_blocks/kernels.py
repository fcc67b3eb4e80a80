"""Step functions of the LM's non-recurrent blocks: the numeric truth shared by the Lava
ProcessModels, the integer engine (:mod:`lava_llm.models.lm.engine`) and the tests.

Every function works on arrays of shape ``(..., n)`` (any leading batch/sequence axes), so the
engine calls them once per sequence and the Lava models once per token.

Float (float64, matches torch HGRNBit)::

    rms_norm(x, g)      = x / sqrt(mean(x**2) + eps) * g
    bitlinear(x, lin)   = alpha * W_t @ q8(rms_norm(x, g_lin))      q8: per-token absmax int8
    glu(z)              = SiLU(z[:I]) * z[I:]

Fixed point (integers only, no division; ``>>`` is :func:`lava_llm.fixed_point.rshift`,
round half away from zero)::

    int_rms_norm(x; x_frac, wm, ws, eps_q):
        ss = sum(x*x) + eps_q                       eps_q = round(eps * n * 4**x_frac)
        r, k = rsqrt_norm(ss)                       1/sqrt(ss) = r 2**-(23+k): LUT + 2 Newton
        t  = (x * r) >> k                           x/||x|| with T = NORM_T = 23 frac bits
        y  = (t * wm) >> ws                         wm/2**ws = g * sqrt(n) * 2**(out_frac-T)
    int_bitlinear(x; x_frac, lin), act="dynamic" (the shipped design, as trained):
        y  = sat24(int_rms_norm(x; ...))            y_frac fractional bits
        m  = min(max|y|, 2**23 - 1)                 per-token max (a reduction)
        r, e = recip_norm(m)                        1/m: LUT + one Newton step
        q  = sat8(y * 127 * r >> (23 + e))          per-token absmax int8
        out = sat24((W_t @ q) * m * mant >> shift)  mant/2**shift = alpha/127 * 2**(out_frac-y_frac)
    int_bitlinear(x; x_frac, lin), act="static" (export option):
        q  = sat8(int_rms_norm(x; ... S = 127/amax_calib))   static int8 input scale
        out = sat24((W_t @ q) * mant >> shift)      mant/2**shift = alpha / S * 2**out_frac
    int_glu(z) = sat24(silu_int(z[:I]) * z[I:] >> P)        P = GATE_FRAC = 16
    sigmoid_int / silu_int: the sigmoid LUT, linearly interpolated

``S`` is a static per-layer input scale calibrated on training text
(:func:`lava_llm.models.lm.export.calibrate`; the dynamic design uses the calibration only for
``y_frac``); ``wm`` folds the RMSNorm gain, ``sqrt(n)`` and the formats (and ``S``) into one
signed 16-bit multiplier per input channel with a shared shift. Intermediate products are
carried in int64 (the widest, ``x * x`` summed over a layer and ``acc * m * mant``, stay
below 2**59); every stored/sent value is saturated to 24 bits (int8 for BitLinear inputs).

Sampling (the readout): greedy ``argmax`` (first maximum), or temperature/top-k/top-p with draws from
a 32-bit xorshift32 state (:func:`lava_llm.fixed_point.xorshift32`, seeded on the host); the
integer sampler uses ``exp_neg_fixed`` weights and an integer draw, so Lava and the engine
sample identical tokens from identical logits and seeds.
"""
from __future__ import annotations

import functools

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm.processes.ternary_dense import kernels as td

#: Fractional bits of gate pre-activations, MLGRU state, GLU values and plain norm outputs.
GATE_FRAC = 16
#: Fractional bits of the integer logits.
LOGIT_FRAC = 12
#: Fractional bits of the unit-normalised vector ``x / ||x||`` in int_rms_norm (|t| <= 2**23).
NORM_T = 23
#: Mantissa bits of :func:`rsqrt_norm` (``r`` in ``(2**22, 2**23]``).
RSQRT_FRAC = 23
#: Newton steps of :func:`rsqrt_norm` after the LUT.
RSQRT_NEWTON = 2
#: Max relative error of :func:`rsqrt_norm` (asserted by the tests).
RSQRT_NORM_MAX_REL_ERR = 5e-7
#: Signed multiplier width of the per-channel norm gains.
GAIN_BITS = 16


# --------------------------------------------------------------------------- float
def rms_norm(x, weight, eps: float = td.RMS_EPS) -> np.ndarray:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last axis (float64)."""
    return td.rms_norm(x, weight, eps)


def bitlinear(x, lin, eps: float = td.RMS_EPS, stats: dict | None = None,
              name: str | None = None) -> np.ndarray:
    """Float BitLinear: ``alpha * W_t @ q8(rms_norm(x, g))``; ``lin`` has ``trits``,
    ``scale``, ``norm_weight``. With ``stats`` records the max |normed input| per row under
    ``name`` (for calibration)."""
    y = rms_norm(x, lin.norm_weight, eps)
    if stats is not None:
        stats.setdefault(name, []).append(np.abs(y).max(axis=-1).ravel())
        hook = getattr(stats, "hook", None)   # a dict subclass may watch every normed input
        if hook is not None:
            hook(name, y)
    q, s = fp.int8_absmax_per_token(y)
    # q is int8-valued: the integer accumulation is exact (packed kernel for packed trits),
    # then one float scale per token, instead of a float64 copy of alpha * W per call
    return td.ternary_matvec(q, lin.trits) * (float(lin.scale) / s)


def silu(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / (1.0 + np.exp(-x))


def glu(z) -> np.ndarray:
    """``SiLU(g) * u`` with ``[g, u] = chunk(z, 2)`` on the last axis."""
    g, u = np.split(np.asarray(z, np.float64), 2, axis=-1)
    return silu(g) * u


# --------------------------------------------------------------------------- fixed
def int_linear_acc(q, trits) -> np.ndarray:
    """``W_t @ q`` over the last axis of int8 ``q``, exact, as int64: the ternary dense
    accumulation :func:`lava_llm.processes.ternary_dense.kernels.ternary_matvec` (the compiled
    packed kernel for :class:`~lava_llm.processes.ternary_dense.kernels.PackedTernary` trits,
    the exact reference otherwise), vectorised over tokens."""
    return td.ternary_matvec(q, trits)


def rsqrt_norm(v):
    """Integer ``1/sqrt(v)`` of integers ``v >= 1`` (smaller values clamp to 1) as a mantissa
    and an exponent: ``1/sqrt(v) ~= r * 2**-(RSQRT_FRAC + k)``, ``r`` in ``(2**22, 2**23]``.
    No division.

    Normalise ``v = u * 4**k`` with ``u`` in [1, 4) by count-leading-zeros (``u`` kept with
    RSQRT_FRAC fractional bits, rounded), look ``r0 ~= 1/sqrt(u)`` up in the 768-entry LUT of
    :func:`lava_llm.fixed_point.rsqrt_fixed` (16-bit, relative error 1e-3), then
    :data:`RSQRT_NEWTON` Newton steps ``r = r * (3 - u * r**2) / 2`` (three multiplies and
    shifts each, products below 2**49). Relative error <= :data:`RSQRT_NORM_MAX_REL_ERR`."""
    F = RSQRT_FRAC
    v = np.maximum(np.asarray(v, dtype=np.int64), 1)
    e = fp.bit_length(v) - 1
    two_k = e - (e & 1)                                  # v in [4**k, 4**(k+1))
    un = fp.shift(v, F - two_k)                          # u * 2**F in [2**F, 2**(F+2))
    idx = np.clip((un >> (F - fp.RSQRT_INDEX_BITS)) - (1 << fp.RSQRT_INDEX_BITS), 0,
                  (3 << fp.RSQRT_INDEX_BITS) - 1)
    r = fp._rsqrt_table()[idx] << (F - fp.RSQRT_TABLE_FRAC)
    for _ in range(RSQRT_NEWTON):
        t = (un * ((r * r) >> F)) >> F                   # u * r**2 ~ 2**F
        r = (r * ((np.int64(3) << F) - t)) >> (F + 1)
    return r, two_k >> 1


def int_rms_norm(x, x_frac: int, wm, ws: int, eps_q: int) -> np.ndarray:
    """Integer RMSNorm with gain (see module docstring); returns int64, unsaturated."""
    x = np.asarray(x, dtype=np.int64)
    if x.ndim and x.size and np.ndim(wm) <= 1 and ws >= 0:
        return _int_rms_norm_compiled(x, x_frac, wm, ws, eps_q)
    return int_rms_norm_numpy(x, x_frac, wm, ws, eps_q)


def int_rms_norm_numpy(x, x_frac: int, wm, ws: int, eps_q: int) -> np.ndarray:
    """The array form of :func:`int_rms_norm` (the readable reference of its compiled
    one-pass form, :func:`lava_llm._lm_numba.rms_norm_rows`; tests compare the two)."""
    x = np.asarray(x, dtype=np.int64)
    ss = np.sum(x * x, axis=-1, keepdims=True) + np.int64(eps_q)
    r, k = rsqrt_norm(ss)
    t = fp.shift(x * r, NORM_T - RSQRT_FRAC - k)          # x / ||x||, NORM_T bits
    return fp.rshift(t * np.asarray(wm, np.int64), ws)


def _lm_nb():
    global _LM_NB
    if _LM_NB is None:
        from lava_llm import numba_threads

        numba_threads.start()   # before any parallel kernel (keeps Lava's fork settable)
        from lava_llm import _lm_numba

        _LM_NB = _lm_numba
    return _LM_NB


_LM_NB = None


def gain_vector(wm, n: int) -> np.ndarray:
    """Norm gains ``wm`` (one per channel, or one for all) as the contiguous int64 ``(n,)``
    vector the compiled forms take (returned as is when it already is one)."""
    if isinstance(wm, np.ndarray) and wm.dtype == np.int64 and wm.shape == (n,) \
            and wm.flags.c_contiguous:
        return wm
    return np.ascontiguousarray(np.broadcast_to(np.asarray(wm, np.int64).reshape(-1), (n,)))


def _int_rms_norm_compiled(x, x_frac, wm, ws, eps_q):
    n = x.shape[-1]
    x2 = np.ascontiguousarray(x).reshape(-1, n)
    wm = gain_vector(wm, n)
    out = np.empty(x2.shape, np.int64)
    _lm_nb().rms_norm_rows(x2, wm, int(ws), int(eps_q), _rsqrt_consts(), fp._rsqrt_table(),
                            out)
    return out.reshape(x.shape)


def _rsqrt_consts() -> np.ndarray:
    # the constants of rsqrt_norm / int_rms_norm for the compiled forms
    return np.array([NORM_T, RSQRT_FRAC, RSQRT_NEWTON, fp.RSQRT_INDEX_BITS,
                     fp.RSQRT_TABLE_FRAC], np.int64)


def sigmoid_int(x, in_frac: int = GATE_FRAC, out_frac: int = GATE_FRAC) -> np.ndarray:
    """Integer sigmoid by linear interpolation between the entries of the sigmoid LUT of
    :func:`lava_llm.fixed_point.sigmoid_lut` (1024 entries on [-8, 8), their bucket centres
    as knots; beyond the end knots the end entries): one lookup of two neighbours, one
    multiply, one shift. Error <= 3.4e-4 (the clamp beyond +-8), below 1e-5 inside."""
    lut = fp.sigmoid_lut(in_frac, out_frac)
    x = np.asarray(x, np.int64)
    s = lut.step_shift
    d = x - lut.x_min - ((1 << s) >> 1)                   # from the first knot
    i = d >> s
    f = d - (i << s)                                      # in [0, 2**s)
    n = lut.table.size
    t0 = lut.table[np.clip(i, 0, n - 1)]
    t1 = lut.table[np.clip(i + 1, 0, n - 1)]
    return t0 + fp.rshift((t1 - t0) * f, s)


def silu_int(x, in_frac: int = GATE_FRAC, sig_frac: int = GATE_FRAC) -> np.ndarray:
    """Integer SiLU ``x * sigmoid_int(x) >> sig_frac`` (keeps ``in_frac``)."""
    x = np.asarray(x, dtype=np.int64)
    return fp.rshift(x * sigmoid_int(x, in_frac, sig_frac), sig_frac)


def int_norm(x, norm: dict) -> np.ndarray:
    """A plain RMSNorm layer (``norm`` from :func:`make_int_norm`): 24-bit output."""
    return fp.saturate(int_rms_norm(x, norm["in_frac"], norm["wm"], norm["ws"],
                                    norm["eps_q"]), fp.MSG_BITS)


def int_bitlinear(x, lin: dict) -> np.ndarray:
    """Integer BitLinear (``lin`` from :func:`make_int_linear`): int8 in, 24-bit out. The
    shipped design with packed trits runs compiled (the same integers as
    :func:`int_bitlinear_parts`, tested)."""
    if (lin.get("act", "static") == "dynamic" and lin.get("act_bits", fp.ACT_BITS) == 8
            and isinstance(lin["trits"], td.PackedTernary)):
        return _int_bitlinear_dynamic_compiled(x, lin)
    return int_bitlinear_parts(x, lin)[2]


def int_bitlinear_parts(x, lin: dict):
    """Integer BitLinear as its parts: ``(q, m, out)`` = the int8 codes the synapses receive,
    the per-token max ``m`` (..., 1) sent to the output rescale (None for static scales) and
    the 24-bit output.

    ``lin["act"]`` selects the input quantiser (default ``"dynamic"``, the shipped design):
    ``"dynamic"`` is per-token absmax like the float model (:func:`int_dynamic_quant`; the
    LUT is ``lin["recip_lut"]`` when given, e.g. a Lava model's Var); ``"static"`` /
    ``"smooth"`` use the calibrated static scale folded into the norm gains (``"smooth"``
    also scales outlier channels down by ``2**k_c`` and multiplies their trits by ``2**k_c``,
    see :func:`make_int_linear`)."""
    act = lin.get("act", "static")
    y = int_rms_norm(x, lin["in_frac"], lin["wm"], lin["ws"], lin["eps_q"])
    if act == "dynamic":
        q, m = int_dynamic_quant(y, lin.get("act_bits", fp.ACT_BITS), lin.get("recip_lut"))
        acc = int_linear_acc(q, lin["trits"])
        return q, m, fp.saturate(int_dynamic_rescale(acc, m, lin["mant"], lin["shift"]),
                                 fp.MSG_BITS)
    q = fp.saturate(y, lin.get("act_bits", fp.ACT_BITS))
    if act == "smooth":
        q = q << lin["k"]          # == trits * 2**k_c on those input channels (8-bit weights)
    acc = int_linear_acc(q, lin["trits"])
    return q, None, fp.saturate(fp.mul_shift(acc, lin["mant"], lin["shift"]), fp.MSG_BITS)


#: Largest per-token max ``m`` of :func:`int_dynamic_quant`: it travels as a signed 24-bit
#: graded message to the output rescale.
M_MAX = (1 << (fp.MSG_BITS - 1)) - 1


def _int_bitlinear_dynamic_compiled(x, lin: dict) -> np.ndarray:
    """:func:`int_bitlinear` with ``act="dynamic"``, int8 codes and packed trits in three
    compiled passes (norm, quantiser into the kernel's padded int8 rows, rescale) around the
    packed kernel: the same integers as the numpy steps (tests compare the two)."""
    _lm_numba = _lm_nb()
    x = np.asarray(x, dtype=np.int64)
    packed = lin["trits"]
    R, n = packed.shape
    lead = x.shape[:-1]
    y = int_rms_norm(x, lin["in_frac"], lin["wm"], lin["ws"], lin["eps_q"]).reshape(-1, n)
    N = y.shape[0]
    q = np.empty((N, packed.n_pad), np.int8)
    m = np.empty(N, np.int64)
    lut = lin.get("recip_lut")
    lut = fp._recip_table() if lut is None else np.ascontiguousarray(lut, np.int64)
    _lm_numba.dynamic_quant_rows(y, np.int64(M_MAX), fp.RECIP_FRAC, fp.RECIP_INDEX_BITS, lut,
                                 q, m)
    acc = td.packed_matvec_padded(q, packed)
    out = np.empty((N, R), np.int64)
    _lm_numba.dynamic_rescale_rows(acc, m, int(lin["mant"]), int(lin["shift"]), out)
    return out.reshape(lead + (R,))


def int_dynamic_quant(y, bits: int = fp.ACT_BITS, table=None):
    """Per-token absmax quantisation in integers (the trained model's ``activation_quant``):
    ``m = min(max|y|, M_MAX)`` over the channels (a max reduction), ``1/m`` by
    :func:`~lava_llm.fixed_point.recip_norm` (count-leading-zeros, the LUT ``table``, one
    Newton step), ``q = sat(y * qmax * r >> (23 + e))``. ``y`` is saturated to 24 bits first.
    Returns ``(q, m)`` with ``m`` (..., 1) for the output rescale."""
    y = fp.saturate(y, fp.MSG_BITS)
    qmax = (1 << (bits - 1)) - 1
    m = np.clip(np.max(np.abs(y), axis=-1, keepdims=True), 1, M_MAX)
    r, e = fp.recip_norm(m, table)
    q = fp.saturate(fp.rshift(y * (qmax * r), fp.RECIP_FRAC + e), bits)
    return q, m


def int_dynamic_rescale(acc, m, mant: int, shift: int):
    """``acc * m * mant >> shift``: the dendritic sums times the token's max ``m`` (24-bit)
    and the layer's 16-bit ``mant`` (products below 2**59: ``|acc| < 2**20``)."""
    return fp.shift(np.asarray(acc, np.int64) * np.asarray(m, np.int64) * np.int64(mant),
                    -shift)


def int_glu(z) -> np.ndarray:
    """``sat24(silu_int(g) * u >> GATE_FRAC)``, ``[g, u] = chunk(z, 2)``, all GATE_FRAC."""
    g, u = np.split(np.asarray(z, np.int64), 2, axis=-1)
    return fp.saturate(fp.rshift(silu_int(g, GATE_FRAC, GATE_FRAC) * u, GATE_FRAC),
                       fp.MSG_BITS)


# --------------------------------------------------------------------------- export helpers
def _gain_multipliers(gain, factor: float) -> tuple[np.ndarray, int]:
    """Per-channel signed multipliers ``wm`` (GAIN_BITS wide) and one shift ``ws`` with
    ``wm / 2**ws ~= gain * factor``."""
    g = np.asarray(gain, np.float64) * factor
    amax = float(np.max(np.abs(g))) if g.size else 0.0
    if amax == 0.0 or not np.isfinite(amax):
        return np.zeros(g.shape, np.int64), 0
    _, ws = fp.mant_exp(amax, GAIN_BITS - 1)
    wm = np.clip(np.round(g * 2.0 ** ws), -(1 << (GAIN_BITS - 1)) + 1,
                 (1 << (GAIN_BITS - 1)) - 1).astype(np.int64)
    return wm, int(ws)


def _eps_q(eps: float, n: int, x_frac: int) -> int:
    return max(1, int(round(eps * n * 4.0 ** x_frac)))


def make_int_norm(gain, *, in_frac: int, out_frac: int = GATE_FRAC,
                  eps: float = td.RMS_EPS) -> dict:
    """Integer parameters of an RMSNorm with ``gain``: input ``in_frac``, output
    ``out_frac`` fractional bits."""
    n = int(np.size(gain))
    wm, ws = _gain_multipliers(gain, np.sqrt(n) * 2.0 ** (out_frac - NORM_T))
    return {"wm": wm, "ws": ws, "in_frac": int(in_frac), "out_frac": int(out_frac),
            "eps_q": _eps_q(eps, n, in_frac)}


#: Input quantisers of :func:`make_int_linear` / :func:`int_bitlinear`.
ACT_MODES = ("static", "dynamic", "smooth")
#: The shipped input quantiser: per-token absmax int8, as the trained model quantises.
DEFAULT_ACT = "dynamic"
#: Largest per-channel smoothing exponent of ``act="smooth"`` (weights ``±2**k`` stay 8-bit).
SMOOTH_MAX_K = 6


def make_int_linear(lin, *, in_frac: int, out_frac: int, amax: float,
                    eps: float = td.RMS_EPS, act: str = DEFAULT_ACT,
                    act_bits: int = fp.ACT_BITS,
                    channel_amax=None) -> dict:
    """Integer parameters of a BitLinear ``lin`` (trits, scale, norm_weight) whose normed
    input was calibrated to ``max|RMSNorm(x) * g| = amax``.

    ``act`` (the input quantiser; ``act_bits`` its width, 8 = the trained model's):

    * ``"dynamic"`` (default, :data:`DEFAULT_ACT`): per-token absmax as the float model (:func:`int_dynamic_quant`); the norm
      output is 24-bit with ``y_frac = clip(pow2_exponent(4 amax), 8, 18)`` fractional bits;
      the output rescale multiplies by the token's max (:func:`int_dynamic_rescale`).
    * ``"static"``: static scale ``S = qmax/amax`` folded into the norm gains.
    * ``"smooth"``: outlier-aware static scale. Needs ``channel_amax`` (per input channel max
      |normed input|). The scale is set by ``a_ref = amax / 2**SMOOTH_MAX_K`` floored at the
      90th percentile of ``channel_amax``; channel ``c`` with ``channel_amax[c] > a_ref`` is
      scaled down by ``2**k_c`` (``k_c = ceil(log2(channel_amax[c] / a_ref))``, folded into its
      gain multiplier) and its trits become ``±2**k_c`` (8-bit weights), so the product is
      unchanged while ordinary channels get a finer static step.
    """
    if act not in ACT_MODES:
        raise ValueError(f"act must be one of {ACT_MODES}, got {act!r}")
    act_bits = int(act_bits)
    if not 2 <= act_bits <= 16:
        raise ValueError(f"act_bits must be in [2, 16], got {act_bits}")
    trits = td.pack_ternary(lin.trits)  # the compiled kernel's layout, derived once
    n = trits.shape[1]
    qmax = float((1 << (act_bits - 1)) - 1)
    amax = float(amax) if np.isfinite(amax) and amax > 0 else 1.0
    base = {"trits": trits, "in_frac": int(in_frac), "out_frac": int(out_frac),
            "eps_q": _eps_q(eps, n, in_frac), "amax": amax}
    base.update(act=act, act_bits=act_bits)
    if act == "dynamic":
        y_frac = int(np.clip(fp.pow2_exponent(4.0 * amax, fp.MSG_BITS), 8, 18))
        wm, ws = _gain_multipliers(lin.norm_weight, np.sqrt(n) * 2.0 ** (y_frac - NORM_T))
        # out = acc * m / qmax * alpha * 2**(out_frac - y_frac)
        mant, shift = fp.mant_exp(float(lin.scale) * 2.0 ** (out_frac - y_frac) / qmax, 16, 60)
        base.update(wm=wm, ws=ws, mant=int(mant), shift=int(shift), y_frac=y_frac)
        return base
    k = np.zeros(n, np.int64)
    if act == "smooth":
        if channel_amax is None or np.shape(channel_amax) != (n,):
            raise ValueError(f"act='smooth' needs channel_amax of shape ({n},)")
        ca = np.asarray(channel_amax, np.float64)
        a_ref = max(amax / 2.0 ** SMOOTH_MAX_K, float(np.percentile(ca, 90)), 1e-12)
        k = np.clip(np.ceil(np.log2(np.maximum(ca, 1e-30) / a_ref)), 0,
                    SMOOTH_MAX_K).astype(np.int64)
        amax = a_ref
        base["k"] = k
    S = qmax / amax
    wm, ws = _gain_multipliers(np.asarray(lin.norm_weight, np.float64) * 2.0 ** -k,
                               np.sqrt(n) * S * 2.0 ** (-NORM_T))
    mant, shift = td.fixed_rescale(float(lin.scale) / S, 0, out_frac)
    base.update(wm=wm, ws=ws, mant=int(mant), shift=int(shift))
    return base


# --------------------------------------------------------------------------- sampling
def check_sampling(temperature: float, top_k: int, vocab_size: int, fixed: bool = False
                   ) -> tuple[float, int]:
    """Validate sampling options: ``temperature`` >= 0 (0 = greedy), ``top_k`` in
    [0, vocab_size] (0 = all tokens). ``fixed``: also require ``temperature`` to be 0 or in
    :func:`fixed_temperature_range` (the integer sampler's 16-bit ``1/T`` multiplier), so
    that a fixed-point model never meets a temperature it cannot represent inside a step."""
    from lava_llm import validation as V

    temperature = V.check_positive("temperature", temperature, allow_zero=True)
    top_k = V.check_int("top_k", top_k, 0, vocab_size)
    if fixed and temperature != 0:
        lo, hi = fixed_temperature_range()
        try:
            ok = lo <= temperature <= hi and temperature_multiplier(temperature) is not None
        except ValueError:
            ok = False
        if not ok:
            raise V.ArgumentError(
                "temperature", f"temperature={temperature:g} is outside the range of the "
                f"fixed-point sampler: 0 (greedy) or [{lo:.3g}, {hi:.3g}]")
    return temperature, top_k


def fixed_temperature_range(logit_frac: int = LOGIT_FRAC) -> tuple[float, float]:
    """The temperatures the integer sampler represents: ``1/T`` in the LUT's input format
    must be a 16-bit multiplier (``T >= lo``) with at least one significant bit after the
    largest shift (``T <= hi``); see :func:`temperature_multiplier`. Bounds rounded inwards."""
    c = 2.0 ** (fp.ACT_FRAC - logit_frac)
    return float(np.nextafter(c / ((1 << 16) - 1), np.inf)), c * 2.0 ** 40


def check_top_p(top_p: float) -> float:
    """Validate the nucleus mass ``top_p`` in (0, 1] (1 = off)."""
    top_p = float(top_p)
    if not (0.0 < top_p <= 1.0):
        raise ValueError(f"top_p must be in (0, 1] (1 = no nucleus cut), got {top_p}")
    return top_p


def _top(logits, top_k):
    order = np.argsort(-np.asarray(logits), kind="stable")
    return order[:top_k] if top_k else order


def nucleus_size(cdf, threshold) -> int:
    """Top-p cut on a running sum ``cdf`` of weights sorted by decreasing logit: the number of
    leading tokens kept, the fewest whose weight reaches ``threshold`` (at least one). One
    search over the running sum: compares only."""
    return int(min(np.searchsorted(cdf, threshold, side="left") + 1, len(cdf)))


def sample_float(logits, state: int, temperature: float = 0.0, top_k: int = 0,
                 top_p: float = 1.0) -> tuple[int, int]:
    """Greedy (``temperature == 0``: the first maximum, ``state`` unchanged) or
    softmax(logits / T) over the top ``k``, cut to the nucleus of mass ``top_p`` (the
    fewest most likely tokens whose probability sums to >= top_p; 1 = off), with one uniform
    draw ``u = xorshift32(state) / 2**32``. Returns ``(token, state)``."""
    logits = np.asarray(logits, np.float64)
    if temperature == 0:
        return int(np.argmax(logits)), state
    order = _top(logits, top_k)
    p = np.exp((logits[order] - logits[order[0]]) / temperature)
    cdf = np.cumsum(p)
    if top_p < 1.0:
        cdf = cdf[:nucleus_size(cdf, top_p * cdf[-1])]
    state = fp.xorshift32(int(state))
    idx = int(np.searchsorted(cdf, state / 2.0 ** 32 * cdf[-1], side="right"))
    return int(order[min(idx, order.size - 1)]), state


@functools.lru_cache(maxsize=64)
def temperature_multiplier(temperature: float, logit_frac: int = LOGIT_FRAC) -> tuple[int, int]:
    """``(m, s)`` with ``m / 2**s = 2**(ACT_FRAC - logit_frac) / temperature``.

    Host-side parameter construction (float), computed once per temperature and cached, so the
    fixed sampler's per-step work is integer only."""
    return fp.mant_exp(2.0 ** (fp.ACT_FRAC - logit_frac) / temperature, 16)


#: Fractional bits of the integer nucleus mass ``top_p_q = round(top_p * 2**TOP_P_FRAC)``.
TOP_P_FRAC = 16


@functools.lru_cache(maxsize=64)
def top_p_fixed(top_p: float) -> int:
    """``round(top_p * 2**TOP_P_FRAC)``: the nucleus mass as an unsigned 17-bit integer
    (host-side, once per value)."""
    return int(round(check_top_p(top_p) * (1 << TOP_P_FRAC)))


def sample_int(logits_q, state: int, temperature: float = 0.0, top_k: int = 0,
               top_p: float = 1.0, logit_frac: int = LOGIT_FRAC) -> tuple[int, int]:
    """Integer sampler: greedy (``state`` unchanged), or weights ``exp_neg_fixed(((l - max) *
    m) >> s)`` over the top ``k`` (``m/2**s`` = 1/T in the LUT's input format), their running
    sum ``cdf``, the nucleus cut (``top_p`` < 1: keep the fewest leading tokens with ``cdf >=
    (cdf[-1] * top_p_q) >> TOP_P_FRAC``: one multiply, one shift, compares), and one draw
    below the kept total from the xorshift32 ``state``
    (:func:`lava_llm.fixed_point.draw_below`: a multiply and a shift). Integers only.
    Returns ``(token, state)``."""
    logits_q = np.asarray(logits_q, np.int64)
    if temperature == 0:
        return int(np.argmax(logits_q)), state
    m, s = temperature_multiplier(temperature, logit_frac)
    order = _top(logits_q, top_k)
    z = fp.rshift((logits_q[order] - logits_q[order[0]]) * np.int64(m), s)
    cdf = np.cumsum(fp.exp_neg_fixed(z, fp.ACT_FRAC, 16))
    if cdf[-1] <= 0:
        return int(order[0]), state
    if top_p < 1.0:
        thr = fp.rshift(np.int64(cdf[-1]) * np.int64(top_p_fixed(top_p)), TOP_P_FRAC)
        cdf = cdf[:nucleus_size(cdf, thr)]
    u, state = fp.draw_below(state, int(cdf[-1]))
    return int(order[int(np.searchsorted(cdf, u, side="right"))]), state


# --------------------------------------------------------------------------- fused blocks
def glu_block_float(x, layer: dict, eps: float, stats=None, prefix: str = ""):
    """Channel mixer: ``x + BL_down(GLU(BL_gate(RMSNorm(x) * mlp_norm)))`` (float)."""
    m = rms_norm(x, layer["mlp_norm"], eps)
    z = bitlinear(m, layer["gate"], eps, stats, prefix + "mlp.gate_proj")
    return x + bitlinear(glu(z), layer["down"], eps, stats, prefix + "mlp.down_proj")


def glu_block_int(x, layer: dict):
    """Channel mixer in fixed point: ``sat24(x + BL_down(int_glu(BL_gate(norm(x)))))``."""
    m = int_norm(x, layer["mlp_norm"])
    z = int_glu(int_bitlinear(m, layer["gate"]))
    return fp.saturate(np.asarray(x, np.int64) + int_bitlinear(z, layer["down"]), fp.MSG_BITS)


def head_float(x, head: dict, eps: float, stats=None):
    """Logits ``BL_head(RMSNorm(x) * norm)`` (float)."""
    return bitlinear(rms_norm(x, head["norm"], eps), head["lm_head"], eps, stats, "lm_head")


def head_int(x, head: dict):
    """Integer logits (LOGIT_FRAC fractional bits, 24-bit)."""
    return int_bitlinear(int_norm(x, head["norm"]), head["lm_head"])
