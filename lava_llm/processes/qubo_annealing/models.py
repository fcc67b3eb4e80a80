"""ProcessModels of QuboAnnealer (fused models over :mod:`.kernels` and the sub-process model)
and of its fine-grained Processes (over :mod:`.fine_kernels`)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.sub.model import AbstractSubProcessModel
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from scipy.sparse import csr_matrix

from lava_llm.processes.qubo_annealing import fine_kernels as fk
from lava_llm.processes.qubo_annealing import kernels
from lava_llm.processes.qubo_annealing.process import (AnnealingNeurons, CostReadout,
                                                       CouplingSynapses, QuboAnnealer)


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
    exp_table: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
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
            colour=self.colour, t0=int(self.time_step) - 1,
            table=self.exp_table if self._fixed else None)[0]
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


@implements(proc=QuboAnnealer, protocol=LoihiProtocol)
class SubQuboAnnealerModel(AbstractSubProcessModel):
    """Fine-grained QuboAnnealer::

        AnnealingNeurons --s_out--> CouplingSynapses --a_out--> AnnealingNeurons.a_in
        AnnealingNeurons --x_out, h_out--> CostReadout --a_out--> a_out

    The initial fields (``c + x0 K`` and ``d + x0 J``) are computed here, on the host, from
    the parent's Vars; the parent's state and bookkeeping Vars alias the components'.
    """

    def __init__(self, proc):
        x0 = np.asarray(proc.x.init, np.int64)
        R, n = x0.shape
        K = csr_matrix(proc.couplings_q.init, dtype=np.int64)
        J = csr_matrix(proc.couplings.init, dtype=np.float64)
        c = np.asarray(proc.bias_q.init, np.int64)
        d = np.asarray(proc.bias.init, np.float64)
        quantized = bool(np.asarray(proc.quantized.init)[0])
        track = quantized and bool(np.asarray(proc.track_true.init)[0])
        field0_f = kernels.initial_field(x0, J, d)
        self.neurons = AnnealingNeurons(
            x0=x0, rng=proc.rng.init, field0=kernels.initial_field(x0, K, c),
            field0_f=field0_f, wake=int(np.asarray(proc.wake.init)[0]),
            ref_bits=int(np.asarray(proc.ref_bits.init)[0]), colour=proc.colour.init,
            beta_q=proc.beta_q.init, beta_sat=proc.beta_sat.init, beta=proc.beta.init,
            quantized=quantized, exp_table=proc.exp_table.init, name=f"{proc.name}.neurons")
        self.synapses = CouplingSynapses(couplings_q=K, couplings=J, replicas=R,
                                         name=f"{proc.name}.synapses")
        self.readout = CostReadout(
            bias_q=c, bias=d, unit=float(np.asarray(proc.unit.init)[0]), x0=x0,
            steps=int(np.shape(proc.cost_history.init)[0]), couplings=J if track else None,
            field_true0=field0_f if track else None, name=f"{proc.name}.readout")
        self.neurons.s_out.connect(self.synapses.s_in)
        self.synapses.a_out.connect(self.neurons.a_in)
        self.neurons.x_out.connect(self.readout.x_in)
        self.neurons.h_out.connect(self.readout.h_in)
        self.readout.a_out.connect(proc.a_out)
        for name in ("x", "field", "ref", "rng", "exp_table"):
            getattr(proc, name).alias(getattr(self.neurons, name))
        for name in ("cost", "best_cost", "best_x", "cost_history"):
            getattr(proc, name).alias(getattr(self.readout, name))


def _in(fixed: bool, bits: int):
    return (LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=bits) if fixed
            else LavaPyType(PyInPort.VEC_DENSE, float))


def _out(fixed: bool, bits: int):
    return (LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=bits) if fixed
            else LavaPyType(PyOutPort.VEC_DENSE, float))


class _NeuronsBase(PyLoihiProcessModel):
    x: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    field0: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    field0_f: np.ndarray = LavaPyType(np.ndarray, float)
    ref: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    rng: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    wake: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=9)
    ref_bits: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=4)
    colour: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    beta_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    beta_sat: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    beta: np.ndarray = LavaPyType(np.ndarray, float)
    exp_table: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    quantized: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    _fixed = False

    def run_spk(self):
        t = int(self.time_step)
        row = min(t - 1, self.beta.shape[0] - 1)
        if t == 1:
            if self._fixed and not int(self.quantized[0]):
                raise ValueError("QuboAnnealer was built with quantize=False: it has no "
                                 "fixed-point Vars, so only the float model can run it")
            self.field = (self.field0.astype(np.int32) if self._fixed
                          else np.array(self.field0_f, np.float64))
        if self._fixed:
            kw = dict(beta=int(self.beta_q[row]), sat=int(self.beta_sat[row]),
                      table=self.exp_table)
        else:
            kw = dict(beta=float(self.beta[row]), sat=0)
        x, ref, r, spikes = fk.neuron_decide(
            self.x, self.field, self.ref, self.rng, wake=int(self.wake[0]),
            ref_bits=int(self.ref_bits[0]), colour=self.colour, t=t, fixed=self._fixed, **kw)
        self.x, self.ref, self.rng = x.astype(np.int32), ref.astype(np.int32), r
        self.s_out.send(spikes)
        dh = self.a_in.recv()
        self.field = (self.field + dh).astype(self.field.dtype)
        self.x_out.send(self.x)
        self.h_out.send(self.field)


@implements(proc=AnnealingNeurons, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyAnnealingNeuronsModelFloat(_NeuronsBase):
    """Float neurons: ``exp(-delta beta)`` acceptance, float field."""

    a_in: PyInPort = _in(False, 0)
    s_out: PyOutPort = _out(False, 0)
    x_out: PyOutPort = _out(False, 0)
    h_out: PyOutPort = _out(False, 0)
    field: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=AnnealingNeurons, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyAnnealingNeuronsModelFixed(_NeuronsBase):
    """Fixed neurons: 24-bit field, 24-bit beta, exp LUT from a Var, 2-bit flip spikes."""

    a_in: PyInPort = _in(True, 24)
    s_out: PyOutPort = _out(True, 2)
    x_out: PyOutPort = _out(True, 1)
    h_out: PyOutPort = _out(True, 24)
    field: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    _fixed = True


class _SynapsesBase(PyLoihiProcessModel):
    couplings_q: csr_matrix = LavaPyType(csr_matrix, np.int32, precision=8)
    couplings: csr_matrix = LavaPyType(csr_matrix, float)


@implements(proc=CouplingSynapses, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyCouplingSynapsesModelFloat(_SynapsesBase):
    """Float: ``a_out = s_in @ J``."""

    s_in: PyInPort = _in(False, 0)
    a_out: PyOutPort = _out(False, 0)

    def run_spk(self):
        self.a_out.send(fk.synapse_float(self.s_in.recv(), self.couplings))


@implements(proc=CouplingSynapses, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyCouplingSynapsesModelFixed(_SynapsesBase):
    """Fixed: ``a_out = s_in @ K`` (8-bit weights, 24-bit field changes)."""

    s_in: PyInPort = _in(True, 2)
    a_out: PyOutPort = _out(True, 24)

    def run_spk(self):
        if not hasattr(self, "_k"):
            self._k = csr_matrix(self.couplings_q, dtype=np.int64)
        self.a_out.send(fk.synapse_int(self.s_in.recv(), self._k).astype(np.int32))


class _ReadoutBase(PyLoihiProcessModel):
    bias_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    unit: np.ndarray = LavaPyType(np.ndarray, float)
    track_true: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    couplings: csr_matrix = LavaPyType(csr_matrix, float)
    field_true: np.ndarray = LavaPyType(np.ndarray, float)
    x_prev: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    best_cost: np.ndarray = LavaPyType(np.ndarray, float)
    best_x: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    cost_history: np.ndarray = LavaPyType(np.ndarray, float)
    _fixed = False

    def run_spk(self):
        x = np.asarray(self.x_in.recv(), np.int64)
        h = self.h_in.recv()
        bias = self.bias_q if self._fixed else self.bias
        cost = fk.readout_cost(x, h, bias, self._fixed)
        if self._fixed and int(self.track_true[0]):
            self.field_true = fk.spread_true(self.field_true, self.x_prev, x, self.couplings)
            true = fk.true_cost(self.field_true, x, self.bias)
        elif self._fixed:
            true = cost * float(self.unit[0])
        else:
            true = cost
        better = true < self.best_cost
        self.best_cost = np.where(better, true, self.best_cost)
        best_x = np.array(self.best_x)
        best_x[better] = x[better]
        self.best_x = best_x.astype(np.int32)
        row = min(int(self.time_step) - 1, self.cost_history.shape[0] - 1)
        hist = self.cost_history
        hist[row] = true
        self.cost_history = hist
        self.x_prev = x.astype(np.int32)
        self.cost = cost
        words = kernels.cost_words(cost)
        self.a_out.send(words.astype(np.int32) if self._fixed else words)


@implements(proc=CostReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyCostReadoutModelFloat(_ReadoutBase):
    """Float cost readout, sent as ``(cost, 0)``."""

    x_in: PyInPort = _in(False, 0)
    h_in: PyInPort = _in(False, 0)
    a_out: PyOutPort = _out(False, 0)
    cost: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=CostReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyCostReadoutModelFixed(_ReadoutBase):
    """Fixed cost readout: 32-bit register, two 24-bit words per replica."""

    x_in: PyInPort = _in(True, 1)
    h_in: PyInPort = _in(True, 24)
    a_out: PyOutPort = _out(True, 24)
    cost: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    _fixed = True
