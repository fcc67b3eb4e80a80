"""Fidelity of the integer model against the float reference, block by block, and an
activation-outlier report; the measurement side of ``benchmarks/lm_fidelity.py``.

* :func:`float_trace` / :func:`int_trace`: the forward of :mod:`lava_llm.models.lm.engine`
  (same kernels, same order) that also returns the residual stream after every layer (real
  units; the integer one dequantised by ``2**-x_frac``).
* :func:`rel_rms`: ``||a - ref|| / ||ref||`` over all tokens and channels.
* :func:`logit_error`: per token ``||z - z_ref|| / ||z_ref - mean(z_ref)||`` (the logits'
  shift invariance is removed from the reference's norm).
* :func:`outlier_report`: per BitLinear input (after its RMSNorm and gain, i.e. what is
  quantised to int8) and per residual stream: the per-channel max |value| over the tokens,
  the largest over the median of those (``max_over_median``; ~3-5 for Gaussian channels),
  the channels beyond 4x the median, and the kurtosis of the values across channels per
  token (mean over tokens; 3 for a Gaussian, large when a few channels dominate).
"""
from __future__ import annotations

import numpy as np

from lava_llm.processes.gated_recurrence import kernels as gk
from lava_llm.processes.lm_blocks import kernels as lk


def float_trace(params_or_model, ids, stats=None):
    """Float64 forward of ``ids`` (B, T) -> ``(logits, [residual after layer l])``."""
    from lava_llm.models.lm.engine import _ids
    from lava_llm.models.lm.export import float_model

    fm = params_or_model if isinstance(params_or_model, dict) else float_model(params_or_model)
    eps = fm["eps"]
    ids = _ids(ids, fm["emb"].shape[0])
    B, H = ids.shape[0], fm["emb"].shape[1]
    x = fm["emb"][ids]
    res = [x]
    for li, layer in enumerate(fm["layers"]):
        pre = f"model.layers.{li}."
        i, f, g = gk.mixer_pre_float(x, layer, eps, stats, pre)
        hs = gk.mlgru_float(i, f, np.zeros((B, H)), layer["lb"])
        x = gk.mixer_post_float(x, hs, g, layer, eps, stats, pre)
        x = lk.glu_block_float(x, layer, eps, stats, pre)
        res.append(x)
    return lk.head_float(x, fm["head"], eps, stats), res


def int_trace(qmodel, ids):
    """Integer forward -> ``(logits in real units, [residual after layer l, real units])``;
    equals :func:`lava_llm.models.lm.engine.int_forward`."""
    from lava_llm.models.lm.engine import _ids

    ids = _ids(ids, qmodel["emb"].shape[0])
    B, H = ids.shape[0], qmodel["emb"].shape[1]
    s = 2.0 ** -qmodel["x_frac"]
    x = qmodel["emb"][ids]
    res = [x * s]
    for layer in qmodel["layers"]:
        i, f, g = gk.mixer_pre_int(x, layer)
        hs = gk.mlgru_int(i, f, np.zeros((B, H), np.int64), layer["lb_q"])
        x = gk.mixer_post_int(x, hs, g, layer)
        x = lk.glu_block_int(x, layer)
        res.append(x * s)
    return lk.head_int(x, qmodel["head"]) * 2.0 ** -qmodel["logit_frac"], res


def rel_rms(a, ref) -> float:
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.linalg.norm(a - ref) / max(np.linalg.norm(ref), 1e-300))


def logit_error(z, z_ref) -> np.ndarray:
    """Per token ``||z - z_ref|| / ||z_ref - mean(z_ref)||`` (shape: the leading axes)."""
    z, z_ref = np.asarray(z, np.float64), np.asarray(z_ref, np.float64)
    den = np.linalg.norm(z_ref - z_ref.mean(axis=-1, keepdims=True), axis=-1)
    return np.linalg.norm(z - z_ref, axis=-1) / np.maximum(den, 1e-300)


def channel_stats(v) -> dict:
    """Outlier statistics of activations ``v`` (..., channels); see the module docstring."""
    v = np.asarray(v, np.float64).reshape(-1, np.shape(v)[-1])
    amax = np.abs(v).max(axis=0)
    med = float(np.median(amax))
    c = v - v.mean(axis=1, keepdims=True)
    m2 = (c ** 2).mean(axis=1)
    kurt = (c ** 4).mean(axis=1) / np.maximum(m2, 1e-300) ** 2
    top = np.argsort(-amax)[:5]
    return {"max_over_median": float(amax.max() / max(med, 1e-300)),
            "outlier_channels": int(np.sum(amax > 4 * med)),
            "kurtosis": float(kurt.mean()), "top_channels": [int(t) for t in top],
            "channels": int(v.shape[1])}


class _Capture(dict):
    def __init__(self):
        super().__init__()
        self.inputs: dict = {}

    def hook(self, name, y):
        self.inputs[name] = y


def outlier_report(params, ids) -> dict:
    """Outliers of every BitLinear input and residual stream of ``params`` on ``ids`` (B, T):
    ``{"bitlinear": {name: channel_stats}, "residual": [channel_stats after layer l]}``
    (residual 0 is the embedding)."""
    cap = _Capture()
    _, res = float_trace(params, np.atleast_2d(ids), stats=cap)
    return {"bitlinear": {k: channel_stats(v) for k, v in cap.inputs.items()},
            "residual": [channel_stats(r) for r in res]}


def summarise_outliers(report: dict) -> dict:
    """One line per kind of BitLinear (i/f/g/o/gate/down/head) and the residual stream:
    the median and max over layers of ``max_over_median`` and ``kurtosis``."""
    groups: dict = {}
    for name, st in report["bitlinear"].items():
        kind = name.rsplit(".", 1)[-1]
        groups.setdefault(kind, []).append(st)
    groups["residual"] = report["residual"]
    out = {}
    for kind, sts in groups.items():
        mom = np.array([s["max_over_median"] for s in sts])
        ku = np.array([s["kurtosis"] for s in sts])
        out[kind] = {"max_over_median_median": float(np.median(mom)),
                     "max_over_median_max": float(mom.max()),
                     "kurtosis_median": float(np.median(ku)), "kurtosis_max": float(ku.max()),
                     "outlier_channels_max": int(max(s["outlier_channels"] for s in sts))}
    return out


def main(argv=None) -> int:
    """``python -m lava_llm.models.lm.fidelity [CHECKPOINT] [--text FILE]``: the outlier report
    of a lava-llm checkpoint or HF folder (default: the shipped model) as JSON, on the text's
    tokens (at most ``--tokens``, rows of 64) or on seeded random ids."""
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(prog="python -m lava_llm.models.lm.fidelity",
                                 description="Activation-outlier report of an LM checkpoint.")
    ap.add_argument("checkpoint", nargs="?", default=None)
    ap.add_argument("--text", default=None, help="UTF-8 text to run (default: random ids)")
    ap.add_argument("--tokens", type=int, default=256, help="tokens to run (default 256)")
    ap.add_argument("--full", action="store_true", help="every layer, not the summary")
    args = ap.parse_args(argv)
    try:
        from lava_llm import validation as V
        from lava_llm.models.lm.generate import load_model
        from lava_llm.models.lm.tokenizer import read_text_file

        n = V.check_int("--tokens", args.tokens, 2, 1 << 16)
        lm = load_model(args.checkpoint, calib_ids=np.zeros((1, 2), np.int64))
        if args.text is not None:
            if lm.tokenizer is None:
                raise ValueError("--text: this checkpoint has no tokenizer")
            ids = lm.tokenizer.encode(read_text_file(args.text), what=f"--text {args.text}")
            ids = ids[:n]
        else:
            ids = np.random.default_rng(0).integers(0, lm.config.vocab_size, n)
        T = min(64, ids.size)
        ids = ids[: ids.size // T * T].reshape(-1, T)
        rep = outlier_report(lm.params, ids)
    except (ValueError, FileNotFoundError, TypeError) as exc:
        print(f"lava_llm.models.lm.fidelity: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rep if args.full else summarise_outliers(rep), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
