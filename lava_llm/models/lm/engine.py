"""The vectorised engines: numpy float reference and the bit-exact integer engine.

Both run whole batches of sequences ``ids (B, T)``: every projection, norm and GLU is one
vectorised call over all ``B * T`` tokens; only the MLGRU scan loops over ``T`` (element-wise
over ``(B, H)``). They call the same kernels as the Lava ProcessModels
(:mod:`lava_llm.processes.gated_recurrence.kernels`, :mod:`lava_llm.processes.lm_blocks.kernels`),
token by token there, so the integer engine equals Lava ``sim-fixed`` exactly.

* :func:`float_forward(params, ids, state)` -> float64 logits (B, T, V), state
* :func:`int_forward(qmodel, ids, state)` -> int64 logits (B, T, V) with ``logit_frac``
  fractional bits, state
* :func:`bits_per_char(fn, ids, ...)` scores a long token stream in chunks with carried state.
"""
from __future__ import annotations

import numpy as np

from lava_llm.processes.gated_recurrence import kernels as gk
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.models.lm import decode_fast


def _ids(ids, vocab):
    ids = np.atleast_2d(np.asarray(ids))
    if ids.ndim != 2:
        raise ValueError(f"ids must be (B, T) or (T,), got shape {ids.shape}")
    from lava_llm import validation as V

    return V.check_int_range("token ids", ids, 0, vocab - 1)


def float_model(params) -> dict:
    """Float parameter dicts of every block (shared by the engine and the Lava models)."""
    cfg, L, T = params.config, params.linears, params.tensors
    lbs = params.lower_bounds()
    layers = []
    for layer in range(cfg.num_layers):
        pre = f"model.layers.{layer}."
        d = {k: L[f"{pre}attn.{k}_proj"] for k in "ifgo"}
        d.update(gate=L[pre + "mlp.gate_proj"], down=L[pre + "mlp.down_proj"],
                 attn_norm=np.asarray(T[pre + "attn_norm.weight"], np.float64),
                 g_norm=np.asarray(T[pre + "attn.g_norm.weight"], np.float64),
                 mlp_norm=np.asarray(T[pre + "mlp_norm.weight"], np.float64),
                 lb=None if layer == 0 else lbs[layer])
        layers.append(d)
    return {"eps": float(cfg.eps), "config": cfg,
            # float32 or float64 as held; the engine widens the rows it gathers (exact)
            "emb": np.asarray(T["model.embeddings.weight"]), "layers": layers,
            "head": {"norm": np.asarray(T["model.norm.weight"], np.float64),
                     "lm_head": L["lm_head"]}}


def float_forward(params_or_model, ids, state=None, stats: dict | None = None):
    """Float64 forward. ``params_or_model``: LMParams or :func:`float_model` dict."""
    fm = params_or_model if isinstance(params_or_model, dict) else float_model(params_or_model)
    eps = fm["eps"]
    ids = _ids(ids, fm["emb"].shape[0])
    B, H = ids.shape[0], fm["emb"].shape[1]
    state = state if state is not None else [np.zeros((B, H))] * len(fm["layers"])
    x = np.asarray(fm["emb"][ids], np.float64)
    new = []
    for li, layer in enumerate(fm["layers"]):
        pre = f"model.layers.{li}."
        if stats is not None:
            stats.setdefault("residual", []).append(np.abs(x).ravel())
        i, f, g = gk.mixer_pre_float(x, layer, eps, stats, pre)
        hs = gk.mlgru_float(i, f, state[li], layer["lb"])
        new.append(hs[:, -1].copy())
        x = gk.mixer_post_float(x, hs, g, layer, eps, stats, pre)
        if stats is not None:
            stats["residual"].append(np.abs(x).ravel())
        x = lk.glu_block_float(x, layer, eps, stats, pre)
    if stats is not None:
        stats["residual"].append(np.abs(x).ravel())
    return lk.head_float(x, fm["head"], eps, stats), new


def int_forward(qmodel: dict, ids, state=None):
    """Integer forward (bit-exact with Lava ``sim-fixed``); logits int64."""
    ids = _ids(ids, qmodel["emb"].shape[0])
    B, H = ids.shape[0], qmodel["emb"].shape[1]
    state = state if state is not None else [np.zeros((B, H), np.int64)] * len(qmodel["layers"])
    x = qmodel["emb"][ids].astype(np.int64)
    if ids.shape[1] == 1 and decode_fast.prepare(qmodel) is not None:
        # one token: every layer in one compiled call (the same integers, tested)
        rows = [decode_fast.decode_layers(qmodel, x[b, 0], [s[b] for s in state])
                for b in range(B)]
        x = np.stack([r[0] for r in rows])[:, None, :]
        new = [np.stack([r[1][li] for r in rows]) for li in range(len(qmodel["layers"]))]
        return lk.head_int(x, qmodel["head"]), new
    new = []
    for li, layer in enumerate(qmodel["layers"]):
        i, f, g = gk.mixer_pre_int(x, layer)
        hs = gk.mlgru_int(i, f, state[li], layer["lb_q"])
        new.append(hs[:, -1].copy())
        x = gk.mixer_post_int(x, hs, g, layer)
        x = lk.glu_block_int(x, layer)
    return lk.head_int(x, qmodel["head"]), new


def set_threads(n: int | None, *, torch_too: bool | None = None) -> dict:
    """Set the compute threads explicitly: numba (the packed ternary kernels), torch
    (``torch.set_num_threads``; only when torch is imported already or ``torch_too``, so the
    integer engine never pays for importing it) and the BLAS pools (threadpoolctl).

    ``n``: 1 to the number of usable cores (None: all of them). Raises ValueError naming
    ``threads`` otherwise. Returns ``{"numba": n, "torch": n or None, "blas": n}``.
    """
    import os
    import sys

    import numba

    from lava_llm import numba_threads
    from lava_llm import validation as V

    numba_threads.start()  # before numba.config/set_num_threads: keeps Lava's fork start method

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = min(int(cores or 1), int(numba.config.NUMBA_NUM_THREADS))
    n = limit if n is None else V.check_int("threads", n, 1, limit)
    numba.set_num_threads(n)
    out = {"numba": n, "torch": None, "blas": n}
    if torch_too or (torch_too is None and "torch" in sys.modules):
        import torch

        torch.set_num_threads(n)
        out["torch"] = n
    try:
        from threadpoolctl import threadpool_limits

        global _BLAS_LIMIT
        _BLAS_LIMIT = threadpool_limits(n)   # kept: the limit holds while it lives
    except ImportError:  # pragma: no cover - threadpoolctl ships with scipy/sklearn stacks
        out["blas"] = None
    return out


_BLAS_LIMIT = None


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def bits_per_char(logits_fn, ids, *, streams: int = 64, chunk: int = 256,
                  scale: float = 1.0, progress: bool = False) -> float:
    """Mean ``-log2 p(next token)`` over a token stream ``ids`` (1-D).

    The stream is cut into ``streams`` contiguous pieces scored in parallel, ``chunk`` tokens
    at a time with the recurrent state carried, so the result equals scoring each piece in
    one pass. ``logits_fn(ids (B, T), state) -> (logits, state)``; ``scale`` converts logits
    to real units (``2**-logit_frac`` for the integer engine).
    """
    ids = np.asarray(ids, np.int64).ravel()
    n = (ids.size - 1) // streams
    if n < 1:
        raise ValueError(f"ids: need more than {streams} tokens, got {ids.size}")
    x = ids[: streams * n].reshape(streams, n)
    y = ids[1: streams * n + 1].reshape(streams, n)
    total, state = 0.0, None
    rng = range(0, n, chunk)
    if progress:
        from lava_llm.progress import bar

        rng = bar(rng, desc="scoring", leave=False)
    for s in rng:
        logits, state = logits_fn(x[:, s:s + chunk], state)
        lp = log_softmax(np.asarray(logits, np.float64) * scale)
        total -= np.take_along_axis(lp, y[:, s:s + chunk, None], axis=-1).sum()
    return float(total / (streams * n) / np.log(2))
