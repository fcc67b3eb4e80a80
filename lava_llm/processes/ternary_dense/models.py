"""ProcessModels of TernaryDense (fused models and the sub-process model), TernarySynapse and
Rescale: thin wrappers over :mod:`.kernels` and :mod:`.fine_kernels`."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.sub.model import AbstractSubProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm.processes.base import SingleBlasThreadModel
from lava_llm.processes.ternary_dense import fine_kernels as fk
from lava_llm.processes.ternary_dense import kernels
from lava_llm.processes.ternary_dense.process import Rescale, TernaryDense, TernarySynapse


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


@implements(proc=TernaryDense, protocol=LoihiProtocol)
class SubTernaryDenseModel(AbstractSubProcessModel):
    """Fine-grained TernaryDense: ``s_in -> TernarySynapse -> Rescale -> a_out``."""

    def __init__(self, proc):
        w = np.asarray(proc.weights.init)
        e = int(np.asarray(proc.weight_exp.init)[0])
        if bool(np.asarray(proc.bitlinear.init)[0]):
            raise ValueError(f"{proc.name}: the fine-grained TernaryDense has no BitLinear "
                             "front end (bitlinear=True); put an RMSNorm(quantize=True) "
                             "Process in front instead")
        if not fk.acc_fits(w.shape[1], e):
            raise ValueError(f"{proc.name}: {w.shape[1]} inputs with weight_exp={e} can "
                             "overflow a 24-bit dendritic sum; the fine form needs n_in * 128 "
                             "* 2**weight_exp < 2**23")
        self.synapse = TernarySynapse(weights=w, weight_exp=e, name=f"{proc.name}.synapse")
        self.rescale = Rescale(n=w.shape[0], scale=float(np.asarray(proc.scale.init)[0]),
                               mant=int(np.asarray(proc.mant.init)[0]),
                               shift=int(np.asarray(proc.shift.init)[0]),
                               name=f"{proc.name}.rescale")
        proc.s_in.connect(self.synapse.s_in)
        self.synapse.a_out.connect(self.rescale.a_in)
        self.rescale.s_out.connect(proc.a_out)


class _SynapseBase(SingleBlasThreadModel):
    weights: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=8)
    weight_exp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=3)


@implements(proc=TernarySynapse, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTernarySynapseModelFloat(_SynapseBase):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        self.a_out.send(fk.synapse_float(self.s_in.recv(), self.weights))


@implements(proc=TernarySynapse, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTernarySynapseModelFixed(_SynapseBase):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=8)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        acc = fk.synapse_int(self.s_in.recv(), self.weights, int(self.weight_exp[0]))
        self.a_out.send(acc.astype(np.int32))


class _RescaleBase(SingleBlasThreadModel):
    scale: np.ndarray = LavaPyType(np.ndarray, float)  # float model; host-side for fixed
    mant: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    shift: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=6)


@implements(proc=Rescale, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyRescaleModelFloat(_RescaleBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        self.s_out.send(float(self.scale[0]) * self.a_in.recv())


@implements(proc=Rescale, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyRescaleModelFixed(_RescaleBase):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        y = fk.rescale_int(self.a_in.recv().astype(np.int64), int(self.mant[0]),
                           int(self.shift[0]))
        self.s_out.send(y.astype(np.int32))
