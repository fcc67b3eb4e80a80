"""scripts/train_denoiser.py --data DIR trains on any folder in the N-DNS layout (streamed)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from lava_llm.processes.ssm_diagonal import kernels

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_denoiser.py"


def _load():
    spec = importlib.util.spec_from_file_location("train_denoiser_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _ndns(root, n, rate, seed):
    rng = np.random.default_rng(seed)
    for sub in ("noisy", "clean", "noise"):
        (root / sub).mkdir(parents=True)
    for fid in range(n):
        k = int(rate * rng.uniform(0.6, 1.0))
        clean = 0.2 * np.sin(2 * np.pi * rng.uniform(150, 400) * np.arange(k) / rate)
        noise = 0.05 * rng.standard_normal(k)
        sf.write(str(root / "noisy" / f"synthetic_snr12_fileid_{fid}.wav"), clean + noise, rate)
        sf.write(str(root / "clean" / f"clean_fileid_{fid}.wav"), clean, rate)
        sf.write(str(root / "noise" / f"noise_fileid_{fid}.wav"), noise, rate)


def test_train_script_on_an_ndns_folder(tmp_path):
    _ndns(tmp_path / "train", 6, 16000, 0)
    _ndns(tmp_path / "test", 2, 16000, 1)
    out = tmp_path / "ck"
    rc = _load().main(["--data", str(tmp_path / "train"), "--test-data", str(tmp_path / "test"),
                       "--out", str(out), "--steps", "3", "--d-model", "8", "--d-state", "8",
                       "--n-layers", "1", "--only", "sparse", "--crop-seconds", "0.25",
                       "--work", str(tmp_path / "work")])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())["sparse_qat"]
    assert m["config"]["sample_rate"] == 16000 and m["train_clips"] == 6
    assert m["test_engine"]["n_clips"] == 2 and np.isfinite(m["test_engine"]["si_snri_db"])
    params = kernels.load_params(out / "sparse_qat.npz")
    assert kernels.dims(params)[3] == 257                        # N-DNS framing: 257 bins
