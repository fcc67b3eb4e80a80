"""No error inside a Lava step: each Process, built with the extreme parameters its
constructor accepts and fed the extreme inputs its ports carry, runs its steps without
raising. (In Lava 0.10 a ProcessModel that raises stalls the runtime; here a short session
watchdog turns a stall into a failure.) Constructor checks are what make this hold: a value
the models cannot meet must be rejected up front (e.g. the fixed sampler's temperature)."""
from __future__ import annotations

import numpy as np
import pytest

from lava_llm import fixed_point as fp
from lava_llm.run import lava_session, run_config, wire_open_loop

pytestmark = pytest.mark.slow
WATCH_S = 60  # healthy runs here take well under a second per step
MAX24 = (1 << 23) - 1


def _run(procs, data, backend):
    procs = procs if isinstance(procs, list) else [procs]
    _, sink = wire_open_loop(procs, data)
    with lava_session(procs[0], run_config(backend), timeout_s=WATCH_S) as session:
        session.run(data.shape[1])
        return np.asarray(sink.data.get())


def _extremes24(n, T=4):
    cols = [np.full(n, MAX24), np.full(n, -MAX24 - 1), np.zeros(n), np.tile([MAX24, -MAX24 - 1],
                                                                          n)[:n]]
    return np.stack(cols[:T], axis=1)


def _accepted(build, candidates):
    """The candidates the constructor accepts (at least one must be)."""
    out = []
    for c in candidates:
        try:
            out.append((c, build(c)))
        except ValueError:
            pass
    assert out, "no candidate accepted: the sweep would test nothing"
    return out


def test_ternary_dense_extremes():
    from lava_llm.processes.ternary_dense import TernaryDense
    from lava_llm.processes.ternary_dense import kernels as td

    w = np.ones((4, 64), np.int8)
    w[1] = -1
    x = np.stack([np.full(64, 127), np.full(64, -128), np.zeros(64)], axis=1)
    cands = [(s, i, o) for s in (1e-6, 1.0, 2.0 ** 15) for i in (0, 7) for o in (0, 16)]
    for (scale, in_frac, out_frac), layer in _accepted(
            lambda c: TernaryDense(weights=w, scale=c[0], in_frac=c[1], out_frac=c[2]), cands):
        got = _run(layer, x, "sim-fixed")
        m, s = td.fixed_rescale(scale, in_frac, out_frac)
        np.testing.assert_array_equal(got.T, td.int_step(x.T, w, m, s))


def test_rms_norm_glu_residual_extremes():
    from lava_llm.processes.lm_blocks import GLU, ResidualAdd, RMSNorm

    n = 8
    for gain in (1e-3, 1e3):
        chain = [RMSNorm(weight=np.full(2 * n, gain), in_frac=16, out_frac=12), GLU(n=n)]
        out = _run(chain, _extremes24(2 * n), "sim-fixed")
        assert np.all(np.abs(out) <= MAX24 + 1)
    add = ResidualAdd(n=n)
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    data = _extremes24(n)
    a, b, sink = Source(data=data), Source(data=data), Sink(shape=(n,), buffer=4)
    a.s_out.connect(add.s_in)
    b.s_out.connect(add.a_in)
    add.s_out.connect(sink.a_in)
    with lava_session(add, run_config("sim-fixed"), timeout_s=WATCH_S) as session:
        session.run(4)
        out = sink.data.get()
    np.testing.assert_array_equal(out, fp.saturate(2 * data, fp.MSG_BITS))


def test_mlgru_extremes():
    from lava_llm.processes.gated_recurrence import MLGRU

    n = 6
    for lb in (np.zeros(n), np.full(n, 1 - 2.0 ** -12)):
        out = _run(MLGRU(n=n, lower_bound=lb), _extremes24(2 * n), "sim-fixed")
        assert np.all(np.abs(out) <= MAX24 + 1)


def test_qubo_annealer_extremes():
    from lava.proc.io.sink import RingBuffer as Sink

    from lava_llm.processes.qubo_annealing import QuboAnnealer
    from lava_llm.processes.qubo_annealing import kernels as qk

    rng = np.random.default_rng(0)
    q = np.triu(rng.choice([-1e6, 1e6, 1.0, -1.0], (10, 10)))
    lo, hi = qk.temperature_limits(qk.quantize_qubo(*qk.split_qubo(q, "q"))[2])
    temps = np.array([lo, hi, lo, np.sqrt(lo * hi)])
    for p_wake, backend in ((1e-6, "sim-fixed"), (1.0, "sim-fixed"), (1.0, "sim-float")):
        proc = QuboAnnealer(q=q, temperatures=temps, replicas=3, seed=2 ** 63 - 1,
                            p_wake=p_wake, ref_bits=qk.REF_BITS_MAX)
        sink = Sink(shape=(3, 2), buffer=len(temps))   # a_out: two 24-bit cost words
        proc.a_out.connect(sink.a_in)
        with lava_session(proc, run_config(backend), timeout_s=WATCH_S) as session:
            session.run(len(temps))
            assert np.all(np.isin(proc.x.get(), (0, 1)))


def test_ssm_diagonal_extremes():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "processes" / "ssm_diagonal"))
    from ssm_fixtures import random_params

    from lava_llm.processes.ssm_diagonal import SSMDiagonal
    from lava_llm.processes.ssm_diagonal import kernels as sk

    params, feats = random_params(2, 4, 6, 5, 0.5, seed=3, calib_T=12)
    big = np.concatenate([feats[:2] * 1e6, -feats[:2] * 1e6, np.zeros_like(feats[:1])])
    fq = sk.quantize_input(big, int(params["e_in"])).astype(np.int32)
    got = _run(SSMDiagonal(params=params), fq.T.copy(), "sim-fixed")
    want, _ = sk.int_run(sk.Net(params, "q"), fq)
    np.testing.assert_array_equal(got.T.astype(np.int64), want)


@pytest.fixture(scope="module")
def tiny_lm():
    from lava_llm.models.lm.config import LMConfig
    from lava_llm.models.lm.generate import LanguageModel
    from lava_llm.models.lm.params import random_params

    cfg = LMConfig(vocab_size=11, hidden_size=16, num_layers=1, intermediate_size=32)
    params = random_params(cfg, seed=4)
    return LanguageModel(params, calib_ids=np.arange(11) % 11)


def test_lm_sampler_at_its_temperature_bounds(tiny_lm):
    """The LM head's fixed sampler at both ends of its representable temperature range and
    at the top-k extremes: sim-fixed runs (fused, and the fine form's Readout neuron once)
    and equals the integer engine token for token."""
    from lava_llm.processes.lm_blocks import kernels as lk

    lo, hi = lk.fixed_temperature_range()
    for temperature, top_k, gran in ((lo, 0, "fused"), (hi, 11, "fused"), (hi, 1, "fused"),
                                     (lo, 1, "fine")):
        kw = dict(seed=7, temperature=temperature, top_k=top_k)
        lava = tiny_lm.generate([1, 2, 3], 4, backend="sim-fixed", granularity=gran, **kw)
        eng = tiny_lm.generate([1, 2, 3], 4, backend="engine", **kw)
        np.testing.assert_array_equal(lava["token_ids"], eng["token_ids"])


@pytest.mark.parametrize("temperature", [1e-9, 1e-7, 1e12])
def test_temperature_outside_the_fixed_range_is_rejected_up_front(tiny_lm, temperature):
    from lava_llm import validation as V

    for backend in ("engine", "sim-fixed"):
        with pytest.raises(V.ArgumentError, match=r"temperature=.* outside the range of the "
                                                  r"fixed-point sampler") as exc:
            tiny_lm.generate([1, 2], 2, backend=backend, temperature=temperature)
        assert exc.value.argument == "temperature"
    tiny_lm.generate([1, 2], 2, backend="torch", temperature=temperature)  # float: fine


def test_lm_head_process_checks_the_fixed_range(tiny_lm):
    from lava_llm.processes.lm_blocks import LMHead

    with pytest.raises(ValueError, match="fixed-point sampler"):
        LMHead(head_float=tiny_lm.float_model["head"], head_int=tiny_lm.int_model["head"],
               n_prompt=1, n_steps=2, temperature=1e-9)
    LMHead(head_float=tiny_lm.float_model["head"], n_prompt=1, n_steps=2, temperature=1e-9)


def test_readout_neuron_checks_the_fixed_range():
    """The fine form's Readout has a float and a fixed model, either chosen at compile time,
    so it always checks the fixed sampler's range."""
    from lava_llm.processes.lm_blocks.process import Readout

    with pytest.raises(ValueError, match="fixed-point sampler"):
        Readout(vocab=5, n_prompt=1, n_steps=2, temperature=1e-9)
    Readout(vocab=5, n_prompt=1, n_steps=2, temperature=0.5)


def test_fine_ternary_dense_extremes():
    """TernaryDense's fine form (TernarySynapse -> Rescale) at int8 input extremes, with every
    weight +1 (the largest dendritic sums the constructor accepts)."""
    from lava_llm.processes.ternary_dense import TernaryDense
    from lava_llm.processes.ternary_dense import kernels as td

    w = np.ones((3, 64), np.int8)
    w[1] = -1
    x = np.stack([np.full(64, 127), np.full(64, -128), np.zeros(64)], axis=1)
    layer = TernaryDense(weights=w, scale=0.01, in_frac=7, out_frac=16)
    _, sink = wire_open_loop([layer], x)
    cfg = run_config("sim-fixed", granularity="fine")
    with lava_session(layer, cfg, timeout_s=WATCH_S) as session:
        session.run(x.shape[1])
        got = np.asarray(sink.data.get())
    m, s = td.fixed_rescale(0.01, 7, 16)
    np.testing.assert_array_equal(got.T, td.int_step(x.T, w, m, s))
