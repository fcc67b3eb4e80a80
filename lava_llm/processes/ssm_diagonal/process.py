"""The SSMDiagonal Process (a sparse S5 stack: encoder, S5 blocks, decoder), a hierarchical
Process: one fused leaf, or its synapse and neuron Processes (:class:`SparseSynapse`,
:class:`BiasNeuron`, :class:`S5StateNeuron`, :class:`S5OutputNeuron`, :class:`S5GateNeuron`)."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import LogConfig
from lava.magma.core.process.variable import Var

from lava_llm import fixed_point as fp
from lava_llm import validation as V
from lava_llm.processes.ssm_diagonal import kernels
from lava_llm.processes.base import ValidatedProcess

#: Every parameter Var: name -> (kind, bits). kind "index" (CSR structure, int32), "float"
#: (float model), "int" (fixed model, signed ``bits``-bit), "exp" (power-of-two exponents).
PARAM_VARS: dict[str, tuple[str, int]] = {}
for _m in kernels.SPARSE:
    PARAM_VARS[f"{_m}_indptr"] = ("index", 32)
    PARAM_VARS[f"{_m}_indices"] = ("index", 32)
for _k in ("enc", "dec", "b_re", "b_im", "c_re", "c_im", "w", "lam_re", "lam_im", "sb_re",
           "sb_im", "d", "yb", "wb", "enc_b", "dec_b"):
    PARAM_VARS[f"f_{_k}"] = ("float", 64)
for _k in ("enc", "dec", "b_re", "b_im", "c_re", "c_im", "w", "d"):
    PARAM_VARS[f"q_{_k}"] = ("int", kernels.W_BITS)
for _k in ("lam_re", "lam_im"):
    PARAM_VARS[f"q_{_k}"] = ("int", kernels.LAM_BITS)
for _k in ("sb_re", "sb_im", "yb", "wb", "enc_b", "dec_b"):
    PARAM_VARS[f"q_{_k}"] = ("int", kernels.BIAS_BITS)
for _k in ("in", "x", "m", "s", "y", "b", "c", "d", "w", "enc", "dec"):
    PARAM_VARS[f"e_{_k}"] = ("exp", 8)


def check_params(params: dict) -> dict:
    """Validate an exported parameter dict (:func:`kernels.build_params`); raise ValueError
    naming the first bad entry. Returns the arrays to put in Vars."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict (lava_llm.training.s5.export_fixed), got "
                        f"{type(params).__name__}")
    missing = [k for k in list(PARAM_VARS) + ["config"] if k not in params]
    if missing:
        raise ValueError(f"params lack {missing[:6]}{'...' if len(missing) > 6 else ''} "
                         "(export with lava_llm.training.s5.export_fixed)")
    L, P, H, F = kernels.dims(params)
    out = {}
    for name, (kind, bits) in PARAM_VARS.items():
        arr = V.check_finite(f"params[{name!r}]", params[name])
        if kind == "float":
            arr = arr.astype(np.float64)
        elif kind == "exp":
            arr = V.check_int_range(f"params[{name!r}]", arr, -64, 64)
        elif kind == "int":
            arr = fp.check_bits(f"params[{name!r}]", arr, bits)
        else:
            arr = V.check_int_range(f"params[{name!r}]", arr, 0, 2**31 - 1)
        out[name] = np.atleast_1d(arr)
    for m in kernels.SPARSE:
        rows, cols = kernels.matrix_shape(m, params)
        ptr, idx = out[f"{m}_indptr"], out[f"{m}_indices"]
        if ptr.size != rows + 1 or ptr[0] != 0 or ptr[-1] != idx.size or np.any(np.diff(ptr) < 0):
            raise ValueError(f"params[{m + '_indptr'!r}] is not a CSR row pointer for {rows} "
                             f"rows and {idx.size} entries")
        if idx.size and idx.max() >= cols:
            raise ValueError(f"params[{m + '_indices'!r}] must lie in [0, {cols - 1}]")
        for pre in ("f", "q"):
            for suf in (("_re", "_im") if m in ("b", "c") else ("",)):
                key = f"{pre}_{m}{suf}"
                if out[key].shape != idx.shape:
                    raise ValueError(f"params[{key!r}] has shape {out[key].shape}, expected "
                                     f"{idx.shape} (one value per stored entry)")
    for key, shape in (("lam_re", (L, P)), ("lam_im", (L, P)), ("sb_re", (L, P)),
                       ("sb_im", (L, P)), ("d", (L, H)), ("yb", (L, H)), ("wb", (L, H)),
                       ("enc_b", (H,)), ("dec_b", (F,))):
        for pre in ("f", "q"):
            V.check_shape(f"params['{pre}_{key}']", out[f"{pre}_{key}"], shape)
    V.check_shape("params['e_b']", out["e_b"], (L, P))
    for key in ("s", "y", "c", "d", "w"):
        V.check_shape(f"params['e_{key}']", out[f"e_{key}"], (L,))
    lam2 = out["q_lam_re"] ** 2 + out["q_lam_im"] ** 2
    if np.any(lam2 >= 1 << (2 * kernels.LAM_FRAC)):
        raise ValueError("params['q_lam_re'/'q_lam_im']: |Lambda_bar| must be < 1 (stable)")
    return out


class SSMDiagonal(ValidatedProcess):
    r"""Sparse S5 stack: encoder, ``L`` S5 blocks (diagonal complex state), decoder.

    Dynamics per time step ``t`` (``f_t = s_in[t]``, one frame)::

        x   = E f_t + e_b
        s_l = Lambda_bar_l * s_l + B_l x + sb_l            complex diagonal Lambda_bar
        y   = 2 Re(C_l s_l) + D_l * x + yb_l
        x   = x + ReLU(y) * sigmoid(W_l ReLU(y) + wb_l)    (for l = 1..L)
        a_out[t] = G x + g_b

    The fixed model runs the same with Loihi bit widths (see
    :mod:`lava_llm.processes.ssm_diagonal.kernels` for every shift and saturation):
    ``Lambda_bar`` re/im 16-bit, ``B``, ``C``, ``D``, ``W``, ``E``, ``G`` 8-bit, activations
    (``s_in``, ``x``, ``a_out``) 16-bit graded spikes, state 24-bit saturating. The state
    persists across ``run`` calls (streaming).

    Every weight matrix is stored as CSR: ``*_indptr``, ``*_indices`` and one data Var per
    model (float ``f_*``, integer ``q_*``), so memory is proportional to the non-zeros.
    ``B``, ``C`` and ``W`` of all layers are stacked row-wise into one CSR matrix each. The
    whole stack is ONE leaf ProcessModel (one OS process in Lava's CPU backend) in the fused
    form; the fine form (``granularity="fine"``, ``SubSSMDiagonalModel``) wires
    :func:`fine_kernels.fine_leaves` = ``4 + 7 L`` synapse and neuron Processes
    (:mod:`lava_llm.processes.ssm_diagonal.fine_kernels`), bit-exact with the fused one. In
    the fine form the S5 state lives in the ``state{l}`` neurons (the parent's ``s_re`` /
    ``s_im`` keep their initial value). The model's JSON ``config`` (sample rate, sizes) is
    host-side metadata (the ``config`` attribute), not a parameter of the dynamics.

    Parameters
    ----------
    params : dict
        From :func:`lava_llm.training.s5.export_fixed` (or
        :func:`kernels.load_params` of a shipped checkpoint).
    sig_table : array (1024,) of ints in [0, 2**12], optional
        The gate's sigmoid look-up table (12 fractional bits out; entry ``k`` covers inputs
        ``sig_x_min + k * 2**sig_step``), held in the ``sig_table`` Var with ``sig_x_min`` and
        ``sig_step`` and read by the fixed model (both forms). Default
        :func:`fine_kernels.sigmoid_vars`, the LUT of :func:`lava_llm.fixed_point.sigmoid_lut`.

    Ports
    -----
    s_in : (bins,) input frame (float log-magnitude; fixed: 16-bit, ``e_in`` fractional bits)
    a_out : (bins,) mask (fixed: 16-bit, ``e_m`` fractional bits)
    """

    def __init__(self, *, params: dict, sig_table=None, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        arrays = check_params(params)
        sig = sigmoid_vars(sig_table)
        L, P, H, F = kernels.dims(params)
        super().__init__(shape=(F,), name=name, log_config=log_config)
        self.config = str(params["config"])
        self.dims = (L, P, H, F)
        self.s_in = InPort(shape=(F,))
        self.a_out = OutPort(shape=(F,))
        for key, arr in arrays.items():
            setattr(self, key, Var(shape=arr.shape, init=arr))
        self.s_re = Var(shape=(L, P), init=np.zeros((L, P)))
        self.s_im = Var(shape=(L, P), init=np.zeros((L, P)))
        for key, val in sig.items():
            val = np.atleast_1d(val)
            setattr(self, key, Var(shape=val.shape, init=val))



def sigmoid_vars(sig_table=None) -> dict:
    """The gate's sigmoid LUT Vars (``sig_table``, ``sig_x_min``, ``sig_step``):
    :func:`fine_kernels.sigmoid_vars`, with ``sig_table`` replaced by the given one (checked:
    the same number of entries, integers in ``[0, 2**SIG_FRAC]``)."""
    from lava_llm.processes.ssm_diagonal import fine_kernels as fk

    sig = fk.sigmoid_vars()
    if sig_table is not None:
        tab = V.check_int_range("sig_table", np.asarray(sig_table), 0, 1 << kernels.SIG_FRAC)
        sig["sig_table"] = V.check_shape("sig_table", tab, sig["sig_table"].shape).astype(
            np.int64)
    return sig


# --------------------------------------------------------------------------- fine form
def _vec(name: str, v, n: int) -> np.ndarray:
    return V.check_shape(name, np.atleast_1d(np.asarray(v)), (n,))


class SparseSynapse(ValidatedProcess):
    r"""Sparse synapses with 8-bit weights and one power-of-two exponent per output row.

    Dynamics (each time step)::

        float:  a_out = W_f @ s_in
        fixed:  a_out = sat24(shift(W @ s_in, shift[row]))       24-bit graded messages

    ``W`` is CSR (``indptr``, ``indices``, ``weights`` 8-bit; ``weights_f`` the float
    values); ``shift`` folds the weight, input and output exponents (left for ``>= 0``, a
    rounding right shift otherwise). Lava's own ``Sparse`` is not used: it delivers one step
    late (``a_out`` is the previous step's sum), which would misalign a feed-forward stack
    against the integer engine, and it has no per-row rounding shift.
    """

    def __init__(self, *, indptr, indices, weights, weights_f, shift, shape,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        n_out, n_in = (V.check_int("shape[0]", shape[0], 1), V.check_int("shape[1]", shape[1], 1))
        ptr = V.check_int_range("indptr", indptr, 0, 2**31 - 1)
        nnz = int(ptr[-1]) if ptr.size else 0
        idx = V.check_int_range("indices", np.atleast_1d(indices), 0, n_in - 1) if nnz \
            else np.zeros(0, np.int64)
        V.check_shape("indptr", ptr, (n_out + 1,))
        w = fp.check_bits("weights", _vec("weights", weights, nnz), fp.WEIGHT_BITS)
        wf = V.check_finite("weights_f", _vec("weights_f", weights_f, nnz)).astype(np.float64)
        sh = V.check_int_range("shift", _vec("shift", shift, n_out), -62, 62)
        V.check_shape("indices", idx, (nnz,))
        super().__init__(shape=(n_out, n_in), name=name, log_config=log_config)
        self.s_in = InPort(shape=(n_in,))
        self.a_out = OutPort(shape=(n_out,))
        self.indptr = Var(shape=ptr.shape, init=ptr)
        self.indices = Var(shape=(max(nnz, 1),), init=idx if nnz else np.zeros(1, np.int64))
        self.weights = Var(shape=(max(nnz, 1),), init=w if nnz else np.zeros(1, np.int64))
        self.weights_f = Var(shape=(max(nnz, 1),), init=wf if nnz else np.zeros(1))
        self.shift = Var(shape=(n_out,), init=sh)


class BiasNeuron(ValidatedProcess):
    r"""Neurons adding a bias (the encoder's ``x`` and the decoder's mask).

    Dynamics (each time step)::

        float:  s_out = a_in + bias_f
        fixed:  s_out = sat16(a_in + bias)          (24-bit bias, 16-bit graded output)
    """

    def __init__(self, *, bias, bias_f, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        b = fp.check_bits("bias", np.atleast_1d(bias), kernels.BIAS_BITS)
        n = b.size
        bf = V.check_finite("bias_f", _vec("bias_f", bias_f, n)).astype(np.float64)
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        self.bias = Var(shape=(n,), init=b)
        self.bias_f = Var(shape=(n,), init=bf)


class S5StateNeuron(ValidatedProcess):
    r"""S5 diagonal state neurons: ``P`` complex states as ``2P`` real compartments.

    Dynamics (each time step; ``a_in = [B_re x; B_im x]`` messages)::

        float:  s = Lambda_bar * s + (a_re + sb_re) + i (a_im + sb_im)
        fixed:  in = sat24(a + sb);  s = sat24(rshift(Lambda_bar s, 15) + in)   (re, im)
        s_out = [s_re; s_im]                                     (24-bit graded)

    ``lam_re``/``lam_im`` 16-bit (15 fractional bits, ``|Lambda_bar| < 1``), ``sb_*`` 24-bit,
    state ``s_re``/``s_im`` 24-bit saturating (float: ``sf_re``/``sf_im``).
    """

    def __init__(self, *, lam_re, lam_im, sb_re, sb_im, lam_re_f, lam_im_f, sb_re_f, sb_im_f,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        lr = fp.check_bits("lam_re", np.atleast_1d(lam_re), kernels.LAM_BITS)
        P = lr.size
        li = fp.check_bits("lam_im", _vec("lam_im", lam_im, P), kernels.LAM_BITS)
        if np.any(lr * lr + li * li >= 1 << (2 * kernels.LAM_FRAC)):
            raise ValueError("lam_re/lam_im: |Lambda_bar| must be < 1 (stable)")
        sbr = fp.check_bits("sb_re", _vec("sb_re", sb_re, P), kernels.BIAS_BITS)
        sbi = fp.check_bits("sb_im", _vec("sb_im", sb_im, P), kernels.BIAS_BITS)
        fl = {k: V.check_finite(k, _vec(k, v, P)).astype(np.float64) for k, v in
              (("lam_re_f", lam_re_f), ("lam_im_f", lam_im_f), ("sb_re_f", sb_re_f),
               ("sb_im_f", sb_im_f))}
        super().__init__(shape=(2 * P,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(2 * P,))
        self.s_out = OutPort(shape=(2 * P,))
        for k, v in (("lam_re", lr), ("lam_im", li), ("sb_re", sbr), ("sb_im", sbi)):
            setattr(self, k, Var(shape=(P,), init=v))
        for k, v in fl.items():
            setattr(self, k, Var(shape=(P,), init=v))
        for k in ("s_re", "s_im"):
            setattr(self, k, Var(shape=(P,), init=np.zeros(P, np.int64)))
        for k in ("sf_re", "sf_im"):
            setattr(self, k, Var(shape=(P,), init=np.zeros(P)))


class S5OutputNeuron(BiasNeuron):
    r"""S5 output neurons: the C messages (``a_in``) and the D messages (``s_in``) plus a
    bias, ReLU.

    Dynamics (each time step)::

        float:  s_out = max(a_in + s_in + yb_f, 0)
        fixed:  s_out = max(sat16(a_in + s_in + yb), 0)  (24-bit messages and bias, 16-bit out)

    The bias Vars and ``a_in``/``s_out`` are :class:`BiasNeuron`'s; ``s_in`` is added.
    """

    def __init__(self, *, bias, bias_f, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        super().__init__(bias=bias, bias_f=bias_f, name=name, log_config=log_config)
        self.s_in = InPort(shape=self.a_in.shape)


class S5GateNeuron(ValidatedProcess):
    r"""Half-GLU gate with the residual: the end of an S5 block.

    Dynamics (each time step; ``a_in = W y`` messages, ``s_in = y``, ``x_in = x``)::

        float:  s_out = x + y * sigmoid(a_in + wb_f)
        fixed:  g = LUT(sat16(a_in + wb));  s_out = sat16(x + shift(rshift(y * g, 12), out_shift))

    The sigmoid LUT is held in Vars (``sig_table``: 1024 entries of 13 bits, ``sig_x_min``,
    ``sig_step``; :func:`fine_kernels.sigmoid_vars`; ``sig_table`` as in
    :class:`SSMDiagonal`), ``wb`` 24-bit, ``out_shift`` the exponent change from ``y`` to
    ``x``.
    """

    def __init__(self, *, bias, bias_f, out_shift: int, sig_table=None,
                 name: ty.Optional[str] = None, log_config: ty.Optional[LogConfig] = None):
        b = fp.check_bits("bias", np.atleast_1d(bias), kernels.BIAS_BITS)
        n = b.size
        bf = V.check_finite("bias_f", _vec("bias_f", bias_f, n)).astype(np.float64)
        out_shift = V.check_int("out_shift", out_shift, -62, 62)
        sig = sigmoid_vars(sig_table)
        super().__init__(shape=(n,), name=name, log_config=log_config)
        self.a_in = InPort(shape=(n,))
        self.s_in = InPort(shape=(n,))
        self.x_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        self.bias = Var(shape=(n,), init=b)
        self.bias_f = Var(shape=(n,), init=bf)
        self.out_shift = Var(shape=(1,), init=np.array([out_shift]))
        self.sig_table = Var(shape=sig["sig_table"].shape, init=sig["sig_table"])
        self.sig_x_min = Var(shape=(1,), init=np.array([sig["sig_x_min"]]))
        self.sig_step = Var(shape=(1,), init=np.array([sig["sig_step"]]))
