"""``LMParams``: a model after its one ternarisation (the exchange format of every backend).

* ``config``: :class:`~lava_llm.models.lm.config.LMConfig`;
* ``linears``: HF module name (``model.layers.0.attn.i_proj``, ..., ``lm_head``) ->
  :class:`TernaryLinear` ``(trits (out, in), scale alpha, norm_weight (in,))``; the trits are
  held packed, 2 bits each, in the layout of the compiled kernel
  (:class:`~lava_llm.processes.ternary_dense.kernels.PackedTernary`, array-like:
  ``np.asarray(lin.trits)`` is the int8 matrix);
* ``tensors``: HF name -> float array (float64, or float32 as stored in a checkpoint: every
  user widens it exactly where it needs float64) for the full-precision rest
  (``model.embeddings.weight``, ``model.lower_bounds``, ``model.layers.{l}.attn_norm.weight``,
  ``.attn.g_norm.weight``, ``.mlp_norm.weight``, ``model.norm.weight``).

The torch model, the numpy float path, the integer export and the Lava builder all take an
``LMParams``. Any object with ``trits``/``scale``/``norm_weight`` attributes works as a linear
(e.g. :class:`lava_llm.models.lm.hf_import.TernaryLinear`): see :func:`from_hf_import`.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm.models.lm.config import LMConfig
from lava_llm.processes.ternary_dense import kernels as td


class TernaryLinear:
    """``y = scale * trits @ q8(RMSNorm(x) * norm_weight)``.

    ``trits``: int array in {-1, 0, 1} (packed on construction, ValueError otherwise) or a
    :class:`~lava_llm.processes.ternary_dense.kernels.PackedTernary` (kept as is). The
    attribute ``trits`` is the packed matrix (2 bits a weight, 4x less memory than int8).
    """

    __slots__ = ("trits", "scale", "norm_weight")

    def __init__(self, trits, scale: float, norm_weight):
        self.trits = td.pack_ternary(trits)
        self.scale = float(scale)
        self.norm_weight = np.asarray(norm_weight, np.float64)

    def __repr__(self) -> str:
        return f"TernaryLinear(shape={self.trits.shape}, scale={self.scale:.6g})"


@dataclasses.dataclass
class LMParams:
    config: LMConfig
    linears: dict
    tensors: dict

    def check(self, where: str = "parameters") -> "LMParams":
        """Raise ValueError listing missing/unexpected names and shape mismatches."""
        problems = []
        want_l = self.config.linear_shapes()
        want_t = self.config.tensor_shapes()
        for k in want_l:
            if k not in self.linears:
                problems.append(f"missing linear {k}")
        for k in want_t:
            if k not in self.tensors:
                problems.append(f"missing tensor {k}")
        problems += [f"unexpected linear {k}" for k in self.linears if k not in want_l]
        problems += [f"unexpected tensor {k}" for k in self.tensors if k not in want_t]
        for k, shp in want_l.items():
            lin = self.linears.get(k)
            if lin is None:
                continue
            if tuple(np.shape(lin.trits)) != shp:
                problems.append(f"{k}: weight shape {tuple(np.shape(lin.trits))}, config "
                                f"needs {shp}")
            if tuple(np.shape(lin.norm_weight)) != (shp[1],):
                problems.append(f"{k}.norm: shape {tuple(np.shape(lin.norm_weight))}, config "
                                f"needs {(shp[1],)}")
        for k, shp in want_t.items():
            if k in self.tensors and tuple(np.shape(self.tensors[k])) != shp:
                problems.append(f"{k}: shape {tuple(np.shape(self.tensors[k]))}, config needs "
                                f"{shp}")
        if problems:
            c = self.config
            raise ValueError(f"{where} do not match the config (vocab_size={c.vocab_size}, "
                             f"hidden_size={c.hidden_size}, num_layers={c.num_layers}, "
                             f"intermediate_size={c.intermediate_size}): "
                             + "; ".join(problems[:10])
                             + (f" ... and {len(problems) - 10} more" if len(problems) > 10
                                else ""))
        return self

    def lower_bounds(self) -> np.ndarray:
        """``cumsum(softmax(lower_bounds, 0)) - softmax(...)[0]``, shape (L, H); row 0 is 0."""
        x = np.asarray(self.tensors["model.lower_bounds"], dtype=np.float64)
        p = np.exp(x - x.max(axis=0, keepdims=True))
        p /= p.sum(axis=0, keepdims=True)
        return np.cumsum(p, axis=0) - p[0]


def from_hf_import(imp) -> LMParams:
    """Adapt an :class:`lava_llm.models.lm.hf_import.HFImport` (same names and layout)."""
    c = imp.config
    cfg = LMConfig(vocab_size=c.vocab_size, hidden_size=c.hidden_size,
                   num_layers=c.num_hidden_layers, intermediate_size=c.intermediate_size,
                   eps=c.rms_norm_eps)
    linears = {k: TernaryLinear(v.trits, float(v.scale), np.asarray(v.norm_weight, np.float64))
               for k, v in imp.linears.items()}
    tensors = {k: np.asarray(v, np.float64) for k, v in imp.tensors.items()}
    return LMParams(cfg, linears, tensors).check("HF import")


def random_params(config: LMConfig, seed: int = 0) -> LMParams:
    """A random model (for tests and benchmarks): latent N(0, 1/in) weights ternarised once,
    gains near 1, lower bounds N(0, 1)."""
    rng = np.random.default_rng(seed)
    linears = {}
    for k, (o, i) in config.linear_shapes().items():
        w = rng.normal(0, 1 / np.sqrt(i), (o, i))
        t, a = fp.ternary_absmean(w)
        linears[k] = TernaryLinear(t.astype(np.int8), float(a), 1 + 0.1 * rng.normal(size=i))
    tensors = {}
    for k, shp in config.tensor_shapes().items():
        if k == "model.embeddings.weight":
            tensors[k] = rng.normal(size=shp)
        elif k == "model.lower_bounds":
            tensors[k] = rng.normal(size=shp)
        else:
            tensors[k] = 1 + 0.1 * rng.normal(size=shp)
    return LMParams(config, linears, tensors)
