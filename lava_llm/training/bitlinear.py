"""Torch BitLinear with straight-through QAT, and export to :class:`TernaryDense`.

Forward (training and inference alike)::

    x' = x + (fq_int8(RMSNorm(x) * g) - x).detach()   per-token absmax, eps 1e-6
    W' = W + (alpha * ternary(W) - W).detach()         absmean ternarisation
    y  = x' @ W'.T

The quantisers are :func:`lava_llm.fixed_point.int8_absmax_per_token` and
:func:`lava_llm.fixed_point.ternary_absmean`, called on tensors.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lava_llm import fixed_point as fp
from lava_llm.processes.ternary_dense import kernels


def ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Straight-through estimator: forward ``q``, gradient of identity to ``x``."""
    return x + (q - x).detach()


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` (matmulfreellm's RMSNorm, eps 1e-6)."""

    def __init__(self, dim: int, eps: float = kernels.RMS_EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    trits, alpha = fp.ternary_absmean(w)
    return ste(w, trits * alpha)


def fake_quant_act(x: torch.Tensor) -> torch.Tensor:
    q, s = fp.int8_absmax_per_token(x)
    return ste(x, q / s)


class BitLinear(nn.Linear):
    """``nn.Linear`` with ternary weights, int8 activations and its own input RMSNorm.

    ``quantize=False`` turns it into the full-precision layer (for float baselines).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = False,
                 eps: float = kernels.RMS_EPS, quantize: bool = True):
        if bias:
            raise ValueError("bias=True is not supported: BitLinear has no bias")
        super().__init__(in_features, out_features, bias=False)
        self.norm = RMSNorm(in_features, eps)
        self.quantize = quantize

    def forward(self, x):
        x = self.norm(x)
        if not self.quantize:
            return nn.functional.linear(x, self.weight)
        return nn.functional.linear(fake_quant_act(x), fake_quant_weight(self.weight))


def export_bitlinear(module: BitLinear) -> dict:
    """Ternarise a trained BitLinear once and pack it: ``{"packed", "shape", "scale",
    "norm_weight", "eps"}`` (trits 2 bits each). Feed to :meth:`TernaryDense.from_packed`."""
    with torch.no_grad():
        w = module.weight.detach().to(torch.float64)
        trits, alpha = fp.ternary_absmean(w)
    t = trits.cpu().numpy().astype(np.int8)
    return {"packed": fp.pack_trits(t), "shape": tuple(t.shape), "scale": float(alpha),
            "norm_weight": module.norm.weight.detach().cpu().double().numpy(),
            "eps": float(module.norm.eps)}
