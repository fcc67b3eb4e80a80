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
