"""SSMDiagonal in Lava: sim-fixed bit-exact with the integer kernels, sim-float with the float
kernels; bad parameters rejected in the constructor (before anything runs)."""
import numpy as np
import pytest
from conftest import run_open_loop

from lava_llm.processes.ssm_diagonal import SSMDiagonal, kernels
from ssm_fixtures import random_params


def run_lava(params, frames, backend):
    out, v = run_open_loop(SSMDiagonal(params=params), frames.T.copy(), backend,
                           read=("s_re", "s_im"))
    return np.array(out).T, (np.array(v["s_re"]), np.array(v["s_im"]))


def test_sim_fixed_is_bit_exact_with_kernels():
    params, feats = random_params(2, 4, 6, 5, 0.5, seed=11, calib_T=12)
    fq = kernels.quantize_input(feats, int(params["e_in"])).astype(np.int32)
    got, (s_re, s_im) = run_lava(params, fq, "sim-fixed")
    want, st = kernels.int_run(kernels.Net(params, "q"), fq)
    assert np.array_equal(got.astype(np.int64), want)
    assert np.array_equal(s_re.astype(np.int64), st["s_re"])
    assert np.array_equal(s_im.astype(np.int64), st["s_im"])


def test_sim_float_matches_kernels():
    params, feats = random_params(2, 4, 6, 5, 0.5, seed=12, calib_T=12)
    got, _ = run_lava(params, feats, "sim-float")
    want, _ = kernels.float_run(kernels.Net(params, "f"), feats)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_bad_params_raise_clearly():
    params, _ = random_params(1, 2, 3, 2, 1.0, seed=1)
    bad = dict(params)
    bad["q_b_re"] = bad["q_b_re"] + 1000  # beyond 8 bits
    with pytest.raises(ValueError, match="q_b_re.*8-bit"):
        SSMDiagonal(params=bad)
    bad = dict(params)
    bad["q_lam_re"] = np.full_like(bad["q_lam_re"], 32767)
    bad["q_lam_im"] = np.full_like(bad["q_lam_im"], 32767)
    with pytest.raises(ValueError, match="Lambda_bar"):
        SSMDiagonal(params=bad)
    bad = dict(params)
    del bad["f_w"]
    with pytest.raises(ValueError, match="f_w"):
        SSMDiagonal(params=bad)
    bad = dict(params)
    bad["b_indices"] = bad["b_indices"] + 100
    with pytest.raises(ValueError, match="b_indices"):
        SSMDiagonal(params=bad)
    with pytest.raises(TypeError, match="params must be a dict"):
        SSMDiagonal(params=[1, 2])


@pytest.mark.parametrize("granularity", ["fused", "fine"])
def test_fixed_models_read_the_sigmoid_table_vars(granularity):
    from lava_llm.processes.ssm_diagonal import fine_kernels as fk
    from lava_llm.run import lava_session, run_config, wire_open_loop

    params, feats = random_params(2, 4, 6, 5, 0.5, seed=11, calib_T=12)
    fq = kernels.quantize_input(feats * 4, int(params["e_in"])).astype(np.int32)
    sig = fk.sigmoid_vars()
    coarse = (sig["sig_table"] >> 9) << 9           # a 4-bit sigmoid
    proc = SSMDiagonal(params=params, sig_table=coarse)
    _, sink = wire_open_loop(proc, fq.T.copy())
    with lava_session(proc, run_config("sim-fixed", granularity=granularity)) as s:
        s.run(fq.shape[0])
        got = np.array(sink.data.get()).T.astype(np.int64)
    net = kernels.Net(params, "q")
    want, _ = kernels.int_run(net, fq, sigmoid=lambda v: fk.lut_apply(
        coarse, sig["sig_x_min"], sig["sig_step"], v))
    assert np.array_equal(got, want)
    assert not np.array_equal(got, kernels.int_run(net, fq)[0])    # the table mattered


def test_sig_table_is_checked():
    params, _ = random_params(1, 2, 3, 2, 1.0, seed=1)
    with pytest.raises(ValueError, match="sig_table.*shape"):
        SSMDiagonal(params=params, sig_table=np.zeros(3))
    with pytest.raises(ValueError, match=r"sig_table.*\[0, 4096\]"):
        SSMDiagonal(params=params, sig_table=np.full(1024, 5000))
