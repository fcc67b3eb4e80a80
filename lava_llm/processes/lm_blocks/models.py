"""ProcessModels of RMSNorm, AbsmaxRMSNorm, GLU, SiLUGate, ResidualAdd, TokenScaledDense, TokenRescale,
GLUBlock, TokenEmbedding and LMHead:
thin wrappers over :mod:`.kernels`, reading every parameter from Vars. Nothing raises inside
``run_spk`` (inputs are validated by the Processes; fixed models saturate).

GLUBlock has two forms: the fused PyProcessModels (one leaf) and :class:`SubGLUBlockModel`
(``AbstractSubProcessModel``: neuron and synapse Processes), picked by the run config's
``select_sub_proc_model`` (:func:`lava_llm.run.run_config` ``granularity``)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.sub.model import AbstractSubProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm import fixed_point as fp
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.processes.lm_blocks import var_layout as vl
from lava_llm.processes.ternary_dense import kernels as td
from lava_llm.processes.ternary_dense.models import _RescaleBase  # scale, mant, shift Vars
from lava_llm.processes.lm_blocks.process import (GLU, AbsmaxRMSNorm, GLUBlock, LMHead, Readout, ResidualAdd,
                                                   RMSNorm, SiLUGate, TokenEmbedding,
                                                   TokenRescale, TokenScaledDense)
from lava_llm.processes.base import SingleBlasThreadModel


class _RMSNormBase(SingleBlasThreadModel):
    weight: np.ndarray = LavaPyType(np.ndarray, float)  # float model; host-side for fixed
    eps: np.ndarray = LavaPyType(np.ndarray, float)
    wm: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    ws: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=6)
    eps_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    in_frac: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=5)
    out_bits: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=5)

    def _norm_float(self):
        return lk.rms_norm(self.a_in.recv(), self.weight, float(self.eps[0]))

    def _norm_fixed(self):
        return lk.int_rms_norm(self.a_in.recv().astype(np.int64), int(self.in_frac[0]),
                               self.wm, int(self.ws[0]), int(self.eps_q[0]))


@implements(proc=RMSNorm, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyRMSNormModelFloat(_RMSNormBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        y = self._norm_float()
        if int(self.out_bits[0]) == fp.ACT_BITS:  # BitLinear front end: int8 fake quant
            q, sc = fp.int8_absmax_per_token(y)
            y = q / sc
        self.s_out.send(y)


@implements(proc=RMSNorm, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyRMSNormModelFixed(_RMSNormBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        y = self._norm_fixed()
        self.s_out.send(fp.saturate(y, int(self.out_bits[0])).astype(np.int32))


class _AbsmaxRMSNormBase(_RMSNormBase):
    recip_lut: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=vl.RECIP_LUT_BITS)


@implements(proc=AbsmaxRMSNorm, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyAbsmaxRMSNormModelFloat(_AbsmaxRMSNormBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_scale: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        y = self._norm_float()
        q, sc = fp.int8_absmax_per_token(y, bits=int(self.out_bits[0]))
        self.s_out.send(q / sc)
        self.s_scale.send(np.array([np.max(np.abs(y))]))


@implements(proc=AbsmaxRMSNorm, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyAbsmaxRMSNormModelFixed(_AbsmaxRMSNormBase):
    """Integer RMSNorm, max reduction, reciprocal LUT + Newton step: int8 codes on ``s_out``,
    the token's 24-bit max on ``s_scale``."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_scale: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        q, m = lk.int_dynamic_quant(self._norm_fixed(), int(self.out_bits[0]), self.recip_lut)
        self.s_out.send(q.astype(np.int32))
        self.s_scale.send(m.astype(np.int32))


@implements(proc=GLU, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyGLUModelFloat(SingleBlasThreadModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        self.s_out.send(lk.glu(self.a_in.recv()))


@implements(proc=GLU, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyGLUModelFixed(SingleBlasThreadModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        self.s_out.send(lk.int_glu(self.a_in.recv().astype(np.int64)).astype(np.int32))


@implements(proc=SiLUGate, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySiLUGateModelFloat(SingleBlasThreadModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        g = self.a_in.recv().astype(np.float64)
        self.s_out.send(lk.glu(np.concatenate([g, self.s_in.recv().astype(np.float64)])))


@implements(proc=SiLUGate, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySiLUGateModelFixed(SingleBlasThreadModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        g = self.a_in.recv().astype(np.int64)
        z = np.concatenate([g, self.s_in.recv().astype(np.int64)])
        self.s_out.send(lk.int_glu(z).astype(np.int32))


@implements(proc=ResidualAdd, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyResidualAddModelFloat(SingleBlasThreadModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        self.s_out.send(self.s_in.recv() + self.a_in.recv())


@implements(proc=ResidualAdd, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyResidualAddModelFixed(SingleBlasThreadModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        y = self.s_in.recv().astype(np.int64) + self.a_in.recv().astype(np.int64)
        self.s_out.send(fp.saturate(y, fp.MSG_BITS).astype(np.int32))


class _GLUBlockBase(SingleBlasThreadModel):
    eps: np.ndarray = LavaPyType(np.ndarray, float)

    def _layer(self, fixed: bool) -> dict:
        if getattr(self, "_params", None) is None:
            if fixed:
                self._params = {k: vl.read_linear_int(self, k) for k in ("gate", "down")}
                self._params["mlp_norm"] = vl.read_norm_int(self, "mlp_norm")
            else:
                self._params = {k: vl.read_linear_float(self, k) for k in ("gate", "down")}
                self._params["mlp_norm"] = vl.read_gain(self, "mlp_norm")
        return self._params


vl.install_types(_GLUBlockBase, linears=("gate", "down"), norms=("mlp_norm",))


@implements(proc=GLUBlock, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyGLUBlockModelFloat(_GLUBlockBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        x = self.a_in.recv().astype(np.float64)
        self.s_out.send(lk.glu_block_float(x, self._layer(False), float(self.eps[0])))


@implements(proc=GLUBlock, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyGLUBlockModelFixed(_GLUBlockBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        x = self.a_in.recv().astype(np.int64)
        self.s_out.send(lk.glu_block_int(x, self._layer(True)).astype(np.int32))


def bitlinear_pair(proc, key: str, eps: float, name: str):
    """The fine form of BitLinear ``key`` of ``proc``, built from ``proc``'s Vars: an int8
    RMSNorm neuron and its synapses with the output rescale. Per-token dynamic inputs
    (``key_act`` = 1, the shipped design): AbsmaxRMSNorm -> TokenScaledDense, the norm's
    per-token max on ``s_scale``; static: RMSNorm(quantize=True) -> TernaryDense. Returns ``(norm, synapse)``, not yet connected to their neighbours."""
    from lava_llm.processes.ternary_dense import TernaryDense

    v = lambda s: vl.var_value(proc, f"{key}_{s}")  # noqa: E731
    dynamic = vl.act_name(v("act")[0]) == "dynamic"
    nkw = dict(weight=v("norm_weight"), eps=eps, norm_int=vl.read_norm_int(proc, key),
               name=f"{name}.{key}_norm")
    if dynamic:
        norm = AbsmaxRMSNorm(act_bits=int(v("act_bits")[0]), **nkw)
        norm.recip_lut.init = vl.var_value(proc, "recip_lut").astype(np.int64).copy()
    else:
        norm = RMSNorm(quantize=True, **nkw)
    kw = dict(weights=v("weights"), scale=float(v("scale")[0]), mant=int(v("mant")[0]),
              shift=int(v("shift")[0]), weight_exp=int(v("weight_exp")[0]),
              name=f"{name}.{key}_syn")
    if dynamic:
        syn = TokenScaledDense(**kw)
        norm.s_scale.connect(syn.s_scale)
    else:
        syn = TernaryDense(**kw)
    norm.s_out.connect(syn.s_in)
    return norm, syn


def plain_norm(proc, key: str, eps: float, name: str) -> RMSNorm:
    """An RMSNorm neuron Process (24-bit output) from ``proc``'s ``key_*`` Vars."""
    return RMSNorm(weight=vl.read_gain(proc, key), eps=eps,
                   norm_int=vl.read_norm_int(proc, key), name=f"{name}.{key}")


@implements(proc=GLUBlock, protocol=LoihiProtocol)
class SubGLUBlockModel(AbstractSubProcessModel):
    """Fine-grained channel mixer::

        a_in -+-> RMSNorm(mlp_norm) -> RMSNorm(q8) -> TernaryDense(gate) -> GLU
              |     -> RMSNorm(q8) -> TernaryDense(down) -> ResidualAdd.a_in
              +-----------------------------------------> ResidualAdd.s_in -> s_out

    The same for both tags (the leaves pick their float or fixed model).
    """

    def __init__(self, proc):
        eps = float(vl.var_value(proc, "eps")[0])
        name = proc.name
        inter = vl.var_value(proc, "down_weights").shape[1]
        self.mlp_norm = plain_norm(proc, "mlp_norm", eps, name)
        self.gate_norm, self.gate_syn = bitlinear_pair(proc, "gate", eps, name)
        self.glu = GLU(n=inter, name=f"{name}.glu")
        self.down_norm, self.down_syn = bitlinear_pair(proc, "down", eps, name)
        self.residual = ResidualAdd(n=proc.a_in.shape[0], name=f"{name}.residual")
        proc.a_in.connect([self.mlp_norm.a_in, self.residual.s_in])
        self.mlp_norm.s_out.connect(self.gate_norm.a_in)
        self.gate_syn.a_out.connect(self.glu.a_in)
        self.glu.s_out.connect(self.down_norm.a_in)
        self.down_syn.a_out.connect(self.residual.a_in)
        self.residual.s_out.connect(proc.s_out)


class _EmbeddingBase(SingleBlasThreadModel):
    prompt: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    n_prompt: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    t: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    token: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    table: np.ndarray = LavaPyType(np.ndarray, float)  # float model; host-side for fixed
    table_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def _token(self) -> int:
        t = int(self.t[0])
        return int(self.prompt[t]) if t < int(self.n_prompt[0]) else int(self.token[0])

    def _feedback(self, token) -> None:
        vocab = self.table.shape[0]
        self.token[0] = int(np.clip(np.rint(token[0]), 0, vocab - 1))
        self.t[0] += 1


@implements(proc=TokenEmbedding, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTokenEmbeddingModelFloat(_EmbeddingBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        self.s_out.send(self.table[self._token()].copy())
        self._feedback(self.a_in.recv())


@implements(proc=TokenEmbedding, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTokenEmbeddingModelFixed(_EmbeddingBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        self.s_out.send(self.table_q[self._token()].astype(np.int32))
        self._feedback(self.a_in.recv())


class _SamplerBase(SingleBlasThreadModel):
    n_prompt: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    t: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    tokens: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    prng: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    temperature: np.ndarray = LavaPyType(np.ndarray, float)  # host-made sampler constant
    top_k: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    top_p: np.ndarray = LavaPyType(np.ndarray, float)  # host-made sampler constant

    def _emit(self, logits, sampler) -> None:
        t = int(self.t[0])
        self.logits[:] = logits
        self.logits_hist[min(t, self.logits_hist.shape[0] - 1)] = logits
        token = 0
        if t >= int(self.n_prompt[0]) - 1:
            token, self.prng[0] = sampler(logits, int(self.prng[0]),
                                          float(self.temperature[0]), int(self.top_k[0]),
                                          float(self.top_p[0]))
        if t < self.tokens.shape[0]:
            self.tokens[t] = token
        self.t[0] = t + 1
        return token


class _HeadBase(_SamplerBase):
    eps: np.ndarray = LavaPyType(np.ndarray, float)

    def _head(self, fixed: bool) -> dict:
        if getattr(self, "_params", None) is None:
            if fixed:
                self._params = {"norm": vl.read_norm_int(self, "norm"),
                                "lm_head": vl.read_linear_int(self, "lm_head")}
            else:
                self._params = {"norm": vl.read_gain(self, "norm"),
                                "lm_head": vl.read_linear_float(self, "lm_head")}
        return self._params


vl.install_types(_HeadBase, linears=("lm_head",), norms=("norm",))


@implements(proc=LMHead, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLMHeadModelFloat(_HeadBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    logits: np.ndarray = LavaPyType(np.ndarray, float)
    logits_hist: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        x = self.a_in.recv().astype(np.float64)
        logits = lk.head_float(x, self._head(False), float(self.eps[0]))
        self.s_out.send(np.array([float(self._emit(logits, lk.sample_float))]))


@implements(proc=LMHead, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLMHeadModelFixed(_HeadBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    logits: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    logits_hist: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def run_spk(self):
        x = self.a_in.recv().astype(np.int64)
        logits = lk.head_int(x, self._head(True))
        self.s_out.send(np.array([self._emit(logits, lk.sample_int)], np.int32))


@implements(proc=LMHead, protocol=LoihiProtocol)
class SubLMHeadModel(AbstractSubProcessModel):
    """Fine-grained head: ``a_in -> RMSNorm(norm) -> RMSNorm(q8) -> TernaryDense(lm_head) ->
    Readout -> s_out``; the head's state Vars alias the Readout's."""

    def __init__(self, proc):
        eps = float(vl.var_value(proc, "eps")[0])
        name = proc.name
        n_steps = proc.tokens.shape[0]
        self.norm = plain_norm(proc, "norm", eps, name)
        self.lm_head_norm, self.lm_head_syn = bitlinear_pair(proc, "lm_head", eps, name)
        self.readout = Readout(vocab=proc.logits.shape[0],
                               n_prompt=int(vl.var_value(proc, "n_prompt")[0]),
                               n_steps=n_steps,
                               temperature=float(vl.var_value(proc, "temperature")[0]),
                               top_k=int(vl.var_value(proc, "top_k")[0]),
                               top_p=float(vl.var_value(proc, "top_p")[0]),
                               record_logits=proc.logits_hist.shape[0] == n_steps,
                               name=f"{name}.readout")
        self.readout.prng.init = vl.var_value(proc, "prng").astype(np.int64).copy()
        proc.a_in.connect(self.norm.a_in)
        self.norm.s_out.connect(self.lm_head_norm.a_in)
        self.lm_head_syn.a_out.connect(self.readout.a_in)
        self.readout.s_out.connect(proc.s_out)
        for v in ("t", "tokens", "logits", "logits_hist", "prng"):
            getattr(proc, v).alias(getattr(self.readout, v))


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyReadoutModelFloat(_SamplerBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    logits: np.ndarray = LavaPyType(np.ndarray, float)
    logits_hist: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        logits = self.a_in.recv().astype(np.float64)
        self.s_out.send(np.array([float(self._emit(logits, lk.sample_float))]))


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyReadoutModelFixed(_SamplerBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    logits: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    logits_hist: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def run_spk(self):
        logits = self.a_in.recv().astype(np.int64)
        self.s_out.send(np.array([self._emit(logits, lk.sample_int)], np.int32))


class _TokenScaledDenseBase(_RescaleBase):
    # the rescale Vars (scale, mant, shift) of ternary_dense's Rescale, plus the synapses
    weights: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=8)
    weight_exp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=3)


@implements(proc=TokenScaledDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTokenScaledDenseModelFloat(_TokenScaledDenseBase):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_scale: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        x = self.s_in.recv().astype(np.float64)
        self.s_scale.recv()   # the input is already dequantised in the float model
        self.a_out.send(td.float_step(x, self.weights, float(self.scale[0])))


@implements(proc=TokenScaledDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTokenScaledDenseModelFixed(_TokenScaledDenseBase):
    """int8 codes and the token's 24-bit max in, ternary accumulate, per-token rescale,
    24-bit out (:func:`lava_llm.processes.lm_blocks.kernels.int_dynamic_rescale`)."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=8)
    s_scale: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        q = fp.saturate(self.s_in.recv().astype(np.int64), fp.ACT_BITS)
        m = self.s_scale.recv().astype(np.int64)
        acc = lk.int_linear_acc(q, self.weights)
        shift = int(self.shift[0]) - int(self.weight_exp[0])   # exact fold, shift >= exp
        y = lk.int_dynamic_rescale(acc, m, int(self.mant[0]), shift)
        self.a_out.send(fp.saturate(y, fp.MSG_BITS).astype(np.int32))


@implements(proc=TokenScaledDense, protocol=LoihiProtocol)
class SubTokenScaledDenseModel(AbstractSubProcessModel):
    """Fine-grained TokenScaledDense: ``s_in -> TernarySynapse -> TokenRescale.a_in``,
    ``s_scale -> TokenRescale.s_in``, ``TokenRescale -> a_out``."""

    def __init__(self, proc):
        from lava_llm.processes.ternary_dense import fine_kernels as fk
        from lava_llm.processes.ternary_dense.process import TernarySynapse

        w = np.asarray(proc.weights.init)
        e = int(np.asarray(proc.weight_exp.init)[0])
        if not fk.acc_fits(w.shape[1], e):
            raise ValueError(f"{proc.name}: {w.shape[1]} inputs with weight_exp={e} can "
                             "overflow a 24-bit dendritic sum; the fine form needs n_in * 128 "
                             "* 2**weight_exp < 2**23")
        self.synapse = TernarySynapse(weights=w, weight_exp=e, name=f"{proc.name}.synapse")
        self.rescale = TokenRescale(n=w.shape[0], scale=float(np.asarray(proc.scale.init)[0]),
                                    mant=int(np.asarray(proc.mant.init)[0]),
                                    shift=int(np.asarray(proc.shift.init)[0]),
                                    name=f"{proc.name}.rescale")
        proc.s_in.connect(self.synapse.s_in)
        proc.s_scale.connect(self.rescale.s_in)
        self.synapse.a_out.connect(self.rescale.a_in)
        self.rescale.s_out.connect(proc.a_out)


@implements(proc=TokenRescale, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTokenRescaleModelFloat(_RescaleBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        acc = self.a_in.recv().astype(np.float64)
        self.s_in.recv()
        self.s_out.send(float(self.scale[0]) * acc)


@implements(proc=TokenRescale, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTokenRescaleModelFixed(_RescaleBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        acc = self.a_in.recv().astype(np.int64)
        m = self.s_in.recv().astype(np.int64)
        y = lk.int_dynamic_rescale(acc, m, int(self.mant[0]), int(self.shift[0]))
        self.s_out.send(fp.saturate(y, fp.MSG_BITS).astype(np.int32))
