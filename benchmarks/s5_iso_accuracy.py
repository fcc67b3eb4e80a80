#!/usr/bin/env python
"""Iso-accuracy study of the sparse S5 denoiser (the SparseRNNs claim), run through Ray.

    nice -n 10 python benchmarks/s5_iso_accuracy.py            # local Ray, all CPUs
    python benchmarks/s5_iso_accuracy.py --address ray://HOST:10001   # an existing cluster

Claim tested (SparseRNNs, Pierro et al. 2024, the seed of this project's sparse S5): at equal
accuracy a sparse model needs about 2x less compute and 36 % less memory than a dense one.
The project used to compare a dense and a sparse model of the SAME size, which does not test
it. Here: a grid of dense widths (H = P in --dense-widths, sparsity 0) and of sparse models
(--sparse-widths x --sparsities), each trained from scratch with --seeds seeds for --steps
steps (8 kHz noisy-FSDD, 400 training clips, the shipped recipe with a short budget: QAT in the
last 20 %, iterative magnitude pruning), exported to fixed point and evaluated on the integer
engine (== Lava sim-fixed) on --n-test test clips, on what the denoiser writes.

Compute: power proxy per 8 ms step = SynOps + 10 NeuronOps of
``kernels.op_counts`` (event-driven SynOps measured on the test clips; the one definition the
denoise benchmark and docs use); memory: ``kernels.memory_bytes`` (8-bit weights, 16/24-bit
parameters, 16-bit CSR indices and row pointers of pruned matrices). Iso-accuracy: for each
sparse configuration, the dense compute (memory) needed for its mean SI-SNRi, log-linearly
interpolated along the dense Pareto front of means; ratio = sparse / dense-equivalent.
Writes benchmarks/results/s5_iso_accuracy.{json,md} and s5_iso_accuracy.png.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import RESULTS, markdown_table, write_results  # noqa: E402


def ints(text):
    return [int(v) for v in str(text).split(",") if v]


def floats(text):
    return [float(v) for v in str(text).split(",") if v]


def summarise(results: list[dict]) -> list[dict]:
    """One row per (d_model, sparsity): mean and std over seeds."""
    groups: dict = {}
    for r in results:
        groups.setdefault((r["d_model"], r["sparsity"]), []).append(r)
    rows = []
    for (h, sp), rs in sorted(groups.items(), key=lambda kv: (kv[0][1] > 0, kv[0])):
        q = np.array([r["si_snri_db"] for r in rs])
        rows.append({"kind": "dense" if sp == 0 else "sparse", "d_model": h, "sparsity": sp,
                     "seeds": len(rs), "si_snri_db": round(float(q.mean()), 3),
                     "si_snri_std": round(float(q.std(ddof=1)) if len(q) > 1 else 0.0, 3),
                     "power_proxy": round(float(np.mean([r["power_proxy"] for r in rs]))),
                     "synops": round(float(np.mean([r["synops"] for r in rs]))),
                     "bytes": int(np.mean([r["bytes"] for r in rs])),
                     "bytes_indices": int(np.mean([r["bytes_indices"] for r in rs]))})
    return rows


def iso_table(rows: list[dict]) -> list[dict]:
    from lava_llm.training.s5_study import iso_cost

    dense = [r for r in rows if r["kind"] == "dense"]
    out = []
    for r in rows:
        if r["kind"] != "sparse":
            continue
        c = iso_cost([(d["power_proxy"], d["si_snri_db"]) for d in dense], r["si_snri_db"])
        m = iso_cost([(d["bytes"], d["si_snri_db"]) for d in dense], r["si_snri_db"])
        out.append({"sparse model": f"H={r['d_model']}, {r['sparsity']:.0%} sparse",
                    "si_snri_db": r["si_snri_db"],
                    "dense-equivalent power proxy": None if c is None else round(c),
                    "compute ratio": None if c is None else round(r["power_proxy"] / c, 3),
                    "dense-equivalent bytes": None if m is None else round(m),
                    "memory ratio": None if m is None else round(r["bytes"] / m, 3)})
    return out


def verdict(iso: list[dict]) -> str:
    ok = [r for r in iso if r["compute ratio"] is not None and r["memory ratio"] is not None]
    if not ok:
        return ("Not testable on this grid: no sparse model's mean SI-SNRi falls inside the "
                "dense front's range.")
    best_c = min(ok, key=lambda r: r["compute ratio"])
    best_m = min(ok, key=lambda r: r["memory ratio"])
    both = [r for r in ok if r["compute ratio"] <= 0.5 and r["memory ratio"] <= 0.64]
    head = ("REPRODUCED" if both else "NOT REPRODUCED")
    return (f"Claim (2x less compute AND 36 % less memory at iso-accuracy): **{head}** on this "
            f"grid. Best compute ratio {best_c['compute ratio']:.2f}x ({best_c['sparse model']}, "
            f"memory {best_c['memory ratio']:.2f}x); best memory ratio "
            f"{best_m['memory ratio']:.2f}x ({best_m['sparse model']}, compute "
            f"{best_m['compute ratio']:.2f}x). Claimed: <= 0.50x compute, <= 0.64x memory."
            + (f" Configurations meeting both: {', '.join(r['sparse model'] for r in both)}."
               if both else ""))


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lava_llm.training.s5_study import pareto_front

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, label in ((axes[0], "power_proxy", "power proxy per step (SynOps + 10 NeuronOps)"),
                           (axes[1], "bytes", "parameter memory (bytes, incl. sparse indices)")):
        for kind, colour in (("dense", "tab:blue"), ("sparse", "tab:red")):
            rs = [r for r in rows if r["kind"] == kind]
            if not rs:
                continue
            x = np.array([r[key] for r in rs], float)
            y = np.array([r["si_snri_db"] for r in rs])
            e = np.array([r["si_snri_std"] for r in rs])
            ax.errorbar(x, y, yerr=e, fmt="o", color=colour, capsize=3, label=f"{kind} (mean "
                        "+- std over seeds)")
            for r in rs:
                ax.annotate(f"H{r['d_model']}" + (f"/{r['sparsity']:.0%}" if r["sparsity"] else ""),
                            (r[key], r["si_snri_db"]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
            front = pareto_front(list(zip(x, y)))
            ax.plot(x[front], y[front], "-", color=colour, alpha=0.6, label=f"{kind} Pareto front")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("SI-SNRi (dB), fixed point")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("S5 denoiser: dense widths vs sparse models (8 kHz noisy-FSDD test clips)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fsdd", default=str(ROOT.parent / "shared" / "data" / "fsdd"))
    ap.add_argument("--work", default="/tmp/lava_llm_s5_denoiser")
    ap.add_argument("--train-dir", default=None, help="N-DNS folder (default: noisy-FSDD)")
    ap.add_argument("--test-dir", default=None)
    ap.add_argument("--dense-widths", default="8,16,32,64")
    ap.add_argument("--sparse-widths", default="32,64,96")
    ap.add_argument("--sparsities", default="0.5,0.8,0.9")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--n-test", type=int, default=20)
    ap.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    ap.add_argument("--cpus", type=int, default=None, help="local Ray CPUs (default: all)")
    ap.add_argument("--name", default="s5_iso_accuracy")
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.steps < 1:
        raise SystemExit("--seeds and --steps must be >= 1")
    from lava_llm.data.noisy_fsdd import build_noisy_fsdd
    from lava_llm.training.s5_study import run_trials

    work = Path(args.work)
    train_dir = args.train_dir or str(build_noisy_fsdd(args.fsdd, work / "train", split="train",
                                                       n_clips=400, seed=0))
    test_dir = args.test_dir or str(build_noisy_fsdd(args.fsdd, work / "test", split="test",
                                                     n_clips=40, seed=1))
    grid = [(h, 0.0) for h in ints(args.dense_widths)]
    grid += [(h, s) for h in ints(args.sparse_widths) for s in floats(args.sparsities)]
    specs = [{"train_dir": train_dir, "test_dir": test_dir, "d_model": h, "sparsity": s,
              "seed": seed, "steps": args.steps, "n_test": args.n_test}
             for h, s in grid for seed in range(args.seeds)]
    specs.sort(key=lambda s: -s["d_model"])               # longest first: better packing
    t0 = time.time()
    results = run_trials(specs, address=args.address, num_cpus=args.cpus,
                         progress=lambda k, n: print(f"trial {k}/{n} done "
                                                     f"({time.time() - t0:.0f} s)",
                                                     file=sys.stderr))
    wall = time.time() - t0
    rows = summarise(results)
    iso = iso_table(rows)
    claim = verdict(iso)
    png = RESULTS / f"{args.name}.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(rows, png)
    notes = "\n".join([
        f"{len(results)} trials ({len(grid)} configurations x {args.seeds} seeds), "
        f"{args.steps} training steps each (8 kHz noisy-FSDD, 400 train clips; short budget: "
        f"the shipped model uses 3000), SI-SNRi of the fixed-point engine on {args.n_test} "
        f"test clips; {wall / 60:.1f} min wall through Ray. All layers H = P, 2 layers. "
        f"Plot: `benchmarks/results/{png.name}`.", "",
        "#### Iso-accuracy (sparse vs the dense Pareto front, log-linear interpolation)", "",
        markdown_table(iso), claim])
    cmd = "benchmarks/s5_iso_accuracy.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_results(args.name, rows, command=cmd.strip(), notes=notes,
                  extra={"trials": results, "iso": iso, "claim": claim, "wall_s": wall,
                         "plot": png.name})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
