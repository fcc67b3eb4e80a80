"""The Intel N-DNS baseline sigma-delta denoiser (lava-dl SLAYER), exported to HDF5 and run in
Lava through netx. See :mod:`.network` (model, export, op counts) and :mod:`.lava_run`."""
from pathlib import Path

CHECKPOINT = (Path(__file__).resolve().parent.parent.parent / "checkpoints" / "sdnn_baseline"
              / "sdnn_baseline.net")

__all__ = ["CHECKPOINT"]
