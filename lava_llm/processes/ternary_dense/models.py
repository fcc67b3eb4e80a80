"""ProcessModels of TernaryDense: thin wrappers over :mod:`.kernels`."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm.processes.ternary_dense import kernels
from lava_llm.processes.ternary_dense.process import TernaryDense


@implements(proc=TernaryDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTernaryDenseModelFloat(PyLoihiProcessModel):
    """Float reference: ``a_out = scale * W_t @ x`` (optional BitLinear front end)."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=2)
    scale: np.ndarray = LavaPyType(np.ndarray, float)
    mant: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    shift: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=6)
    norm_weight: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        x = self.s_in.recv()
        self.a_out.send(kernels.float_step(
            x, self.weights, float(self.scale[0]), bitlinear=self.proc_params["bitlinear"],
            norm_weight=self.norm_weight, eps=self.proc_params["eps"]))


@implements(proc=TernaryDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTernaryDenseModelFixed(PyLoihiProcessModel):
    """Loihi-2 fixed point: int8 graded in, ternary accumulate, 16-bit rescale, 24-bit out."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=8)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=2)
    scale: np.ndarray = LavaPyType(np.ndarray, float)  # host-side only, unused on chip
    mant: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    shift: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=6)
    norm_weight: np.ndarray = LavaPyType(np.ndarray, float)  # float front end only

    def run_spk(self):
        x = self.s_in.recv()
        self.a_out.send(kernels.int_step(x, self.weights, int(self.mant[0]),
                                         int(self.shift[0])).astype(np.int32))
