"""Hierarchical LM blocks: the fused and the fine-grained (sub-process) form both equal the
integer engine on sim-fixed; every parameter is a Var with its precision; ports carry at most
24-bit payloads."""
from __future__ import annotations

import numpy as np
import pytest
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType

from lava_llm.models.lm.config import LMConfig
from lava_llm.models.lm.generate import LanguageModel
from lava_llm.models.lm.network import build_network
from lava_llm.models.lm.params import random_params
from lava_llm.processes.gated_recurrence import models as gm
from lava_llm.processes.gated_recurrence.process import MLGRUBlock
from lava_llm.processes.lm_blocks import models as lm_models
from lava_llm.processes.lm_blocks.process import GLUBlock, LMHead
from lava_llm.processes.ternary_dense import models as td_models
from lava_llm.run import check_granularity, run_config

CFG = LMConfig(vocab_size=7, hidden_size=8, num_layers=1, intermediate_size=8)


@pytest.fixture(scope="module")
def lm():
    return LanguageModel(random_params(CFG, seed=5))


@pytest.mark.slow
@pytest.mark.parametrize("act", ["dynamic", "static"])
def test_fused_and_fine_equal_engine(act):
    # both integer designs: the shipped per-token dynamic int8 inputs (AbsmaxRMSNorm ->
    # TokenScaledDense in the fine form) and the static calibrated scales
    lm = LanguageModel(random_params(CFG, seed=5), quant={"act": act})
    assert lm.int_model["layers"][0]["i"]["act"] == act
    prompt = [1, 2, 3]
    eng = lm.generate(prompt, 3, backend="engine", temperature=0.9, seed=4)
    leaves = {}
    for g in ("fused", "fine"):
        out = lm.generate(prompt, 3, backend="sim-fixed", temperature=0.9, seed=4,
                          granularity=g)
        assert out["granularity"] == g
        leaves[g] = out["leaf_processes"]
        np.testing.assert_array_equal(out["token_ids"], eng["token_ids"])
        np.testing.assert_array_equal(out["logits_raw"], eng["logits_raw"])
    assert np.unique(eng["logits_raw"]).size > 5
    assert leaves["fused"] == 2 * CFG.num_layers + 2
    assert leaves["fine"] == 1 + LMHead.FINE_LEAVES + CFG.num_layers * (
        MLGRUBlock.FINE_LEAVES + GLUBlock.FINE_LEAVES) == 32


@pytest.mark.slow
def test_fine_float_matches_fused_float(lm):
    a = lm.generate([4, 1], 2, backend="sim-float", granularity="fused")
    b = lm.generate([4, 1], 2, backend="sim-float", granularity="fine")
    np.testing.assert_array_equal(a["token_ids"], b["token_ids"])
    np.testing.assert_allclose(a["logits"], b["logits"], rtol=0, atol=1e-10)


def test_too_many_fine_leaves_is_refused_up_front():
    from lava_llm.models.lm.network import MAX_FINE_LEAVES, fine_leaves

    cfg = LMConfig(vocab_size=5, hidden_size=4, num_layers=10, intermediate_size=4)
    big = LanguageModel(random_params(cfg, seed=0))
    assert fine_leaves(10) == 266 > MAX_FINE_LEAVES >= fine_leaves(2) == 58
    with pytest.raises(ValueError, match="266 leaf Processes"):
        big.generate([1], 1, backend="sim-fixed", granularity="fine")


def test_granularity_checked():
    with pytest.raises(ValueError, match="granularity"):
        check_granularity("medium")
    with pytest.raises(ValueError, match="granularity"):
        run_config("sim-fixed", granularity="coarse")
    assert run_config("sim-fixed", granularity="fine").select_sub_proc_model is True
    assert run_config("sim-fixed").select_sub_proc_model is False


FORBIDDEN = ("layer", "head", "table", "weight", "gain", "norm", "lut", "scale", "thresh",
             "mant", "shift", "eps", "temperature", "top_k")


def _assert_no_params_outside_vars(proc):
    keys = list(proc.proc_params._parameters)
    bad = [k for k in keys if any(f in k.lower() for f in FORBIDDEN)]
    assert not bad, f"{proc.name} passes {bad} in proc_params"


def test_every_parameter_is_a_var(lm):
    net = build_network(lm.float_model, lm.int_model, [1, 2], 2)
    assert net.leaf_count == net.leaves("fused") == 4 and net.leaves("fine") == 32
    procs = [net.embedding, *net.blocks, net.head]
    for p in procs:
        _assert_no_params_outside_vars(p)
    blk = net.blocks[0]
    assert blk.i_weights.shape == (CFG.hidden_size, CFG.hidden_size)
    np.testing.assert_array_equal(blk.i_weights.init, lm.int_model["layers"][0]["i"]["trits"])
    assert int(blk.o_mant.init[0]) == lm.int_model["layers"][0]["o"]["mant"]
    # the fine form's component Processes too
    for sub_cls, blk in ((gm.SubMLGRUBlockModel, net.blocks[0]),
                         (lm_models.SubGLUBlockModel, net.blocks[1]),
                         (lm_models.SubLMHeadModel, net.head)):
        sub = sub_cls(blk)
        subs = sub.find_sub_procs()
        assert len(subs) == type(blk).FINE_PROCESSES
        for p in subs.values():
            _assert_no_params_outside_vars(p)


def _model_classes():
    classes = [getattr(mod, n) for mod in (lm_models, gm, td_models) for n in dir(mod)
               if n.startswith("Py") and n.endswith("ModelFixed")]
    assert len(classes) >= 9
    return classes


#: Vars wider than 24 bits, each documented: the 32-bit xorshift32 PRNG state of the readout
#: (docs/loihi2_mapping.md: a two-word state on chip).
WIDE_VARS = {"prng"}


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda c: c.__name__)
def test_fixed_models_declare_loihi_widths(cls):
    for name in dir(cls):
        t = getattr(cls, name)
        if not isinstance(t, LavaPyType):
            continue
        if t.cls in (PyInPort.VEC_DENSE, PyOutPort.VEC_DENSE):
            assert t.precision is not None and t.precision <= 24, (cls.__name__, name)
        elif t.d_type is not float and name not in WIDE_VARS:
            assert t.precision is not None and t.precision <= 24, (cls.__name__, name)
        if name.endswith("weights"):
            assert t.precision == 8, (cls.__name__, name)


def test_ternary_dense_weight_exponent_folds_into_shift():
    from conftest import run_open_loop

    from lava_llm.processes.ternary_dense import TernaryDense, kernels

    rng = np.random.default_rng(2)
    w = rng.integers(-1, 2, (5, 6)).astype(np.int8)
    x = rng.integers(-128, 128, (6, 3))
    layer = TernaryDense(weights=w, mant=40000, shift=9, weight_exp=3)
    out, _ = run_open_loop(layer, x, "sim-fixed")
    ref = kernels.int_step(x.T, w, 40000, 6).T  # (acc << 3) * m >> 9 == acc * m >> 6
    np.testing.assert_array_equal(out, ref)
    acc = (x.T.astype(np.int64) @ w.T.astype(np.int64)) << 3
    np.testing.assert_array_equal(out.T, np.clip(np.sign(acc * 40000) * (
        (np.abs(acc * 40000) + 256) >> 9), -(1 << 23), (1 << 23) - 1))
    with pytest.raises(ValueError, match="weight_exp"):
        TernaryDense(weights=w, mant=1, shift=1, weight_exp=2)


def _run(procs, data, backend, granularity):
    from lava_llm.run import lava_session, wire_open_loop

    _, sink = wire_open_loop(procs, data)
    with lava_session(procs, run_config(backend, granularity=granularity)) as session:
        session.run(data.shape[1])
        return sink.data.get(), session.leaf_processes


@pytest.mark.parametrize("n_in,n_out,exp", [(5, 3, 0), (40, 17, 2)], ids=str)
def test_ternary_dense_fine_equals_fused_and_engine(n_in, n_out, exp):
    from lava_llm.processes.ternary_dense import TernaryDense, kernels

    rng = np.random.default_rng(n_in)
    w = rng.integers(-1, 2, (n_out, n_in)).astype(np.int8)
    x = rng.integers(-128, 128, (n_in, 6))
    outs = {}
    for g in ("fused", "fine"):
        layer = TernaryDense(weights=w, scale=0.3, in_frac=0, out_frac=10 + exp,
                             weight_exp=exp)
        outs[g], leaves = _run(layer, x, "sim-fixed", g)
        assert leaves == {"fused": 3, "fine": 4}[g]  # + RingBuffer source and sink
    m, s = int(layer.mant.init[0]), int(layer.shift.init[0])
    np.testing.assert_array_equal(outs["fine"], outs["fused"])
    np.testing.assert_array_equal(outs["fine"], kernels.int_step(x.T, w, m, s - exp).T)
    assert np.any(outs["fine"] != 0)


def test_ternary_dense_fine_float_and_refusals():
    from lava_llm.processes.ternary_dense import TernaryDense
    from lava_llm.processes.ternary_dense.fine_kernels import acc_fits
    from lava_llm.processes.ternary_dense.models import SubTernaryDenseModel

    rng = np.random.default_rng(9)
    w = rng.integers(-1, 2, (4, 6)).astype(np.int8)
    x = rng.normal(size=(6, 3))
    out, _ = _run(TernaryDense(weights=w, scale=0.7), x, "sim-float", "fine")
    np.testing.assert_allclose(out, 0.7 * (w @ x), rtol=1e-12)
    with pytest.raises(ValueError, match="BitLinear front end"):
        SubTernaryDenseModel(TernaryDense(weights=w, bitlinear=True))
    assert acc_fits(65535) and not acc_fits(65536) and not acc_fits(40000, 1)
    big = TernaryDense(weights=np.ones((1, 1 << 16), np.int8), mant=1, shift=0)
    with pytest.raises(ValueError, match="24-bit dendritic sum"):
        SubTernaryDenseModel(big)


def test_cli_granularity(capsys):
    import json

    from lava_llm import cli

    assert cli.main(["dense", "--backend", "sim-fixed", "--granularity", "fine", "--json",
                     "--inputs", "12", "--outputs", "5", "--steps", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["equals_engine"] is True and out["granularity"] == "fine"
    assert out["leaf_processes"] == 4
    parser = cli.build_parser()
    cli._add_module_arguments(parser, ["generate"])
    args = parser.parse_args(["generate", "--prompt", "a", "--granularity", "fine"])
    assert args.granularity == "fine"
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--prompt", "a", "--granularity", "medium"])


@pytest.mark.parametrize("granularity", ["fused", "fine"])
def test_dynamic_quantiser_reads_its_recip_lut_var(lm, granularity):
    # the reciprocal LUT is a Var of the blocks (and of the fine form's AbsmaxRMSNorm
    # neurons, copied from it): a different table there changes the integer logits
    from lava_llm import fixed_point as fp
    from lava_llm.run import lava_session

    ids, n_new = np.array([1, 2, 3]), 2
    want = lm.generate(ids, n_new, backend="engine")["logits_raw"]
    got = {}
    for tamper in (False, True):
        net = build_network(lm.float_model, lm.int_model, ids, n_new)
        assert np.array_equal(net.blocks[0].recip_lut.init, fp.recip_table())
        if tamper:
            for p in (*net.blocks, net.head):
                p.recip_lut.init = fp.recip_table() * 3 // 4
        with lava_session(net.embedding, run_config("sim-fixed", granularity=granularity)) as s:
            s.run(ids.size + n_new - 1)
            got[tamper] = net.head.logits_hist.get().astype(np.int64)
    np.testing.assert_array_equal(got[False], want)
    assert not np.array_equal(got[True], want)
