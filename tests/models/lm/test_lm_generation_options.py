"""Generation options: nucleus (top-p) sampling in the shared samplers, stop at EOS, the
streaming callback and the CLI's streamed text."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import lm_text_helpers as H  # noqa: E402

from lava_llm import fixed_point as fp  # noqa: E402
from lava_llm.cli import main  # noqa: E402
from lava_llm.models.lm.generate import LanguageModel, TextStream  # noqa: E402
from lava_llm.processes.lm_blocks import kernels as lk  # noqa: E402

LOGITS = np.array([3.0, 2.9, 0.0, -5.0, 2.0])


def _states(n):
    return [int(fp.prng_states(s, (1,))[0]) for s in range(n)]


@pytest.mark.parametrize("kind", ["float", "int"])
def test_top_p_keeps_the_nucleus(kind):
    logits = LOGITS if kind == "float" else np.round(LOGITS * 4096).astype(np.int64)
    sample = lk.sample_float if kind == "float" else lk.sample_int
    p = np.exp(LOGITS - LOGITS.max())
    p /= p.sum()                           # sorted: 0 (0.46), 1 (0.41), 4 (0.12), ...
    seen = {q: {sample(logits, s, 1.0, 0, q)[0] for s in _states(300)} for q in
            (1e-6, 0.5, 0.9, 1.0)}
    assert seen[1e-6] == {0}               # the nucleus of one token: the most likely
    assert seen[0.5] == {0, 1}             # 0.46 < 0.5 <= 0.46 + 0.41
    assert seen[0.9] == {0, 1, 4}          # 0.87 < 0.9
    assert {0, 1, 4} < seen[1.0] | {2}     # top_p = 1: everything may come
    # top_p = 1 is exactly the sampler without the cut (same tokens, same PRNG states)
    for s in _states(50):
        assert sample(logits, s, 0.7, 3, 1.0) == sample(logits, s, 0.7, 3)
    # the draw advances the state once, with or without the cut
    assert sample(logits, 7, 1.0, 0, 0.5)[1] == fp.xorshift32(7)


def test_top_p_float_and_int_agree_in_distribution():
    q = np.round(LOGITS * 4096).astype(np.int64)
    a = np.bincount([lk.sample_float(LOGITS, s, 0.8, 0, 0.95)[0] for s in _states(2000)],
                    minlength=5) / 2000
    b = np.bincount([lk.sample_int(q, s, 0.8, 0, 0.95)[0] for s in _states(2000)],
                    minlength=5) / 2000
    assert np.abs(a - b).max() < 0.01      # same draws, LUT weights within 0.4 %


def test_bad_top_p(capsys):
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
            lk.check_top_p(bad)
    assert main(["generate", "--prompt", "A", "--top-p", "0", "--backend", "engine"]) == 2
    assert "top_p must be in (0, 1]" in capsys.readouterr().err


@pytest.fixture(scope="module")
def lm():
    return LanguageModel.load()


def test_top_p_engine_equals_sim_fixed_and_changes_tokens(lm):
    kw = dict(temperature=1.2, seed=4)
    eng = lm.generate("ROMEO:", 12, backend="engine", top_p=0.7, **kw)
    fix = lm.generate("ROMEO:", 12, backend="sim-fixed", top_p=0.7, **kw)
    assert list(eng["token_ids"]) == list(fix["token_ids"])
    assert np.array_equal(eng["logits_raw"], fix["logits_raw"])
    full = lm.generate("ROMEO:", 12, backend="engine", **kw)
    assert list(full["token_ids"]) != list(eng["token_ids"])
    tor = lm.generate("ROMEO:", 12, backend="torch", top_p=0.7, **kw)
    flo = lm.generate("ROMEO:", 12, backend="sim-float", top_p=0.7, **kw)
    assert list(tor["token_ids"]) == list(flo["token_ids"])


@pytest.mark.parametrize("backend", ["engine", "sim-fixed", "torch"])
def test_stop_at_eos_and_streaming_callback(lm, backend):
    full = lm.generate("ROMEO:", 10, backend=backend)
    assert full["stopped"] == "length" and full["token_ids"].size == 10
    eos = int(full["token_ids"][3])
    first = int(np.flatnonzero(full["token_ids"] == eos)[0])
    tok = lm.tokenizer
    lm.tokenizer = type(tok)(tok.chars)
    lm.tokenizer.eos_id = eos
    try:
        seen = []
        out = lm.generate("ROMEO:", 10, backend=backend, on_token=seen.append)
        assert out["stopped"] == "eos"
        assert list(out["token_ids"]) == list(full["token_ids"][:first + 1])
        assert seen == list(out["token_ids"])
        assert out["logits"].shape[0] == len("ROMEO:") + first
        np.testing.assert_allclose(out["logits"], full["logits"][:out["logits"].shape[0]])
        again = lm.generate("ROMEO:", 10, backend=backend, stop_at_eos=False)
        assert list(again["token_ids"]) == list(full["token_ids"])
    finally:
        lm.tokenizer = tok


def test_cli_streams_text_without_json(capsys):
    assert main(["generate", "--prompt", "ROMEO:", "--tokens", "12", "--backend",
                 "engine"]) == 0
    out = capsys.readouterr().out
    want = LanguageModel.load().generate("ROMEO:", 12, backend="engine")["text"]
    assert out.startswith(want + "\n")
    assert "token_ids: " in out and "\ntext: " not in out and "stopped: length" in out


def test_text_stream_joins_subwords(tmp_path):
    from lava_llm.models.lm.tokenizer import HFTokenizer

    tok = HFTokenizer(H.train_bpe(tmp_path / "bpe"))
    ids = tok.encode("the old dog ran to the red barn.")[1:]
    st = TextStream(tok)
    assert "".join(st.push(i) for i in ids) + st.finish() == tok.decode(ids)
    assert st.finish() == ""
    assert "".join(TextStream(None).push(i) for i in (3, 4)) == "3 4 "


def test_text_stream_holds_back_split_characters(tmp_path):
    # byte-level BPE: a multi-byte character spans several tokens; no piece shows U+FFFD
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from lava_llm.models.lm.tokenizer import HFTokenizer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(H.corpus(40), trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(tmp_path / "tokenizer.json"))
    hf = HFTokenizer(tmp_path)
    ids = hf.encode("the caf\u00e9 \u4e2d\u6587 cat")
    # some prefix ends inside a character (so the hold-back is exercised)
    assert any("\ufffd" in hf.decode(ids[:k]) for k in range(1, ids.size))
    st = TextStream(hf)
    pieces = [st.push(i) for i in ids]
    assert not any("\ufffd" in p for p in pieces)
    assert "".join(pieces) + st.finish() == "the caf\u00e9 \u4e2d\u6587 cat"


@pytest.mark.slow
def test_top_p_in_the_fine_grained_readout():
    # the fine form's Readout neuron gets top_p too (LMHead aliases its Vars)
    from lava_llm.models.lm.config import LMConfig
    from lava_llm.models.lm.params import random_params

    small = LanguageModel(random_params(LMConfig(vocab_size=30, hidden_size=16, num_layers=1,
                                                 intermediate_size=32), 2))
    kw = dict(temperature=1.5, top_p=0.6, seed=9)
    eng = small.generate([1, 2, 3], 5, backend="engine", **kw)
    fine = small.generate([1, 2, 3], 5, backend="sim-fixed", granularity="fine", **kw)
    assert list(fine["token_ids"]) == list(eng["token_ids"])
    assert np.array_equal(fine["logits_raw"], eng["logits_raw"])
