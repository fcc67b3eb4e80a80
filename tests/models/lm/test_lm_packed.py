"""The engines on packed trits: identical integer logits/state to the readable reference
accumulation (int8 trits, ``ternary_matvec_naive``), float path equal to the float64 formula
``(q / s) @ (alpha * W)^T`` it replaced, over a model whose widths are not multiples of the
kernel's block (so padding is exercised) and one that crosses the 16-bit flush boundary."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from lava_llm import fixed_point as fp
from lava_llm.models.lm import engine, export
from lava_llm.models.lm.config import LMConfig
from lava_llm.models.lm.generate import LanguageModel
from lava_llm.models.lm.params import random_params
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.processes.ternary_dense import kernels as td


def _unpacked(qmodel: dict) -> dict:
    """The integer model with every packed matrix replaced by its int8 trits."""
    q = copy.copy(qmodel)
    q["layers"] = [{k: (dict(v, trits=v["trits"].to_trits())
                        if isinstance(v, dict) and "trits" in v else v)
                    for k, v in layer.items()} for layer in qmodel["layers"]]
    q["head"] = dict(qmodel["head"], lm_head=dict(qmodel["head"]["lm_head"],
                                                  trits=qmodel["head"]["lm_head"]["trits"]
                                                  .to_trits()))
    return q


@pytest.mark.parametrize("cfg", [LMConfig(vocab_size=37, hidden_size=24, num_layers=2,
                                          intermediate_size=40),
                                 LMConfig(vocab_size=11, hidden_size=8, num_layers=1,
                                          intermediate_size=4200)],
                         ids=["odd-widths", "flush-boundary"])
def test_int_engine_identical_to_reference_accumulation(cfg):
    lm = LanguageModel(random_params(cfg, seed=5))
    qm = lm.int_model
    assert isinstance(qm["layers"][0]["gate"]["trits"], td.PackedTernary)
    ref = _unpacked(qm)
    assert isinstance(ref["layers"][0]["gate"]["trits"], np.ndarray)
    ids = np.random.default_rng(1).integers(0, cfg.vocab_size, (3, 9))
    z, s = engine.int_forward(qm, ids)
    zr, sr = engine.int_forward(ref, ids)
    np.testing.assert_array_equal(z, zr)
    for a, b in zip(s, sr):
        np.testing.assert_array_equal(a, b)
    # token by token with carried state == the whole sequence at once (batched kernel)
    state, steps = None, []
    for t in range(ids.shape[1]):
        zt, state = engine.int_forward(qm, ids[:, t:t + 1], state)
        steps.append(zt)
    np.testing.assert_array_equal(np.concatenate(steps, axis=1), z)


def test_float_bitlinear_matches_the_float64_weight_formula():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(70, 300))
    t, a = fp.ternary_absmean(w)
    lin = random_params(LMConfig(vocab_size=5, hidden_size=4, num_layers=1)).linears["lm_head"]
    lin = type(lin)(t.astype(np.int8), float(a), 1 + 0.1 * rng.normal(size=300))
    x = rng.normal(size=(4, 6, 300)) * 3
    q, s = fp.int8_absmax_per_token(lk.rms_norm(x, lin.norm_weight))
    old = (q / s) @ (float(lin.scale) * t.astype(np.float64).T)
    np.testing.assert_allclose(lk.bitlinear(x, lin), old, rtol=1e-12, atol=1e-12)


def test_float_forward_unchanged_by_packing():
    cfg = LMConfig(vocab_size=19, hidden_size=20, num_layers=2, intermediate_size=36)
    p = random_params(cfg, seed=9)
    fm = export.float_model(p)
    ids = np.random.default_rng(4).integers(0, cfg.vocab_size, (2, 7))
    z, _ = engine.float_forward(fm, ids)

    class Plain:  # an int8-trits linear: the reference (naive) accumulation
        def __init__(self, lin):
            self.trits, self.scale, self.norm_weight = (lin.trits.to_trits(), lin.scale,
                                                        lin.norm_weight)

    ref = dict(fm, layers=[{k: Plain(v) if hasattr(v, "scale") else v for k, v in
                            layer.items()} for layer in fm["layers"]],
               head=dict(fm["head"], lm_head=Plain(fm["head"]["lm_head"])))
    zr, _ = engine.float_forward(ref, ids)
    np.testing.assert_array_equal(z, zr)
