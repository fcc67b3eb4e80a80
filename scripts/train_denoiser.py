"""Reproduce the shipped S5 denoiser checkpoints in lava_llm/checkpoints/s5_denoiser/.

    .venv/bin/python scripts/train_denoiser.py            # ~6 min on 1 CPU thread (3000 steps x 2)

1. Builds the noisy-FSDD sets (lava_llm.data.noisy_fsdd, seeded): 400 training clips from the
   FSDD train split (seed 0) and 40 test clips from the test split (seed 1), 8 kHz, 2-4 s,
   SNR -5..20 dB, in --work (default /tmp/lava_llm_s5_denoiser).
2. Trains a dense float S5 denoiser (dense_float.*) and a sparse one (--sparsity 0.8,
   iterative magnitude pruning, QAT in the last 20 % of steps: sparse_qat.*), same seed.
3. Exports both (power-of-two static quantisation calibrated on 8 training clips), evaluates
   SI-SNRi on the test clips (torch, float numpy, integer engine) into metrics.json, and writes
   one test clip pair as example_noisy.wav / example_clean.wav (FSDD, CC BY-SA 4.0).

Everything is seeded and torch runs on one thread, so reruns give the same files.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lava_llm import audio  # noqa: E402
from lava_llm.data.noisy_fsdd import NDNSDataset, build_noisy_fsdd  # noqa: E402
from lava_llm.models.denoiser.network import CHECKPOINT_DIR, Denoiser, evaluate  # noqa: E402
from lava_llm.processes.ssm_diagonal import kernels  # noqa: E402
from lava_llm.training import s5  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fsdd", default=str(ROOT.parent / "shared" / "data" / "fsdd"))
    ap.add_argument("--work", default="/tmp/lava_llm_s5_denoiser")
    ap.add_argument("--out", default=str(CHECKPOINT_DIR))
    ap.add_argument("--n-train", type=int, default=400)
    ap.add_argument("--n-test", type=int, default=40)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--sparsity", type=float, default=0.8)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--d-state", type=int, default=64)
    ap.add_argument("--n-layers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["dense", "sparse", "both"], default="both")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    work, out = Path(args.work), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_dir = build_noisy_fsdd(args.fsdd, work / "train", split="train",
                                 n_clips=args.n_train, seed=0)
    test_dir = build_noisy_fsdd(args.fsdd, work / "test", split="test", n_clips=args.n_test,
                                seed=1)
    train = NDNSDataset(train_dir)
    test = NDNSDataset(test_dir)
    pairs = [train[i] for i in range(len(train))]
    test_pairs = [test[i] for i in range(len(test))]
    calib = [pairs[i][0] for i in range(8)]
    cfg = s5.DenoiserConfig(sample_rate=train.sample_rate, d_model=args.d_model,
                            d_state=args.d_state, n_layers=args.n_layers)
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    variants = {"dense": ("dense_float", 0.0, False), "sparse": ("sparse_qat", args.sparsity,
                                                                 True)}
    for key in (["dense", "sparse"] if args.only == "both" else [args.only]):
        name, sparsity, qat = variants[key]
        model = s5.S5Denoiser(cfg, seed=args.seed)
        t0 = time.time()
        hist = s5.train_denoiser(model, pairs, args.steps, sparsity=sparsity, qat=qat,
                                 seed=args.seed, progress=True)
        train_s = time.time() - t0
        s5.save_model(model, out / f"{name}.pt")
        params = s5.export_fixed(model, calib)
        kernels.save_params(params, out / f"{name}.npz")
        den = Denoiser(kernels.load_params(out / f"{name}.npz"))
        m = {"config": json.loads(cfg.to_json()), "steps": args.steps, "seed": args.seed,
             "target_sparsity": sparsity, "qat": qat, "train_seconds": round(train_s, 1),
             "weight_sparsity": round(hist["sparsity"], 4),
             "final_train_loss": float(np.mean(hist["loss"][-50:])),
             "nnz": kernels.nnz(params),
             "test_torch": evaluate(model.denoise, test_pairs),
             "test_float": evaluate(lambda w: den.denoise(w, "float"), test_pairs),
             "test_engine": evaluate(lambda w: den.denoise(w, "engine"), test_pairs)}
        metrics[name] = m
        print(name, json.dumps(m), file=sys.stderr)
    noisy, clean = test_pairs[0]
    audio.write_wav(out / "example_noisy.wav", noisy, test.sample_rate)
    audio.write_wav(out / "example_clean.wav", clean, test.sample_rate)
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
