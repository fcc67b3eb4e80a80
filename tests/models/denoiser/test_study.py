"""The iso-accuracy study's machinery on a tiny grid through a local Ray (1 CPU)."""
import importlib.util
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lava_llm.models.denoiser import study as s5_study

ray = pytest.importorskip("ray")
BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "s5_iso_accuracy.py"


def _ndns(root, n, rate, seed):
    rng = np.random.default_rng(seed)
    for sub in ("noisy", "clean"):
        (root / sub).mkdir(parents=True)
    for fid in range(n):
        k = int(rate * 0.6)
        clean = 0.2 * np.sin(2 * np.pi * rng.uniform(150, 400) * np.arange(k) / rate)
        sf.write(str(root / "noisy" / f"x_fileid_{fid}.wav"),
                 clean + 0.05 * rng.standard_normal(k), rate)
        sf.write(str(root / "clean" / f"clean_fileid_{fid}.wav"), clean, rate)


def test_pareto_and_iso_cost():
    pts = [(1.0, 2.0), (2.0, 1.5), (4.0, 4.0), (8.0, 5.0), (3.0, 4.5)]
    assert s5_study.pareto_front(pts) == [0, 4, 3]
    assert s5_study.iso_cost(pts, 2.0) == pytest.approx(1.0)
    assert s5_study.iso_cost(pts, 4.5) == pytest.approx(3.0)
    mid = s5_study.iso_cost(pts, 3.25)                 # log-linear between (1, 2) and (3, 4.5)
    assert mid == pytest.approx(np.exp(0.5 * np.log(3.0)))
    assert s5_study.iso_cost(pts, 9.0) is None and s5_study.iso_cost(pts, 1.0) is None


def test_tiny_grid_through_ray(tmp_path):
    _ndns(tmp_path / "train", 4, 8000, 0)
    _ndns(tmp_path / "test", 2, 8000, 1)
    specs = [{"train_dir": str(tmp_path / "train"), "test_dir": str(tmp_path / "test"),
              "d_model": h, "sparsity": s, "seed": seed, "steps": 2, "n_test": 2,
              "crop_seconds": 0.25, "batch_size": 2}
             for h, s in ((4, 0.0), (8, 0.0), (8, 0.5)) for seed in (0, 1)]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        res = s5_study.run_trials(specs, num_cpus=1)
    finally:
        assert not ray.is_initialized()                    # run_trials shut down its Ray
    # ...and gave the caller's signal handlers back (ray.init leaves its SIGTERM handler)
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
    assert [(r["d_model"], r["sparsity"], r["seed"]) for r in res] == \
        [(s["d_model"], s["sparsity"], s["seed"]) for s in specs]
    for r in res:
        assert np.isfinite(r["si_snri_db"]) and r["power_proxy"] > r["synops"] > 0
    sparse = [r for r in res if r["sparsity"] > 0]
    dense8 = [r for r in res if r["d_model"] == 8 and r["sparsity"] == 0]
    assert sparse[0]["bytes_indices"] > 0 and dense8[0]["bytes_indices"] == 0
    assert sparse[0]["synops"] < dense8[0]["synops"]

    spec = importlib.util.spec_from_file_location("s5_iso_accuracy", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.summarise(res)
    assert [(r["kind"], r["d_model"], r["seeds"]) for r in rows] == \
        [("dense", 4, 2), ("dense", 8, 2), ("sparse", 8, 2)]
    iso = bench.iso_table(rows)
    assert len(iso) == 1 and "claim" not in iso[0]
    assert bench.verdict(iso).startswith(("Claim", "Not testable"))
    png = tmp_path / "front.png"
    bench.plot(rows, png)
    assert png.stat().st_size > 5000
