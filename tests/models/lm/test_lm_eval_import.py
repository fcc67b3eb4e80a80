"""``lava-llm import-hf`` and ``lava-llm eval``: conversion with text calibration, nothing
written on failure; bits per token / byte with the state carried, agreeing across backends."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import lm_text_helpers as H  # noqa: E402

from conftest import need_data  # noqa: E402
from lava_llm.cli import main  # noqa: E402
from lava_llm.models.lm.evaluate import evaluate_text, stream_bits  # noqa: E402
from lava_llm.models.lm.generate import LanguageModel  # noqa: E402


@pytest.fixture(scope="module")
def bpe_hf(tmp_path_factory):
    folder = H.train_bpe(tmp_path_factory.mktemp("bpe") / "hf")
    return H.write_hf_model(folder, H.vocab_of(folder))


@pytest.fixture(scope="module")
def calib_text(tmp_path_factory):
    p = tmp_path_factory.mktemp("text") / "calib.txt"
    p.write_text("\n".join(H.corpus(80, seed=5)))
    return p


@pytest.fixture(scope="module")
def shakespeare(tmp_path_factory):
    text = need_data("tinyshakespeare", "input.txt").read_text()
    p = tmp_path_factory.mktemp("sh") / "short.txt"
    p.write_text(text[-1500:])        # the end of the file: held-out text
    return p


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_import_hf_with_calibration_text(bpe_hf, calib_text, tmp_path, capsys):
    dst = tmp_path / "out" / "ll"
    assert main(["import-hf", str(bpe_hf), str(dst), "--calibration-text", str(calib_text),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["written"] == str(dst)
    assert set(out["tokenizer_files"]) == {"tokenizer.json", "tokenizer_config.json"}
    assert str(calib_text) in out["calibration_data"]
    lm = LanguageModel.load(dst)
    n = lm.tokenizer.encode(calib_text.read_text()).size
    assert out["calibration_tokens"] == n // 256 * 256 if n >= 256 else n
    assert "calib.txt" in json.loads((dst / "config.json").read_text())["meta"][
        "calibration_data"]
    # the calibration really comes from the text: it differs from the random-id default
    assert main(["import-hf", str(bpe_hf), str(tmp_path / "rand"), "--json"]) == 0
    capsys.readouterr()
    a = json.loads((dst / "config.json").read_text())["calibration"]["linears"]
    b = json.loads((tmp_path / "rand" / "config.json").read_text())["calibration"]["linears"]
    assert a.keys() == b.keys() and a != b
    assert _listing(tmp_path / "out") == ["ll"]          # no temporary folder left


def test_import_hf_errors_write_nothing(bpe_hf, calib_text, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    bad = tmp_path / "bad.txt"
    bad.write_text("the cat Q sat")
    cases = [
        ([str(tmp_path / "missing"), str(out / "a")], "does not exist"),
        ([str(bpe_hf), str(out / "a"), "--calibration-text", str(empty)], "empty.txt"),
        ([str(bpe_hf), str(out / "a"), "--calibration-text", str(tmp_path / "nope.txt")],
         "nope.txt"),
        ([str(bpe_hf), str(out / "a"), "--calibration-text", str(bad)], "cannot encode"),
        ([str(bpe_hf), str(out), "--calibration-text", str(calib_text)], "already exists"),
    ]
    for argv, msg in cases:
        assert main(["import-hf", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, (argv, err)
    assert _listing(out) == []
    # a model without tokenizer cannot calibrate on text; vocab mismatch is caught
    notok = H.write_hf_model(tmp_path / "notok", 40)
    assert main(["import-hf", str(notok), str(out / "b"), "--calibration-text",
                 str(calib_text)]) == 2
    assert "has no tokenizer" in capsys.readouterr().err
    mism = H.train_bpe(tmp_path / "mism")
    H.write_hf_model(mism, H.vocab_of(mism) + 300)
    assert main(["import-hf", str(mism), str(out / "c")]) == 2
    assert "tokenizer.json" in capsys.readouterr().err
    assert _listing(out) == []


def test_eval_engine_and_torch_agree_on_the_shipped_model(shakespeare, capsys):
    res = {}
    for backend in ("engine", "torch"):
        assert main(["eval", "--text", str(shakespeare), "--backend", backend,
                     "--json"]) == 0
        cap = capsys.readouterr()
        res[backend] = json.loads(cap.out)
        assert "eval " + backend in cap.err                 # the progress bar on stderr
    e, t = res["engine"], res["torch"]
    assert set(e) >= {"tokens", "bits_per_token", "bits_per_byte", "backend"}
    assert e["tokens"] == 1499 and e["backend"] == "engine"
    assert e["bits_per_byte"] == e["bits_per_token"]        # ASCII text, char tokens
    assert abs(e["bits_per_token"] - t["bits_per_token"]) <= 0.01 * t["bits_per_token"]
    assert 1.0 < t["bits_per_token"] < 3.5                  # a trained model, not uniform
    # state carried: chunking does not change the integer result (exact)
    lm = LanguageModel.load()
    ids = lm.tokenizer.encode(shakespeare.read_text())
    assert stream_bits(lm, ids, "engine", chunk=97) == pytest.approx(
        e["bits_per_token"] * e["tokens"], rel=1e-12)
    # and it is not the sum of independent chunks (state really carried)
    parts = sum(stream_bits(lm, ids[s:s + 98], "engine") for s in range(0, ids.size - 1, 97))
    assert abs(parts - e["bits_per_token"] * e["tokens"]) > 1.0


def test_eval_lava_backends_on_a_short_text(tmp_path):
    lm = LanguageModel.load()
    text = "ROMEO:\nBut soft, what light through yonder window breaks?"
    eng = evaluate_text(lm, text, "engine", chunk=20)      # several chunks
    fix = evaluate_text(lm, text, "sim-fixed", chunk=20)
    assert fix["bits_per_token"] == eng["bits_per_token"]   # bit-exact integer logits
    tor = evaluate_text(lm, text, "torch")
    flo = evaluate_text(lm, text, "sim-float")
    assert flo["bits_per_token"] == pytest.approx(tor["bits_per_token"], rel=1e-4)
    assert eng["tokens"] == len(text) - 1


def test_eval_bits_per_byte_with_bos_and_subwords(bpe_hf, calib_text, tmp_path):
    dst = tmp_path / "ll"
    assert main(["import-hf", str(bpe_hf), str(dst), "--calibration-text",
                 str(calib_text)]) == 0
    lm = LanguageModel.load(dst)
    text = "the cat sat on a mat. the dog ran to the red barn."
    out = evaluate_text(lm, text, "engine")
    ids = lm.tokenizer.encode(text)
    assert ids[0] == lm.tokenizer.bos_id and out["tokens"] == ids.size - 1
    assert out["bytes"] == len(lm.tokenizer.decode(ids).encode())
    assert out["bits_per_byte"] == pytest.approx(
        out["bits_per_token"] * out["tokens"] / out["bytes"])
    tor = evaluate_text(lm, text, "torch")
    assert np.isfinite(tor["bits_per_token"])


def test_eval_bad_input(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    bad = tmp_path / "bad.txt"
    bad.write_text("ROMEO: caf\u00e9 \u4e2d")
    cases = [(["--text", str(empty)], "empty.txt: the file is empty"),
             (["--text", str(tmp_path / "none.txt")], "none.txt: file does not exist"),
             (["--text", str(bad)], "bad.txt contains character(s)"),
             (["--text", str(bad), "--checkpoint", str(tmp_path / "x")], "does not exist")]
    for argv, msg in cases:
        assert main(["eval", *argv, "--backend", "engine"]) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, err
    one = tmp_path / "one.txt"
    one.write_text("A")
    assert main(["eval", "--text", str(one), "--backend", "engine"]) == 2
    assert "need at least 2" in capsys.readouterr().err
