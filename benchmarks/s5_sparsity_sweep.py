"""SI-SNRi of the S5 denoiser against weight sparsity (iterative magnitude pruning, QAT),
float (torch) and fixed point (integer engine), on the noisy-FSDD test clips.

    .venv/bin/python benchmarks/s5_sparsity_sweep.py [--steps 1000]

Each point trains a fresh model (same seed and data as scripts/train_denoiser.py, fewer
steps), so the numbers are for a short training budget; the shipped checkpoints use 3000.
Writes benchmarks/results/s5_sparsity_sweep.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import write_results  # noqa: E402
from lava_llm.data.noisy_fsdd import NDNSDataset, build_noisy_fsdd  # noqa: E402
from lava_llm.models.denoiser.network import Denoiser, evaluate  # noqa: E402
from lava_llm.processes.ssm_diagonal import kernels  # noqa: E402
from lava_llm.training import s5  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fsdd", default=str(ROOT.parent / "shared" / "data" / "fsdd"))
    ap.add_argument("--work", default="/tmp/lava_llm_s5_denoiser")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--sparsities", default="0,0.5,0.8,0.9,0.95")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    work = Path(args.work)
    train = NDNSDataset(build_noisy_fsdd(args.fsdd, work / "train", split="train",
                                         n_clips=400, seed=0))
    test = NDNSDataset(build_noisy_fsdd(args.fsdd, work / "test", split="test", n_clips=40,
                                        seed=1))
    pairs, test_pairs = train, test            # streamed from disk (same crops as a list)
    rows = []
    for sp in [float(v) for v in args.sparsities.split(",")]:
        model = s5.S5Denoiser(s5.DenoiserConfig(), seed=0)
        t0 = time.time()
        hist = s5.train_denoiser(model, pairs, args.steps, sparsity=sp, qat=True, seed=0)
        params = s5.export_fixed(model, [p[0] for p in pairs[:8]])
        den = Denoiser(params)
        nnz = sum(kernels.nnz(params).values())
        rows.append({"target_sparsity": sp, "weight_sparsity": round(hist["sparsity"], 4),
                     "nonzero_weights": nnz,
                     "si_snri_torch_db": evaluate(model.denoise, test_pairs)["si_snri_db"],
                     "si_snri_fixed_db": evaluate(lambda w: den.denoise(w, "engine"),
                                                  test_pairs)["si_snri_db"],
                     "train_s": round(time.time() - t0, 1)})
        print(rows[-1], file=sys.stderr)
    write_results("s5_sparsity_sweep", rows,
                  command=f"python benchmarks/s5_sparsity_sweep.py --steps {args.steps}",
                  notes=f"S5 denoiser (H=64, P=64, 2 layers), {args.steps} steps each, QAT in "
                        "the last 20 %, 400 train / 40 test noisy-FSDD clips (8 kHz). "
                        "Sparsity over encoder, B, C, GLU W and decoder.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
