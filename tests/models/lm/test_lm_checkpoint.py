"""LM checkpoints, tokenizer, CLI and the shipped demo checkpoint."""
from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from conftest import need_data
from lava_llm.models.lm.checkpoint import (DEFAULT_CHECKPOINT, WEIGHTS_FILE, load_checkpoint,
                                           save_checkpoint)
from lava_llm.models.lm.config import LMConfig
from lava_llm.models.lm.params import random_params
from lava_llm.models.lm.tokenizer import CharTokenizer

CFG = LMConfig(vocab_size=6, hidden_size=8, num_layers=1, intermediate_size=16)
TOK = CharTokenizer("abc de")


@pytest.fixture
def folder(tmp_path):
    return save_checkpoint(tmp_path / "ck", random_params(CFG, 1), TOK, None, {"x": 1})


def test_roundtrip_keeps_trits_and_packs_them(folder):
    p = random_params(CFG, 1)
    ck = load_checkpoint(folder)
    assert ck.params.config == CFG and ck.meta == {"x": 1}
    for k, lin in p.linears.items():
        np.testing.assert_array_equal(ck.params.linears[k].trits, lin.trits)
        assert ck.params.linears[k].scale == lin.scale
    arrays = load_file(str(folder / WEIGHTS_FILE))
    packed = arrays["lm_head.weight.packed"]
    assert packed.dtype == np.uint8 and packed.size == (6 * 8 + 3) // 4
    assert ck.tokenizer.decode(ck.tokenizer.encode("a cab")) == "a cab"


def test_missing_files(tmp_path, folder):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")
    (folder / WEIGHTS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=WEIGHTS_FILE):
        load_checkpoint(folder)


def test_key_and_shape_mismatch(folder):
    path = folder / WEIGHTS_FILE
    arrays = load_file(str(path))
    bad = dict(arrays)
    del bad["model.norm.weight"]
    bad["model.extra"] = np.zeros(3, np.float32)
    save_file(bad, str(path))
    with pytest.raises(ValueError, match=r"missing key model.norm.weight.*unexpected key "
                                         r"model.extra"):
        load_checkpoint(folder)
    bad = dict(arrays)
    bad["model.embeddings.weight"] = np.zeros((6, 9), np.float32)
    save_file(bad, str(path))
    with pytest.raises(ValueError, match="model.embeddings.weight: shape"):
        load_checkpoint(folder)
    save_file(arrays, str(path))
    cfg = json.loads((folder / "config.json").read_text())
    cfg["config"]["hidden_size"] = 12
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="does not match"):
        load_checkpoint(folder)


def test_tokenizer_errors():
    with pytest.raises(ValueError, match="outside the vocabulary: 'xz'"):
        TOK.encode("a zx")
    with pytest.raises(ValueError, match=r"\[0, 5\]"):
        TOK.decode([0, 6])


def test_shipped_checkpoint_small_and_consistent():
    size = sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir())
    assert size <= 10 * 2 ** 20
    ck = load_checkpoint()
    assert ck.tokenizer.vocab_size == ck.params.config.vocab_size
    assert ck.calibration and len(ck.calibration["linears"]) == len(ck.params.linears)


def test_cli_generate_engine_and_errors(capsys):
    from lava_llm.cli import main

    assert main(["generate", "--prompt", "ROMEO:", "--tokens", "5", "--backend", "engine",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"text", "token_ids", "tokens_per_s", "time_to_first_token_s", "backend"}
    assert len(out["token_ids"]) == 5 and len(out["text"]) == 5 and out["backend"] == "engine"
    assert main(["generate", "--prompt", "ROMEO~", "--tokens", "2", "--backend", "engine"]) == 2
    assert "outside the vocabulary" in capsys.readouterr().err
    assert main(["generate", "--prompt", "a", "--checkpoint", "/nonexistent/x",
                 "--backend", "engine"]) == 2


def test_shipped_model_sim_fixed_equals_engine():
    from lava_llm.models.lm.demo import demo

    res = demo(tokens=6)
    assert res["tokens_equal"] and res["logits_equal"]
    assert res["text_sim_fixed"] == res["text_engine"]


@pytest.mark.data
def test_shipped_integer_model_bpc_within_1pct_of_float():
    """On 8k validation characters: integer engine BPC vs the ternary model in float64."""
    from lava_llm.models.lm import engine, export

    text = need_data("tinyshakespeare", "input.txt").read_text()
    ck = load_checkpoint()
    ids = ck.tokenizer.encode(text[int(0.9 * len(text)):][:8192])
    fm, qm = export.float_model(ck.params), export.export_int(ck.params, ck.calibration)
    b_float = engine.bits_per_char(lambda x, s: engine.float_forward(fm, x, s), ids, streams=16)
    b_int = engine.bits_per_char(lambda x, s: engine.int_forward(qm, x, s), ids, streams=16,
                                 scale=2.0 ** -qm["logit_frac"])
    assert b_float < 3.0  # the model did learn (uniform over 65 chars is 6.02 bits)
    assert abs(b_int - b_float) / b_float < 0.01


def test_shipped_model_sim_float_matches_torch():
    import torch

    from lava_llm.models.lm.generate import LanguageModel

    lm = LanguageModel.load()
    sim = lm.generate("KING:", 3, backend="sim-float")
    seq = np.concatenate([sim["prompt_ids"], sim["token_ids"][:-1]])
    with torch.no_grad():
        ref = lm.torch_model(torch.float64)(torch.from_numpy(seq[None]))[0][0].numpy()
    np.testing.assert_allclose(sim["logits"], ref, atol=1e-4, rtol=0)
    assert np.array_equal(sim["token_ids"], lm.generate("KING:", 3, backend="torch")["token_ids"])
