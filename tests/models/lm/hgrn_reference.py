"""An independent torch reference of HF ``HGRNBitForCausalLM`` (matmulfreellm), for tests only.

Written from the released model's structure, NOT from lava_llm: it imports neither the
library's torch model nor its quantisers, so that a mistake shared by the library's pieces
cannot hide here. Everything runs in float64 on the raw (latent) state dict, exactly as the
released BitLinear does at every forward:

* ``weight_quant(W) = clip(round(W / a), -1, 1) * a`` with ``a = max(mean|W|, 1e-5)``
  (written as ``round(W * (1/a)) / (1/a)`` as matmulfreellm writes it);
* ``activation_quant(x) = clip(round(x * s), -128, 127) / s`` per token,
  ``s = 127 / max(max|x|, 1e-5)``;
* ``BitLinear(x) = activation_quant(RMSNorm_own(x)) @ weight_quant(W).T`` (no bias).

Block ``l`` (``x`` the residual stream)::

    a  = RMSNorm(x) * attn_norm
    f  = sigmoid(BL_f(a));  f = lb_l + (1 - lb_l) * f        (l > 0, lower bounds on)
    c  = SiLU(BL_i(a)) * (1 - f)
    s_t = f_t * s_{t-1} + c_t                                  (element-wise, s_{-1} = 0)
    x  = x + BL_o(RMSNorm(BL_g(a)) * g_norm * SiLU(s))
    m  = RMSNorm(x) * mlp_norm
    g, u = chunk(BL_gate(m), 2)
    x  = x + BL_down(SiLU(g) * u)

``lb = cumsum(softmax(lower_bounds, 0), 0) - softmax(lower_bounds, 0)[0]``; then
``logits = BL_head(RMSNorm(x) * norm)``.
"""
from __future__ import annotations

import torch

BITLINEAR_EPS = 1e-6  # the spec: every BitLinear's own RMSNorm uses eps 1e-6


def weight_quant(w: torch.Tensor) -> torch.Tensor:
    inv = 1.0 / w.abs().mean().clamp(min=1e-5)
    return (w * inv).round().clamp(-1, 1) / inv


def activation_quant(x: torch.Tensor) -> torch.Tensor:
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * s).round().clamp(-128, 127) / s


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def silu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def bit_linear(sd: dict, prefix: str, x: torch.Tensor, eps: float = BITLINEAR_EPS):
    xq = activation_quant(rms_norm(x, sd[prefix + ".norm.weight"], eps))
    return xq @ weight_quant(sd[prefix + ".weight"]).T


def hgrn_bit_logits(sd: dict, cfg: dict, ids, *, quantize: bool = True) -> torch.Tensor:
    """Logits ``(T, vocab)`` for the token ids ``ids`` (1-D) from an HF state dict ``sd``
    (name -> tensor) and an HF ``config.json`` dict ``cfg``. ``quantize=False`` gives the
    full-precision model (plain linear layers after each BitLinear's RMSNorm)."""
    sd = {k: v.detach().to(torch.float64) for k, v in sd.items()}
    eps = float(cfg.get("rms_norm_eps", 1e-6))
    n_layers = int(cfg["num_hidden_layers"])
    if not quantize:
        def bl(prefix, x):
            return rms_norm(x, sd[prefix + ".norm.weight"], BITLINEAR_EPS) \
                @ sd[prefix + ".weight"].T
    else:
        def bl(prefix, x):
            return bit_linear(sd, prefix, x)
    ids = torch.as_tensor(ids, dtype=torch.long)
    x = sd["model.embeddings.weight"][ids]                       # (T, H)
    if cfg.get("use_lower_bound", True):
        p = torch.softmax(sd["model.lower_bounds"], dim=0)       # (L, H)
        lb = p.cumsum(0) - p[0]
    else:
        lb = None
    for layer in range(n_layers):
        pre = f"model.layers.{layer}"
        a = rms_norm(x, sd[pre + ".attn_norm.weight"], eps)
        i = bl(pre + ".attn.i_proj", a)
        f = torch.sigmoid(bl(pre + ".attn.f_proj", a))
        if lb is not None and layer > 0:
            f = lb[layer] + (1 - lb[layer]) * f
        c = silu(i) * (1 - f)
        s = torch.zeros_like(c[0])
        states = []
        for t in range(c.shape[0]):
            s = f[t] * s + c[t]
            states.append(s)
        h = torch.stack(states)
        g = bl(pre + ".attn.g_proj", a)
        o = rms_norm(g, sd[pre + ".attn.g_norm.weight"], eps) * silu(h)
        x = x + bl(pre + ".attn.o_proj", o)
        m = rms_norm(x, sd[pre + ".mlp_norm.weight"], eps)
        gate, up = bl(pre + ".mlp.gate_proj", m).chunk(2, dim=-1)
        x = x + bl(pre + ".mlp.down_proj", silu(gate) * up)
    x = rms_norm(x, sd["model.norm.weight"], eps)
    return bl("lm_head", x)


def intermediate_size(cfg: dict) -> int:
    """The MLP width: ``intermediate_size`` if given, else ``256 * ceil(int(H * r * 2/3) /
    256)`` with ``r = hidden_ratio`` (default 4)."""
    if cfg.get("intermediate_size") is not None:
        return int(cfg["intermediate_size"])
    ratio = cfg.get("hidden_ratio") or 4
    n = int(cfg["hidden_size"] * ratio * 2 / 3)
    return 256 * ((n + 255) // 256)


def random_state_dict(cfg: dict, seed: int = 0, dtype=torch.bfloat16) -> dict:
    """A random HGRNBit state dict in the HF layout (latent weights in ``dtype``). Every norm
    gain differs from 1 and from every other one, so a swapped or dropped key shows up."""
    g = torch.Generator().manual_seed(seed)
    V, H, L = cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"]
    inter = intermediate_size(cfg)

    def w(*shape, std=0.05):
        return (torch.randn(*shape, generator=g) * std).to(dtype)

    def gain(n):
        return (1.0 + 0.3 * torch.randn(n, generator=g)).to(dtype)

    sd = {"model.embeddings.weight": w(V, H, std=1.0)}
    if cfg.get("use_lower_bound", True):
        sd["model.lower_bounds"] = w(L, H, std=1.0)
    for layer in range(L):
        pre = f"model.layers.{layer}"
        sd[pre + ".attn_norm.weight"] = gain(H)
        for p in "ifg":
            sd[f"{pre}.attn.{p}_proj.weight"] = w(H, H)
            sd[f"{pre}.attn.{p}_proj.norm.weight"] = gain(H)
        sd[pre + ".attn.o_proj.weight"] = w(H, H)
        sd[pre + ".attn.o_proj.norm.weight"] = gain(H)
        sd[pre + ".attn.g_norm.weight"] = gain(H)
        sd[pre + ".mlp_norm.weight"] = gain(H)
        sd[pre + ".mlp.gate_proj.weight"] = w(2 * inter, H)
        sd[pre + ".mlp.gate_proj.norm.weight"] = gain(H)
        sd[pre + ".mlp.down_proj.weight"] = w(H, inter)
        sd[pre + ".mlp.down_proj.norm.weight"] = gain(inter)
    sd["model.norm.weight"] = gain(H)
    sd["lm_head.weight"] = w(V, H)
    sd["lm_head.norm.weight"] = gain(H)
    return sd


def hf_config(vocab_size: int, hidden_size: int, num_hidden_layers: int,
              intermediate_size: int | None = None, **extra) -> dict:
    """``config.json`` content as matmulfreellm's ``HGRNBitConfig.to_dict()`` writes it."""
    cfg = {
        "architectures": ["HGRNBitForCausalLM"], "model_type": "hgrn_bit",
        "vocab_size": vocab_size, "hidden_size": hidden_size,
        "num_hidden_layers": num_hidden_layers, "attn_mode": "fused_recurrent",
        "num_heads": 1, "expand_ratio": 1, "use_short_conv": False, "conv_size": 4,
        "share_conv_kernel": True, "use_lower_bound": True, "hidden_ratio": 4,
        "intermediate_size": intermediate_size, "hidden_act": "swish",
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "use_cache": True,
        "pad_token_id": None, "bos_token_id": 1, "eos_token_id": 2,
        "tie_word_embeddings": False, "initializer_range": 0.02,
        "fuse_cross_entropy": True, "torch_dtype": "bfloat16",
        "transformers_version": "4.40.0",
    }
    cfg.update(extra)
    return cfg
