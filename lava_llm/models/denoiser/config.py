"""Shape of the S5 denoiser network (no torch needed to read it)."""
from __future__ import annotations

import dataclasses
import json

from lava_llm import audio
from lava_llm import validation as V


@dataclasses.dataclass
class DenoiserConfig:
    """Shape of the S5 denoiser. ``n_bins`` follows from ``sample_rate`` (32 ms window)."""

    sample_rate: int = 8000
    d_model: int = 64
    d_state: int = 64
    n_layers: int = 2
    blocks: int = 4
    dt_min: float = 0.001
    dt_max: float = 0.1

    def __post_init__(self):
        V.check_int("sample_rate", self.sample_rate, 1000, 192000)
        V.check_int("d_model", self.d_model, 1, 4096)
        V.check_int("d_state", self.d_state, 1, 4096)
        V.check_int("n_layers", self.n_layers, 1, 64)
        V.check_int("blocks", self.blocks, 1, self.d_state)
        if self.d_state % self.blocks:
            raise ValueError(f"d_state={self.d_state} must be a multiple of blocks="
                             f"{self.blocks}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")

    @property
    def n_bins(self) -> int:
        return audio.n_bins(self.sample_rate)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "DenoiserConfig":
        return cls(**json.loads(text))
