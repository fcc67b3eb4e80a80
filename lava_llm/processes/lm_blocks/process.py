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
from lava_llm.processes.lm_blocks import var_layout as vl
from lava_llm.processes.base import ValidatedProcess


class RMSNorm(ValidatedProcess):
    r"""RMS normalisation with a per-channel gain (neurons with a reduction over channels).

    Dynamics (each time step)::

        float:  y = a_in / sqrt(mean(a_in**2) + eps) * weight
                s_out = y, or with quantize: q8(y) (per-token absmax int8, as q / s)
        fixed:  ss = sum(a_in**2) + eps_q;  r, k = rsqrt_norm(ss)      (integer 1/sqrt:
                                                     LUT + 2 Newton steps, r a 23-bit mantissa)
                s_out = sat_b(((a_in * r >> k) * wm) >> ws)    b = out_bits

    ``wm``/``ws`` fold ``weight * sqrt(n)`` and the output format into a 16-bit multiplier per
    channel (:func:`lava_llm.processes.lm_blocks.kernels.make_int_norm`). Input and output
    carry ``in_frac`` / ``out_frac`` fractional bits in the fixed model; ``out_bits`` is 24
    (a graded message) or, with ``quantize=True``, 8 (the int8 input of a BitLinear synapse
    with a static input scale, folded into ``norm_int``'s gains; the per-token dynamic
    quantiser of the shipped design is :class:`AbsmaxRMSNorm`).

    Parameters
    ----------
    weight : array (n,)
        Gain.
    in_frac, out_frac : int
        Fixed-point formats (ignored when ``norm_int`` is given).
    eps : float
        Epsilon.
    quantize : bool
        BitLinear front end with a static scale: int8 output.
    norm_int : dict, optional
        Precomputed integer parameters (``wm``, ``ws``, ``eps_q``, ``in_frac``), e.g. a
        BitLinear's from :func:`~lava_llm.processes.lm_blocks.kernels.make_int_linear`.
    """

    def __init__(self, *, weight, in_frac: int = lk.GATE_FRAC, out_frac: int = lk.GATE_FRAC,
                 eps: float = 1e-6, quantize: bool = False,
                 norm_int: ty.Optional[dict] = None, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        _add_norm(self, weight, in_frac, out_frac, eps, norm_int, name, log_config)
        self.out_bits = Var(shape=(1,), init=np.array([fp.ACT_BITS if quantize
                                                        else fp.MSG_BITS]))


def _add_norm(proc, weight, in_frac, out_frac, eps, norm_int, name, log_config) -> int:
    """Checks, ports ``a_in`` / ``s_out`` and Vars shared by the two RMSNorm Processes."""
    w = V.check_ndim("weight", V.check_finite("weight", weight), 1).astype(np.float64)
    n = w.size
    V.check_int("in_frac", in_frac, 4, 16)
    V.check_int("out_frac", out_frac, 0, 20)
    eps = V.check_positive("eps", eps)
    q = norm_int if norm_int is not None else lk.make_int_norm(
        w, in_frac=in_frac, out_frac=out_frac, eps=eps)
    fp.check_bits("wm", q["wm"], lk.GAIN_BITS)
    V.check_shape("wm", np.asarray(q["wm"]), (n,))
    fp.check_bits("eps_q", q["eps_q"], fp.MSG_BITS)
    ValidatedProcess.__init__(proc, shape=(n,), name=name, log_config=log_config)
    proc.a_in = InPort(shape=(n,))
    proc.s_out = OutPort(shape=(n,))
    proc.weight = Var(shape=(n,), init=w)
    proc.eps = Var(shape=(1,), init=np.array([eps]))
    proc.wm = Var(shape=(n,), init=np.asarray(q["wm"], np.int64))
    proc.ws = Var(shape=(1,), init=np.array([int(q["ws"])]))
    proc.eps_q = Var(shape=(1,), init=np.array([int(q["eps_q"])]))
    proc.in_frac = Var(shape=(1,), init=np.array([int(q["in_frac"])]))
    return n


class AbsmaxRMSNorm(ValidatedProcess):
    r"""RMSNorm followed by the per-token absmax int8 quantiser: the front end of a BitLinear
    with dynamic input scales (the shipped design, as the trained model quantises).

    Dynamics (each time step)::

        float:  y = a_in / sqrt(mean(a_in**2) + eps) * weight
                s_out = q8(y) (per-token absmax int8, as q / s);  s_scale = max|y|
        fixed:  y = RMSNorm_fixed(a_in)                  (as :class:`RMSNorm`, 24-bit)
                m = min(max|y|, 2**23 - 1)              (max reduction over the channels)
                r, e = recip_norm(m, recip_lut)          (count-leading-zeros, LUT, Newton step)
                s_out = sat_b(y * qmax * r >> (23 + e))  (b = act_bits, qmax = 2**(b-1) - 1)
                s_scale = m                              (one 24-bit message per token)

    ``s_scale`` feeds the output rescale of the synapses (:class:`TokenScaledDense`);
    :func:`lava_llm.processes.lm_blocks.kernels.int_dynamic_quant` is the kernel.
    ``recip_lut`` (1024 unsigned 23-bit entries) is a Var.

    Parameters
    ----------
    weight : array (n,)
        Gain.
    eps : float
        Epsilon.
    norm_int : dict, optional
        Integer RMSNorm parameters (``wm``, ``ws``, ``eps_q``, ``in_frac``), e.g. a
        BitLinear's from :func:`~lava_llm.processes.lm_blocks.kernels.make_int_linear`.
    in_frac, out_frac : int
        Fixed-point formats of the norm when ``norm_int`` is not given.
    act_bits : int
        Width of the quantised output (8 for the Lava ports).
    """

    def __init__(self, *, weight, in_frac: int = lk.GATE_FRAC, out_frac: int = lk.GATE_FRAC,
                 eps: float = 1e-6, norm_int: ty.Optional[dict] = None, act_bits: int = 8,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        act_bits = V.check_int("act_bits", act_bits, fp.ACT_BITS, fp.ACT_BITS)
        _add_norm(self, weight, in_frac, out_frac, eps, norm_int, name, log_config)
        self.s_scale = OutPort(shape=(1,))
        self.out_bits = Var(shape=(1,), init=np.array([act_bits]))
        vl.add_recip_lut(self)


class TokenScaledDense(ValidatedProcess):
    r"""Ternary synapses whose output rescale multiplies by a per-token scale: the synapse
    half of a BitLinear with per-token dynamic int8 inputs.

    Dynamics (each time step; ``q = s_in`` the int8 codes, ``m = s_scale`` the token's max
    from :class:`AbsmaxRMSNorm`)::

        float:  a_out = scale * W_t @ s_in                       (s_in already dequantised)
        fixed:  acc   = (W_t @ sat8(q)) << weight_exp              (dendritic sums)
                k = max(bit_length(m) - 16, 0);  mh = m >> k      (16-bit mantissa of m)
                a_out = sat24(acc * mh * mant >> (shift - k))

    ``mant`` / ``shift`` = ``alpha / qmax * 2**(out_frac - y_frac)`` (16-bit,
    :func:`~lava_llm.processes.lm_blocks.kernels.make_int_linear`). Two models: the fused
    ``PyTokenScaledDenseModel{Float,Fixed}`` and ``SubTokenScaledDenseModel``
    (``granularity="fine"``): a :class:`~lava_llm.processes.ternary_dense.process.TernarySynapse`
    feeding :class:`TokenRescale` neurons (bit-exact while the dendritic sum fits 24 bits).

    Parameters
    ----------
    weights : array (out, in) of {-1, 0, +1}
    scale : float
        ``alpha`` of the float model (> 0).
    mant, shift : int
        The fixed model's rescale (16-bit unsigned ``mant``, ``shift`` in [0, 62]).
    weight_exp : int
        Synaptic weight exponent in [0, 7].
    """

    def __init__(self, *, weights, scale: float, mant: int, shift: int, weight_exp: int = 0,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        trits = V.check_ternary("weights", V.check_ndim("weights", weights, 2))
        n_out, n_in = trits.shape
        if n_out == 0 or n_in == 0:
            raise ValueError(f"weights must be non-empty, got shape {trits.shape}")
        scale = V.check_positive("scale", scale)
        mant = V.check_int("mant", mant, 0, (1 << 16) - 1)
        shift = V.check_int("shift", shift, 0, 62)
        weight_exp = V.check_int("weight_exp", weight_exp, 0, 7)
        if shift < weight_exp:
            raise ValueError(f"shift={shift} must be >= weight_exp={weight_exp}")
        super().__init__(shape=(n_out, n_in), name=name, log_config=log_config)
        self.s_in = InPort(shape=(n_in,))
        self.s_scale = InPort(shape=(1,))
        self.a_out = OutPort(shape=(n_out,))
        self.weights = Var(shape=(n_out, n_in), init=trits)
        self.weight_exp = Var(shape=(1,), init=np.array([weight_exp]))
        self.scale = Var(shape=(1,), init=np.array([scale]))
        self.mant = Var(shape=(1,), init=np.array([mant]))
        self.shift = Var(shape=(1,), init=np.array([shift]))


class TokenRescale(ValidatedProcess):
    r"""Post-synaptic neurons that rescale dendritic sums by a per-token scale: the neuron
    half of :class:`TokenScaledDense`.

    Dynamics (each time step; ``m = s_in``, one 24-bit value per token)::

        float:  s_out = scale * a_in
        fixed:  k = max(bit_length(m) - 16, 0)
                s_out = sat24(a_in * (m >> k) * mant >> (shift - k))
    """

    def __init__(self, *, n: int, scale: float = 1.0, mant: int = 1, shift: int = 0,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        n = V.check_int("n", n, 1)
        scale = V.check_positive("scale", scale)
        mant = V.check_int("mant", mant, 0, (1 << 16) - 1)
        shift = V.check_int("shift", shift, 0, 62)
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(n,))
        self.s_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=(n,))
        self.scale = Var(shape=(1,), init=np.array([scale]))
        self.mant = Var(shape=(1,), init=np.array([mant]))
        self.shift = Var(shape=(1,), init=np.array([shift]))


class GLU(ValidatedProcess):
    r"""Gated linear unit.

    Dynamics (each time step, ``[g, u] = chunk(a_in, 2)``)::

        float:  s_out = SiLU(g) * u
        fixed:  s_out = sat24(silu_int(g) * u >> 16)      (16 fractional bits in and out)
    """

    def __init__(self, *, n: int, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        n = V.check_int("n", n, 1)
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(2 * n,))
        self.s_out = OutPort(shape=(n,))


class SiLUGate(ValidatedProcess):
    r"""Two-input gate: the token mixer's output gate ``SiLU(h) * norm(g)``.

    Dynamics (each time step)::

        float:  s_out = SiLU(a_in) * s_in
        fixed:  s_out = sat24(silu_int(a_in) * s_in >> 16)     (16 fractional bits)

    The same neuron as :class:`GLU` with its two halves on two ports (Lava 0.10 cannot
    concatenate OutPorts into one InPort).
    """

    def __init__(self, *, n: int, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        n = V.check_int("n", n, 1)
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(n,))
        self.s_in = InPort(shape=(n,))
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
    r"""HGRNBit channel mixer: a hierarchical Process with a fused and a fine-grained model.

    Dynamics (each time step, ``x = a_in``)::

        m = RMSNorm(x) * mlp_norm;  [g, u] = chunk(BL_gate(m), 2)
        s_out = x + BL_down(SiLU(g) * u)

    Float: float64 with per-token absmax int8 BitLinear inputs; fixed: the integer kernels
    (:func:`lava_llm.processes.lm_blocks.kernels.glu_block_int`), 24-bit saturating.

    Models: the fused ``PyGLUBlockModel{Float,Fixed}`` (one leaf, fast on CPU) and
    ``SubGLUBlockModel`` (``select_sub_proc_model=True``, i.e. ``granularity="fine"``): the
    :data:`FINE_PROCESSES` neuron and synapse Processes RMSNorm -> RMSNorm(q8) -> TernaryDense
    (gate) -> GLU -> RMSNorm(q8) -> TernaryDense (down) -> ResidualAdd. Every parameter is a
    Var (:mod:`lava_llm.processes.lm_blocks.var_layout`: ``gate_*``, ``down_*``,
    ``mlp_norm_*``, ``eps``).
    """

    #: Component Processes of the fine-grained form (2 of them TernaryDense, each a
    #: TernarySynapse and a Rescale leaf): 9 leaves.
    FINE_PROCESSES = 7
    FINE_LEAVES = 7 + 2

    def __init__(self, *, layer_float: dict, layer_int: ty.Optional[dict] = None,
                 eps: float = 1e-6, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        if not isinstance(layer_float, dict) or "gate" not in layer_float:
            raise ValueError("layer_float must be a layer dict with 'gate', 'down', 'mlp_norm'")
        H = int(np.size(layer_float["mlp_norm"]))
        shp_g, shp_d = np.shape(layer_float["gate"].trits), np.shape(layer_float["down"].trits)
        if shp_g[1] != H or shp_d[0] != H or shp_g[0] != 2 * shp_d[1]:
            raise ValueError(f"GLU weights {shp_g} / {shp_d} do not fit hidden size {H}")
        eps = V.check_positive("eps", eps)
        super().__init__(shape=(H,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(H,))
        self.s_out = OutPort(shape=(H,))
        self.eps = Var(shape=(1,), init=np.array([eps]))
        q = layer_int or {}
        for k in ("gate", "down"):
            vl.add_linear_vars(self, k, layer_float[k], q.get(k))
        vl.add_recip_lut(self)
        vl.add_norm_vars(self, "mlp_norm", layer_float["mlp_norm"], q.get("mlp_norm"))


class TokenEmbedding(ValidatedProcess):
    r"""Token source: prompt tokens first, then the fed-back sampled tokens.

    Dynamics (time step ``t``, counting from 0)::

        token  = prompt[t] if t < n_prompt else fed_back
        s_out  = table[token]                    (float; fixed: table_q[token], 24-bit)
        fed_back = a_in                          (received after sending: the readout's
                                                  token of step t feeds step t + 1)

    ``table`` / ``table_q`` are Vars (the float and the 24-bit table).

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
        super().__init__(shape=(H,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=(H,))
        self.table = Var(shape=table.shape, init=table)
        self.table_q = Var(shape=table.shape, init=table_q)
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

    Two models: the fused ``PyLMHeadModel{Float,Fixed}`` (one leaf) and ``SubLMHeadModel``
    (``granularity="fine"``): RMSNorm -> RMSNorm(q8) -> TernaryDense(lm_head) -> :class:`Readout`,
    whose ``t``, ``tokens``, ``logits``, ``logits_hist`` and ``prng`` these Vars alias.

    ``sample`` is greedy (``temperature = 0``) or temperature / top-k / top-p (nucleus)
    sampling with draws from a 32-bit xorshift32 state ``prng`` seeded by ``seed`` (the
    fixed model samples with integer weights and an integer draw:
    :func:`lava_llm.processes.lm_blocks.kernels.sample_int`).

    Every parameter is a Var: ``norm_*`` (final RMSNorm), ``lm_head_*`` (the ternary head,
    :mod:`~lava_llm.processes.lm_blocks.var_layout`), ``temperature``, ``top_k``, ``top_p``,
    ``eps``.

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
                 top_p: float = 1.0, seed: int = 0, record_logits: bool = True,
                 eps: float = 1e-6,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        trits = head_float["lm_head"].trits
        vocab, H = np.shape(trits)
        temperature, top_k = lk.check_sampling(temperature, top_k, vocab,
                                               fixed=head_int is not None)
        n_prompt, n_steps, seed = _check_steps(n_prompt, n_steps, seed)
        eps = V.check_positive("eps", eps)
        top_p = lk.check_top_p(top_p)
        super().__init__(shape=(vocab,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(H,))
        self.s_out = OutPort(shape=(1,))
        _add_sampler_vars(self, vocab=vocab, n_prompt=n_prompt, n_steps=n_steps,
                          record_logits=record_logits, seed=seed, temperature=temperature,
                          top_k=top_k, top_p=top_p)
        self.eps = Var(shape=(1,), init=np.array([eps]))
        q = head_int or {}
        vl.add_norm_vars(self, "norm", head_float["norm"], q.get("norm"))
        vl.add_linear_vars(self, "lm_head", head_float["lm_head"], q.get("lm_head"))
        vl.add_recip_lut(self)

    #: Component Processes / leaves of the fine-grained form (its TernaryDense is 2 leaves).
    FINE_PROCESSES = 4
    FINE_LEAVES = 4 + 1


class Readout(ValidatedProcess):
    r"""The LM's readout neuron: samples a token from the logits it receives.

    Dynamics (time step ``t``; ``logits = a_in``, shape ``(vocab,)``)::

        token = sample(logits)   for t >= n_prompt - 1, else 0
        s_out = token;  tokens[t] = token;  logits_hist[t] = logits (if recorded)

    ``sample`` as in :class:`LMHead` (greedy, or temperature / top-k / top-p with the 32-bit
    xorshift32
    state ``prng``; the fixed model is integer-only). On a chip this is a host / embedded-x86
    function (an argmax over the vocabulary), see ``docs/loihi2_mapping.md``.
    """

    def __init__(self, *, vocab: int, n_prompt: int, n_steps: int, temperature: float = 0.0,
                 top_k: int = 0, seed: int = 0, record_logits: bool = True,
                 top_p: float = 1.0,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        vocab = V.check_int("vocab", vocab, 1)
        # Either model may be chosen at compile time: the fixed sampler's range holds.
        temperature, top_k = lk.check_sampling(temperature, top_k, vocab, fixed=True)
        top_p = lk.check_top_p(top_p)
        n_prompt, n_steps, seed = _check_steps(n_prompt, n_steps, seed)
        super().__init__(shape=(vocab,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(vocab,))
        self.s_out = OutPort(shape=(1,))
        _add_sampler_vars(self, vocab=vocab, n_prompt=n_prompt, n_steps=n_steps,
                          record_logits=record_logits, seed=seed, temperature=temperature,
                          top_k=top_k, top_p=top_p)


def _check_steps(n_prompt, n_steps, seed) -> tuple[int, int, int]:
    """The step counts and seed of a sampling Process (:class:`LMHead`, :class:`Readout`)."""
    n_prompt = V.check_int("n_prompt", n_prompt, 1)
    n_steps = V.check_int("n_steps", n_steps, n_prompt)
    seed = V.check_int("seed", seed, 0, (1 << 63) - 1)
    return n_prompt, n_steps, seed


def _add_sampler_vars(proc, *, vocab: int, n_prompt: int, n_steps: int, record_logits: bool,
                      seed: int, temperature: float, top_k: int, top_p: float) -> None:
    """The sampler's state and settings, declared once for :class:`LMHead` and its
    fine-grained :class:`Readout` (whose Vars the head aliases): ``n_prompt``, ``t``,
    ``tokens``, ``logits``, ``logits_hist`` (every step or only the last), the xorshift32
    state ``prng`` and ``temperature`` / ``top_k`` / ``top_p``."""
    proc.n_prompt = Var(shape=(1,), init=np.array([n_prompt]))
    proc.t = Var(shape=(1,), init=np.zeros(1, np.int64))
    proc.tokens = Var(shape=(n_steps,), init=np.zeros(n_steps, np.int64))
    proc.logits = Var(shape=(vocab,), init=np.zeros(vocab))
    hist = n_steps if record_logits else 1
    proc.logits_hist = Var(shape=(hist, vocab), init=np.zeros((hist, vocab)))
    proc.prng = Var(shape=(1,), init=fp.prng_states(seed, (1,)).astype(np.int64))
    proc.temperature = Var(shape=(1,), init=np.array([temperature]))
    proc.top_k = Var(shape=(1,), init=np.array([top_k]))
    proc.top_p = Var(shape=(1,), init=np.array([top_p]))
