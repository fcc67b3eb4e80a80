"""Integer input-quantiser designs (static / dynamic per-token absmax / smoothed outlier
channels), the integer reciprocal, the fidelity traces and the outlier report."""
from __future__ import annotations

import numpy as np
import pytest

from lava_llm import fixed_point as fp
from lava_llm.models.lm import engine, export
from lava_llm.models.lm import fidelity as F
from lava_llm.models.lm.config import LMConfig
from lava_llm.models.lm.params import random_params
from lava_llm.processes.lm_blocks import kernels as lk

CFG = LMConfig(vocab_size=50, hidden_size=64, num_layers=3, intermediate_size=96)


@pytest.fixture(scope="module")
def model():
    p = random_params(CFG, 1)
    rng = np.random.default_rng(0)
    cal = export.calibrate(p, rng.integers(0, 50, (4, 64)), channels=True)
    return p, cal, rng.integers(0, 50, (2, 32))


def test_recip_norm_error_bound():
    v = np.concatenate([np.arange(1, 5000), np.random.default_rng(0).integers(
        1, 1 << 24, 200_000)])
    r, e = fp.recip_norm(v)
    rel = np.abs(r * 2.0 ** -(fp.RECIP_FRAC + e) * v - 1)
    assert rel.max() <= fp.RECIP_MAX_REL_ERR
    assert np.all((r > 1 << 22) & (r <= 1 << 23))
    assert fp.recip_norm(0)[0] == fp.recip_norm(1)[0]           # clamps to 1
    with pytest.raises(ValueError, match="below 2\\*\\*24"):
        fp.recip_norm(1 << 24)


def test_dynamic_quant_is_the_float_per_token_absmax():
    rng = np.random.default_rng(3)
    y = np.round(rng.standard_normal((400, 256)) * rng.uniform(10, 3e5, (400, 1)))
    q, m = lk.int_dynamic_quant(y.astype(np.int64))
    qf, s = fp.int8_absmax_per_token(y)
    assert np.array_equal(m[:, 0], np.abs(y).max(axis=1))
    assert np.abs(q - qf).max() <= 1 and np.mean(q == qf) > 0.9999   # ties only
    # the rescale recovers y: acc * m / 127 with the identity as the "matrix"
    back = lk.int_dynamic_rescale(q, m, *fp.mant_exp(1 / 127, 16, 60))
    assert np.abs(back - y).max() <= np.abs(y).max(axis=1, keepdims=True).max() / 127


def test_default_export_is_dynamic_and_options_are_checked(model):
    p, cal, ids = model
    a = export.export_int(p, cal)
    b = export.export_int(p, cal, {"act": "dynamic", "act_bits": 8})
    s = export.export_int(p, cal, {"act": "static"})
    za, _ = engine.int_forward(a, ids)
    zb, _ = engine.int_forward(b, ids)
    zs, _ = engine.int_forward(s, ids)
    assert np.array_equal(za, zb) and a["layers"][0]["i"]["act"] == "dynamic"
    assert s["layers"][0]["i"]["act"] == "static" and not np.array_equal(za, zs)
    with pytest.raises(ValueError, match="act must be one of"):
        export.export_int(p, cal, {"act": "bogus"})
    with pytest.raises(ValueError, match="unknown key"):
        export.export_int(p, cal, {"bits": 4})
    with pytest.raises(ValueError, match="channels=True"):
        export.export_int(p, export.calibrate(p, ids), {"act": "smooth"})
    with pytest.raises(ValueError, match="act_bits"):
        export.export_int(p, cal, {"act_bits": 20})


def test_designs_track_float_and_dynamic_beats_static(model):
    p, cal, ids = model
    zf, _ = engine.float_forward(p, ids)
    err = {}
    for name, q in [("static", {"act": "static"}), ("dynamic", None),
                    ("smooth", {"act": "smooth"}), ("int16", {"act_bits": 16})]:
        qm = export.export_int(p, cal, q)
        z, _ = engine.int_forward(qm, ids)
        err[name] = F.logit_error(z * 2.0 ** -qm["logit_frac"], zf).mean()
    assert all(e < 0.1 for e in err.values()), err
    assert err["dynamic"] < 0.8 * err["static"], err
    assert err["int16"] < 0.8 * err["static"], err


def test_smooth_folds_power_of_two_scales():
    rng = np.random.default_rng(5)
    n = 64
    from lava_llm.models.lm.params import TernaryLinear

    trits = rng.integers(-1, 2, (16, n)).astype(np.int8)
    gain = np.ones(n)
    gain[[3, 40]] = 12.0                                          # two outlier channels
    tl = TernaryLinear(trits, 0.05, gain)
    x = rng.standard_normal((200, n))
    y = lk.rms_norm(x, gain)
    ch = np.abs(y).max(axis=0)
    sm = lk.make_int_linear(tl, in_frac=12, out_frac=12, amax=ch.max(), act="smooth",
                            channel_amax=ch)
    st = lk.make_int_linear(tl, in_frac=12, out_frac=12, amax=ch.max())
    k = sm["k"]
    assert k[[3, 40]].min() >= 3 and k.max() <= lk.SMOOTH_MAX_K
    assert np.mean(k == 0) >= 0.85 and np.delete(k, [3, 40]).max() <= 1
    xq = np.round(x * 4096).astype(np.int64)
    want = lk.bitlinear(x, tl)                                   # float, per-token int8
    exact = (y @ (0.05 * trits.T.astype(float)))                 # unquantised input
    e_sm = np.linalg.norm(lk.int_bitlinear(xq, sm) / 4096 - exact)
    e_st = np.linalg.norm(lk.int_bitlinear(xq, st) / 4096 - exact)
    assert e_sm < 0.7 * e_st                                     # finer step for the rest
    assert np.isfinite(want).all()


def test_lava_refuses_quantiser_options_it_does_not_hold(model):
    # the Lava Var layout carries the dynamic (shipped) and static int8 designs: the other
    # export options are an error there, never a silently different model
    from lava_llm.models.lm.network import build_network

    p, cal, _ = model
    fm = export.float_model(p)
    for quant in ({"act": "smooth"}, {"act_bits": 16}, {"act": "static", "act_bits": 16}):
        with pytest.raises(ValueError, match="dynamic and static int8 input quantisers only"):
            build_network(fm, export.export_int(p, cal, quant), np.array([3, 7]), 2)
    for quant in (None, {"act": "static"}):
        net = build_network(fm, export.export_int(p, cal, quant), np.array([3, 7]), 2)
        want = 0 if quant else 1
        assert int(net.blocks[0].i_act.init[0]) == want == int(net.head.lm_head_act.init[0])
        np.testing.assert_array_equal(net.blocks[1].recip_lut.init, fp.recip_table())


def test_traces_equal_the_engines(model):
    p, cal, ids = model
    qm = export.export_int(p, cal)
    z, res = F.int_trace(qm, ids)
    zi, _ = engine.int_forward(qm, ids)
    assert np.array_equal(z, zi * 2.0 ** -qm["logit_frac"]) and len(res) == CFG.num_layers + 1
    zf, rf = F.float_trace(p, ids)
    assert np.array_equal(zf, engine.float_forward(p, ids)[0])
    assert 0 < F.rel_rms(res[-1], rf[-1]) < 0.2
    assert F.logit_error(zf, zf).max() == 0
    # shift invariance removed from the reference norm: a constant offset is an error
    assert F.logit_error(zf + 1.0, zf).min() > 0


def test_outlier_report_finds_an_injected_outlier_channel(model):
    p, _, ids = model
    import copy

    q = copy.deepcopy(p)
    name = "model.layers.1.mlp.gate_proj"
    q.linears[name].norm_weight[17] *= 25.0
    rep = F.outlier_report(q, ids)
    st = rep["bitlinear"][name]
    assert st["top_channels"][0] == 17 and st["max_over_median"] > 10
    assert st["outlier_channels"] >= 1 and st["kurtosis"] > 20
    others = [s["max_over_median"] for k, s in rep["bitlinear"].items() if k != name]
    assert max(others) < 6
    assert len(rep["residual"]) == CFG.num_layers + 1
    summ = F.summarise_outliers(rep)
    assert summ["gate_proj"]["max_over_median_max"] == st["max_over_median"]


def test_outlier_report_command(tmp_path, capsys):
    import json

    text = tmp_path / "t.txt"
    text.write_text("ROMEO:\nBut soft, what light through yonder window breaks?\n" * 4)
    assert F.main([str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert F.main(["--text", str(text), "--tokens", "128"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"i_proj", "f_proj", "g_proj", "o_proj", "gate_proj", "down_proj",
                        "lm_head", "residual"}
    assert out["down_proj"]["kurtosis_max"] > 3
    (tmp_path / "e.txt").write_text("")
    assert F.main(["--text", str(tmp_path / "e.txt")]) == 2
    assert "empty" in capsys.readouterr().err
