"""The compiled one-pass LM step functions (:mod:`lava_llm._lm_numba`) equal their numpy
references in :mod:`lava_llm.processes.lm_blocks.kernels` (==, over shapes and extremes)."""
import numpy as np
import pytest

from lava_llm import fixed_point as fp
from lava_llm.models.lm.params import TernaryLinear
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.processes.ternary_dense import kernels as td


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


def _numpy_dynamic_bitlinear(x, lin):
    y = lk.int_rms_norm_numpy(x, lin["in_frac"], lin["wm"], lin["ws"], lin["eps_q"])
    q, m = lk.int_dynamic_quant(y, 8)
    acc = td.ternary_matvec_naive(q, np.asarray(lin["trits"]))
    return fp.saturate(lk.int_dynamic_rescale(acc, m, lin["mant"], lin["shift"]), fp.MSG_BITS)


@pytest.mark.parametrize("tokens,n,n_out", [(1, 1, 1), (1, 300, 17), (3, 1024, 40),
                                            (130, 64, 9)])
def test_dynamic_bitlinear_compiled_equals_numpy_steps(tokens, n, n_out):
    rng = np.random.default_rng(tokens * n + n_out)
    w = rng.normal(size=(n_out, n))
    t, a = fp.ternary_absmean(w)
    lin = TernaryLinear(t.astype(np.int8), float(a), 1 + 0.3 * rng.normal(size=n))
    q = lk.make_int_linear(lin, in_frac=12, out_frac=12, amax=3.0, act="dynamic")
    packed = dict(q, trits=td.PackedTernary.from_trits(q["trits"]))
    for scale in (1e-3, 1.0, 1e3, 1e9):              # tiny, typical, saturating residuals
        x = np.round(rng.normal(0, scale, (tokens, n)) * 4096).astype(np.int64)
        x = np.clip(x, -(1 << 23), (1 << 23) - 1)
        if scale > 1e6:
            x[0, 0] = -(1 << 23)                     # the most negative 24-bit message
        got = lk.int_bitlinear(x, packed)
        assert got.shape == (tokens, n_out)
        np.testing.assert_array_equal(got, _numpy_dynamic_bitlinear(x, q))
    # leading axes
    x3 = rng.integers(-(1 << 20), 1 << 20, (2, tokens, n))
    np.testing.assert_array_equal(lk.int_bitlinear(x3, packed),
                                  _numpy_dynamic_bitlinear(x3, q))
