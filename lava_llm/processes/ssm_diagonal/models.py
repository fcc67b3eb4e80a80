"""ProcessModels of SSMDiagonal: thin wrappers over :mod:`.kernels` (``T = 1`` per step)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm.processes.ssm_diagonal import kernels
from lava_llm.processes.ssm_diagonal.process import PARAM_VARS, SSMDiagonal


def _var_type(kind: str, bits: int) -> LavaPyType:
    if kind == "float":
        return LavaPyType(np.ndarray, float)
    return LavaPyType(np.ndarray, np.int32, precision=bits)


class _Base(PyLoihiProcessModel):
    kind = "f"

    def __init__(self, proc_params=None):
        super().__init__(proc_params)
        self._net = None

    def _params(self) -> dict:
        p = {name: getattr(self, name) for name in PARAM_VARS}
        p["config"] = self.proc_params["config"]
        return p


@implements(proc=SSMDiagonal, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySSMDiagonalModelFloat(_Base):
    """Float64 reference dynamics (:func:`kernels.float_run`)."""

    kind = "f"
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_re: np.ndarray = LavaPyType(np.ndarray, float)
    s_im: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        f = self.s_in.recv()
        if self._net is None:
            self._net = kernels.Net(self._params(), "f")
        mask, st = kernels.float_run(self._net, f[None, :], {"s": self.s_re + 1j * self.s_im})
        self.s_re[:] = st["s"].real
        self.s_im[:] = st["s"].imag
        self.a_out.send(mask[0])


@implements(proc=SSMDiagonal, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySSMDiagonalModelFixed(_Base):
    """Loihi 2 fixed point (:func:`kernels.int_run`): 16-bit graded frames in, 24-bit state,
    16-bit mask out."""

    kind = "q"
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16)
    s_re: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    s_im: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def run_spk(self):
        f = self.s_in.recv()
        if self._net is None:
            self._net = kernels.Net(self._params(), "q")
        state = {"s_re": self.s_re.astype(np.int64), "s_im": self.s_im.astype(np.int64)}
        mask, st = kernels.int_run(self._net, np.asarray(f, np.int64)[None, :], state)
        self.s_re[:] = st["s_re"]
        self.s_im[:] = st["s_im"]
        self.a_out.send(mask[0].astype(np.int32))


for _name, (_kind, _bits) in PARAM_VARS.items():
    for _cls in (PySSMDiagonalModelFloat, PySSMDiagonalModelFixed):
        setattr(_cls, _name, _var_type(_kind, _bits))
