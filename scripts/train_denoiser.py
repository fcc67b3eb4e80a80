"""Reproduce the shipped S5 denoiser checkpoints (8 kHz and 16 kHz), or train on any N-DNS folder.

    python scripts/train_denoiser.py                  # 8 kHz: lava_llm/checkpoints/s5_denoiser/
    nice -n 10 python scripts/train_denoiser.py --preset 16k   # 16 kHz: .../s5_denoiser_16k/
    python scripts/train_denoiser.py --data DIR --test-data DIR2 --out OUT   # your N-DNS data

8 kHz recipe (default): builds the noisy-FSDD sets (lava_llm.data.noisy_fsdd, seeded): 400
training clips from the FSDD train split (seed 0) and 40 test clips from the test split
(seed 1), 8 kHz, 2-4 s, SNR -5..20 dB, in --work; trains a dense float S5 denoiser
(dense_float.*) and a sparse one (--sparsity 0.8, iterative magnitude pruning, QAT in the last
20 % of steps: sparse_qat.*), same seed; exports both (power-of-two static quantisation
calibrated on 8 training clips), evaluates SI-SNRi on the test clips (torch, float numpy,
integer engine) into metrics.json and writes one test clip pair as example_noisy.wav /
example_clean.wav (FSDD, CC BY-SA 4.0).

16 kHz recipe (``--preset 16k``): the N-DNS rate and framing (512-sample window, 128 hop,
257 bins); FSDD upsampled to 16 kHz (polyphase) PLUS 10 synthetic eSpeak NG voices
(lava_llm.data.espeak_voices; needs ``apt-get install espeak-ng``) as training speakers; two
more eSpeak voices (espeakk, espeakl) are held out of training and form an unseen-voice test
set beside the FSDD test split. Sparse QAT model only (sparse_qat.*), sized for ~15 min of
one CPU thread.

``--data DIR``: train on any folder in the N-DNS layout (``noisy/*_fileid_N.wav``,
``clean/clean_fileid_N.wav``, ``noise/``; e.g. the real N-DNS training set), streamed from
disk (bounded memory: one batch of crops at a time). ``--test-data DIR`` evaluates on another
such folder (default: the noisy-FSDD test split at the data's rate).

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

PRESETS = {
    "8k": dict(sample_rate=8000, voices="fsdd", out=str(CHECKPOINT_DIR), only="both",
               steps=3000, n_train=400, d_model=64, d_state=64),
    "16k": dict(sample_rate=16000, voices="fsdd+espeak", only="sparse", steps=3000,
                n_train=600, d_model=64, d_state=64, crop_seconds=1.5,
                out=str(CHECKPOINT_DIR.parent / "s5_denoiser_16k")),
}
HELDOUT_VOICES = ("espeakk", "espeakl")


def build_sets(args, work: Path):
    """(train dataset, {test name: dataset}) for the built noisy-FSDD (+ eSpeak) recipe."""
    sr = args.sample_rate
    tag = "" if sr == 8000 else f"_{sr}"
    dirs = [args.fsdd]
    excl: tuple = ()
    if args.voices == "fsdd+espeak":
        from lava_llm.data.espeak_voices import build_espeak_digits

        dirs.append(str(build_espeak_digits(work / f"espeak{tag}", sample_rate=sr)))
        excl = HELDOUT_VOICES
    train = NDNSDataset(build_noisy_fsdd(dirs if len(dirs) > 1 else dirs[0],
                                         work / f"train{tag}{'_espeak' if excl else ''}",
                                         split="train", n_clips=args.n_train, seed=0,
                                         sample_rate=sr, exclude_speakers=excl), sample_rate=sr)
    tests = {"fsdd_test": NDNSDataset(build_noisy_fsdd(args.fsdd, work / f"test{tag}",
                                                       split="test", n_clips=args.n_test,
                                                       seed=1, sample_rate=sr), sample_rate=sr)}
    if excl:
        tests["heldout_voices"] = NDNSDataset(build_noisy_fsdd(
            dirs, work / f"test{tag}_heldout", split="test", n_clips=args.n_test, seed=2,
            sample_rate=sr, speakers=excl), sample_rate=sr)
    return train, tests


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="8k")
    ap.add_argument("--fsdd", default=str(ROOT.parent / "shared" / "data" / "fsdd"))
    ap.add_argument("--work", default="/tmp/lava_llm_s5_denoiser")
    ap.add_argument("--data", default=None, help="N-DNS layout training folder")
    ap.add_argument("--test-data", default=None, help="N-DNS layout test folder")
    ap.add_argument("--out", default=None)
    ap.add_argument("--sample-rate", type=int, default=None, choices=[8000, 16000])
    ap.add_argument("--voices", choices=["fsdd", "fsdd+espeak"], default=None)
    ap.add_argument("--n-train", type=int, default=None)
    ap.add_argument("--n-test", type=int, default=40)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--sparsity", type=float, default=0.8)
    ap.add_argument("--d-model", type=int, default=None)
    ap.add_argument("--d-state", type=int, default=None)
    ap.add_argument("--n-layers", type=int, default=2)
    ap.add_argument("--crop-seconds", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["dense", "sparse", "both"], default=None)
    args = ap.parse_args(argv)
    preset = PRESETS[args.preset]
    for key, val in preset.items():
        if getattr(args, key, None) is None:
            setattr(args, key, val)
    if args.crop_seconds is None:
        args.crop_seconds = 1.5
    torch.set_num_threads(1)
    work, out = Path(args.work), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.data is not None:
        train = NDNSDataset(args.data)
        args.sample_rate = train.sample_rate
        if args.test_data is not None:
            tests = {"test": NDNSDataset(args.test_data, sample_rate=train.sample_rate)}
        else:
            tests = {"fsdd_test": NDNSDataset(build_noisy_fsdd(
                args.fsdd, work / f"test_{train.sample_rate}", split="test",
                n_clips=args.n_test, seed=1, sample_rate=train.sample_rate))}
    else:
        train, tests = build_sets(args, work)
        if args.test_data is not None:
            tests = {"test": NDNSDataset(args.test_data, sample_rate=train.sample_rate)}
    calib = [train[i][0] for i in range(min(8, len(train)))]
    cfg = s5.DenoiserConfig(sample_rate=train.sample_rate, d_model=args.d_model,
                            d_state=args.d_state, n_layers=args.n_layers)
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    variants = {"dense": ("dense_float", 0.0, False), "sparse": ("sparse_qat", args.sparsity,
                                                                 True)}
    first_test = next(iter(tests.values()))
    for key in (["dense", "sparse"] if args.only == "both" else [args.only]):
        name, sparsity, qat = variants[key]
        model = s5.S5Denoiser(cfg, seed=args.seed)
        t0 = time.time()
        hist = s5.train_denoiser(model, train, args.steps, sparsity=sparsity, qat=qat,
                                 seed=args.seed, crop_seconds=args.crop_seconds,
                                 progress=True)
        train_s = time.time() - t0
        s5.save_model(model, out / f"{name}.pt")
        params = s5.export_fixed(model, calib)
        kernels.save_params(params, out / f"{name}.npz")
        den = Denoiser(kernels.load_params(out / f"{name}.npz"))
        m = {"config": json.loads(cfg.to_json()), "steps": args.steps, "seed": args.seed,
             "target_sparsity": sparsity, "qat": qat, "train_seconds": round(train_s, 1),
             "crop_seconds": args.crop_seconds, "weight_sparsity": round(hist["sparsity"], 4),
             "final_train_loss": float(np.mean(hist["loss"][-50:])),
             "nnz": kernels.nnz(params), "train_data": str(train.root),
             "train_clips": len(train)}
        for tname, test in tests.items():
            suffix = "" if tname in ("fsdd_test", "test") else f"_{tname}"
            m[f"test_torch{suffix}"] = evaluate(model.denoise, test)
            m[f"test_float{suffix}"] = evaluate(lambda w: den.denoise(w, "float"), test)
            m[f"test_engine{suffix}"] = evaluate(lambda w: den.denoise(w, "engine"), test)
        metrics[name] = m
        print(name, json.dumps(m), file=sys.stderr)
    noisy, clean = first_test[0]
    audio.write_wav(out / "example_noisy.wav", noisy, first_test.sample_rate)
    audio.write_wav(out / "example_clean.wav", clean, first_test.sample_rate)
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
