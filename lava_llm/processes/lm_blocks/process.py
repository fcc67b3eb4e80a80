"""Processes of the LM's non-recurrent parts: RMSNorm, GLU, the fused channel-mixer block,
the token-embedding source and the LM-head readout (with sampling)."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import LogConfig
from lava.magma.core.process.variable import Var

from lava_llm import fixed_point as fp
from lava_llm import validation as V
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.processes.base import ValidatedProcess


class RMSNorm(ValidatedProcess):
    r"""RMS normalisation with a per-channel gain.

    Dynamics (each time step)::

        float:  s_out = a_in / sqrt(mean(a_in**2) + eps) * weight
        fixed:  ss = sum(a_in**2) + eps_q;  r = rsqrt_fixed(ss)        (integer 1/sqrt, LUT)
                s_out = sat24((((a_in * r) >> k) * wm) >> ws)

    ``wm``/``ws`` fold ``weight * sqrt(n)`` and the output format into a 16-bit multiplier per
    channel (:func:`lava_llm.processes.lm_blocks.kernels.make_int_norm`). Input and output
    carry ``in_frac`` / ``out_frac`` fractional bits in the fixed model.
    """

    def __init__(self, *, weight, in_frac: int = lk.GATE_FRAC, out_frac: int = lk.GATE_FRAC,
                 eps: float = 1e-6, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        w = V.check_ndim("weight", V.check_finite("weight", weight), 1).astype(np.float64)
        n = w.size
        V.check_int("in_frac", in_frac, 4, 16)
        V.check_int("out_frac", out_frac, 0, 20)
        eps = V.check_positive("eps", eps)
        q = lk.make_int_norm(w, in_frac=in_frac, out_frac=out_frac, eps=eps)
        super().__init__(shape=(n,), eps=eps, norm_int=q, name=name, log_config=log_config)
        self.a_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        self.weight = Var(shape=(n,), init=w)
        self.wm = Var(shape=(n,), init=q["wm"])


class GLU(ValidatedProcess):
    r"""Gated linear unit.

    Dynamics (each time step, ``[g, u] = chunk(a_in, 2)``)::

        float:  s_out = SiLU(g) * u
        fixed:  s_out = sat24(silu_fixed(g) * u >> 12)      (12 fractional bits in and out)
    """

    def __init__(self, *, n: int, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        n = V.check_int("n", n, 1)
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(2 * n,))
        self.s_out = OutPort(shape=(n,))


class ResidualAdd(ValidatedProcess):
    r"""Residual connection.

    Dynamics (each time step)::

        float:  s_out = s_in + a_in
        fixed:  s_out = sat24(s_in + a_in)       (both inputs in the same fixed-point format)

    ``s_in`` carries the skip path (the residual stream), ``a_in`` the branch output.
    """

    def __init__(self, *, n: int, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        n = V.check_int("n", n, 1)
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.s_in = InPort(shape=(n,))
        self.a_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))


class GLUBlock(ValidatedProcess):
    r"""Fused HGRNBit channel mixer (one leaf).

    Dynamics (each time step, ``x = a_in``)::

        m = RMSNorm(x) * mlp_norm;  [g, u] = chunk(BL_gate(m), 2)
        s_out = x + BL_down(SiLU(g) * u)

    Float: float64 with per-token absmax int8 BitLinear inputs; fixed: the integer kernels
    (:func:`lava_llm.processes.lm_blocks.kernels.glu_block_int`), 24-bit saturating.
    """

    def __init__(self, *, layer_float: dict, layer_int: ty.Optional[dict] = None,
                 eps: float = 1e-6, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        if not isinstance(layer_float, dict) or "gate" not in layer_float:
            raise ValueError("layer_float must be a layer dict with 'gate', 'down', 'mlp_norm'")
        H = int(np.size(layer_float["mlp_norm"]))
        shp_g, shp_d = np.shape(layer_float["gate"].trits), np.shape(layer_float["down"].trits)
        if shp_g[1] != H or shp_d[0] != H or shp_g[0] != 2 * shp_d[1]:
            raise ValueError(f"GLU weights {shp_g} / {shp_d} do not fit hidden size {H}")
        super().__init__(shape=(H,), layer_float=layer_float, layer_int=layer_int,
                         eps=V.check_positive("eps", eps), name=name, log_config=log_config)
        self.a_in = InPort(shape=(H,))
        self.s_out = OutPort(shape=(H,))


class TokenEmbedding(ValidatedProcess):
    r"""Token source: prompt tokens first, then the fed-back sampled tokens.

    Dynamics (time step ``t``, counting from 0)::

        token  = prompt[t] if t < n_prompt else fed_back
        s_out  = table[token]                    (float; fixed: table_q[token], 24-bit)
        fed_back = a_in                          (received after sending: the readout's
                                                  token of step t feeds step t + 1)

    Sending before receiving lets the readout close the autoregressive loop inside Lava
    (readout -> embedding) without a deadlock, so generation is a single ``run``.

    Parameters
    ----------
    table : array (V, H)
        Float embedding table.
    table_q : array (V, H) of int, optional
        Fixed-point table (24-bit) for the fixed model.
    prompt : array of int
        Prompt token ids (at least 1).
    """

    def __init__(self, *, table, prompt, table_q=None, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        table = V.check_ndim("table", V.check_finite("table", table), 2).astype(np.float64)
        vocab, H = table.shape
        prompt = V.check_int_range("prompt", np.atleast_1d(prompt), 0, vocab - 1)
        if prompt.ndim != 1 or prompt.size < 1:
            raise ValueError(f"prompt must be a non-empty 1-D array of token ids, got shape "
                             f"{prompt.shape}")
        if table_q is None:
            table_q = np.zeros(table.shape, np.int64)
        table_q = V.check_shape("table_q", V.check_int_range("table_q", table_q, -(1 << 23),
                                                             (1 << 23) - 1), table.shape)
        super().__init__(shape=(H,), table=table, table_q=table_q, name=name,
                         log_config=log_config)
        self.a_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=(H,))
        self.prompt = Var(shape=(prompt.size,), init=prompt)
        self.n_prompt = Var(shape=(1,), init=np.array([prompt.size]))
        self.t = Var(shape=(1,), init=np.zeros(1, np.int64))
        self.token = Var(shape=(1,), init=np.array([prompt[0]]))


class LMHead(ValidatedProcess):
    r"""LM head and readout: final RMSNorm, ternary head, sampling.

    Dynamics (time step ``t``; ``x = a_in``)::

        logits = BL_head(RMSNorm(x) * norm)        (fixed: integer logits, LOGIT_FRAC bits)
        token  = sample(logits)   for t >= n_prompt - 1, else 0
        s_out  = token;  tokens[t] = token;  logits_hist[t] = logits (if recorded)

    ``sample`` is greedy (``temperature = 0``) or temperature / top-k sampling with draws from
    a 32-bit xorshift32 state ``prng`` seeded by ``seed`` (the fixed model samples with
    integer weights and an integer draw:
    :func:`lava_llm.processes.lm_blocks.kernels.sample_int`).

    Parameters
    ----------
    head_float, head_int : dict
        Float / integer head parameters (``export.float_model(...)["head"]``,
        ``export.export_int(...)["head"]``).
    n_prompt, n_steps : int
        Prompt length and total time steps that will be run (buffer length).
    record_logits : bool
        Keep the logits of every step in ``logits_hist`` (else only the last, in ``logits``).
    """

    def __init__(self, *, head_float: dict, head_int: ty.Optional[dict] = None,
                 n_prompt: int, n_steps: int, temperature: float = 0.0, top_k: int = 0,
                 seed: int = 0, record_logits: bool = True, eps: float = 1e-6,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        trits = head_float["lm_head"].trits
        vocab, H = np.shape(trits)
        temperature, top_k = lk.check_sampling(temperature, top_k, vocab,
                                               fixed=head_int is not None)
        n_prompt = V.check_int("n_prompt", n_prompt, 1)
        n_steps = V.check_int("n_steps", n_steps, n_prompt)
        seed = V.check_int("seed", seed, 0, (1 << 63) - 1)
        super().__init__(shape=(vocab,), head_float=head_float, head_int=head_int,
                         temperature=temperature, top_k=top_k, seed=seed,
                         eps=V.check_positive("eps", eps), name=name, log_config=log_config)
        self.a_in = InPort(shape=(H,))
        self.s_out = OutPort(shape=(1,))
        self.n_prompt = Var(shape=(1,), init=np.array([n_prompt]))
        self.t = Var(shape=(1,), init=np.zeros(1, np.int64))
        self.tokens = Var(shape=(n_steps,), init=np.zeros(n_steps, np.int64))
        self.logits = Var(shape=(vocab,), init=np.zeros(vocab))
        hist = n_steps if record_logits else 1
        self.logits_hist = Var(shape=(hist, vocab), init=np.zeros((hist, vocab)))
        self.prng = Var(shape=(1,), init=fp.prng_states(seed, (1,)).astype(np.int64))
