"""Fixed-point core: properties against float references (hypothesis) and stated LUT errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lava_llm import fixed_point as fp

ints = st.integers(min_value=-(1 << 40), max_value=1 << 40)
shifts = st.integers(min_value=0, max_value=20)


@given(ints, shifts)
def test_rshift_nearest_is_round_half_away_from_zero(x, n):
    exact = x / 2 ** n
    ref = int(np.sign(exact) * np.floor(abs(exact) + 0.5))
    assert int(fp.rshift(x, n)) == ref
    assert int(fp.rshift(-x, n)) == -ref  # sign-preserving


@given(ints, shifts)
def test_rshift_floor_is_arithmetic_shift(x, n):
    assert int(fp.rshift(x, n, rounding="floor")) == x >> n


@given(ints, st.integers(min_value=2, max_value=32))
def test_saturate_and_wrap(x, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    assert int(fp.saturate(x, bits)) == min(max(x, lo), hi)
    w = int(fp.wrap(x, bits))
    assert lo <= w <= hi and (w - x) % (1 << bits) == 0


def test_check_bits_names_argument_and_range():
    fp.check_bits("state", [-(1 << 23), (1 << 23) - 1], 24)
    with pytest.raises(ValueError, match=r"state \(24-bit signed\) must lie in \[-8388608, 8388607\]"):
        fp.check_bits("state", [1 << 23], 24)


@given(st.integers(min_value=0, max_value=1 << 50))
def test_bit_length_matches_python(x):
    assert int(fp.bit_length(x)) == x.bit_length()


@given(st.floats(min_value=1e-6, max_value=6.5e4), ints.filter(lambda v: abs(v) < 1 << 30))
def test_mant_exp_scaling_matches_float(factor, x):
    m, s = fp.mant_exp(factor, 16)
    assert 0 < m < 1 << 16
    assert abs(m / 2 ** s - factor) <= factor * 2 ** -15 + 2 ** -41
    # integer scaling is within the mantissa error and half an LSB of the float product
    assert abs(int(fp.mul_shift(x, m, s)) - x * factor) <= abs(x) * factor * 2 ** -15 + 0.5 + 1e-9


@pytest.mark.parametrize("factor", [0.0, -1.0, float("nan"), 1e6])
def test_mant_exp_rejects_unrepresentable(factor):
    with pytest.raises(ValueError, match="factor"):
        fp.mant_exp(factor, 16)


def test_sigmoid_and_silu_stated_errors():
    x = np.arange(-40 << fp.ACT_FRAC, 40 << fp.ACT_FRAC)
    xr = x / 2 ** fp.ACT_FRAC
    sig = fp.sigmoid_fixed(x) / 2 ** fp.SIG_FRAC
    assert np.abs(sig - 1 / (1 + np.exp(-xr))).max() <= fp.SIGMOID_MAX_ERR
    inside = np.abs(xr) <= 16
    silu = fp.silu_fixed(x) / 2 ** fp.ACT_FRAC
    assert np.abs(silu - xr / (1 + np.exp(-xr)))[inside].max() <= fp.SILU_MAX_ERR


def test_exp_stated_error():
    x = np.arange(-20 << fp.ACT_FRAC, 1)
    y = fp.exp_neg_fixed(x, out_frac=16) / 2 ** 16
    ex = np.exp(x / 2 ** fp.ACT_FRAC)
    assert np.all(np.abs(y - ex) <= fp.EXP_MAX_REL_ERR * ex + 0.5 * 2 ** -16)


@pytest.mark.parametrize("in_frac,out_frac", [(0, 16), (8, 24), (16, 16), (24, 24)])
def test_rsqrt_stated_error(in_frac, out_frac):
    v = np.unique(np.round(np.logspace(0, 17, 20000)).astype(np.int64))
    y = fp.rsqrt_fixed(v, in_frac, out_frac)
    ex = 1 / np.sqrt(v / 2 ** in_frac) * 2 ** out_frac
    assert np.all(np.abs(y - ex) <= fp.RSQRT_MAX_REL_ERR * ex + 0.5)


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=64))
@settings(max_examples=50)
def test_ternary_absmean_numpy_equals_torch(values):
    w = np.array(values)
    t_np, a_np = fp.ternary_absmean(w)
    t_t, a_t = fp.ternary_absmean(torch.tensor(w))
    assert set(np.unique(t_np)) <= {-1, 0, 1}
    np.testing.assert_array_equal(t_np, t_t.numpy())
    assert float(a_np) == pytest.approx(float(a_t), rel=1e-12)
    assert float(a_np) == pytest.approx(max(np.abs(w).mean(), 1e-5))


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=32))
@settings(max_examples=50)
def test_int8_absmax_per_token_bounds_error(values):
    x = np.array([values])
    q, s = fp.int8_absmax_per_token(x)
    assert q.min() >= -128 and q.max() <= 127 and np.all(q == np.round(q))
    # dequantised error at most half a step (the max element maps exactly to +-127)
    assert np.all(np.abs(q / s - x) <= 0.5 / s + 1e-12)
    qt, st_ = fp.int8_absmax_per_token(torch.tensor(x))
    np.testing.assert_array_equal(q, qt.numpy())


@given(st.floats(1e-3, 1e3), st.integers(4, 16))
def test_pow2_exponent_fits(amax, bits):
    e = fp.pow2_exponent(amax, bits)
    qmax = (1 << (bits - 1)) - 1
    assert amax * 2.0 ** e <= qmax < amax * 2.0 ** (e + 1)
    q = fp.quantize_pow2(np.array([amax, -amax]), e, bits)
    assert q.max() <= qmax and q.min() >= -qmax


@given(st.lists(st.sampled_from([-1, 0, 1]), min_size=1, max_size=100))
def test_pack_unpack_trits_round_trip(values):
    t = np.array(values, dtype=np.int8)
    packed = fp.pack_trits(t)
    assert packed.size == (t.size + 3) // 4  # 2 bits per trit
    np.testing.assert_array_equal(fp.unpack_trits(packed, t.shape), t)


def test_unpack_rejects_wrong_size_and_code():
    with pytest.raises(ValueError, match="needs 1"):
        fp.unpack_trits(np.zeros(2, np.uint8), (3,))
    with pytest.raises(ValueError, match="0b11"):
        fp.unpack_trits(np.array([3], np.uint8), (1,))


def test_xorshift32_ints_and_arrays_agree():
    assert fp.xorshift32(1) == 270369                   # Marsaglia (13, 17, 5) from state 1
    r = fp.prng_states(3, (6,)).astype(np.int64)
    assert np.all(r > 0) and r.max() < 1 << 32
    assert fp.xorshift32(r).tolist() == [fp.xorshift32(int(v)) for v in r]
