"""ProcessModels of MLGRU, MLGRUCell and MLGRUBlock: thin wrappers over :mod:`.kernels`.

MLGRUBlock has two forms: the fused PyProcessModels (one leaf) and :class:`SubMLGRUBlockModel`
(``AbstractSubProcessModel``), picked by the run config's ``select_sub_proc_model``.

Models never raise inside ``run_spk`` (Lava 0.10 would hang): inputs were validated by the
Process constructors, and the fixed models saturate instead of failing.
"""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.sub.model import AbstractSubProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_llm.processes.gated_recurrence import kernels as gk
from lava_llm.processes.gated_recurrence.process import MLGRU, MLGRUBlock, MLGRUCell
from lava_llm.processes.lm_blocks import var_layout as vl
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
    lb_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=gk.P + 1)

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
    lb_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=gk.P + 1)

    def run_spk(self):
        i_pre, f_pre = np.split(self.a_in.recv().astype(np.int64), 2)
        self.h[:] = gk.mlgru_step_int(i_pre, f_pre, self.h, self.lb_q)
        self.s_out.send(self.h.astype(np.int32))


@implements(proc=MLGRUCell, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyMLGRUCellModelFloat(SingleBlasThreadModel):
    """Float64 MLGRU neurons, two input ports."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    f_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    h: np.ndarray = LavaPyType(np.ndarray, float)
    lb: np.ndarray = LavaPyType(np.ndarray, float)
    lb_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=gk.P + 1)

    def run_spk(self):
        i_pre, f_pre = self.a_in.recv(), self.f_in.recv()
        self.h[:] = gk.mlgru_step_float(i_pre, f_pre, self.h, self.lb)
        self.s_out.send(self.h.copy())


@implements(proc=MLGRUCell, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyMLGRUCellModelFixed(SingleBlasThreadModel):
    """Integer MLGRU neurons, two input ports: 24-bit graded in/out, 24-bit state."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    f_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    h: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    lb: np.ndarray = LavaPyType(np.ndarray, float)  # host-side only
    lb_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=gk.P + 1)

    def run_spk(self):
        i_pre = self.a_in.recv().astype(np.int64)
        f_pre = self.f_in.recv().astype(np.int64)
        self.h[:] = gk.mlgru_step_int(i_pre, f_pre, self.h.astype(np.int64), self.lb_q)
        self.s_out.send(self.h.astype(np.int32))


class _MLGRUBlockBase(SingleBlasThreadModel):
    eps: np.ndarray = LavaPyType(np.ndarray, float)
    lb: np.ndarray = LavaPyType(np.ndarray, float)  # float model; host-side for fixed
    lb_q: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=gk.P + 1)

    def _layer(self, fixed: bool) -> dict:
        if getattr(self, "_params", None) is None:
            if fixed:
                p = {k: vl.read_linear_int(self, k) for k in "ifgo"}
                p.update({k: vl.read_norm_int(self, k) for k in ("attn_norm", "g_norm")})
                p["lb_q"] = self.lb_q.astype(np.int64)
            else:
                p = {k: vl.read_linear_float(self, k) for k in "ifgo"}
                p.update({k: vl.read_gain(self, k) for k in ("attn_norm", "g_norm")})
                p["lb"] = self.lb.astype(np.float64)
            self._params = p
        return self._params


vl.install_types(_MLGRUBlockBase, linears=tuple("ifgo"), norms=("attn_norm", "g_norm"))


@implements(proc=MLGRUBlock, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyMLGRUBlockModelFloat(_MLGRUBlockBase):
    """Float64 token mixer (torch-equivalent), one leaf."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    h: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        x = self.a_in.recv().astype(np.float64)[None]
        p, eps = self._layer(False), float(self.eps[0])
        i, f, g = gk.mixer_pre_float(x, p, eps)
        self.h[:] = gk.mlgru_step_float(i[0], f[0], self.h, p["lb"])
        self.s_out.send(gk.mixer_post_float(x, self.h[None], g, p, eps)[0])


@implements(proc=MLGRUBlock, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyMLGRUBlockModelFixed(_MLGRUBlockBase):
    """Integer token mixer: 24-bit residual in/out, int8 BitLinear inputs, 24-bit state;
    one leaf."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    h: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def run_spk(self):
        x = self.a_in.recv().astype(np.int64)[None]
        p = self._layer(True)
        i, f, g = gk.mixer_pre_int(x, p)
        self.h[:] = gk.mlgru_step_int(i[0], f[0], self.h.astype(np.int64), p["lb_q"])
        y = gk.mixer_post_int(x, self.h.astype(np.int64)[None], g, p)
        self.s_out.send(y[0].astype(np.int32))


@implements(proc=MLGRUBlock, protocol=LoihiProtocol)
class SubMLGRUBlockModel(AbstractSubProcessModel):
    """Fine-grained token mixer (13 component Processes, 17 leaves)::

        a_in -+-> RMSNorm(attn_norm) -+-> RMSNorm(q8) -> TernaryDense(i) -> MLGRUCell.a_in
              |                       +-> RMSNorm(q8) -> TernaryDense(f) -> MLGRUCell.f_in
              |                       +-> RMSNorm(q8) -> TernaryDense(g) -> RMSNorm(g_norm)
              |   SiLUGate(a_in = MLGRUCell.s_out, s_in = RMSNorm(g_norm).s_out)
              |     -> RMSNorm(q8) -> TernaryDense(o) -> ResidualAdd.a_in
              +---------------------------------------> ResidualAdd.s_in -> s_out

    The same for both tags (the leaves pick their float or fixed model); ``h`` is an alias of
    the MLGRUCell's state.
    """

    def __init__(self, proc):
        from lava_llm.processes.lm_blocks.process import ResidualAdd, SiLUGate
        from lava_llm.processes.lm_blocks.models import bitlinear_pair, plain_norm

        eps = float(vl.var_value(proc, "eps")[0])
        name = proc.name
        H = proc.a_in.shape[0]
        self.attn_norm = plain_norm(proc, "attn_norm", eps, name)
        self.i_norm, self.i_syn = bitlinear_pair(proc, "i", eps, name)
        self.f_norm, self.f_syn = bitlinear_pair(proc, "f", eps, name)
        self.g_norm_in, self.g_syn = bitlinear_pair(proc, "g", eps, name)
        self.cell = MLGRUCell(n=H, lower_bound=vl.var_value(proc, "lb"), name=f"{name}.mlgru")
        self.cell.lb_q.init = vl.var_value(proc, "lb_q").astype(np.int64)
        self.g_norm = plain_norm(proc, "g_norm", eps, name)
        self.gate = SiLUGate(n=H, name=f"{name}.gate")
        self.o_norm, self.o_syn = bitlinear_pair(proc, "o", eps, name)
        self.residual = ResidualAdd(n=H, name=f"{name}.residual")
        proc.a_in.connect([self.attn_norm.a_in, self.residual.s_in])
        self.attn_norm.s_out.connect([self.i_norm.a_in, self.f_norm.a_in, self.g_norm_in.a_in])
        self.i_syn.a_out.connect(self.cell.a_in)
        self.f_syn.a_out.connect(self.cell.f_in)
        self.g_syn.a_out.connect(self.g_norm.a_in)
        self.cell.s_out.connect(self.gate.a_in)
        self.g_norm.s_out.connect(self.gate.s_in)
        self.gate.s_out.connect(self.o_norm.a_in)
        self.o_syn.a_out.connect(self.residual.a_in)
        self.residual.s_out.connect(proc.s_out)
        proc.h.alias(self.cell.h)
