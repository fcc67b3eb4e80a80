"""HF HGRNBitForCausalLM import: a small random checkpoint in the exact HF layout, imported
through the library, against the independent reference in ``hgrn_reference.py``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hgrn_reference as ref  # noqa: E402

from lava_llm.models.lm import hf_import as hf  # noqa: E402

SMALL = dict(vocab_size=37, hidden_size=32, num_hidden_layers=2, intermediate_size=48)


def write_checkpoint(folder: Path, cfg: dict, sd: dict, fmt: str = "safetensors") -> Path:
    """Write ``config.json`` and the weights as HF does (``save_pretrained``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    sd = {k: v.contiguous() for k, v in sd.items()}
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file(sd, str(folder / "model.safetensors"), metadata={"format": "pt"})
    elif fmt == "bin":
        torch.save(sd, folder / "pytorch_model.bin")
    elif fmt == "sharded":
        from safetensors.torch import save_file

        names = sorted(sd)
        half = len(names) // 2
        weight_map = {}
        for i, part in enumerate((names[:half], names[half:])):
            fname = f"model-{i + 1:05d}-of-00002.safetensors"
            save_file({k: sd[k] for k in part}, str(folder / fname), metadata={"format": "pt"})
            weight_map.update({k: fname for k in part})
        (folder / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    else:
        raise AssertionError(fmt)
    return folder


@pytest.fixture(scope="module")
def small():
    cfg = ref.hf_config(**SMALL)
    return cfg, ref.random_state_dict(cfg, seed=3)


def test_reference_quantisers_are_the_released_ones():
    # The reference's quantisers behave as BitNet b1.58's: ternary levels times mean|W|,
    # int8 per-token absmax.
    w = torch.tensor([[0.3, -0.05, 0.0, -0.9]], dtype=torch.float64)
    a = w.abs().mean()
    assert torch.allclose(ref.weight_quant(w), torch.tensor([[1, 0, 0, -1]]) * a)
    x = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)
    q = ref.activation_quant(x) * (127 / 2.0)
    assert torch.allclose(q, torch.round(x * 127 / 2.0))


def test_config_defaults_and_shapes(tmp_path, small):
    cfg, sd = small
    raw = dict(cfg, intermediate_size=None)
    (tmp_path / "config.json").write_text(json.dumps(raw))
    c = hf.read_config(tmp_path)
    # matmulfreellm default: 256 * ceil(int(8H/3) / 256)
    assert c.intermediate_size == ref.intermediate_size(raw) == 256
    assert hf.default_intermediate_size(1024) == 2816  # the 370M model's MLP width
    c = hf.read_config(write_checkpoint(tmp_path / "m", cfg, sd))
    shapes = hf.expected_shapes(c)
    assert shapes == {k: tuple(v.shape) for k, v in sd.items()}


@pytest.mark.parametrize("fmt", ["safetensors", "bin", "sharded"])
def test_ternarised_once_equals_released_weight_quant(tmp_path, small, fmt):
    cfg, sd = small
    imp = hf.read_checkpoint(write_checkpoint(tmp_path / fmt, cfg, sd, fmt))
    assert len(imp.linears) == 6 * SMALL["num_hidden_layers"] + 1
    for name, lin in imp.linears.items():
        w = sd[name + ".weight"].to(torch.float64)
        want = ref.weight_quant(w).numpy()
        got = lin.scale * lin.trits.astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=name)
        assert set(np.unique(lin.trits)) <= {-1, 0, 1}
        np.testing.assert_array_equal(lin.norm_weight,
                                      sd[name + ".norm.weight"].double().numpy())
    # quantising the imported trits again would change the scale: the import must not
    lin = imp.linears["model.layers.0.attn.i_proj"]
    requant = ref.weight_quant(torch.tensor(lin.scale * lin.trits.astype(np.float64)))
    assert not np.allclose(requant.numpy(), lin.scale * lin.trits)


def test_lower_bounds(tmp_path, small):
    cfg, sd = small
    imp = hf.read_checkpoint(write_checkpoint(tmp_path, cfg, sd))
    p = torch.softmax(sd["model.lower_bounds"].double(), 0)
    np.testing.assert_allclose(imp.lower_bounds(), (p.cumsum(0) - p[0]).numpy(), atol=1e-14)
    assert np.all(imp.lower_bounds()[0] == 0)
    off = hf.lower_bound_logits_off(3, 4)
    p = torch.softmax(torch.tensor(off), 0)
    assert torch.all(p.cumsum(0) - p[0] == 0)


# --------------------------------------------------------------------------- bad input
def test_missing_folder_config_and_weights(tmp_path, small):
    cfg, sd = small
    with pytest.raises(FileNotFoundError, match="does not exist"):
        hf.read_checkpoint(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        hf.read_checkpoint(tmp_path / "a")
    (tmp_path / "a" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        hf.read_checkpoint(tmp_path / "a")
    folder = write_checkpoint(tmp_path / "s", cfg, sd, "sharded")
    next(folder.glob("model-00002*")).unlink()
    with pytest.raises(FileNotFoundError, match="missing: model-00002-of-00002"):
        hf.read_checkpoint(folder)


def test_key_and_shape_mismatches(tmp_path, small):
    cfg, sd = small
    bad = dict(sd)
    del bad["model.layers.1.attn.g_norm.weight"]
    bad["model.layers.0.attn.h_conv1d.weight"] = torch.zeros(32, 1, 4)
    with pytest.raises(ValueError, match=r"missing keys \(1\): model.layers.1.attn.g_norm"
                                         r".*unexpected keys \(1\): .*h_conv1d"):
        hf.read_checkpoint(write_checkpoint(tmp_path / "k", cfg, bad))
    # a checkpoint of another size than its config says
    wrong_cfg = dict(cfg, intermediate_size=64)
    with pytest.raises(ValueError, match=r"shape mismatches.*mlp.gate_proj.weight: "
                                         r"\(96, 32\) \(config needs \(128, 32\)\)"):
        hf.read_checkpoint(write_checkpoint(tmp_path / "s", wrong_cfg, sd))
    nan = dict(sd, **{"lm_head.weight": sd["lm_head.weight"].clone().fill_(float("nan"))})
    with pytest.raises(ValueError, match="non-finite values in.*lm_head.weight"):
        hf.read_checkpoint(write_checkpoint(tmp_path / "n", cfg, nan))


@pytest.mark.parametrize("change, match", [
    ({"use_short_conv": True}, "use_short_conv"),
    ({"expand_ratio": 2}, "expand_ratio"),
    ({"hidden_act": "gelu"}, "hidden_act"),
    ({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}, "expected model_type"),
    ({"hidden_size": None}, "'hidden_size' is missing"),
    ({"vocab_size": 3.5}, "'vocab_size' must be an int"),
    ({"num_heads": 5}, "num_heads=5 must be a positive int dividing hidden_size=32"),
])
def test_bad_config(tmp_path, small, change, match):
    cfg, _ = small
    (tmp_path / "config.json").write_text(json.dumps(dict(cfg, **change)))
    with pytest.raises(ValueError, match=match):
        hf.read_config(tmp_path)


# --------------------------------------------------------------------------- logits
IDS = [1, 5, 36, 0, 17, 17, 2, 30, 11, 4, 8, 23, 36, 9]


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_imported_torch_logits_match_reference(tmp_path, small, fmt):
    cfg, sd = small
    folder = write_checkpoint(tmp_path / fmt, cfg, sd, fmt)
    want = ref.hgrn_bit_logits(sd, cfg, IDS)
    model = hf.load_torch(folder)
    with torch.no_grad():
        got, _ = model(torch.tensor([IDS]))
    assert got.shape == (1, len(IDS), SMALL["vocab_size"])
    err = (got[0].double() - want).abs().max().item()
    assert err < 1e-4, err
    # the comparison is sharp: the unquantised model is far away, and so is the imported
    # model when its ternary weights are quantised a second time (alpha shrinks)
    far = ref.hgrn_bit_logits(sd, cfg, IDS, quantize=False)
    assert (far - want).abs().max().item() > 1e-2
    for m in model.bitlinears().values():
        m.frozen = False  # the library's latent-weight path: re-ternarises alpha * trits
    with torch.no_grad():
        requant, _ = model(torch.tensor([IDS]))
    assert (requant[0].double() - want).abs().max().item() > 1e-2


def test_imported_logits_token_by_token(tmp_path, small):
    # carrying the recurrent state token by token gives the same logits as the whole prompt
    cfg, sd = small
    model = hf.load_torch(write_checkpoint(tmp_path, cfg, sd))
    want = ref.hgrn_bit_logits(sd, cfg, IDS)
    state, rows = None, []
    with torch.no_grad():
        for tok in IDS:
            logits, state = model(torch.tensor([[tok]]), state)
            rows.append(logits[0, 0])
    assert (torch.stack(rows).double() - want).abs().max().item() < 1e-4


def test_default_intermediate_and_no_lower_bound(tmp_path):
    # intermediate_size absent -> 256 * ceil(int(8H/3)/256); use_lower_bound=false has no
    # model.lower_bounds key and must mean "no lower bound in any layer"
    cfg = ref.hf_config(vocab_size=19, hidden_size=16, num_hidden_layers=3,
                        intermediate_size=None, use_lower_bound=False)
    sd = ref.random_state_dict(cfg, seed=5)
    assert "model.lower_bounds" not in sd and sd["model.layers.0.mlp.down_proj.weight"].shape \
        == (16, 256)
    model = hf.load_torch(write_checkpoint(tmp_path, cfg, sd))
    ids = [i % 19 for i in IDS]
    with torch.no_grad():
        got = model(torch.tensor([ids]))[0][0]
    want = ref.hgrn_bit_logits(sd, cfg, ids)
    assert (got.double() - want).abs().max().item() < 1e-4


def test_unsupported_eps_is_an_error(tmp_path, small):
    cfg, sd = small
    folder = write_checkpoint(tmp_path, dict(cfg, rms_norm_eps=1e-5), sd)
    with pytest.raises(ValueError, match="rms_norm_eps=1e-05 is not supported"):
        hf.load_params(folder)


def test_numpy_engine_and_converted_checkpoint(tmp_path, small):
    # the library's numpy float engine on the imported parameters, and the same after a
    # round trip through a lava-llm checkpoint (packed trits; loading never re-quantises)
    from lava_llm.models.lm import engine
    from lava_llm.models.lm.checkpoint import load_checkpoint

    cfg, sd = small
    src = write_checkpoint(tmp_path / "hf", cfg, sd)
    want = ref.hgrn_bit_logits(sd, cfg, IDS).numpy()
    got, _ = engine.float_forward(hf.load_params(src), np.array([IDS]))
    assert np.abs(got[0] - want).max() < 1e-4
    assert hf.main([str(src), str(tmp_path / "ll")]) == 0
    ck = load_checkpoint(tmp_path / "ll")
    assert ck.calibration is not None and "random token ids" in ck.meta["calibration_data"]
    got, _ = engine.float_forward(ck.params, np.array([IDS]))
    assert np.abs(got[0] - want).max() < 1e-4
    # the integer engine runs on it (its accuracy is the core's test, on trained weights)
    from lava_llm.models.lm.export import export_int

    q = export_int(ck.params, ck.calibration)
    logits, _ = engine.int_forward(q, np.array([IDS]))
    assert logits.shape == (1, len(IDS), SMALL["vocab_size"])
    assert hf.main([str(tmp_path / "missing"), str(tmp_path / "x")]) == 2


def test_cli_generates_from_an_hf_folder(tmp_path, small, capsys):
    # `lava-llm generate --checkpoint HF_DIR` (token ids as the prompt: no tokenizer); the
    # greedy tokens equal the reference's argmax continuation
    from lava_llm.cli import main

    cfg, sd = small
    src = write_checkpoint(tmp_path / "hf", cfg, sd)
    assert main(["generate", "--checkpoint", str(src), "--prompt", "1,5,36", "--tokens", "4",
                 "--backend", "torch", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ids = [1, 5, 36]
    for _ in range(4):
        ids.append(int(ref.hgrn_bit_logits(sd, cfg, ids)[-1].argmax()))
    assert out["token_ids"] == ids[3:]
    assert main(["generate", "--checkpoint", str(tmp_path / "nope"), "--prompt", "1",
                 "--backend", "engine"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_lava_sim_float_on_imported_weights_matches_reference(tmp_path, small):
    # the imported model run as a Lava network (floating_pt models): prompt and generated
    # logits against the independent reference on the same token sequence
    from lava_llm.models.lm.generate import LanguageModel

    cfg, sd = small
    lm = LanguageModel(hf.load_params(write_checkpoint(tmp_path, cfg, sd)))
    out = lm.generate(IDS[:6], 4, backend="sim-float")
    seq = IDS[:6] + [int(t) for t in out["token_ids"][:-1]]
    want = ref.hgrn_bit_logits(sd, cfg, seq).numpy()
    assert out["logits"].shape == want.shape
    assert np.abs(out["logits"] - want).max() < 1e-4
    assert list(out["token_ids"]) == [int(r.argmax()) for r in want[5:]]


def test_tied_head_without_lm_head_weight(tmp_path, small):
    # tie_word_embeddings=true checkpoints may omit lm_head.weight (HF drops tied copies):
    # the head then uses the embedding matrix, ternarised once like any BitLinear weight
    cfg, sd = small
    tied = dict(cfg, tie_word_embeddings=True)
    sd_saved = {k: v for k, v in sd.items() if k != "lm_head.weight"}
    folder = write_checkpoint(tmp_path, tied, sd_saved)
    want = ref.hgrn_bit_logits(dict(sd_saved, **{"lm_head.weight":
                                                 sd["model.embeddings.weight"]}), tied, IDS)
    with torch.no_grad():
        got = hf.load_torch(folder)(torch.tensor([IDS]))[0][0]
    assert (got.double() - want).abs().max().item() < 1e-4
    # untied checkpoints must have it
    with pytest.raises(ValueError, match=r"missing keys \(1\): lm_head.weight"):
        hf.read_checkpoint(write_checkpoint(tmp_path / "u", cfg, sd_saved))
