"""MLGRU (matmul-free linear gated recurrent unit) step functions: the numeric truth shared by
the Lava ProcessModels, the integer engine and (through the same equations) torch.

MLGRU neuron, per channel ``k`` (state ``h``)::

    f   = sigmoid(f_pre);   f = lb + (1 - lb) * f        (lb: layer lower bound, 0 in layer 0)
    c   = SiLU(i_pre) * (1 - f)
    h_t = f * h_{t-1} + c

Fixed point (``P = GATE_FRAC`` = 16 fractional bits for pre-activations, gates and state;
``>>`` = :func:`lava_llm.fixed_point.rshift`, round half away from zero)::

    f   = sigmoid_int(f_pre, P, P)                       LUT + linear interpolation, [0, 2**P]
    f   = lb_q + ((2**P - lb_q) * f >> P)                (layer > 0)
    c   = silu_int(i_pre, P, P) * (2**P - f) >> P
    h_t = sat24((f * h_{t-1} >> P) + c)                  24-bit state, saturating

Token mixer (one fused block, ``attn`` in HF naming), float and fixed alike::

    a = RMSNorm(x) * attn_norm
    i_pre, f_pre, g_pre = BL_i(a), BL_f(a), BL_g(a)
    h = MLGRU(i_pre, f_pre)
    x = x + BL_o(RMSNorm(g_pre) * g_norm * SiLU(h))      (fixed: sat24 on the add)

The mixer is split into :func:`mixer_pre` (everything before the recurrence, vectorised over
tokens), :func:`mlgru_float` / :func:`mlgru_int` (the scan over time) and :func:`mixer_post`.
Lava calls them for one token; the engine for whole sequences.
"""
from __future__ import annotations

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm.processes.lm_blocks import kernels as lk

P = lk.GATE_FRAC
ONE = 1 << P


# --------------------------------------------------------------------------- MLGRU neuron
def gates_float(i_pre, f_pre, lb=None):
    """``(f, c)`` of the MLGRU in float64."""
    f = 1.0 / (1.0 + np.exp(-np.asarray(f_pre, np.float64)))
    if lb is not None:
        f = lb + (1.0 - lb) * f
    return f, lk.silu(i_pre) * (1.0 - f)


def gates_int(i_pre, f_pre, lb_q=None):
    """``(f, c)`` of the MLGRU in fixed point (GATE_FRAC bits)."""
    f = lk.sigmoid_int(np.asarray(f_pre, np.int64), P, P)
    if lb_q is not None:
        lb_q = np.asarray(lb_q, np.int64)
        f = lb_q + fp.rshift((ONE - lb_q) * f, P)
    c = fp.rshift(lk.silu_int(np.asarray(i_pre, np.int64), P, P) * (ONE - f), P)
    return f, c


def scan_float(f, c, h0):
    """``h_t = f_t * h_{t-1} + c_t`` over axis -2 of ``f``/``c`` (..., T, H); returns all
    ``h`` (..., T, H)."""
    h = np.asarray(h0, np.float64)
    out = np.empty(np.broadcast_shapes(np.shape(f), np.shape(c)), np.float64)
    for t in range(out.shape[-2]):
        h = f[..., t, :] * h + c[..., t, :]
        out[..., t, :] = h
    return out


def scan_int(f, c, h0):
    """Integer scan ``h_t = sat24((f_t * h_{t-1} >> P) + c_t)`` over axis -2."""
    h = np.asarray(h0, np.int64)
    f = np.asarray(f, np.int64)
    c = np.asarray(c, np.int64)
    out = np.empty(np.broadcast_shapes(f.shape, c.shape), np.int64)
    for t in range(out.shape[-2]):
        h = fp.saturate(fp.rshift(f[..., t, :] * h, P) + c[..., t, :], fp.STATE_BITS)
        out[..., t, :] = h
    return out


def mlgru_float(i_pre, f_pre, h0, lb=None):
    """MLGRU over a sequence (axis -2): all states."""
    f, c = gates_float(i_pre, f_pre, lb)
    return scan_float(f, c, h0)


def mlgru_int(i_pre, f_pre, h0, lb_q=None):
    """Integer MLGRU over a sequence (axis -2): all states (24-bit)."""
    f, c = gates_int(i_pre, f_pre, lb_q)
    return scan_int(f, c, h0)


def mlgru_step_int(i_pre, f_pre, h, lb_q=None):
    """One integer step on (..., H) arrays: the new state."""
    f, c = gates_int(i_pre, f_pre, lb_q)
    return fp.saturate(fp.rshift(f * np.asarray(h, np.int64), P) + c, fp.STATE_BITS)


def mlgru_step_float(i_pre, f_pre, h, lb=None):
    f, c = gates_float(i_pre, f_pre, lb)
    return f * h + c


# --------------------------------------------------------------------------- token mixer
def mixer_pre_float(x, layer: dict, eps: float, stats=None, prefix: str = ""):
    """``(i_pre, f_pre, g_pre)`` from the residual ``x`` (float). ``layer`` holds
    ``attn_norm`` (gain) and the linears ``i``, ``f``, ``g``, ``o`` (trits/scale/norm_weight)."""
    a = lk.rms_norm(x, layer["attn_norm"], eps)
    return tuple(lk.bitlinear(a, layer[k], eps, stats, prefix + f"attn.{k}_proj")
                 for k in "ifg")


def mixer_post_float(x, h, g_pre, layer: dict, eps: float, stats=None, prefix: str = ""):
    o = lk.rms_norm(g_pre, layer["g_norm"], eps) * lk.silu(h)
    return x + lk.bitlinear(o, layer["o"], eps, stats, prefix + "attn.o_proj")


def mixer_pre_int(x, layer: dict):
    """Integer ``(i_pre, f_pre, g_pre)`` (GATE_FRAC) from the residual ``x``; ``layer`` from
    :func:`lava_llm.models.lm.export.export_int`."""
    a = lk.int_norm(x, layer["attn_norm"])
    return tuple(lk.int_bitlinear(a, layer[k]) for k in "ifg")


def mixer_post_int(x, h, g_pre, layer: dict):
    o = fp.saturate(fp.rshift(lk.int_norm(g_pre, layer["g_norm"])
                              * lk.silu_int(h, P, P), P), fp.MSG_BITS)
    return fp.saturate(np.asarray(x, np.int64) + lk.int_bitlinear(o, layer["o"]), fp.MSG_BITS)
