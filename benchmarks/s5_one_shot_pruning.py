#!/usr/bin/env python
"""One-shot magnitude pruning of the shipped DENSE S5 denoiser (no retraining), on the same 40
noisy-FSDD test clips as benchmarks/s5_sparsity_sweep.py, so the two can be compared like with
like (tutorial 03's pruning figure reads both).

    python benchmarks/s5_one_shot_pruning.py

Each level prunes every weight matrix of ``dense_float.pt`` to that sparsity by magnitude
(``s5.magnitude_prune``), exports it (static PTQ calibrated on 8 training clips) and scores the
float64 kernels and the integer engine. Writes benchmarks/results/s5_one_shot_pruning.*.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import write_results  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fsdd", default=str(ROOT.parent / "shared" / "data" / "fsdd"))
    ap.add_argument("--work", default="/tmp/lava_llm_s5_denoiser")
    ap.add_argument("--sparsities", default="0,0.3,0.5,0.7,0.8,0.9,0.95")
    args = ap.parse_args(argv)
    from lava_llm.data.noisy_fsdd import NDNSDataset, build_noisy_fsdd
    from lava_llm.models.denoiser.network import CHECKPOINT_DIR, Denoiser, evaluate
    from lava_llm.processes.ssm_diagonal import kernels
    from lava_llm.training import s5

    torch.set_num_threads(1)
    work = Path(args.work)
    train = NDNSDataset(build_noisy_fsdd(args.fsdd, work / "train", split="train", n_clips=400,
                                         seed=0))
    test = NDNSDataset(build_noisy_fsdd(args.fsdd, work / "test", split="test", n_clips=40,
                                        seed=1))
    calib = [train[i][0] for i in range(8)]
    rows = []
    for sp in [float(v) for v in args.sparsities.split(",")]:
        m = s5.load_model(CHECKPOINT_DIR / "dense_float.pt")
        if sp > 0:
            s5.magnitude_prune(m, sp)
        params = s5.export_fixed(m, calib)
        den = Denoiser(params)
        rows.append({"target_sparsity": sp, "weight_sparsity": round(m.sparsity(), 4),
                     "nonzero_weights": int(sum(kernels.nnz(params).values())),
                     "si_snri_float_db": round(evaluate(lambda w: den.denoise(w, "float"),
                                                        test)["si_snri_db"], 3),
                     "si_snri_fixed_db": round(evaluate(lambda w: den.denoise(w, "engine"),
                                                        test)["si_snri_db"], 3)})
        print(rows[-1], file=sys.stderr)
    write_results("s5_one_shot_pruning", rows,
                  command="python benchmarks/s5_one_shot_pruning.py",
                  notes="One-shot magnitude pruning of the shipped dense model (3000 steps, no "
                        "retraining after pruning), noisy-FSDD test clips (the sparsity "
                        f"sweep's clips), mean SI-SNRi over the {len(test)} clips; static "
                        "PTQ for the fixed-point column.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
