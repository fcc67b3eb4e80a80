"""From :class:`~lava_llm.models.lm.params.LMParams` to the per-block parameter dicts of the
float and fixed-point kernels, and calibration of the fixed-point formats.

* :func:`float_model` -> ``{"eps", "emb", "layers": [...], "head": {...}}`` for the float
  kernels (numpy float path and the ``floating_pt`` Lava models).
* :func:`calibrate` runs the float model on token ids and returns per BitLinear the max
  |RMSNorm(input) * gain| (the format ``y_frac`` of its norm output in the shipped dynamic
  design; its int8 input scale ``127 / amax`` in the static one) and the residual stream's
  max |x| (which fixes its fractional bits).
* :func:`export_int` -> the integer model: embedding table (24-bit, ``x_frac`` fractional
  bits), per layer the integer norms/linears/lower bounds, and the head.

Fixed-point formats: residual stream ``x_frac`` = ``clip(pow2_exponent(4 * amax_x, 24), 4,
16)`` fractional bits (4x head-room, saturating); gates, MLGRU state, GLU and norm outputs
``GATE_FRAC`` = 16; logits ``LOGIT_FRAC`` = 12; BitLinear inputs int8 per token by absmax
(default) or with a static calibrated scale (``quant={"act": "static"}``).
"""
from __future__ import annotations

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm.models.lm import engine
from lava_llm.models.lm.engine import float_model  # noqa: F401  (lives beside the engine)
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.processes.ternary_dense import kernels as td

P = lk.GATE_FRAC


class _ChannelStats(dict):
    """A ``stats`` dict for :func:`lava_llm.processes.lm_blocks.kernels.bitlinear` that also
    keeps the per-input-channel max |normed input| of every BitLinear (``hook``)."""

    def __init__(self):
        super().__init__()
        self.channels: dict = {}

    def hook(self, name, y):
        a = np.abs(y).reshape(-1, y.shape[-1]).max(axis=0)
        old = self.channels.get(name)
        self.channels[name] = a if old is None else np.maximum(old, a)


def calibrate(params, ids, percentile: float = 100.0, channels: bool = False) -> dict:
    """Static scales from running the float model on ``ids`` ((B, T) or (T,) int array).

    Returns ``{"linears": {name: amax}, "residual": amax, "percentile": p, "tokens": n}``
    where ``amax`` is the ``percentile`` of the per-token max |RMSNorm(input) * gain|. With
    ``channels`` also ``"channels": {name: [per input channel max |normed input|]}`` (for
    ``export_int(..., quant={"act": "smooth"})``).
    """
    return calibrations(params, ids, (percentile,), channels)[0]


def calibrations(params, ids, percentiles=(100.0,), channels: bool = False) -> list[dict]:
    """:func:`calibrate` for several percentiles from one float run."""
    ids = np.atleast_2d(np.asarray(ids, np.int64))
    stats: dict = _ChannelStats() if channels else {}
    engine.float_forward(params, ids, stats=stats)
    per_token = {k: np.concatenate(v) for k, v in stats.items() if k != "residual"}
    res = float(np.max(np.concatenate(stats["residual"])))
    ch = ({k: [float(a) for a in v] for k, v in stats.channels.items()} if channels
          else None)
    out = []
    for p in percentiles:
        c = {"linears": {k: float(np.percentile(v, p)) for k, v in per_token.items()},
             "residual": res, "percentile": float(p), "tokens": int(ids.size)}
        if ch is not None:
            c["channels"] = ch
        out.append(c)
    return out


def residual_frac(amax: float) -> int:
    """Fractional bits of the residual stream for a calibrated max |x|."""
    return int(np.clip(fp.pow2_exponent(max(4.0 * float(amax), 1e-6), fp.MSG_BITS), 4, 16))


def _int_table(table, x_frac: int, rows: int = 4096) -> np.ndarray:
    """``sat24(round(table * 2**x_frac))`` as int32 (24-bit values), a chunk of rows at a
    time in float64 (so a float32 table gives the same integers as its float64 copy)."""
    table = np.asarray(table)
    out = np.empty(table.shape, np.int32)
    for r0 in range(0, table.shape[0], rows):
        t = np.asarray(table[r0:r0 + rows], np.float64)
        out[r0:r0 + rows] = fp.saturate(np.round(t * 2.0 ** x_frac), fp.MSG_BITS)
    return out


def export_int(params, calib: dict, quant: dict | None = None) -> dict:
    """The integer model for ``params`` with the static scales ``calib`` (see
    :func:`calibrate`). Raises ValueError naming a linear missing from ``calib``.

    ``quant`` selects the BitLinear input quantiser: ``{"act": "dynamic" | "static" |
    "smooth", "act_bits": 8}`` (see :func:`lava_llm.processes.lm_blocks.kernels.make_int_linear`);
    None = the shipped design, per-token dynamic int8 (``act="dynamic"``, as the trained
    model quantises). ``{"act": "static"}`` is the static per-layer int8 design (Lava holds
    both); ``"smooth"`` and ``act_bits != 8`` are integer-engine design studies
    (``benchmarks/lm_fidelity.py``). ``"smooth"`` needs a calibration made with
    ``channels=True``."""
    cfg, L, T = params.config, params.linears, params.tensors
    missing = [k for k in L if k not in calib["linears"]]
    if missing:
        raise ValueError(f"calibration lacks linear(s) {missing[:5]}")
    quant = dict(quant or {})
    unknown = set(quant) - {"act", "act_bits"}
    if unknown:
        raise ValueError(f"quant: unknown key(s) {sorted(unknown)} (allowed: act, act_bits)")
    act = quant.get("act", lk.DEFAULT_ACT)
    if act == "smooth" and "channels" not in calib:
        raise ValueError("quant act='smooth' needs a calibration with per-channel maxima "
                         "(calibrate(..., channels=True))")
    eps = float(cfg.eps)
    xf = residual_frac(calib["residual"])
    lbs = params.lower_bounds()

    def lin(name, in_frac, out_frac):
        ch = calib.get("channels", {}).get(name) if act == "smooth" else None
        return lk.make_int_linear(L[name], in_frac=in_frac, out_frac=out_frac,
                                  amax=calib["linears"][name], eps=eps, act=act,
                                  act_bits=quant.get("act_bits", 8), channel_amax=ch)

    layers = []
    for layer in range(cfg.num_layers):
        pre = f"model.layers.{layer}."
        d = {k: lin(f"{pre}attn.{k}_proj", P, P) for k in "ifg"}
        d["o"] = lin(pre + "attn.o_proj", P, xf)
        d["gate"] = lin(pre + "mlp.gate_proj", P, P)
        d["down"] = lin(pre + "mlp.down_proj", P, xf)
        d["attn_norm"] = lk.make_int_norm(T[pre + "attn_norm.weight"], in_frac=xf, eps=eps)
        d["g_norm"] = lk.make_int_norm(T[pre + "attn.g_norm.weight"], in_frac=P, eps=eps)
        d["mlp_norm"] = lk.make_int_norm(T[pre + "mlp_norm.weight"], in_frac=xf, eps=eps)
        d["lb_q"] = None if layer == 0 else np.round(lbs[layer] * (1 << P)).astype(np.int64)
        layers.append(d)
    emb = _int_table(T["model.embeddings.weight"], xf)
    head = {"norm": lk.make_int_norm(T["model.norm.weight"], in_frac=xf, eps=eps),
            "lm_head": lin("lm_head", P, lk.LOGIT_FRAC)}
    td.warm_up()  # the compiled kernels' one-time start-up belongs to model preparation
    return {"config": cfg, "x_frac": xf, "logit_frac": lk.LOGIT_FRAC, "emb": emb,
            "layers": layers, "head": head}
