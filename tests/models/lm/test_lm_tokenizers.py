"""Subword tokenizers (tokenizers BPE, SentencePiece) on HF folders and converted checkpoints:
text prompts, decoded text, --prompt-ids, and the bad-input errors."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import lm_text_helpers as H  # noqa: E402

from lava_llm.cli import main  # noqa: E402
from lava_llm.models.lm import hf_import  # noqa: E402
from lava_llm.models.lm.generate import LanguageModel  # noqa: E402
from lava_llm.models.lm.tokenizer import HFTokenizer, load_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def bpe_hf(tmp_path_factory):
    folder = H.train_bpe(tmp_path_factory.mktemp("bpe") / "hf")
    return H.write_hf_model(folder, H.vocab_of(folder))


@pytest.fixture(scope="module")
def sp_hf(tmp_path_factory):
    folder = H.train_sentencepiece(tmp_path_factory.mktemp("sp") / "hf")
    return H.write_hf_model(folder, H.vocab_of(folder))


@pytest.mark.parametrize("which", ["bpe", "sp"])
def test_encode_decode_bos_eos(which, bpe_hf, sp_hf):
    folder = bpe_hf if which == "bpe" else sp_hf
    tok = HFTokenizer(folder)
    assert tok.kind == ("tokenizers" if which == "bpe" else "sentencepiece")
    text = "the old dog sat on a mat."
    ids = tok.encode(text)
    assert ids[0] == tok.bos_id and tok.bos_id != tok.eos_id and tok.eos_id is not None
    assert ids.size < len(text)                       # subwords, not characters
    assert tok.decode(ids) == text                    # BOS skipped when decoding
    assert tok.decode(np.append(ids, tok.eos_id)) == text


def test_bos_follows_tokenizer_config(tmp_path):
    folder = H.train_bpe(tmp_path / "nobos", config={"bos_token": "<s>", "eos_token": "</s>",
                                                     "add_bos_token": False})
    tok = HFTokenizer(folder)
    assert tok.encode("the cat")[0] != tok.bos_id


def test_text_prompt_on_hf_folder_and_converted_checkpoint(bpe_hf, tmp_path, capsys):
    lm = LanguageModel.from_hf(bpe_hf)
    prompt = "the cat sat on"
    want = lm.generate(prompt, 4, backend="torch")
    assert isinstance(want["text"], str)
    assert want["text"] == lm.tokenizer.decode(want["token_ids"])
    assert list(want["prompt_ids"]) == list(lm.tokenizer.encode(prompt))
    # the converted checkpoint carries the tokenizer
    dst = hf_import.convert(bpe_hf, tmp_path / "ll")
    assert (dst / "tokenizer.json").is_file() and (dst / "tokenizer_config.json").is_file()
    lm2 = LanguageModel.load(dst)
    assert isinstance(lm2.tokenizer, HFTokenizer)
    got = lm2.generate(prompt, 4, backend="torch")
    assert list(got["token_ids"]) == list(want["token_ids"]) and got["text"] == want["text"]
    # CLI: text prompt and raw ids give the same tokens
    assert main(["generate", "--checkpoint", str(dst), "--prompt", prompt, "--tokens", "4",
                 "--backend", "engine", "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    ids = ",".join(str(i) for i in lm2.tokenizer.encode(prompt))
    assert main(["generate", "--checkpoint", str(dst), "--prompt-ids", ids, "--tokens", "4",
                 "--backend", "engine", "--json"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert a["token_ids"] == b["token_ids"] and a["text"] == b["text"]
    assert a["text"] == lm2.tokenizer.decode(a["token_ids"])


def test_prompt_ids_for_the_char_model(capsys):
    lm = LanguageModel.load()
    ids = lm.tokenizer.encode("ROMEO:")
    assert main(["generate", "--prompt-ids", ",".join(map(str, ids)), "--tokens", "5",
                 "--backend", "engine", "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["generate", "--prompt", "ROMEO:", "--tokens", "5", "--backend", "engine",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["token_ids"] == a["token_ids"]
    assert main(["generate", "--prompt-ids", "1,x", "--backend", "engine"]) == 2
    assert "--prompt-ids" in capsys.readouterr().err
    assert main(["generate", "--prompt-ids", "1,65", "--backend", "engine"]) == 2
    assert "prompt token ids" in capsys.readouterr().err


def test_text_the_tokenizer_cannot_encode(bpe_hf, sp_hf, capsys):
    for folder in (bpe_hf, sp_hf):
        tok = HFTokenizer(folder)
        with pytest.raises(ValueError, match=r"cannot encode: 'QZ'"):
            tok.encode("the Q cat Z")
    assert main(["generate", "--checkpoint", str(sp_hf), "--prompt", "the Zebra",
                 "--tokens", "2", "--backend", "engine"]) == 2
    err = capsys.readouterr().err
    assert "prompt contains character(s)" in err and "tokenizer.model" in err


def test_vocab_mismatch_is_an_error_naming_the_file(tmp_path, capsys):
    folder = H.train_sentencepiece(tmp_path / "hf")
    n = H.vocab_of(folder)
    H.write_hf_model(folder, n + 200)                 # more than the padding allowance
    with pytest.raises(ValueError, match=r"tokenizer.model: the tokenizer has \d+ tokens"):
        load_tokenizer(folder, n + 200)
    with pytest.raises(ValueError, match="vocab_size"):
        hf_import.convert(folder, tmp_path / "ll")
    assert not (tmp_path / "ll").exists()             # nothing written
    assert main(["generate", "--checkpoint", str(folder), "--prompt", "the cat",
                 "--backend", "engine"]) == 2
    assert "tokenizer.model" in capsys.readouterr().err
    load_tokenizer(folder, 128)                       # padded up to a multiple of 128: fine


def test_broken_tokenizer_files(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer.json"):
        HFTokenizer(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    (tmp_path / "tokenizer.model").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="tokenizer.model"):
        HFTokenizer(tmp_path)
    with pytest.raises(FileNotFoundError):
        HFTokenizer(tmp_path / "nothing")
    assert load_tokenizer(tmp_path / "nothing") is None
