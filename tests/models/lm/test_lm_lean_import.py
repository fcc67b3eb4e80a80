"""Lean HF import and load: tensors streamed one at a time (bf16 widened exactly without
torch), packed trits, the calibration cached in the converted folder (loading it never
recalibrates), a clear error for a broken safetensors file, ``--threads``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hgrn_reference as ref  # noqa: E402

from lava_llm.models.lm import export, hf_import as hf  # noqa: E402
from lava_llm.processes.ternary_dense import kernels as td  # noqa: E402

SMALL = dict(vocab_size=29, hidden_size=24, num_hidden_layers=2, intermediate_size=40)


def _write(folder: Path, cfg: dict, sd: dict) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg))
    save_file({k: v.contiguous() for k, v in sd.items()}, str(folder / "model.safetensors"))
    return folder


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    cfg = ref.hf_config(**SMALL)
    sd = ref.random_state_dict(cfg, seed=11)
    return _write(tmp_path_factory.mktemp("hf"), cfg, sd), cfg, sd


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_streamed_tensors_equal_torch_widening(tmp_path, dtype):
    t = {"a": (torch.randn(5, 7) * 3).to(dtype), "b": torch.randn(3).to(dtype)}
    _write(tmp_path, {}, t)
    with hf.WeightReader([tmp_path / "model.safetensors"]) as r:
        assert r.shapes == {"a": (5, 7), "b": (3,)}
        for k, v in t.items():
            np.testing.assert_array_equal(r.get(k), v.to(torch.float64).numpy())
            np.testing.assert_array_equal(r.get(k, np.float32), v.to(torch.float32).numpy())


def test_broken_safetensors_is_named(tmp_path, hf_folder):
    folder, cfg, sd = hf_folder
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps(cfg))
    data = (folder / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(data[: len(data) // 2])   # truncated
    with pytest.raises(ValueError, match=r"model.safetensors is not a valid safetensors "
                                         r"file"):
        hf.load_params(bad)
    (bad / "model.safetensors").write_bytes(b"\x05")
    with pytest.raises(ValueError, match="is not a safetensors file"):
        hf.read_checkpoint(bad)


def test_load_params_is_packed_and_equals_read_checkpoint(hf_folder):
    folder, _, _ = hf_folder
    p = hf.load_params(folder)
    imp = hf.read_checkpoint(folder)
    for name, lin in p.linears.items():
        assert isinstance(lin.trits, td.PackedTernary)
        np.testing.assert_array_equal(np.asarray(lin.trits), imp.linears[name].trits)
        assert lin.scale == imp.linears[name].scale
    assert p.tensors["model.embeddings.weight"].dtype == np.float32
    np.testing.assert_array_equal(p.tensors["model.embeddings.weight"],
                                  imp.tensors["model.embeddings.weight"])


def test_converted_folder_never_recalibrates(tmp_path, hf_folder, monkeypatch, capsys):
    from lava_llm.cli import main
    from lava_llm.models.lm.generate import LanguageModel

    folder, _, _ = hf_folder
    out = hf.convert(folder, tmp_path / "ll")
    cached = json.loads((out / "config.json").read_text())["calibration"]
    assert cached and set(cached["linears"]) == set(hf.linear_names(hf.read_config(folder)))

    def boom(*a, **k):
        raise AssertionError("calibrate called on a converted checkpoint")

    monkeypatch.setattr(export, "calibrate", boom)
    lm = LanguageModel.load(out)
    assert lm.calibration == cached
    ids = [1, 2, 3]
    assert main(["generate", "--checkpoint", str(out), "--prompt", "1,2,3", "--tokens", "3",
                 "--backend", "engine", "--threads", "1", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["token_ids"]
    assert got == [int(t) for t in lm.generate(ids, 3, backend="engine")["token_ids"]]
    monkeypatch.undo()
    # a raw HF folder calibrates, and says so on stderr
    assert main(["generate", "--checkpoint", str(folder), "--prompt", "1,2,3", "--tokens",
                 "2", "--backend", "engine", "--json"]) == 0
    assert "calibrating on random token ids" in capsys.readouterr().err


def test_threads_option_is_checked_and_applied(capsys):
    import numba

    from lava_llm.cli import main
    from lava_llm.models.lm.engine import set_threads

    limit = numba.config.NUMBA_NUM_THREADS
    assert main(["generate", "--prompt", "RO", "--tokens", "2", "--backend", "engine",
                 "--threads", str(limit + 1)]) == 2
    assert "threads must be in [1," in capsys.readouterr().err
    try:
        assert set_threads(1)["numba"] == 1 and numba.get_num_threads() == 1
        assert set_threads(1, torch_too=True)["torch"] == 1 and torch.get_num_threads() == 1
    finally:
        set_threads(None)
