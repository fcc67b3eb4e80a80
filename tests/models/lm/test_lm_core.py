"""MatMul-free LM core: torch names, float paths agree, engine vectorisation, Lava sim-fixed
== engine (tokens and logits), sim-float ~ torch, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lava_llm.models.lm import engine, export
from lava_llm.models.lm.config import MAX_PROMPT_TOKENS, LMConfig, default_intermediate_size
from lava_llm.models.lm.generate import LanguageModel
from lava_llm.models.lm.params import random_params
from lava_llm.run import Loihi2UnavailableError, loihi2_status
from lava_llm.training.hgrn import HGRNBitForCausalLM, set_quantize

CFG = LMConfig(vocab_size=13, hidden_size=16, num_layers=2, intermediate_size=24)


@pytest.fixture(scope="module")
def lm():
    return LanguageModel(random_params(CFG, seed=3))


def test_default_intermediate_size():
    assert default_intermediate_size(1024) == 2816  # int(8*1024/3)=2730 -> 11*256
    assert default_intermediate_size(128) == 512
    assert LMConfig(vocab_size=5, hidden_size=96, num_layers=1).intermediate_size == 256


def test_state_dict_names_are_hf_names():
    m = HGRNBitForCausalLM(CFG)
    want = {"model.embeddings.weight", "model.lower_bounds", "model.norm.weight",
            "lm_head.weight", "lm_head.norm.weight"}
    for layer in range(CFG.num_layers):
        pre = f"model.layers.{layer}."
        want |= {pre + "attn_norm.weight", pre + "attn.g_norm.weight", pre + "mlp_norm.weight"}
        for p in ("attn.i_proj", "attn.f_proj", "attn.g_proj", "attn.o_proj",
                  "mlp.gate_proj", "mlp.down_proj"):
            want |= {pre + p + ".weight", pre + p + ".norm.weight"}
    assert set(m.state_dict()) == want
    assert m.state_dict()["model.layers.0.mlp.gate_proj.weight"].shape == (48, 16)


def test_numpy_float_path_matches_torch_float64(lm):
    ids = np.random.default_rng(0).integers(0, CFG.vocab_size, (3, 12))
    lf, sf = engine.float_forward(lm.params, ids)
    model = lm.torch_model(torch.float64)
    with torch.no_grad():
        lt, st = model(torch.from_numpy(ids))
    np.testing.assert_allclose(lf, lt.numpy(), atol=1e-9)
    np.testing.assert_allclose(sf[1], st[1].numpy(), atol=1e-9)


def test_to_params_ternarises_once():
    m = HGRNBitForCausalLM(CFG).double()
    p = m.to_params()
    m2 = HGRNBitForCausalLM.from_params(p, torch.float64)
    p2 = m2.to_params()  # frozen: reads the stored trits and alpha back unchanged
    for k in p.linears:
        np.testing.assert_array_equal(p.linears[k].trits, p2.linears[k].trits)
        assert p.linears[k].scale == pytest.approx(p2.linears[k].scale, rel=1e-12)
    ids = torch.randint(0, CFG.vocab_size, (2, 7))
    with torch.no_grad():
        np.testing.assert_allclose(m(ids)[0].numpy(), m2(ids)[0].numpy(), atol=1e-6)
    set_quantize(m, False)  # the float-weight model differs from the ternary one
    with torch.no_grad():
        assert not np.allclose(m(ids)[0].numpy(), m2(ids)[0].numpy(), atol=1e-6)


@pytest.mark.parametrize("forward", ["float", "int"])
def test_engine_sequence_equals_token_by_token(lm, forward):
    ids = np.random.default_rng(1).integers(0, CFG.vocab_size, (2, 9))
    fn = (lambda x, s: engine.int_forward(lm.int_model, x, s)) if forward == "int" else \
        (lambda x, s: engine.float_forward(lm.float_model, x, s))
    full, _ = fn(ids, None)
    state, steps = None, []
    for t in range(ids.shape[1]):
        out, state = fn(ids[:, t:t + 1], state)
        steps.append(out)
    step = np.concatenate(steps, axis=1)
    if forward == "int":
        np.testing.assert_array_equal(full, step)
    else:
        np.testing.assert_allclose(full, step, atol=1e-12)


def test_bits_per_char_is_chunk_invariant(lm):
    ids = np.random.default_rng(2).integers(0, CFG.vocab_size, 401)
    fn = lambda x, s: engine.int_forward(lm.int_model, x, s)  # noqa: E731
    a = engine.bits_per_char(fn, ids, streams=4, chunk=7, scale=2.0 ** -12)
    b = engine.bits_per_char(fn, ids, streams=4, chunk=100, scale=2.0 ** -12)
    assert a == pytest.approx(b, rel=1e-12)
    assert 2.0 < a < 8.0


def test_integer_engine_tracks_float(lm):
    ids = np.random.default_rng(4).integers(0, CFG.vocab_size, (4, 30))
    lf, _ = engine.float_forward(lm.float_model, ids)
    li, _ = engine.int_forward(lm.int_model, ids)
    assert li.dtype == np.int64
    assert np.abs(li).max() < 1 << 23
    assert np.corrcoef(lf.ravel(), li.ravel() / 4096.0)[0, 1] > 0.99


@pytest.mark.parametrize("sampling", [dict(), dict(temperature=0.9, top_k=6, seed=11)],
                         ids=["greedy", "sampled"])
def test_sim_fixed_equals_engine(lm, sampling):
    prompt = [3, 1, 4, 1, 5]
    eng = lm.generate(prompt, 5, backend="engine", **sampling)
    lava = lm.generate(prompt, 5, backend="sim-fixed", **sampling)
    assert lava["leaf_processes"] == 2 * CFG.num_layers + 2
    np.testing.assert_array_equal(lava["token_ids"], eng["token_ids"])
    assert lava["logits_raw"].shape == (len(prompt) + 4, CFG.vocab_size)
    np.testing.assert_array_equal(lava["logits_raw"], eng["logits_raw"])  # logit for logit
    assert np.unique(eng["logits_raw"]).size > 10


def test_sim_float_matches_torch_float(lm):
    prompt = [2, 7, 1, 8]
    sim = lm.generate(prompt, 4, backend="sim-float", temperature=0.8, seed=5)
    tor = lm.generate(prompt, 4, backend="torch", temperature=0.8, seed=5)
    np.testing.assert_array_equal(sim["token_ids"], tor["token_ids"])
    # logits of the same token sequence from the float64 torch model
    seq = np.concatenate([prompt, sim["token_ids"][:-1]])
    with torch.no_grad():
        ref = lm.torch_model(torch.float64)(torch.from_numpy(seq[None]))[0][0].numpy()
    np.testing.assert_allclose(sim["logits"], ref, atol=1e-4, rtol=0)
    np.testing.assert_allclose(tor["logits"], ref, atol=1e-4, rtol=0)  # float32 torch


def test_bad_inputs(lm):
    with pytest.raises(ValueError, match="prompt token ids"):
        lm.generate([1, 13], 2, backend="engine")
    with pytest.raises(ValueError, match="prompt token ids"):
        lm.generate([-1], 2, backend="engine")
    with pytest.raises(ValueError, match="MAX_PROMPT_TOKENS"):
        lm.generate(np.zeros(MAX_PROMPT_TOKENS + 1, int), 1, backend="engine")
    with pytest.raises(ValueError, match="1-D"):
        lm.generate([[1, 2]], 2, backend="engine")
    with pytest.raises(ValueError, match="1 to"):
        lm.generate([], 2, backend="engine")
    with pytest.raises(ValueError, match="no tokenizer"):
        lm.generate("abc", 2, backend="engine")
    with pytest.raises(ValueError, match="tokens"):
        lm.generate([1], 0, backend="engine")
    with pytest.raises(ValueError, match="backend"):
        lm.generate([1], 1, backend="gpu")
    with pytest.raises(ValueError, match="temperature"):
        lm.generate([1], 1, backend="engine", temperature=-1)
    with pytest.raises(ValueError, match="hidden_size"):
        LMConfig(vocab_size=5, hidden_size=0, num_layers=1)
    if not loihi2_status()[0]:
        with pytest.raises(Loihi2UnavailableError):
            lm.generate([1], 1, backend="loihi2")


def test_export_rejects_incomplete_calibration(lm):
    cal = dict(lm.calibration, linears={})
    with pytest.raises(ValueError, match="calibration lacks"):
        export.export_int(lm.params, cal)


@pytest.mark.parametrize("cfg", [LMConfig(vocab_size=7, hidden_size=8, num_layers=1,
                                          intermediate_size=8),
                                 LMConfig(vocab_size=5, hidden_size=12, num_layers=3,
                                          intermediate_size=20)],
                         ids=["1-layer", "3-layer"])
def test_builder_any_config_sim_fixed_equals_engine(cfg):
    lm = LanguageModel(random_params(cfg, seed=cfg.num_layers))
    eng = lm.generate([1, 2], 3, backend="engine", temperature=1.0, seed=2)
    lava = lm.generate([1, 2], 3, backend="sim-fixed", temperature=1.0, seed=2)
    assert lava["leaf_processes"] == 2 * cfg.num_layers + 2
    np.testing.assert_array_equal(lava["token_ids"], eng["token_ids"])
    np.testing.assert_array_equal(lava["logits_raw"], eng["logits_raw"])
