"""Configuration of the MatMul-free language model (HGRNBit layout).

``LMConfig(vocab_size, hidden_size, num_layers, intermediate_size=None, eps=1e-6)``;
``intermediate_size`` defaults to matmulfreellm's ``256 * ceil(int(8H/3) / 256)``.
:meth:`LMConfig.to_dict` / :meth:`LMConfig.from_dict` are the ``config.json`` form (HF key
names ``num_hidden_layers`` and ``rms_norm_eps`` are accepted on input).
"""
from __future__ import annotations

import dataclasses
import math

from lava_llm import validation as V

#: Longest prompt (tokens) that generation accepts. The recurrence itself has no context
#: limit; this bounds host memory of the Lava logit/token buffers and run time.
MAX_PROMPT_TOKENS = 4096
#: Most new tokens one generate call produces.
MAX_NEW_TOKENS = 4096


def default_intermediate_size(hidden_size: int) -> int:
    """``256 * ceil(int(8 * H / 3) / 256)`` (matmulfreellm's default MLP width)."""
    return 256 * math.ceil(int(8 * hidden_size / 3) / 256)


@dataclasses.dataclass(frozen=True)
class LMConfig:
    """Shape of an HGRNBit MatMul-free LM.

    Parameters
    ----------
    vocab_size : int
        Number of tokens (>= 2).
    hidden_size : int
        Width ``H`` of the residual stream and of the MLGRU state.
    num_layers : int
        Number of blocks (MLGRU token mixer + GLU channel mixer).
    intermediate_size : int, optional
        GLU width (default :func:`default_intermediate_size`).
    eps : float
        RMSNorm epsilon of every norm (1e-6).
    """

    vocab_size: int
    hidden_size: int
    num_layers: int
    intermediate_size: int | None = None
    eps: float = 1e-6

    def __post_init__(self):
        V.check_int("vocab_size", self.vocab_size, 2, 1 << 20)
        V.check_int("hidden_size", self.hidden_size, 1, 1 << 16)
        V.check_int("num_layers", self.num_layers, 1, 1024)
        if self.intermediate_size is None:
            object.__setattr__(self, "intermediate_size",
                               default_intermediate_size(self.hidden_size))
        V.check_int("intermediate_size", self.intermediate_size, 1, 1 << 18)
        V.check_positive("eps", self.eps)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LMConfig":
        """From ``config.json`` (also accepts HF names ``num_hidden_layers``, ``rms_norm_eps``).
        Unknown keys are ignored; missing required keys raise ValueError naming them."""
        if not isinstance(d, dict):
            raise ValueError(f"config must be a JSON object, got {type(d).__name__}")
        d = dict(d)
        if "num_layers" not in d and "num_hidden_layers" in d:
            d["num_layers"] = d["num_hidden_layers"]
        if "eps" not in d and "rms_norm_eps" in d:
            d["eps"] = d["rms_norm_eps"]
        missing = [k for k in ("vocab_size", "hidden_size", "num_layers") if k not in d]
        if missing:
            raise ValueError(f"config is missing key(s) {missing}")
        return cls(vocab_size=d["vocab_size"], hidden_size=d["hidden_size"],
                   num_layers=d["num_layers"], intermediate_size=d.get("intermediate_size"),
                   eps=V.as_float("eps", d.get("eps", 1e-6)))

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """HF module name of every BitLinear -> weight shape ``(out, in)``, network order."""
        H, I = self.hidden_size, self.intermediate_size
        out = {}
        for layer in range(self.num_layers):
            pre = f"model.layers.{layer}."
            for p in "ifgo":
                out[f"{pre}attn.{p}_proj"] = (H, H)
            out[pre + "mlp.gate_proj"] = (2 * I, H)
            out[pre + "mlp.down_proj"] = (H, I)
        out["lm_head"] = (self.vocab_size, H)
        return out

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Full-precision tensors (not BitLinear): embeddings, lower bounds, norm gains."""
        H = self.hidden_size
        out = {"model.embeddings.weight": (self.vocab_size, H),
               "model.lower_bounds": (self.num_layers, H)}
        for layer in range(self.num_layers):
            for n in ("attn_norm", "attn.g_norm", "mlp_norm"):
                out[f"model.layers.{layer}.{n}.weight"] = (H,)
        out["model.norm.weight"] = (H,)
        return out
