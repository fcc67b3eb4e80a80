"""The compiled one-pass LM step functions (:mod:`lava_llm._lm_numba`) equal their numpy
references in :mod:`lava_llm.processes.lm_blocks.kernels` (==, over shapes and extremes)."""
import numpy as np
import pytest

from lava_llm.processes.lm_blocks import kernels as lk


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 1024), (2, 3, 257)])
@pytest.mark.parametrize("x_frac,ws", [(4, 0), (12, 9), (16, 20)])
def test_int_rms_norm_compiled_equals_numpy(shape, x_frac, ws):
    rng = np.random.default_rng(sum(shape) + x_frac)
    n = shape[-1]
    for bits in (2, 12, 24):                       # tiny, typical, full 24-bit residuals
        x = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), shape)
        wm = rng.integers(-(1 << 15) + 1, 1 << 15, n)
        for w in (wm, int(wm[0])):                 # per-channel gains or one scalar gain
            want = lk.int_rms_norm_numpy(x, x_frac, w, ws, 7)
            got = lk.int_rms_norm(x, x_frac, w, ws, 7)
            assert got.dtype == np.int64 and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
    zero = np.zeros(shape, np.int64)               # ss = eps_q only (and eps_q = 0)
    np.testing.assert_array_equal(lk.int_rms_norm(zero, x_frac, wm, ws, 0),
                                  lk.int_rms_norm_numpy(zero, x_frac, wm, ws, 0))
