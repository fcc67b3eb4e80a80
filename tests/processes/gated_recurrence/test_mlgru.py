"""MLGRU: kernels vs a naive readable reference, float vs fixed, and the Process on Lava
(sim-fixed == kernels exactly, sim-float == float kernels)."""
import math

import numpy as np
import pytest
from conftest import run_open_loop

from lava_llm import fixed_point as fp
from lava_llm.processes.gated_recurrence import MLGRU, MLGRUBlock
from lava_llm.processes.gated_recurrence import kernels as gk

P = gk.P
ONE = 1 << P


def rs(x, n):
    """Readable round-half-away-from-zero right shift of a Python int."""
    if n == 0:
        return x
    m = (abs(x) + (1 << (n - 1))) >> n
    return -m if x < 0 else m


def naive_sigmoid(x):
    """Python-int linear interpolation between the knots (bucket centres) of the shared
    sigmoid LUT of fixed_point, clamped to the end entries."""
    lut = fp.sigmoid_lut(P, P)
    step = 1 << lut.step_shift
    d = int(x) - lut.x_min - step // 2
    i, frac = d // step, d % step
    last = lut.table.size - 1
    t0 = int(lut.table[min(max(i, 0), last)])
    t1 = int(lut.table[min(max(i + 1, 0), last)])
    return t0 + rs((t1 - t0) * frac, lut.step_shift)


def test_sigmoid_and_silu_interpolate_the_lut():
    x = np.concatenate([np.arange(-9 * ONE, 9 * ONE, 997), [-(1 << 23), (1 << 23) - 1]])
    got = gk.lk.sigmoid_int(x, P, P)
    assert [int(v) for v in got[::40]] == [naive_sigmoid(v) for v in x[::40]]
    exact = 1 / (1 + np.exp(-x / ONE))
    inside = np.abs(x) < 8 * ONE - ONE // 64
    assert np.abs(got / ONE - exact)[inside].max() < 2e-5     # LUT step alone: 2e-3
    assert np.abs(got / ONE - exact).max() < 3.5e-4            # the clamp beyond +-8
    s = gk.lk.silu_int(x, P, P)
    np.testing.assert_array_equal(s, np.sign(x * got) * ((np.abs(x * got) + ONE // 2) >> P))


def naive_step(i_pre, f_pre, h, lb_q):
    """Per-channel Python-int MLGRU step (the interpolated sigmoid LUT of fixed_point)."""
    out = []
    for k in range(len(h)):
        f = naive_sigmoid(f_pre[k])
        f = int(lb_q[k]) + rs((ONE - int(lb_q[k])) * f, P)
        s = rs(int(i_pre[k]) * naive_sigmoid(i_pre[k]), P)
        c = rs(s * (ONE - f), P)
        v = rs(f * int(h[k]), P) + c
        out.append(min(max(v, -(1 << 23)), (1 << 23) - 1))
    return np.array(out)


@pytest.mark.parametrize("batch,T,n", [(1, 1, 1), (2, 5, 7), (3, 9, 16)])
def test_int_scan_matches_naive_reference(batch, T, n):
    rng = np.random.default_rng(batch * 100 + T * 10 + n)
    i_pre = rng.integers(-6 << P, 6 << P, (batch, T, n))
    f_pre = rng.integers(-6 << P, 6 << P, (batch, T, n))
    lb = rng.uniform(0, 0.9, n)
    lb_q = np.round(lb * ONE).astype(np.int64)
    h0 = rng.integers(-(1 << 16), 1 << 16, (batch, n))
    hs = gk.mlgru_int(i_pre, f_pre, h0, lb_q)
    for b in range(batch):
        h = h0[b]
        for t in range(T):
            h = naive_step(i_pre[b, t], f_pre[b, t], h, lb_q)
            np.testing.assert_array_equal(hs[b, t], h)


def test_int_state_stays_in_24_bits_for_extreme_inputs():
    # h_t is a convex combination of h_{t-1} and SiLU(i); with rounding it may touch the
    # limits, never cross them.
    rng = np.random.default_rng(9)
    big = (1 << 23) - 1
    i_pre = rng.choice([-big - 1, big, 0], (200, 8))
    f_pre = rng.choice([-big - 1, big, 0], (200, 8))
    hs = gk.mlgru_int(i_pre, f_pre, np.full(8, big), np.full(8, 4000))
    assert hs.max() <= big and hs.min() >= -big - 1
    assert hs.max() > big // 2  # the extreme inputs do drive the state near the limit


def test_fixed_tracks_float():
    rng = np.random.default_rng(0)
    T, n = 50, 32
    i_r, f_r = rng.normal(0, 2, (T, n)), rng.normal(1, 2, (T, n))
    lb = rng.uniform(0, 0.8, n)
    hf = gk.mlgru_float(i_r, f_r, np.zeros(n), lb)
    q = lambda v: np.round(v * ONE).astype(np.int64)  # noqa: E731
    hq = gk.mlgru_int(q(i_r), q(f_r), np.zeros(n, np.int64), q(lb)) / ONE
    assert np.max(np.abs(hq - hf)) < 1e-3 * max(1.0, np.abs(hf).max())
    # the float kernel against the formula written out
    f = lb + (1 - lb) / (1 + np.exp(-f_r[0]))
    c = i_r[0] / (1 + np.exp(-i_r[0])) * (1 - f)
    np.testing.assert_allclose(hf[0], c, rtol=1e-12)
    assert math.isfinite(hf.sum())


def run_neuron(proc, data, backend):
    out, values = run_open_loop(proc, data, backend, read=("h",))
    return out, values["h"]


def test_process_fixed_equals_kernels_and_float_equals_float_kernels():
    rng = np.random.default_rng(5)
    n, T = 6, 5
    lb = rng.uniform(0, 0.9, n)
    data_q = rng.integers(-4 << P, 4 << P, (2 * n, T))
    out, h = run_neuron(MLGRU(n=n, lower_bound=lb), data_q, "sim-fixed")
    lb_q = np.round(lb * ONE).astype(np.int64)
    ref = gk.mlgru_int(data_q[:n].T, data_q[n:].T, np.zeros(n, np.int64), lb_q)
    np.testing.assert_array_equal(out.T, ref)
    np.testing.assert_array_equal(h, ref[-1])
    data_f = data_q / float(ONE)
    out_f, _ = run_neuron(MLGRU(n=n, lower_bound=lb), data_f, "sim-float")
    ref_f = gk.mlgru_float(data_f[:n].T, data_f[n:].T, np.zeros(n), lb)
    np.testing.assert_allclose(out_f.T, ref_f, rtol=1e-12, atol=1e-12)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="lower_bound"):
        MLGRU(n=3, lower_bound=[0.1, 0.2, 1.5])
    with pytest.raises(ValueError, match="lower_bound"):
        MLGRU(n=3, lower_bound=[0.1, 0.2])
    with pytest.raises(ValueError, match="n must be"):
        MLGRU(n=0)
    with pytest.raises(TypeError, match="layer_float"):
        MLGRUBlock(layer_float=None)
    with pytest.raises(ValueError, match="layer_float lacks"):
        MLGRUBlock(layer_float={"i": 1})
