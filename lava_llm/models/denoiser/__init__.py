"""The streaming S5 speech denoiser: Lava network, integer engine, float numpy path, CLI.

See :mod:`lava_llm.models.denoiser.network`.
"""
from lava_llm.models.denoiser.network import (DEFAULT_CHECKPOINT, Denoiser, LavaStream,
                                              load_checkpoint)

__all__ = ["DEFAULT_CHECKPOINT", "Denoiser", "LavaStream", "load_checkpoint"]
