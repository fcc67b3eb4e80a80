"""ProcessModels of TernaryDense: thin wrappers over :mod:`.kernels`."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm.processes.base import SingleBlasThreadModel
from lava_llm.processes.ternary_dense import kernels
from lava_llm.processes.ternary_dense.process import TernaryDense


class _TernaryDenseBase(SingleBlasThreadModel):
    weights: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=8)
    weight_exp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=3)
    scale: np.ndarray = LavaPyType(np.ndarray, float)  # float model; host-side for fixed
    mant: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    shift: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=6)
    norm_weight: np.ndarray = LavaPyType(np.ndarray, float)  # float front end only
    bitlinear: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    eps: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=TernaryDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTernaryDenseModelFloat(_TernaryDenseBase):
    """Float reference: ``a_out = scale * W_t @ x`` (optional BitLinear front end)."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        x = self.s_in.recv()
        self.a_out.send(kernels.float_step(
            x, self.weights, float(self.scale[0]), bitlinear=bool(self.bitlinear[0]),
            norm_weight=self.norm_weight, eps=float(self.eps[0])))


@implements(proc=TernaryDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTernaryDenseModelFixed(_TernaryDenseBase):
    """Loihi-2 fixed point: int8 graded in, ternary accumulate, 16-bit rescale, 24-bit out."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=8)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        x = self.s_in.recv()
        # the weight exponent folds into the rescale's shift (exact; Process checks s >= e)
        shift = int(self.shift[0]) - int(self.weight_exp[0])
        self.a_out.send(kernels.int_step(x, self.weights, int(self.mant[0]),
                                         shift).astype(np.int32))
