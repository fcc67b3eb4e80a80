"""A Process whose model raises at a chosen step (to test the session watchdog).

Alone in its folder: Lava imports every module beside a Process when it looks for models.
"""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol


class Faulty(AbstractProcess):
    def __init__(self, *, shape, fail_at):
        super().__init__()
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.fail_at = Var((1,), init=fail_at)


@implements(proc=Faulty, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFaultyModel(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    fail_at: np.ndarray = LavaPyType(np.ndarray, int)

    def run_spk(self):
        x = self.a_in.recv()
        if self.time_step == int(self.fail_at[0]):
            raise ArithmeticError(f"deliberate failure at step {self.time_step}")
        self.s_out.send(x)
