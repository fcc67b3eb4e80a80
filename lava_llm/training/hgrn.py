"""Torch HGRNBit (MatMul-free LM): training with QAT and the float reference.

Block ``l`` (``x`` the residual stream, every ``BL_*`` a :class:`~.bitlinear.BitLinear` with its
own RMSNorm, eps 1e-6)::

    a   = RMSNorm(x) * attn_norm
    f   = sigmoid(BL_f(a));  f = lb_l + (1 - lb_l) * f            (l > 0)
    c   = SiLU(BL_i(a)) * (1 - f)
    h_t = f_t * h_{t-1} + c_t                                       (per channel)
    x   = x + BL_o(RMSNorm(BL_g(a)) * g_norm * SiLU(h))
    m   = RMSNorm(x) * mlp_norm;  [g, u] = chunk(BL_gate(m), 2)
    x   = x + BL_down(SiLU(g) * u)

``lb = cumsum(softmax(lower_bounds, 0)) - softmax(lower_bounds, 0)[0]``; the embedding is full
precision; ``logits = BL_head(RMSNorm(x) * norm)`` (untied).

``state_dict()`` keys are exactly HF ``HGRNBitForCausalLM``'s (``model.embeddings.weight``,
``model.lower_bounds``, ``model.layers.{l}.attn.{i,f,g,o}_proj.weight`` / ``.norm.weight``,
``.attn.g_norm.weight``, ``.attn_norm.weight``, ``.mlp_norm.weight``,
``.mlp.{gate,down}_proj.weight`` / ``.norm.weight``, ``model.norm.weight``, ``lm_head.weight``,
``lm_head.norm.weight``), so an HF checkpoint loads with ``load_state_dict``.

Quantisation: ``quantize=True`` (default) is the QAT / fake-quant model (ternary weights,
per-token int8 activations, straight-through gradients); :func:`set_quantize` switches every
BitLinear to full precision for a float baseline. :meth:`HGRNBitForCausalLM.from_params` builds
a model from already ternarised weights (:class:`~lava_llm.models.lm.params.LMParams`) whose
BitLinears are *frozen*: they use ``alpha * trits`` as stored and never re-quantise.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lava_llm import fixed_point as fp
from lava_llm.training.bitlinear import BitLinear, RMSNorm, fake_quant_act


class HGRNBitLinear(BitLinear):
    """BitLinear that can be *frozen* onto stored trits: ``weight = alpha * trits``, used
    as is (no second absmean ternarisation, which would shrink alpha by mean|trits|)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.frozen = False

    def forward(self, x):
        if self.frozen and self.quantize:
            return F.linear(fake_quant_act(self.norm(x)), self.weight)
        return super().forward(x)

    def ternary(self):
        """``(trits int8 numpy, alpha float)`` of this layer: the single ternarisation."""
        w = self.weight.detach().to(torch.float64).cpu().numpy()
        if self.frozen:
            alpha = float(np.abs(w).max()) if np.any(w) else 1.0
            return np.round(w / alpha).astype(np.int8), alpha
        t, a = fp.ternary_absmean(w)
        return t.astype(np.int8), float(a)


class HGRNBitAttention(nn.Module):
    """MLGRU token mixer (``attn`` in HF naming)."""

    def __init__(self, hidden: int, layer_idx: int, eps: float):
        super().__init__()
        self.layer_idx = layer_idx
        self.i_proj = HGRNBitLinear(hidden, hidden, eps=eps)
        self.f_proj = HGRNBitLinear(hidden, hidden, eps=eps)
        self.g_proj = HGRNBitLinear(hidden, hidden, eps=eps)
        self.o_proj = HGRNBitLinear(hidden, hidden, eps=eps)
        self.g_norm = RMSNorm(hidden, eps)

    def forward(self, a, lower_bound=None, h=None):
        """``a`` (B, T, H) -> output (B, T, H) and the last state (B, H)."""
        f = torch.sigmoid(self.f_proj(a))
        if lower_bound is not None and self.layer_idx > 0:
            f = lower_bound + (1 - lower_bound) * f
        c = F.silu(self.i_proj(a)) * (1 - f)
        if h is None:
            h = torch.zeros_like(c[:, 0])
        hs = []
        for t in range(c.shape[1]):
            h = f[:, t] * h + c[:, t]
            hs.append(h)
        hs = torch.stack(hs, dim=1)
        o = self.g_norm(self.g_proj(a)) * F.silu(hs)
        return self.o_proj(o), h


class HGRNBitMLP(nn.Module):
    """GLU channel mixer."""

    def __init__(self, hidden: int, intermediate: int, eps: float):
        super().__init__()
        self.gate_proj = HGRNBitLinear(hidden, 2 * intermediate, eps=eps)
        self.down_proj = HGRNBitLinear(intermediate, hidden, eps=eps)

    def forward(self, x):
        g, u = self.gate_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(g) * u)


class HGRNBitBlock(nn.Module):
    def __init__(self, cfg, layer_idx: int):
        super().__init__()
        H = cfg.hidden_size
        self.attn_norm = RMSNorm(H, cfg.eps)
        self.attn = HGRNBitAttention(H, layer_idx, cfg.eps)
        self.mlp_norm = RMSNorm(H, cfg.eps)
        self.mlp = HGRNBitMLP(H, cfg.intermediate_size, cfg.eps)

    def forward(self, x, lower_bound, h):
        o, h = self.attn(self.attn_norm(x), lower_bound, h)
        x = x + o
        return x + self.mlp(self.mlp_norm(x)), h


class HGRNBitModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.lower_bounds = nn.Parameter(torch.zeros(cfg.num_layers, cfg.hidden_size))
        self.layers = nn.ModuleList(HGRNBitBlock(cfg, i) for i in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.eps)

    def forward(self, ids, state=None):
        x = self.embeddings(ids)
        lb = self.lower_bounds.softmax(0)
        lb = lb.cumsum(0) - lb[0]
        state = state or [None] * len(self.layers)
        new = []
        for layer, block in enumerate(self.layers):
            x, h = block(x, lb[layer], state[layer])
            new.append(h)
        return self.norm(x), new


class HGRNBitForCausalLM(nn.Module):
    """The MatMul-free LM. ``forward(ids (B, T), state=None) -> (logits (B, T, V), state)``;
    ``state`` is a list of per-layer MLGRU states (B, H) for carrying on a sequence."""

    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.model = HGRNBitModel(cfg)
        self.lm_head = HGRNBitLinear(cfg.hidden_size, cfg.vocab_size, eps=cfg.eps)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, state=None):
        x, state = self.model(ids, state)
        return self.lm_head(x), state

    def bitlinears(self) -> dict:
        """HF module name -> HGRNBitLinear, network order."""
        return {n: m for n, m in self.named_modules() if isinstance(m, HGRNBitLinear)}

    # ------------------------------------------------------------------ LMParams exchange
    def to_params(self):
        """Ternarise every BitLinear once -> :class:`~lava_llm.models.lm.params.LMParams`."""
        from lava_llm.models.lm.params import LMParams, TernaryLinear

        linears = {}
        for name, m in self.bitlinears().items():
            t, a = m.ternary()
            linears[name] = TernaryLinear(t, a, m.norm.weight.detach().double().numpy())
        sd = self.state_dict()
        tensors = {k: sd[k].detach().double().numpy().copy()
                   for k in self.config.tensor_shapes()}
        return LMParams(self.config, linears, tensors)

    @classmethod
    def from_params(cls, params, dtype=torch.float32) -> "HGRNBitForCausalLM":
        """Model with frozen ternary BitLinears from an ``LMParams``.

        Built on the meta device and filled one tensor at a time in ``dtype`` (``alpha *
        trits`` is ``+-alpha`` or 0, so it is exact in any dtype): no float64 copy of the
        whole model and no random initialisation (peak ~ the model in ``dtype``)."""
        params.check()
        with torch.device("meta"):
            model = cls(params.config)
        model = model.to(dtype).to_empty(device="cpu")
        values = {}
        for name, lin in params.linears.items():
            values[name + ".weight"] = (lin.trits, float(lin.scale))
            values[name + ".norm.weight"] = (lin.norm_weight, None)
        for name, t in params.tensors.items():
            values[name] = (t, None)
        sd = model.state_dict()
        if set(sd) != set(values):
            raise ValueError(f"parameters do not match the torch model: missing "
                             f"{sorted(set(sd) - set(values))[:5]}, unexpected "
                             f"{sorted(set(values) - set(sd))[:5]}")
        with torch.no_grad():
            for name, (value, scale) in values.items():
                target = sd[name]
                if scale is None:   # one rounding to dtype, as before (float32 is exact)
                    value = np.asarray(value)
                    if value.dtype not in (np.float32, np.float64):
                        value = value.astype(np.float64)
                    target.copy_(torch.from_numpy(value))
                else:
                    target.copy_(torch.from_numpy(np.asarray(value, np.int8)))
                    target.mul_(scale)
        for m in model.bitlinears().values():
            m.frozen = True
        return model


def set_quantize(model: nn.Module, quantize: bool) -> nn.Module:
    """Switch every BitLinear of ``model`` between fake-quant (True) and full precision."""
    for m in model.modules():
        if isinstance(m, BitLinear):
            m.quantize = bool(quantize)
    return model
