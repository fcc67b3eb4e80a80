"""Scalar-shift fast paths of fixed_point.rshift / saturate equal the general (array) path."""
import numpy as np
import pytest

from lava_llm import fixed_point as fp


@pytest.mark.parametrize("rounding", ["nearest", "floor"])
def test_rshift_scalar_fast_path_equals_array_path(rounding):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(-(1 << 62), 1 << 62, 500), rng.integers(-300, 300, 500),
                        [0, 1, -1, 2, -2, 3, -3, (1 << 62), -(1 << 62)]])
    for n in list(range(0, 63)):
        want = fp.rshift(x, np.full(x.shape, n), rounding)   # the general path
        for arg in (n, np.int64(n), np.int32(n)):
            got = fp.rshift(x, arg, rounding)
            np.testing.assert_array_equal(got, want)
            assert got.dtype == np.int64
    assert fp.rshift(np.int64(-5), 1).shape == ()
    assert int(fp.rshift(-5, 1)) == -3 and int(fp.rshift(5, 1)) == 3   # half away from zero
    with pytest.raises(ValueError, match="shift n must be >= 0"):
        fp.rshift(x, -1)
    with pytest.raises(ValueError, match="rounding"):
        fp.rshift(x, 3, "up")


def test_saturate_equals_clip_and_rejects_bad_width():
    x = np.random.default_rng(1).integers(-(1 << 40), 1 << 40, 1000)
    for bits in (2, 8, 24, 32):
        lo, hi = fp.int_range(bits)
        np.testing.assert_array_equal(fp.saturate(x, bits), np.clip(x, lo, hi))
    np.testing.assert_array_equal(fp.saturate(x, 8, signed=False), np.clip(x, 0, 255))
    with pytest.raises(ValueError, match="bits"):
        fp.saturate(x, 0)


def test_compiled_rshift_for_large_arrays_equals_numpy_expression():
    rng = np.random.default_rng(2)
    x = rng.integers(-(1 << 62), 1 << 62, (3, fp._COMPILED_MIN_SIZE + 7))
    x[0, :5] = [0, -1, 1, -(1 << 62), (1 << 62)]
    for n in (1, 2, 7, 20, 40, 62):
        mag = (np.abs(x) + (1 << (n - 1))) >> n
        np.testing.assert_array_equal(fp.rshift(x, n), np.where(x < 0, -mag, mag))
        np.testing.assert_array_equal(fp.rshift(x[:, ::2], n),    # non-contiguous input
                                      np.where(x < 0, -mag, mag)[:, ::2])


@pytest.mark.parametrize("in_frac,out_frac", [(0, 16), (24, 16), (8, 20), (40, 12), (2, 0)])
def test_compiled_rsqrt_equals_array_form(in_frac, out_frac):
    rng = np.random.default_rng(in_frac + out_frac)
    v = np.concatenate([rng.integers(-5, 1 << 20, 3000), rng.integers(1, 1 << 62, 3000),
                        [0, 1, 2, 3, 4, 255, 256, 257, (1 << 62) - 1, -(1 << 40)],
                        (1 << np.arange(62)), (1 << np.arange(62)) - 1])
    want = fp.rsqrt_fixed_numpy(v, in_frac, out_frac)
    np.testing.assert_array_equal(fp.rsqrt_fixed(v, in_frac, out_frac), want)
    np.testing.assert_array_equal(fp.rsqrt_fixed(v.reshape(2, -1)[:, :7], in_frac, out_frac),
                                  want.reshape(2, -1)[:, :7])
    with pytest.raises(ValueError, match="even in_frac"):
        fp.rsqrt_fixed(v, 3, 16)
