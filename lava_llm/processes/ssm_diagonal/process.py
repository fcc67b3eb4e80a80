"""The SSMDiagonal Process: a sparse S5 stack (encoder, S5 blocks, decoder) in one leaf."""
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
    whole stack is ONE leaf ProcessModel (one OS process in Lava's CPU backend).

    Parameters
    ----------
    params : dict
        From :func:`lava_llm.training.s5.export_fixed` (or
        :func:`kernels.load_params` of a shipped checkpoint).

    Ports
    -----
    s_in : (bins,) input frame (float log-magnitude; fixed: 16-bit, ``e_in`` fractional bits)
    a_out : (bins,) mask (fixed: 16-bit, ``e_m`` fractional bits)
    """

    def __init__(self, *, params: dict, name: ty.Optional[str] = None,
                 log_config: ty.Optional[LogConfig] = None):
        arrays = check_params(params)
        L, P, H, F = kernels.dims(params)
        super().__init__(shape=(F,), config=str(params["config"]), dims=(L, P, H, F),
                         name=name, log_config=log_config)
        self.s_in = InPort(shape=(F,))
        self.a_out = OutPort(shape=(F,))
        for key, arr in arrays.items():
            setattr(self, key, Var(shape=arr.shape, init=arr))
        self.s_re = Var(shape=(L, P), init=np.zeros((L, P)))
        self.s_im = Var(shape=(L, P), init=np.zeros((L, P)))

