"""ProcessModels of QuboAnnealer: thin wrappers over :mod:`.kernels`."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from scipy.sparse import csr_matrix

from lava_llm.processes.qubo_annealing import kernels
from lava_llm.processes.qubo_annealing.process import QuboAnnealer


class _Base(PyLoihiProcessModel):
    def _schedule_index(self) -> int:
        return min(int(self.time_step) - 1, self.beta.shape[0] - 1)

    def _keep_best(self, cost):
        better = cost < self.best_cost
        if better.any():
            self.best_cost = np.where(better, cost, self.best_cost).astype(self.best_cost.dtype)
            self.best_x = np.where(better[:, None], self.x, self.best_x).astype(self.best_x.dtype)


@implements(proc=QuboAnnealer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyQuboAnnealerModelFloat(_Base):
    """Float reference: float Q, ``exp(-delta/T)``; same PRNG stream as the fixed model."""

    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    x: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    field: np.ndarray = LavaPyType(np.ndarray, float)
    ref: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    rng: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    couplings: csr_matrix = LavaPyType(csr_matrix, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    couplings_q: csr_matrix = LavaPyType(csr_matrix, np.int32, precision=8)
    bias_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    beta: np.ndarray = LavaPyType(np.ndarray, float)
    beta_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    cost: np.ndarray = LavaPyType(np.ndarray, float)
    best_cost: np.ndarray = LavaPyType(np.ndarray, float)
    best_x: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)

    def run_spk(self):
        if self.time_step == 1:
            self.field = kernels.initial_field(self.x, self.couplings, self.bias)
        x, h, ref, r, cost = kernels.float_step(
            self.x, self.field, self.ref, self.rng.astype(np.uint32), self.couplings,
            self.bias, float(self.beta[self._schedule_index()]), self.proc_params["wake"],
            self.proc_params["ref_bits"])
        self.x, self.field, self.ref = x.astype(np.int32), h, ref.astype(np.int32)
        self.rng = r.astype(np.int64)
        self.cost = cost
        self._keep_best(cost)
        self.a_out.send(cost)


@implements(proc=QuboAnnealer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyQuboAnnealerModelFixed(_Base):
    """Loihi-2 fixed point: 8-bit weights, 24-bit fields and biases, 24-bit beta, exp LUT,
    16-bit acceptance draw, 32-bit cost (all ranges checked when the Process is built)."""

    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    x: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    field: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    ref: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    rng: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    couplings: csr_matrix = LavaPyType(csr_matrix, float)      # host-side only
    bias: np.ndarray = LavaPyType(np.ndarray, float)           # host-side only
    couplings_q: csr_matrix = LavaPyType(csr_matrix, np.int32, precision=8)
    bias_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    beta: np.ndarray = LavaPyType(np.ndarray, float)           # host-side only
    beta_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    cost: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    best_cost: np.ndarray = LavaPyType(np.ndarray, float)      # +inf before the first step
    best_x: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)

    def run_spk(self):
        if self.time_step == 1:
            k = self.couplings_q.astype(np.float64)
            self.field = np.rint(kernels.initial_field(self.x, k, self.bias_q)).astype(np.int32)
            self._k = k
        x, h, ref, r, cost = kernels.int_step(
            self.x, self.field, self.ref, self.rng.astype(np.uint32), self._k, self.bias_q,
            int(self.beta_q[self._schedule_index()]), self.proc_params["wake"],
            self.proc_params["ref_bits"])
        self.x, self.field, self.ref = x.astype(np.int32), h.astype(np.int32), \
            ref.astype(np.int32)
        self.rng = r.astype(np.int64)
        self.cost = cost
        self._keep_best(cost.astype(np.float64))
        self.a_out.send(cost.astype(np.int32))
