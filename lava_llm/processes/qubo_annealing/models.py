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
    """Both models: build the state from the Vars, run one step of
    :func:`kernels.run_steps` (which also keeps the best cost and state), write the Vars.
    Declares the Vars both models hold alike (the float Q, ``beta``, ``unit`` and the
    problem-unit bookkeeping are host-side only in the fixed model); each model adds
    ``a_out``, ``field`` and ``cost``. Every parameter is a Var; none travels in
    ``proc_params``."""

    x: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    ref: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    rng: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    wake: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=9)       # 1..256
    ref_bits: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=4)   # 0..8
    colour: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)     # phase gating
    couplings: csr_matrix = LavaPyType(csr_matrix, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    couplings_q: csr_matrix = LavaPyType(csr_matrix, np.int32, precision=8)
    bias_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    quantized: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    beta: np.ndarray = LavaPyType(np.ndarray, float)
    beta_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    beta_sat: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    unit: np.ndarray = LavaPyType(np.ndarray, float)
    track_true: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    field_true: np.ndarray = LavaPyType(np.ndarray, float)
    best_cost: np.ndarray = LavaPyType(np.ndarray, float)      # +inf before the first step
    best_x: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    cost_history: np.ndarray = LavaPyType(np.ndarray, float)

    _fixed = False

    def _step(self, couplings, bias, beta, sat=None):
        track = self._fixed and bool(self.track_true[0])
        st = kernels.AnnealState(self.x, self.field, self.ref, self.rng, self.best_cost,
                                 self.best_x, ht=self.field_true if track else None)
        cost = kernels.run_steps(
            st, couplings, bias, [beta], int(self.wake[0]), int(self.ref_bits[0]),
            fixed=self._fixed, sats=None if sat is None else [sat],
            true=(self.couplings, self.bias) if track else None,
            unit=float(self.unit[0]) if self._fixed else 1.0, parallel=False,
            colour=self.colour, t0=int(self.time_step) - 1)[0]
        self.x, self.ref, self.rng = st.x.astype(np.int32), st.ref.astype(np.int32), st.r
        self.field = st.h.astype(np.int32) if self._fixed else st.h
        if track:
            self.field_true = st.ht
        self.best_cost, self.best_x = st.best_cost, st.best_x.astype(np.int32)
        self.cost = cost
        row = min(int(self.time_step) - 1, self.cost_history.shape[0] - 1)
        hist = self.cost_history
        hist[row] = st.true_trace[0]
        self.cost_history = hist
        return cost

    def _beta(self, betas):
        return betas[min(int(self.time_step) - 1, betas.shape[0] - 1)]


@implements(proc=QuboAnnealer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyQuboAnnealerModelFloat(_Base):
    """Float reference: float Q, ``exp(-delta/T)``; same PRNG stream as the fixed model.
    Sends ``(cost, 0)`` per replica (:func:`kernels.cost_words`)."""

    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    field: np.ndarray = LavaPyType(np.ndarray, float)
    cost: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        if self.time_step == 1:
            self.field = kernels.initial_field(self.x, self.couplings, self.bias)
        cost = self._step(self.couplings, self.bias, float(self._beta(self.beta)))
        self.a_out.send(kernels.cost_words(cost))


@implements(proc=QuboAnnealer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyQuboAnnealerModelFixed(_Base):
    """Loihi-2 fixed point: 8-bit weights, 24-bit fields and biases, 24-bit beta, exp LUT,
    16-bit acceptance draw, 32-bit cost register sent as two 24-bit words (all ranges checked
    when the Process is built)."""

    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    field: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    cost: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)

    _fixed = True

    def run_spk(self):
        if self.time_step == 1:
            if not int(self.quantized[0]):
                raise ValueError("QuboAnnealer was built with quantize=False: it has no "
                                 "fixed-point Vars, so only the float model can run it")
            self._k = csr_matrix(self.couplings_q, dtype=np.int64)
            self.field = kernels.initial_field(self.x, self._k, self.bias_q).astype(np.int32)
            if int(self.track_true[0]):
                self.field_true = kernels.initial_field(self.x, self.couplings, self.bias)
        cost = self._step(self._k, self.bias_q, int(self._beta(self.beta_q)),
                          int(self._beta(self.beta_sat)))
        self.a_out.send(kernels.cost_words(cost).astype(np.int32))
