"""The compiled one-token step (:mod:`lava_llm.models.lm.decode_fast`) equals the readable
integer path of ``engine.int_forward`` (==) over shapes, depths, batch rows, threads and
saturating inputs; other integer designs take the readable path."""
from __future__ import annotations

import numpy as np
import pytest

from lava_llm.models.lm import decode_fast, engine, export
from lava_llm.models.lm.config import LMConfig
from lava_llm.models.lm.generate import LanguageModel
from lava_llm.models.lm.params import random_params


def _readable(qm, ids, state):
    saved = qm.pop("_decode", None)
    qm["_decode"] = None                     # forces the readable path
    try:
        return engine.int_forward(qm, ids, state)
    finally:
        qm["_decode"] = saved


@pytest.mark.parametrize("cfg", [
    LMConfig(vocab_size=11, hidden_size=8, num_layers=1, intermediate_size=8),
    LMConfig(vocab_size=13, hidden_size=16, num_layers=3, intermediate_size=24),
    LMConfig(vocab_size=17, hidden_size=300, num_layers=2, intermediate_size=520),
], ids=["1-layer", "3-layer", "wide"])
@pytest.mark.parametrize("parallel", [False, True])
def test_compiled_decode_equals_readable_path(cfg, parallel, monkeypatch):
    lm = LanguageModel(random_params(cfg, seed=cfg.num_layers))
    qm = export.export_int(lm.params, lm.calibration, {"act": "dynamic"})
    assert decode_fast.prepare(qm) is not None
    pol = decode_fast.td.ThreadPolicy()
    monkeypatch.setattr(pol, "choose", lambda: parallel)
    monkeypatch.setattr(decode_fast._POLICY, "get", lambda key: pol)
    monkeypatch.setattr(decode_fast.td, "_use_threads", lambda k, n: True)
    rng = np.random.default_rng(cfg.hidden_size)
    B, H = 2, cfg.hidden_size
    state = fast_state = None
    ids = rng.integers(0, cfg.vocab_size, (B, 6))
    for t in range(ids.shape[1]):              # a short decode, states carried
        want, state = _readable(qm, ids[:, t:t + 1], state)
        got, fast_state = engine.int_forward(qm, ids[:, t:t + 1], fast_state)
        np.testing.assert_array_equal(got, want)
        for a, b in zip(fast_state, state):
            np.testing.assert_array_equal(a, b)
    # saturated 24-bit states and a state list the call must not modify
    big = [np.full((B, H), (1 << 23) - 1, np.int64) * rng.choice([-1, 1], (B, H))
           for _ in range(cfg.num_layers)]
    before = [s.copy() for s in big]
    want, ws = _readable(qm, ids[:, :1], big)
    got, gs = engine.int_forward(qm, ids[:, :1], big)
    np.testing.assert_array_equal(got, want)
    for a, b, c in zip(gs, ws, before):
        np.testing.assert_array_equal(a, b)
    for s, c in zip(big, before):
        np.testing.assert_array_equal(s, c)


def test_prefill_and_other_designs_take_the_readable_path():
    cfg = LMConfig(vocab_size=11, hidden_size=8, num_layers=2, intermediate_size=8)
    lm = LanguageModel(random_params(cfg, seed=1))
    static = export.export_int(lm.params, lm.calibration, {"act": "static"})
    assert decode_fast.prepare(static) is None
    dyn = export.export_int(lm.params, lm.calibration, {"act": "dynamic"})
    ids = np.array([[1, 2, 3]])
    z_all, _ = engine.int_forward(dyn, ids)     # prefill: the vectorised path
    z_step, st = None, None
    for t in range(3):
        z_step, st = engine.int_forward(dyn, ids[:, t:t + 1], st)
    np.testing.assert_array_equal(z_all[:, -1], z_step[:, -1])
