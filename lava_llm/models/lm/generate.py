"""Generation on every backend: prompt prefill, then token by token.

>>> from lava_llm.models.lm.generate import LanguageModel
>>> lm = LanguageModel.load()                         # the shipped checkpoint
>>> out = lm.generate("ROMEO:", 20, backend="sim-fixed", seed=0)   # doctest: +SKIP

Backends: ``torch`` (float32 torch model, float sampler), ``sim-float`` (Lava floating_pt
models, float64), ``sim-fixed`` (Lava fixed_pt models), ``loihi2`` (same fixed models via
``run_config("loihi2")``, which raises where no Loihi 2 is present), ``engine`` (vectorised
integer engine). ``engine`` and ``sim-fixed`` produce identical tokens and logits; ``sim-float``
matches ``torch`` (logits within 1e-4 in float64).

Result dict: ``token_ids`` (generated ids), ``text`` (decoded when a tokenizer is present),
``logits`` (per step, prompt and generated; real units), ``tokens_per_s`` (decode rate:
generated tokens after the first / their wall time; all tokens / total time when only one),
``time_to_first_token_s`` (wall time to the first generated token: prefill + first sample;
for Lava it *includes* network build, compile and runtime start; for ``engine``/``torch`` the
cached model preparation is not timed), ``startup_s`` (Lava: build + compile +
start + first step), ``total_s``, ``backend``, ``leaf_processes`` and ``granularity`` (Lava:
``granularity="fine"`` runs every block as its synapse and neuron Processes).

Limits: prompts of 1 to :data:`~lava_llm.models.lm.config.MAX_PROMPT_TOKENS` tokens; 1 to
:data:`~lava_llm.models.lm.config.MAX_NEW_TOKENS` new tokens.
"""
from __future__ import annotations

import time

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm import validation as V
from lava_llm.models.lm import engine, export
from lava_llm.models.lm.config import MAX_NEW_TOKENS, MAX_PROMPT_TOKENS
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.run import ALL_BACKENDS, check_backend, limit_blas_threads

BACKENDS = ("sim-fixed", "sim-float", "loihi2", "engine", "torch")


class LanguageModel:
    """Parameters + tokenizer + calibration, with cached float/integer/torch forms.

    ``quant``: the integer design, passed to :func:`~lava_llm.models.lm.export.export_int`
    (None = the shipped per-token dynamic int8 inputs; ``{"act": "static"}`` = static
    calibrated per-layer int8 scales; both run on every backend)."""

    def __init__(self, params, tokenizer=None, calibration: dict | None = None,
                 calib_ids=None, quant: dict | None = None):
        self.params = params.check()
        self.tokenizer = tokenizer
        self.quant = quant
        if calibration is None:
            if calib_ids is None:  # no text at hand: seeded random tokens
                calib_ids = np.random.default_rng(0).integers(
                    0, params.config.vocab_size, (8, 64))
            calibration = export.calibrate(params, calib_ids)
        self.calibration = calibration
        self._float = self._int = self._torch = None

    @classmethod
    def load(cls, folder=None) -> "LanguageModel":
        """A lava-llm checkpoint folder (default: the shipped one). Its tokenizer is the char
        tokenizer in its ``config.json`` or, failing that, the HF tokenizer files it carries
        (``tokenizer.json`` / ``tokenizer.model``, copied by ``import-hf``)."""
        from lava_llm.models.lm.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
        from lava_llm.models.lm.tokenizer import load_tokenizer

        ck = load_checkpoint(folder)
        tok = ck.tokenizer
        if tok is None:
            tok = load_tokenizer(DEFAULT_CHECKPOINT if folder is None else folder,
                                 ck.params.config.vocab_size)
        return cls(ck.params, tok, ck.calibration)

    @classmethod
    def from_hf(cls, folder, calib_ids=None) -> "LanguageModel":
        """An HF ``HGRNBitForCausalLM`` folder with its tokenizer, if it has one (calibrated
        on ``calib_ids``; default seeded random ids, see :meth:`__init__`)."""
        from lava_llm.models.lm import hf_import
        from lava_llm.models.lm.tokenizer import load_tokenizer

        params = hf_import.load_params(folder)
        return cls(params, load_tokenizer(folder, params.config.vocab_size),
                   calib_ids=calib_ids)

    @property
    def config(self):
        return self.params.config

    @property
    def float_model(self) -> dict:
        if self._float is None:
            self._float = export.float_model(self.params)
        return self._float

    @property
    def int_model(self) -> dict:
        if self._int is None:
            self._int = export.export_int(self.params, self.calibration, self.quant)
        return self._int

    def torch_model(self, dtype=None):
        import torch

        from lava_llm.training.hgrn import HGRNBitForCausalLM

        dtype = dtype or torch.float32
        if self._torch is None or self._torch[0] != dtype:
            self._torch = (dtype, HGRNBitForCausalLM.from_params(self.params, dtype).eval())
        return self._torch[1]

    # ------------------------------------------------------------------ inputs
    def encode(self, prompt) -> np.ndarray:
        """Prompt text (needs a tokenizer) or token ids -> checked 1-D int64 ids."""
        if isinstance(prompt, str):
            if self.tokenizer is None:
                raise ValueError("this model has no tokenizer: pass token ids, not text")
            ids = self.tokenizer.encode(prompt, what="prompt")
        else:
            ids = V.check_int_range("prompt token ids", np.atleast_1d(prompt), 0,
                                    self.config.vocab_size - 1)
        if ids.ndim != 1:
            raise ValueError(f"prompt token ids must be 1-D (one sequence), got shape "
                             f"{ids.shape}")
        if ids.size < 1:
            raise ValueError(f"prompt must hold 1 to {MAX_PROMPT_TOKENS} tokens, got "
                             f"{ids.size}")
        if ids.size > MAX_PROMPT_TOKENS:
            raise ValueError(f"prompt has {ids.size} tokens; the maximum is "
                             f"{MAX_PROMPT_TOKENS} (MAX_PROMPT_TOKENS)")
        return ids.astype(np.int64)

    # ------------------------------------------------------------------ generation
    @property
    def eos_id(self):
        """The tokenizer's end-of-sequence id (None: no tokenizer or no EOS)."""
        return getattr(self.tokenizer, "eos_id", None)

    def generate(self, prompt, n_new: int, *, backend: str = "sim-fixed", seed: int = 0,
                 temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
                 stop_at_eos: bool = True, on_token=None, record_logits: bool = True,
                 granularity: str = "fused") -> dict:
        """Generate up to ``n_new`` tokens after ``prompt`` (text or token ids).

        Sampling: greedy (``temperature`` 0), else softmax(logits / T) over the ``top_k``
        most likely tokens (0 = all) cut to the nucleus of mass ``top_p`` (1 = off); the same
        kernels on every backend (:func:`~lava_llm.processes.lm_blocks.kernels.sample_int`
        for ``engine``/``sim-fixed``/``loihi2``, ``sample_float`` for ``torch``/``sim-float``).
        ``stop_at_eos``: stop after the tokenizer's EOS token (kept in ``token_ids``, not in
        ``text``); ``result["stopped"]`` is ``"eos"`` or ``"length"``. ``on_token(id)`` is
        called with each token as it is produced (host backends: as sampled; Lava: read
        after each time step when a callback or an EOS stop is in use).
        """
        from lava_llm.run import check_granularity

        check_backend(backend, ALL_BACKENDS)
        check_granularity(granularity)
        n_new = V.check_int("tokens", n_new, 1, MAX_NEW_TOKENS)
        seed = V.check_int("seed", seed, 0, (1 << 63) - 1)
        fixed = backend in ("sim-fixed", "loihi2", "engine")
        temperature, top_k = lk.check_sampling(temperature, top_k, self.config.vocab_size, fixed)
        top_p = lk.check_top_p(top_p)
        if on_token is not None and not callable(on_token):
            raise TypeError("on_token must be callable (token_id) -> None")
        ids = self.encode(prompt)
        eos = self.eos_id if stop_at_eos else None
        kw = dict(seed=seed, temperature=temperature, top_k=top_k, top_p=top_p, eos=eos,
                  on_token=on_token)
        if backend in ("sim-float", "sim-fixed", "loihi2"):
            out = self._generate_lava(ids, n_new, backend, record_logits,
                                      granularity=granularity, **kw)
        else:
            out = self._generate_host(ids, n_new, backend, **kw)
        out["stopped"] = ("eos" if eos is not None and out["token_ids"].size
                          and out["token_ids"][-1] == eos else "length")
        out["backend"] = backend
        out["prompt_ids"] = ids
        if self.tokenizer is not None:
            out["text"] = self.tokenizer.decode(out["token_ids"])
        else:
            out["text"] = None
        return out

    def _generate_host(self, ids, n_new, backend, **kw):
        limiter = limit_blas_threads(1)  # token-by-token: tiny matmuls, one BLAS thread
        try:
            return self._generate_host_loop(ids, n_new, backend, **kw)
        finally:
            if limiter is not None:
                limiter.restore_original_limits()

    def _generate_host_loop(self, ids, n_new, backend, *, seed, temperature, top_k, top_p,
                            eos, on_token):
        prng = int(fp.prng_states(seed, (1,))[0])   # the LMHead Process's initial state
        # model preparation (integer export / torch build, cached) is not timed
        _ = self.int_model if backend == "engine" else self.torch_model()
        t0 = time.perf_counter()
        if backend == "engine":
            qm = self.int_model
            scale = 2.0 ** -qm["logit_frac"]

            def step(x, state):
                return engine.int_forward(qm, x[None], state)

            sampler = lk.sample_int
        else:
            import torch

            model = self.torch_model()
            scale = 1.0

            @torch.no_grad()
            def step(x, state):
                logits, state = model(torch.from_numpy(x[None]), state)
                return logits.double().numpy(), state

            sampler = lk.sample_float
        logits, state = step(ids, None)
        all_logits = [logits[0]]
        token, prng = sampler(logits[0, -1], prng, temperature, top_k, top_p)
        tokens = [token]
        ttft = time.perf_counter() - t0
        if on_token is not None:
            on_token(token)
        while len(tokens) < n_new and token != eos:
            logits, state = step(np.array([tokens[-1]]), state)
            all_logits.append(logits[0])
            token, prng = sampler(logits[0, -1], prng, temperature, top_k, top_p)
            tokens.append(token)
            if on_token is not None:
                on_token(token)
        n_new = len(tokens)
        total = time.perf_counter() - t0
        return _timing({"token_ids": np.array(tokens, np.int64),
                        "logits": np.concatenate(all_logits) * scale,
                        "logits_raw": np.concatenate(all_logits)}, n_new, ttft, total)

    def _generate_lava(self, ids, n_new, backend, record_logits, *, seed, temperature,
                       top_k, top_p=1.0, eos=None, on_token=None, granularity="fused"):
        from lava_llm.models.lm.network import build_network
        from lava_llm.run import lava_session, run_config

        # raises Loihi2UnavailableError where there is no Loihi 2
        cfg = run_config(backend, granularity=granularity)
        t0 = time.perf_counter()
        fixed = backend != "sim-float"
        net = build_network(self.float_model, self.int_model if fixed else None, ids, n_new,
                            temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                            record_logits=record_logits, granularity=granularity)
        P = ids.size
        stepwise = on_token is not None or eos is not None

        def read(n):  # the first n generated tokens
            return np.rint(net.head.tokens.get()[P - 1:P - 1 + n]).astype(np.int64)

        with lava_session(net.embedding, cfg, timeout_s="auto") as session:
            session.run(1)
            startup = time.perf_counter() - t0
            if P > 1:
                session.run(P - 1)
            ttft = time.perf_counter() - t0
            if not stepwise:
                if n_new > 1:
                    session.run(n_new - 1)
                tokens = read(n_new)
            else:  # read the token after every step: stream it, stop at EOS
                tokens = read(1)
                if on_token is not None:
                    on_token(int(tokens[-1]))
                while tokens.size < n_new and tokens[-1] != eos:
                    session.run(1)
                    tokens = read(tokens.size + 1)
                    if on_token is not None:
                        on_token(int(tokens[-1]))
            total = time.perf_counter() - t0
            leaves = session.leaf_processes
            logits = np.asarray(net.head.logits_hist.get())
            if record_logits:
                logits = logits[:P + tokens.size - 1]
        n_new = int(tokens.size)
        scale = 2.0 ** -self.int_model["logit_frac"] if fixed else 1.0
        out = {"token_ids": tokens, "logits": logits * scale, "logits_raw": logits,
               "startup_s": startup, "leaf_processes": leaves, "granularity": granularity}
        return _timing(out, n_new, ttft, total)


def load_model(folder=None, calib_ids=None) -> LanguageModel:
    """A lava-llm checkpoint folder (default: the shipped one) or an HF ``HGRNBitForCausalLM``
    folder (then calibrated on ``calib_ids``, default seeded random ids), with its tokenizer.
    FileNotFoundError naming ``--checkpoint`` for a missing folder."""
    from pathlib import Path

    if folder is not None:
        from lava_llm.models.lm import hf_import

        if hf_import.is_hf_checkpoint(folder):
            import sys

            if calib_ids is None:
                print(f"note: {folder} is an HF folder without a fixed-point calibration: "
                      f"calibrating on random token ids now (convert it once with "
                      f"lava-llm import-hf to cache one)", file=sys.stderr)
            # load_params also checks the checkpoint's epsilon against the library's
            return LanguageModel.from_hf(folder, calib_ids=calib_ids)
        if not Path(folder).exists():
            raise FileNotFoundError(f"--checkpoint {folder}: folder does not exist")
    return LanguageModel.load(folder)


def _timing(out: dict, n_new: int, ttft: float, total: float) -> dict:
    decode = total - ttft
    out.update(time_to_first_token_s=ttft, total_s=total,
               tokens_per_s=(n_new - 1) / decode if n_new > 1 and decode > 0 else n_new / total)
    return out


def generate(prompt, n_new: int, *, backend: str = "sim-fixed", checkpoint=None, seed: int = 0,
             temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
             stop_at_eos: bool = True, granularity: str = "fused") -> dict:
    """Load ``checkpoint`` (default: the shipped one) and generate; see
    :meth:`LanguageModel.generate`."""
    return LanguageModel.load(checkpoint).generate(prompt, n_new, backend=backend, seed=seed,
                                                   temperature=temperature, top_k=top_k,
                                                   top_p=top_p, stop_at_eos=stop_at_eos,
                                                   granularity=granularity)


class TextStream:
    """Incremental decoding for streaming: ``push(token_id)`` returns the new text since the
    last call (decoding the whole generated sequence each time, so subword pieces that join
    or multi-byte characters split over tokens come out right; a trailing U+FFFD of an
    incomplete character is held back). Without a tokenizer it returns ``"id "``."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.shown = ""

    def push(self, token_id: int) -> str:
        self.ids.append(int(token_id))
        if self.tokenizer is None:
            return f"{int(token_id)} "
        text = self.tokenizer.decode(self.ids).rstrip("\ufffd")
        if not text.startswith(self.shown):     # a re-segmentation: show nothing new yet
            return ""
        new, self.shown = text[len(self.shown):], text
        return new

    def finish(self) -> str:
        """The text not shown yet at the end (a held-back or re-segmented tail)."""
        if self.tokenizer is None:
            return ""
        text = self.tokenizer.decode(self.ids)
        rest = text[len(self.shown):] if text.startswith(self.shown) else ""
        self.shown = text if rest else self.shown
        return rest
