"""How the LM's parameters become Lava Vars (one place for the Processes and the models).

A BitLinear ``k`` (ternary weights + its input RMSNorm) is held as the Vars::

    k_weights     (out, in)  8-bit synaptic weights (values -1, 0, +1)
    k_weight_exp  (1,)       synaptic weight exponent (0 for ternary weights)
    k_mant, k_shift (1,)     16-bit output rescale of the accumulated sums (fixed model)
    k_wm (in,), k_ws, k_eps_q, k_in_frac
                             the integer RMSNorm in front (16-bit gains, shift, epsilon)
    k_act (1,), k_act_bits (1,)
                             the input quantiser: 1 = per-token dynamic absmax (the shipped
                             design), 0 = static scale folded into ``k_wm``; its width (8)
    k_scale (1,), k_norm_weight (in,)
                             float model only (host-side values)

A Process holding BitLinears also holds ``recip_lut`` (1024,): the unsigned 23-bit
reciprocal LUT of the dynamic quantiser (:func:`lava_llm.fixed_point.recip_table`), created by
:func:`add_recip_lut`. A plain RMSNorm ``k`` is ``k_gain`` (float), ``k_wm``, ``k_ws``, ``k_eps_q``,
``k_in_frac``. :func:`add_linear_vars` / :func:`add_norm_vars` create them on a Process,
:func:`install_types` declares their ``LavaPyType`` (precision at Loihi widths) on a
ProcessModel class, :func:`read_linear_int` / :func:`read_linear_float` / :func:`read_norm_int`
rebuild the kernels' parameter dicts from a model's Var values.
"""
from __future__ import annotations

import collections

import numpy as np
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.variable import Var

from lava_llm import fixed_point as fp

#: (suffix, precision) of the integer Vars of a BitLinear / a norm (signed 32-bit
#: containers; ``mant`` is unsigned).
LINEAR_INT = (("weights", fp.WEIGHT_BITS), ("weight_exp", 3), ("mant", 16), ("shift", 6),
              ("wm", 16), ("ws", 6), ("eps_q", 24), ("in_frac", 5), ("act", 2),
              ("act_bits", 5))
#: Codes of the ``k_act`` Var (the input quantisers the Lava models hold).
ACT_CODES = {"static": 0, "dynamic": 1}
#: Precision of the ``recip_lut`` Var (entries up to 2**23: unsigned 24-bit).
RECIP_LUT_BITS = 24
LINEAR_FLOAT = ("scale", "norm_weight")
NORM_INT = (("wm", 16), ("ws", 6), ("eps_q", 24), ("in_frac", 5))
NORM_FLOAT = ("gain",)

#: A float BitLinear as the kernels read it (``trits``, ``scale``, ``norm_weight``).
Linear = collections.namedtuple("Linear", "trits scale norm_weight")


def _scalar(v) -> np.ndarray:
    return np.array([int(v)], np.int64)


def add_linear_vars(proc, key: str, lin_float, lin_int: dict | None) -> None:
    """Create the Vars of BitLinear ``key`` on ``proc`` (integer ones zero when ``lin_int``
    is None, i.e. a float-only network)."""
    trits = np.asarray(lin_float.trits, np.int8)
    n_in = trits.shape[1]
    q = lin_int or {}
    vals = {"weights": trits, "weight_exp": _scalar(0),
            "mant": _scalar(q.get("mant", 0)), "shift": _scalar(q.get("shift", 0)),
            "wm": np.asarray(q.get("wm", np.zeros(n_in)), np.int64),
            "ws": _scalar(q.get("ws", 0)), "eps_q": _scalar(q.get("eps_q", 0)),
            "in_frac": _scalar(q.get("in_frac", 0)),
            "act": _scalar(ACT_CODES.get(q.get("act", "static"), 0)),
            "act_bits": _scalar(q.get("act_bits", fp.ACT_BITS)),
            "scale": np.array([float(lin_float.scale)]),
            "norm_weight": np.asarray(lin_float.norm_weight, np.float64)}
    if lin_int is not None:
        act, bits = q.get("act", "static"), q.get("act_bits", fp.ACT_BITS)
        if act not in ACT_CODES or bits != fp.ACT_BITS:
            raise ValueError(f"{key}: the Lava models hold the dynamic and static int8 input "
                             f"quantisers only; act={act!r}, act_bits={bits} (export_int quant "
                             f"options) runs in the integer engine")
        fp.check_bits(f"{key} wm", vals["wm"], 16)
        fp.check_bits(f"{key} eps_q", vals["eps_q"], 24)
        fp.check_bits(f"{key} mant", vals["mant"], 16, signed=False)
    for name, v in vals.items():
        setattr(proc, f"{key}_{name}", Var(shape=v.shape, init=v))


def add_recip_lut(proc) -> None:
    """The reciprocal LUT Var ``recip_lut`` of the dynamic input quantiser on ``proc``."""
    lut = fp.recip_table()
    fp.check_bits("recip_lut", lut, RECIP_LUT_BITS, signed=False)
    proc.recip_lut = Var(shape=lut.shape, init=lut)


def add_norm_vars(proc, key: str, gain, norm_int: dict | None) -> None:
    """Create the Vars of RMSNorm ``key`` on ``proc``."""
    gain = np.asarray(gain, np.float64)
    q = norm_int or {}
    vals = {"gain": gain, "wm": np.asarray(q.get("wm", np.zeros(gain.size)), np.int64),
            "ws": _scalar(q.get("ws", 0)), "eps_q": _scalar(q.get("eps_q", 0)),
            "in_frac": _scalar(q.get("in_frac", 0))}
    if norm_int is not None:
        fp.check_bits(f"{key} wm", vals["wm"], 16)
        fp.check_bits(f"{key} eps_q", vals["eps_q"], 24)
    for name, v in vals.items():
        setattr(proc, f"{key}_{name}", Var(shape=v.shape, init=v))


def install_types(model_cls, linears=(), norms=()):
    """Declare the LavaPyTypes of the Vars of ``linears`` / ``norms`` on ``model_cls``
    (integer Vars with their precision; float Vars as float, host-side values)."""
    for key in linears:
        for suffix, bits in LINEAR_INT:
            dtype = np.int8 if suffix == "weights" else np.int32
            setattr(model_cls, f"{key}_{suffix}", LavaPyType(np.ndarray, dtype, precision=bits))
        for suffix in LINEAR_FLOAT:
            setattr(model_cls, f"{key}_{suffix}", LavaPyType(np.ndarray, float))
    if linears:
        model_cls.recip_lut = LavaPyType(np.ndarray, np.int32, precision=RECIP_LUT_BITS)
    for key in norms:
        for suffix, bits in NORM_INT:
            setattr(model_cls, f"{key}_{suffix}", LavaPyType(np.ndarray, np.int32, precision=bits))
        for suffix in NORM_FLOAT:
            setattr(model_cls, f"{key}_{suffix}", LavaPyType(np.ndarray, float))
    return model_cls


def var_value(obj, name: str) -> np.ndarray:
    """The value of Var ``name``: a model attribute (an array) or a Process Var's init."""
    v = getattr(obj, name)
    return np.asarray(v.init if isinstance(v, Var) else v)


def read_norm_int(obj, key: str) -> dict:
    g = lambda s: var_value(obj, f"{key}_{s}")  # noqa: E731
    return {"wm": g("wm").astype(np.int64), "ws": int(g("ws")[0]),
            "eps_q": int(g("eps_q")[0]), "in_frac": int(g("in_frac")[0])}


def read_linear_int(obj, key: str) -> dict:
    """The kernels' integer BitLinear dict; the weight exponent folds into the shift
    (``(acc << e) * m >> s == acc * m >> (s - e)``)."""
    g = lambda s: var_value(obj, f"{key}_{s}")  # noqa: E731
    d = read_norm_int(obj, key)
    d.update(trits=g("weights").astype(np.int8), mant=int(g("mant")[0]),
             shift=int(g("shift")[0]) - int(g("weight_exp")[0]),
             act=act_name(g("act")[0]), act_bits=int(g("act_bits")[0]))
    if d["act"] == "dynamic":
        d["recip_lut"] = var_value(obj, "recip_lut").astype(np.int64)
    return d


def act_name(code) -> str:
    """The input quantiser of a ``k_act`` code."""
    names = {v: k for k, v in ACT_CODES.items()}
    if int(code) not in names:
        raise ValueError(f"act code must be one of {sorted(names)}, got {int(code)}")
    return names[int(code)]


def read_linear_float(obj, key: str) -> Linear:
    g = lambda s: var_value(obj, f"{key}_{s}")  # noqa: E731
    return Linear(g("weights").astype(np.int8), float(g("scale")[0]),
                         g("norm_weight").astype(np.float64))


def read_gain(obj, key: str) -> np.ndarray:
    return var_value(obj, f"{key}_gain").astype(np.float64)
