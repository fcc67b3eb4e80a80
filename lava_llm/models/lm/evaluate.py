"""Scoring text: bits per token and per byte of one token stream, the recurrent state carried
over the whole stream, on every backend.

>>> from lava_llm.models.lm.generate import LanguageModel
>>> from lava_llm.models.lm.evaluate import evaluate_text
>>> evaluate_text(LanguageModel.load(), "ROMEO:\\nWhat light", backend="engine")  # doctest: +SKIP

The stream ``ids = tokenizer.encode(text)`` (with the BOS the tokenizer adds, if any) is fed
token by token in order; every token after the first is predicted from all tokens before it:
``bits = -sum_t log2 p(ids[t] | ids[:t])`` over ``t = 1 .. n-1``. ``bits_per_token = bits /
(n - 1)``; ``bits_per_byte = bits / bytes`` where ``bytes`` counts the UTF-8 bytes of the text
that those predicted tokens cover (the whole text when the stream starts with BOS, otherwise
the text less the first token's decoded bytes).

``engine`` / ``torch`` run the stream in chunks of ``chunk`` tokens with the state carried
(so the result equals one pass); ``sim-float`` / ``sim-fixed`` run the Lava network over the
stream as a prompt (one Lava time step per token, ~0.5 ms per leaf Process per step: use short
texts) and read the recorded logits. ``sim-fixed`` gives exactly the ``engine`` logits.
"""
from __future__ import annotations

import numpy as np

from lava_llm.models.lm.config import MAX_PROMPT_TOKENS

BACKENDS = ("engine", "torch", "sim-float", "sim-fixed")


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _bar(total, progress, desc):
    from lava_llm.progress import bar

    return bar(total=total, desc=desc, unit="tok", disable=not progress, leave=False)


def stream_bits(lm, ids, backend: str = "engine", *, chunk: int = 256,
                progress: bool = False) -> float:
    """Total ``-log2 p(ids[t] | ids[:t])`` over ``t >= 1`` of one token stream (1-D)."""
    from lava_llm import validation as V
    from lava_llm.run import check_backend, limit_blas_threads

    check_backend(backend, BACKENDS)
    ids = V.check_int_range("token ids", np.asarray(ids, np.int64).ravel(), 0,
                            lm.config.vocab_size - 1)
    if ids.size < 2:
        raise ValueError(f"need at least 2 tokens to score, got {ids.size}")
    chunk = V.check_int("chunk", chunk, 1)
    x, y = ids[:-1], ids[1:]
    if backend in ("sim-float", "sim-fixed"):
        logits = _lava_logits(lm, x, backend, progress)
        total = 0.0
        for s in range(0, x.size, chunk):   # the engine's reduction order: equal sums
            lp = _log_softmax(logits[s:s + chunk])
            total -= lp[np.arange(lp.shape[0]), y[s:s + chunk]].sum()
        return float(total / np.log(2))
    if backend == "engine":
        from lava_llm.models.lm import engine

        qm = lm.int_model
        scale = 2.0 ** -qm["logit_frac"]

        def step(xs, state):
            z, state = engine.int_forward(qm, xs[None], state)
            return z[0] * scale, state
    else:
        import torch

        model = lm.torch_model()

        @torch.no_grad()
        def step(xs, state):
            z, state = model(torch.from_numpy(xs[None]), state)
            return z[0].double().numpy(), state

    limiter = limit_blas_threads(1) if chunk <= 8 else None
    total, state = 0.0, None
    try:
        with _bar(x.size, progress, f"eval {backend}") as bar:
            for s in range(0, x.size, chunk):
                z, state = step(x[s:s + chunk], state)
                lp = _log_softmax(np.asarray(z, np.float64))
                total -= lp[np.arange(lp.shape[0]), y[s:s + chunk]].sum()
                bar.update(lp.shape[0])
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    return float(total / np.log(2))


def _lava_logits(lm, x, backend, progress, steps_per_run: int = 32):
    from lava_llm.models.lm.network import build_network
    from lava_llm.run import lava_session, run_config

    if x.size > MAX_PROMPT_TOKENS:
        raise ValueError(f"--text: {x.size + 1} tokens; the Lava backends score at most "
                         f"{MAX_PROMPT_TOKENS + 1} (use --max-tokens or the engine backend)")
    fixed = backend == "sim-fixed"
    net = build_network(lm.float_model, lm.int_model if fixed else None, x, 1,
                        record_logits=True)
    with lava_session(net.embedding, run_config(backend), timeout_s="auto") as session, \
            _bar(x.size, progress, f"eval {backend}") as bar:
        done = 0
        while done < x.size:
            k = min(steps_per_run, x.size - done)
            session.run(k)
            done += k
            bar.update(k)
        logits = np.asarray(net.head.logits_hist.get(), np.float64)
    return logits * (2.0 ** -lm.int_model["logit_frac"] if fixed else 1.0)


def evaluate_text(lm, text: str, backend: str = "engine", *, max_tokens: int = 0,
                  chunk: int = 256, progress: bool = False, what: str = "text") -> dict:
    """Score ``text`` with ``lm``'s tokenizer on ``backend``. Returns ``{"tokens" (predicted
    tokens), "bits_per_token", "bits_per_byte", "bytes", "backend"}``. ``max_tokens`` > 0
    scores only the first ``max_tokens`` tokens of the stream."""
    from lava_llm import validation as V

    if lm.tokenizer is None:
        raise ValueError("this checkpoint has no tokenizer: text cannot be scored (convert "
                         "the HF folder with its tokenizer files)")
    max_tokens = V.check_int("max_tokens", max_tokens, 0)
    ids = lm.tokenizer.encode(text, what=what)
    if max_tokens:
        ids = ids[:max_tokens]
    if ids.size < 2:
        raise ValueError(f"{what}: {ids.size} token(s); need at least 2 to score")
    bits = stream_bits(lm, ids, backend, chunk=chunk, progress=progress)
    covered = lm.tokenizer.decode(ids)   # BOS/EOS decode to nothing
    first = "" if ids[0] == getattr(lm.tokenizer, "bos_id", None) \
        else lm.tokenizer.decode(ids[:1])
    n_bytes = len(covered.encode("utf-8")) - len(first.encode("utf-8"))
    n = int(ids.size - 1)
    return {"tokens": n, "bits_per_token": bits / n,
            "bits_per_byte": bits / n_bytes if n_bytes > 0 else float("nan"),
            "bytes": int(n_bytes), "backend": backend}
