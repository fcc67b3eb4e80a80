#!/usr/bin/env python
"""Generalisation of the S5 denoiser to unseen voices: leave-one-speaker-out (LOSO) on FSDD's six
speakers, and what extra synthetic voices (eSpeak NG) buy on voices never heard, run through Ray.

    nice -n 10 python benchmarks/s5_generalisation.py [--address ray://HOST:10001]

LOSO: for each FSDD speaker S, a model trained on noisy-FSDD clips of the five OTHER speakers
(400 clips, seed 0, exclude_speakers=[S]) is tested on S's test recordings (20 clips, seed 1);
beside it, the same recipe trained on all six speakers, tested on the same clips of S (the
in-speaker reference). Voices: a model trained on FSDD only and one trained on FSDD + 10 eSpeak
voices (lava_llm.data.espeak_voices, 8 kHz), both tested on two eSpeak voices held out of
training (espeakk, espeakl) and on the FSDD test clips. Every model: the shipped architecture
(H = P = 64, 2 layers), 80 % sparse, QAT, --steps steps (short budget), fixed-point engine on
the written (level-matched) output. Writes benchmarks/results/s5_generalisation.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import markdown_table, write_results  # noqa: E402

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
HELDOUT = ("espeakk", "espeakl")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fsdd", default=str(ROOT.parent / "shared" / "data" / "fsdd"))
    ap.add_argument("--work", default="/tmp/lava_llm_s5_denoiser")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--n-test", type=int, default=20)
    ap.add_argument("--address", default=None)
    ap.add_argument("--cpus", type=int, default=None)
    args = ap.parse_args(argv)
    from lava_llm.data.espeak_voices import build_espeak_digits
    from lava_llm.data.noisy_fsdd import build_noisy_fsdd, fsdd_files
    from lava_llm.models.denoiser.study import run_trials

    work = Path(args.work) / "generalisation"
    found = sorted({s for _, _, s, _ in fsdd_files(args.fsdd, "test")})
    if tuple(found) != SPEAKERS:
        raise SystemExit(f"expected the six FSDD speakers {SPEAKERS}, found {found}")
    n_test = args.n_test
    base = {"d_model": 64, "sparsity": 0.8, "seed": 0, "steps": args.steps, "n_test": n_test}
    tests = {s: str(build_noisy_fsdd(args.fsdd, work / f"test_{s}", split="test",
                                     n_clips=n_test, seed=1, speakers=[s])) for s in SPEAKERS}
    all_train = str(build_noisy_fsdd(args.fsdd, Path(args.work) / "train", split="train",
                                     n_clips=400, seed=0))
    specs = [dict(base, train_dir=str(build_noisy_fsdd(
        args.fsdd, work / f"train_without_{s}", split="train", n_clips=400, seed=0,
        exclude_speakers=[s])), test_dir=tests[s], role="loso", speaker=s) for s in SPEAKERS]
    specs.append(dict(base, train_dir=all_train, test_dir=tests[SPEAKERS[0]], role="all",
                      test_dirs={s: tests[s] for s in SPEAKERS}))
    esp = str(build_espeak_digits(work / "espeak_8000", sample_rate=8000))
    held = str(build_noisy_fsdd([args.fsdd, esp], work / "test_heldout_voices", split="test",
                                n_clips=n_test, seed=2, speakers=list(HELDOUT)))
    fsdd_test = str(build_noisy_fsdd(args.fsdd, Path(args.work) / "test", split="test",
                                     n_clips=40, seed=1))
    with_esp = str(build_noisy_fsdd([args.fsdd, esp], work / "train_fsdd_espeak", split="train",
                                    n_clips=400, seed=0, exclude_speakers=list(HELDOUT)))
    for name, train in (("FSDD only", all_train), ("FSDD + 10 eSpeak voices", with_esp)):
        specs.append(dict(base, train_dir=train, test_dir=held, role="voices", training=name,
                          test_dirs={"fsdd": fsdd_test}))
    t0 = time.time()
    res = run_trials(specs, address=args.address, num_cpus=args.cpus,
                     progress=lambda k, n: print(f"trial {k}/{n} ({time.time() - t0:.0f} s)",
                                                 file=sys.stderr))
    wall = time.time() - t0
    allr = next(r for r in res if r["role"] == "all")
    rows = []
    for r in (r for r in res if r["role"] == "loso"):
        s = r["speaker"]
        rows.append({"test speaker": s, "trained on all 6 (dB)": round(allr[f"si_snri_db_{s}"], 2),
                     "trained without it (dB)": round(r["si_snri_db"], 2),
                     "drop (dB)": round(allr[f"si_snri_db_{s}"] - r["si_snri_db"], 2)})
    drops = [r["drop (dB)"] for r in rows]
    rows.append({"test speaker": "mean", "trained on all 6 (dB)":
                 round(float(np.mean([r["trained on all 6 (dB)"] for r in rows])), 2),
                 "trained without it (dB)":
                 round(float(np.mean([r["trained without it (dB)"] for r in rows])), 2),
                 "drop (dB)": round(float(np.mean(drops)), 2)})
    voices = [{"training voices": r["training"],
               "held-out eSpeak voices SI-SNRi (dB)": round(r["si_snri_db"], 2),
               "FSDD test SI-SNRi (dB)": round(r["si_snri_db_fsdd"], 2)}
              for r in res if r["role"] == "voices"]
    notes = "\n".join([
        f"{len(res)} trials, {args.steps} steps each (short budget; the shipped model uses "
        f"3000), {n_test} test clips per set, {wall / 60:.1f} min wall through Ray. SI-SNRi of "
        "the fixed-point engine on the written (level-matched) output; noise: the training mix "
        "(white, pink, brown, hum, babble), SNR -5..20 dB.", "",
        "#### Extra training voices, tested on voices never heard (eSpeak NG 1.51, 8 kHz)", "",
        markdown_table(voices)])
    cmd = "benchmarks/s5_generalisation.py " + " ".join(argv if argv is not None
                                                         else sys.argv[1:])
    write_results("s5_generalisation", rows, command=cmd.strip(), notes=notes,
                  extra={"trials": res, "voices": voices, "wall_s": wall})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
