"""The deeper subword LM (``scripts/train_lm_deep.py``): its ``--quick`` run trains a tiny
6-layer model with a byte-level BPE trained here, writes a checkpoint that carries the
tokenizer, reproduces itself from the seed, and loads, generates and evaluates end to end; the
shipped checkpoint (when present) scores held-out text alike on the engine and in torch."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import need_data
from lava_llm.cli import main as cli
from lava_llm.models.lm.evaluate import evaluate_text
from lava_llm.models.lm.generate import LanguageModel

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "lava_llm" / "checkpoints" / "lm_shakespeare_bpe"


def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, REPO / path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def script():
    need_data("tinyshakespeare", "input.txt")
    return _module("train_lm_deep", "scripts/train_lm_deep.py")


@pytest.fixture(scope="module")
def quick(script, tmp_path_factory):
    out = tmp_path_factory.mktemp("deep") / "ck"
    summary = script.main(["--quick", "--out", str(out)])
    return out, summary


def test_split_holds_out_the_last_tenth(script):
    text = script.data_path().read_text(encoding="utf-8")
    train, val = script.split_text(text)
    assert train + val == text
    assert len(val) == len(text) - int(0.9 * len(text))


def test_tokenizer_is_lossless_subword(script):
    text = "ROMEO:\nWhat light through yonder window breaks? Ça va — 日本\n"
    tok = script.train_tokenizer("the king and the queen and the kingdom " * 50, 300)
    assert 256 < tok.get_vocab_size() <= 300      # the 256 bytes + merges (a tiny corpus)
    ids = tok.encode("the kingdom").ids
    assert len(ids) < len("the kingdom")          # merges: fewer tokens than bytes
    assert tok.decode(tok.encode(text).ids) == text  # byte-level: any text round-trips


def test_quick_run_writes_a_loadable_six_layer_checkpoint(quick):
    out, summary = quick
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json"} <= names
    lm = LanguageModel.load(out)
    assert lm.config.num_layers == 6 and lm.config.vocab_size == 300
    assert lm.tokenizer is not None and lm.tokenizer.vocab_size == 300
    assert lm.calibration is not None and lm.calibration["tokens"] > 0
    meta = json.loads((out / "config.json").read_text())["meta"]
    assert meta["trained_by"] == "scripts/train_lm_deep.py" and meta["args"]["quick"]
    text = "KING HENRY:\nWhat say you, lords?"
    assert lm.tokenizer.decode(lm.tokenizer.encode(text)) == text
    g = lm.generate("KING:", 5, backend="engine")
    assert g["token_ids"].size == 5 and isinstance(g["text"], str)


def test_quick_run_is_reproducible(script, quick, tmp_path):
    from safetensors.numpy import load_file

    out, _ = quick
    again = script.main(["--quick", "--out", str(tmp_path / "again")])
    a = load_file(str(out / "model.safetensors"))
    b = load_file(str(Path(again["out"]) / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert (out / "tokenizer.json").read_text() == (tmp_path / "again" /
                                                     "tokenizer.json").read_text()


def test_quick_checkpoint_evaluates_on_the_cli(quick, tmp_path, capsys):
    out, _ = quick
    val = tmp_path / "val.txt"
    val.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n")
    res = {}
    for backend in ("engine", "torch"):
        assert cli(["eval", "--checkpoint", str(out), "--text", str(val), "--backend", backend,
                    "--json"]) == 0
        res[backend] = json.loads(capsys.readouterr().out)
    assert res["engine"]["tokens"] == res["torch"]["tokens"] > 10
    tok = LanguageModel.load(out).tokenizer
    first = tok.decode(tok.encode(val.read_text())[:1])   # the unpredicted first token
    assert res["engine"]["bytes"] == len(val.read_text().encode()) - len(first.encode())
    # an untrained tiny model: both near log2(300) bits a token, and agreeing
    assert abs(res["engine"]["bits_per_byte"] / res["torch"]["bits_per_byte"] - 1) < 0.01
    assert cli(["generate", "--checkpoint", str(out), "--prompt", "KING:", "--tokens", "4",
                "--backend", "engine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["token_ids"].__len__() == 4


def test_bad_arguments_exit_2(script, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        script.main(["--layers", "0", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert "--layers must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(not (SHIPPED / "config.json").is_file(),
                    reason=f"no trained deep checkpoint at {SHIPPED} "
                           f"(python scripts/train_lm_deep.py)")
def test_shipped_deep_model_engine_torch_float_agree_on_held_out_text(script):
    from lava_llm.models.lm import engine

    bench = _module("lm_deep_bench", "benchmarks/lm_deep.py")
    lm = LanguageModel.load(SHIPPED)
    assert lm.config.num_layers >= 6 and lm.tokenizer.vocab_size >= 512
    val = bench.validation_text()[:2000]
    r = {b: evaluate_text(lm, val, b) for b in ("engine", "torch")}
    ids = lm.tokenizer.encode(val)
    fm = lm.float_model
    bpb_float = bench.float_bits(lambda x, s: engine.float_forward(fm, x, s), ids) \
        / r["engine"]["bytes"]
    # a trained model, not noise: well under the 8 bits of an uninformed byte
    assert bpb_float < 3.5
    assert abs(r["engine"]["bits_per_byte"] / bpb_float - 1) < 0.01
    assert abs(r["torch"]["bits_per_byte"] / bpb_float - 1) < 0.01
    # the 6-layer Lava network (14 leaf Processes) is bit-exact with the engine
    short = val[:80]
    assert evaluate_text(lm, short, "sim-fixed") == evaluate_text(lm, short, "engine") | {
        "backend": "sim-fixed"}
