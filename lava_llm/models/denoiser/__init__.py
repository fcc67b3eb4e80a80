"""The streaming S5 speech denoiser: Lava network, integer engine, float numpy path, CLI.

See :mod:`lava_llm.models.denoiser.network` (data flow, backends) and ``docs/s5.md``.
"""
from lava_llm.models.denoiser.config import DenoiserConfig
from lava_llm.models.denoiser.network import (CHECKPOINT_DIR, CHECKPOINTS, DEFAULT_CHECKPOINT,
                                              DEFAULT_TORCH_CHECKPOINT, Denoiser, LavaStream,
                                              checkpoint_for_rate, evaluate, load_checkpoint)

__all__ = ["CHECKPOINT_DIR", "CHECKPOINTS", "DEFAULT_CHECKPOINT", "DEFAULT_TORCH_CHECKPOINT",
           "DenoiserConfig", "Denoiser", "LavaStream", "checkpoint_for_rate", "evaluate",
           "load_checkpoint"]
