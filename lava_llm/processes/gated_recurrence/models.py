"""ProcessModels of MLGRU and MLGRUBlock: thin wrappers over :mod:`.kernels`.

Models never raise inside ``run_spk`` (Lava 0.10 would hang): inputs were validated by the
Process constructors, and the fixed models saturate instead of failing.
"""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm.processes.gated_recurrence import kernels as gk
from lava_llm.processes.gated_recurrence.process import MLGRU, MLGRUBlock
from lava_llm.processes.base import SingleBlasThreadModel


@implements(proc=MLGRU, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyMLGRUModelFloat(SingleBlasThreadModel):
    """Float64 MLGRU neurons."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    h: np.ndarray = LavaPyType(np.ndarray, float)
    lb: np.ndarray = LavaPyType(np.ndarray, float)
    lb_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=13)

    def run_spk(self):
        i_pre, f_pre = np.split(self.a_in.recv(), 2)
        self.h[:] = gk.mlgru_step_float(i_pre, f_pre, self.h, self.lb)
        self.s_out.send(self.h.copy())


@implements(proc=MLGRU, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyMLGRUModelFixed(SingleBlasThreadModel):
    """Integer MLGRU neurons: 24-bit graded in/out, 24-bit state, LUT gates."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    h: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    lb: np.ndarray = LavaPyType(np.ndarray, float)  # host-side only
    lb_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=13)

    def run_spk(self):
        i_pre, f_pre = np.split(self.a_in.recv().astype(np.int64), 2)
        self.h[:] = gk.mlgru_step_int(i_pre, f_pre, self.h, self.lb_q)
        self.s_out.send(self.h.astype(np.int32))


@implements(proc=MLGRUBlock, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyMLGRUBlockModelFloat(SingleBlasThreadModel):
    """Float64 token mixer (torch-equivalent)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    h: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        x = self.a_in.recv().astype(np.float64)[None]
        p, eps = self.proc_params["layer_float"], self.proc_params["eps"]
        i, f, g = gk.mixer_pre_float(x, p, eps)
        self.h[:] = gk.mlgru_step_float(i[0], f[0], self.h, p["lb"])
        self.s_out.send(gk.mixer_post_float(x, self.h[None], g, p, eps)[0])


@implements(proc=MLGRUBlock, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyMLGRUBlockModelFixed(SingleBlasThreadModel):
    """Integer token mixer: 24-bit residual in/out, int8 BitLinear inputs, 24-bit state."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    h: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def run_spk(self):
        x = self.a_in.recv().astype(np.int64)[None]
        p = self.proc_params["layer_int"]
        i, f, g = gk.mixer_pre_int(x, p)
        self.h[:] = gk.mlgru_step_int(i[0], f[0], self.h.astype(np.int64), p["lb_q"])
        y = gk.mixer_post_int(x, self.h.astype(np.int64)[None], g, p)
        self.s_out.send(y[0].astype(np.int32))
