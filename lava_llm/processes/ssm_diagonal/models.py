"""ProcessModels of SSMDiagonal (fused models over :mod:`.kernels`, ``T = 1`` per step, and
the sub-process model) and of its fine-grained synapse and neuron Processes (over
:mod:`.fine_kernels`)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.sub.model import AbstractSubProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm.processes.base import SingleBlasThreadModel
from lava_llm.processes.ssm_diagonal import fine_kernels as fk
from lava_llm.processes.ssm_diagonal import kernels
from lava_llm.processes.ssm_diagonal.process import (PARAM_VARS, BiasNeuron, S5GateNeuron,
                                                     S5OutputNeuron, S5StateNeuron, SSMDiagonal,
                                                     SparseSynapse)


def _var_type(kind: str, bits: int) -> LavaPyType:
    if kind == "float":
        return LavaPyType(np.ndarray, float)
    return LavaPyType(np.ndarray, np.int32, precision=bits)


class _Base(PyLoihiProcessModel):
    kind = "f"
    sig_table: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=kernels.SIG_FRAC + 1)
    sig_x_min: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=kernels.ACT_BITS)
    sig_step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=4)

    def __init__(self, proc_params=None):
        super().__init__(proc_params)
        self._net = None

    def _params(self) -> dict:
        return {name: getattr(self, name) for name in PARAM_VARS}


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

    def _sigmoid(self, v):
        """The gate's sigmoid from the LUT Vars."""
        return fk.lut_apply(self.sig_table, int(self.sig_x_min[0]), int(self.sig_step[0]), v)

    def run_spk(self):
        f = self.s_in.recv()
        if self._net is None:
            self._net = kernels.Net(self._params(), "q")
        state = {"s_re": self.s_re.astype(np.int64), "s_im": self.s_im.astype(np.int64)}
        mask, st = kernels.int_run(self._net, np.asarray(f, np.int64)[None, :], state,
                                   sigmoid=self._sigmoid)
        self.s_re[:] = st["s_re"]
        self.s_im[:] = st["s_im"]
        self.a_out.send(mask[0].astype(np.int32))


for _name, (_kind, _bits) in PARAM_VARS.items():
    for _cls in (PySSMDiagonalModelFloat, PySSMDiagonalModelFixed):
        setattr(_cls, _name, _var_type(_kind, _bits))


@implements(proc=SSMDiagonal, protocol=LoihiProtocol)
class SubSSMDiagonalModel(AbstractSubProcessModel):
    """Fine-grained SSMDiagonal: the populations of :func:`fine_kernels.fine_layout`::

        s_in -> enc -> x -> [b -> state -> c ; d] -> y -> w -> gate (x_in: x) -> ... -> dec
             -> mask -> a_out

    (``c`` feeds ``y``'s ``a_in``, ``d`` its ``s_in``: two 24-bit message ports).
    """

    def __init__(self, proc):
        params = {name: np.asarray(getattr(proc, name).init) for name in PARAM_VARS}
        if np.any(np.asarray(params["q_c_im"]) == -(1 << (kernels.W_BITS - 1))):
            raise ValueError(f"{proc.name}: the fine form stores -C_im as an 8-bit weight, so "
                             "q_c_im must not hold -128")
        sig_table = np.asarray(proc.sig_table.init)
        self.procs = {}
        x_port = None
        for name, spec in fk.fine_layout(params):
            full = f"{proc.name}.{name}"
            kind = spec["kind"]
            base = name.rstrip("0123456789")
            if kind == "synapse":
                p = SparseSynapse(indptr=spec["indptr"], indices=spec["indices"],
                                  weights=spec["weights"], weights_f=spec["weights_f"],
                                  shift=spec["shift"], shape=spec["shape"], name=full)
            elif kind == "bias":
                p = BiasNeuron(bias=spec["bias"], bias_f=spec["bias_f"], name=full)
            elif kind == "state":
                p = S5StateNeuron(**{k: spec[k] for k in (
                    "lam_re", "lam_im", "sb_re", "sb_im", "lam_re_f", "lam_im_f", "sb_re_f",
                    "sb_im_f")}, name=full)
            elif kind == "output":
                p = S5OutputNeuron(bias=spec["bias"], bias_f=spec["bias_f"], name=full)
            else:
                p = S5GateNeuron(bias=spec["bias"], bias_f=spec["bias_f"],
                                 out_shift=spec["out_shift"], sig_table=sig_table, name=full)
            self.procs[name] = p
            setattr(self, name, p)
            layer = name[len(base):]
            if base == "enc":
                proc.s_in.connect(p.s_in)
            elif base in ("x", "mask", "state"):
                prev = {"x": "enc", "mask": "dec", "state": f"b{layer}"}[base]
                self.procs[prev].a_out.connect(p.a_in)
                if base == "x":
                    x_port = p.s_out
                elif base == "mask":
                    p.s_out.connect(proc.a_out)
            elif base in ("b", "d", "dec"):
                x_port.connect(p.s_in)
            elif base == "c":
                self.procs[f"state{layer}"].s_out.connect(p.s_in)
            elif base == "y":
                self.procs[f"c{layer}"].a_out.connect(p.a_in)
                self.procs[f"d{layer}"].a_out.connect(p.s_in)
            elif base == "w":
                self.procs[f"y{layer}"].s_out.connect(p.s_in)
            elif base == "gate":
                self.procs[f"w{layer}"].a_out.connect(p.a_in)
                self.procs[f"y{layer}"].s_out.connect(p.s_in)
                x_port.connect(p.x_in)
                x_port = p.s_out


def _ports(float_model: bool, in_bits: int, out_bits: int, *names_in, out="s_out"):
    """Port annotations of a fine model: float, or ``in_bits``/``out_bits`` graded ints."""
    if float_model:
        t_in = LavaPyType(PyInPort.VEC_DENSE, float)
        t_out = LavaPyType(PyOutPort.VEC_DENSE, float)
    else:
        t_in = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=in_bits)
        t_out = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=out_bits)
    return {**{n: t_in for n in names_in}, out: t_out}


def _model(proc, tag_name, bases, attrs, run_spk, doc):
    """Declare a fine ProcessModel class (decorated like the hand-written ones)."""
    ns = dict(attrs, run_spk=run_spk, __doc__=doc,
              __annotations__={k: type(v) for k, v in attrs.items()})
    cls = type(f"Py{proc.__name__}Model{'Float' if tag_name == 'floating_pt' else 'Fixed'}",
               bases, ns)
    cls.__module__ = __name__
    return implements(proc=proc, protocol=LoihiProtocol)(requires(CPU)(tag(tag_name)(cls)))


_I = lambda bits: LavaPyType(np.ndarray, np.int32, precision=bits)   # noqa: E731
_F = LavaPyType(np.ndarray, float)
_IDX = LavaPyType(np.ndarray, np.int32, precision=32)


def _syn_float(self):
    self.a_out.send(fk.synapse_float(self.indptr, self.indices, self.weights_f,
                                     self.s_in.recv()))


def _syn_fixed(self):
    self.a_out.send(fk.synapse_int(self.indptr, self.indices, self.weights, self.shift,
                                   self.s_in.recv()).astype(np.int32))


_SYN_VARS = dict(indptr=_IDX, indices=_IDX, weights=_I(kernels.W_BITS), weights_f=_F,
                 shift=_I(8))
PySparseSynapseModelFloat = _model(
    SparseSynapse, "floating_pt", (SingleBlasThreadModel,),
    dict(_SYN_VARS, **_ports(True, 0, 0, "s_in", out="a_out")), _syn_float,
    "Float synapses: ``a_out = W_f @ s_in``.")
PySparseSynapseModelFixed = _model(
    SparseSynapse, "fixed_pt", (SingleBlasThreadModel,),
    dict(_SYN_VARS, **_ports(False, kernels.MSG_BITS, kernels.MSG_BITS, "s_in", out="a_out")),
    _syn_fixed, "Fixed synapses: ``a_out = sat24(shift(W @ s_in, shift))``.")

_BIAS_VARS = dict(bias=_I(kernels.BIAS_BITS), bias_f=_F)


def _bias_float(self):
    self.s_out.send(self.a_in.recv() + self.bias_f)


def _bias_fixed(self):
    self.s_out.send(fk.bias_int(self.a_in.recv(), self.bias).astype(np.int32))


PyBiasNeuronModelFloat = _model(BiasNeuron, "floating_pt", (PyLoihiProcessModel,),
                                dict(_BIAS_VARS, **_ports(True, 0, 0, "a_in")), _bias_float,
                                "Float: ``s_out = a_in + bias_f``.")
PyBiasNeuronModelFixed = _model(
    BiasNeuron, "fixed_pt", (PyLoihiProcessModel,),
    dict(_BIAS_VARS, **_ports(False, kernels.MSG_BITS, kernels.ACT_BITS, "a_in")), _bias_fixed,
    "Fixed: ``s_out = sat16(a_in + bias)``.")


def _out_float(self):
    self.s_out.send(np.maximum(self.a_in.recv() + self.s_in.recv() + self.bias_f, 0.0))


def _out_fixed(self):
    c, d = self.a_in.recv(), self.s_in.recv()
    self.s_out.send(fk.output_int(np.asarray(c, np.int64) + d, self.bias).astype(np.int32))


PyS5OutputNeuronModelFloat = _model(
    S5OutputNeuron, "floating_pt", (PyLoihiProcessModel,),
    dict(_BIAS_VARS, **_ports(True, 0, 0, "a_in", "s_in")), _out_float,
    "Float: ``s_out = max(a_in + s_in + bias_f, 0)``.")
PyS5OutputNeuronModelFixed = _model(
    S5OutputNeuron, "fixed_pt", (PyLoihiProcessModel,),
    dict(_BIAS_VARS, **_ports(False, kernels.MSG_BITS, kernels.ACT_BITS, "a_in", "s_in")),
    _out_fixed, "Fixed: ``s_out = max(sat16(a_in + s_in + bias), 0)``.")

_STATE_FIXED = dict(lam_re=_I(kernels.LAM_BITS), lam_im=_I(kernels.LAM_BITS),
                    sb_re=_I(kernels.BIAS_BITS), sb_im=_I(kernels.BIAS_BITS),
                    s_re=_I(kernels.STATE_BITS), s_im=_I(kernels.STATE_BITS))
_STATE_FLOAT = dict(lam_re_f=_F, lam_im_f=_F, sb_re_f=_F, sb_im_f=_F, sf_re=_F, sf_im=_F)


def _state_float(self):
    s = fk.state_float(self.a_in.recv(), self.sf_re + 1j * self.sf_im,
                       self.lam_re_f + 1j * self.lam_im_f, self.sb_re_f + 1j * self.sb_im_f)
    self.sf_re[:], self.sf_im[:] = s.real, s.imag
    self.s_out.send(np.concatenate([s.real, s.imag]))


def _state_fixed(self):
    s_re, s_im = fk.state_int(self.a_in.recv(), self.s_re, self.s_im, self.lam_re,
                              self.lam_im, self.sb_re, self.sb_im)
    self.s_re[:], self.s_im[:] = s_re, s_im
    self.s_out.send(np.concatenate([s_re, s_im]).astype(np.int32))


PyS5StateNeuronModelFloat = _model(
    S5StateNeuron, "floating_pt", (PyLoihiProcessModel,),
    dict(_STATE_FIXED, **_STATE_FLOAT, **_ports(True, 0, 0, "a_in")), _state_float,
    "Float: ``s = Lambda_bar s + a + sb`` (complex).")
PyS5StateNeuronModelFixed = _model(
    S5StateNeuron, "fixed_pt", (PyLoihiProcessModel,),
    dict(_STATE_FIXED, **_STATE_FLOAT,
         **_ports(False, kernels.MSG_BITS, kernels.STATE_BITS, "a_in")), _state_fixed,
    "Fixed: ``s = sat24(rshift(Lambda_bar s, 15) + sat24(a + sb))``.")

_GATE_VARS = dict(bias=_I(kernels.BIAS_BITS), bias_f=_F, out_shift=_I(8),
                  sig_table=_I(kernels.SIG_FRAC + 1), sig_x_min=_I(kernels.ACT_BITS),
                  sig_step=_I(4))


def _gate_float(self):
    a, y, x = self.a_in.recv(), self.s_in.recv(), self.x_in.recv()
    self.s_out.send(fk.gate_float(a, y, x, self.bias_f))


def _gate_fixed(self):
    a, y, x = self.a_in.recv(), self.s_in.recv(), self.x_in.recv()
    self.s_out.send(fk.gate_int(a, y, x, self.bias, int(self.out_shift[0]), self.sig_table,
                                int(self.sig_x_min[0]), int(self.sig_step[0])).astype(np.int32))


_GATE_FIXED_PORTS = dict(
    a_in=LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=kernels.MSG_BITS),
    s_in=LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=kernels.ACT_BITS),
    x_in=LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=kernels.ACT_BITS),
    s_out=LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=kernels.ACT_BITS))
PyS5GateNeuronModelFloat = _model(
    S5GateNeuron, "floating_pt", (PyLoihiProcessModel,),
    dict(_GATE_VARS, **_ports(True, 0, 0, "a_in", "s_in", "x_in")), _gate_float,
    "Float: ``s_out = x + y * sigmoid(a + wb_f)``.")
PyS5GateNeuronModelFixed = _model(
    S5GateNeuron, "fixed_pt", (PyLoihiProcessModel,), dict(_GATE_VARS, **_GATE_FIXED_PORTS),
    _gate_fixed, "Fixed: sigmoid LUT gate and residual, 16-bit.")
