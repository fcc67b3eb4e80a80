"""ProcessModels of RMSNorm, GLU, GLUBlock, TokenEmbedding and LMHead: thin wrappers over
:mod:`.kernels`. Nothing raises inside ``run_spk`` (inputs are validated by the Processes;
fixed models saturate)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm import fixed_point as fp
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.processes.lm_blocks.process import (GLU, GLUBlock, LMHead, ResidualAdd, RMSNorm,
                                                   TokenEmbedding)
from lava_llm.processes.base import SingleBlasThreadModel


@implements(proc=RMSNorm, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyRMSNormModelFloat(SingleBlasThreadModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weight: np.ndarray = LavaPyType(np.ndarray, float)
    wm: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)

    def run_spk(self):
        self.s_out.send(lk.rms_norm(self.a_in.recv(), self.weight, self.proc_params["eps"]))


@implements(proc=RMSNorm, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyRMSNormModelFixed(SingleBlasThreadModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    weight: np.ndarray = LavaPyType(np.ndarray, float)  # host-side only
    wm: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)

    def run_spk(self):
        x = self.a_in.recv().astype(np.int64)
        self.s_out.send(lk.int_norm(x, self.proc_params["norm_int"]).astype(np.int32))


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


@implements(proc=GLUBlock, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyGLUBlockModelFloat(SingleBlasThreadModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        x = self.a_in.recv().astype(np.float64)
        self.s_out.send(lk.glu_block_float(x, self.proc_params["layer_float"],
                                           self.proc_params["eps"]))


@implements(proc=GLUBlock, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyGLUBlockModelFixed(SingleBlasThreadModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        x = self.a_in.recv().astype(np.int64)
        self.s_out.send(lk.glu_block_int(x, self.proc_params["layer_int"]).astype(np.int32))


class _EmbeddingBase(SingleBlasThreadModel):
    prompt: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    n_prompt: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    t: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    token: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def _token(self) -> int:
        t = int(self.t[0])
        return int(self.prompt[t]) if t < int(self.n_prompt[0]) else int(self.token[0])

    def _feedback(self, token) -> None:
        vocab = self.proc_params["table"].shape[0]
        self.token[0] = int(np.clip(np.rint(token[0]), 0, vocab - 1))
        self.t[0] += 1


@implements(proc=TokenEmbedding, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTokenEmbeddingModelFloat(_EmbeddingBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        self.s_out.send(self.proc_params["table"][self._token()].copy())
        self._feedback(self.a_in.recv())


@implements(proc=TokenEmbedding, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTokenEmbeddingModelFixed(_EmbeddingBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        self.s_out.send(self.proc_params["table_q"][self._token()].astype(np.int32))
        self._feedback(self.a_in.recv())


class _HeadBase(SingleBlasThreadModel):
    n_prompt: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    t: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    tokens: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    prng: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)

    def _emit(self, logits, sampler) -> None:
        t = int(self.t[0])
        self.logits[:] = logits
        self.logits_hist[min(t, self.logits_hist.shape[0] - 1)] = logits
        token = 0
        if t >= int(self.n_prompt[0]) - 1:
            token, self.prng[0] = sampler(logits, int(self.prng[0]),
                                          self.proc_params["temperature"],
                                          self.proc_params["top_k"])
        if t < self.tokens.shape[0]:
            self.tokens[t] = token
        self.t[0] = t + 1
        return token


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
        logits = lk.head_float(x, self.proc_params["head_float"], self.proc_params["eps"])
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
        logits = lk.head_int(x, self.proc_params["head_int"])
        self.s_out.send(np.array([self._emit(logits, lk.sample_int)], np.int32))
