"""Compiled one-pass forms of LM block step functions of
:mod:`lava_llm.processes.lm_blocks.kernels` (the readable numpy references stay there; the
tests run one against the other). Outside the Process folder because Lava imports every module
of a Process's folder again at each compile."""
import numpy as np
from numba import njit

from lava_llm._fixed_point_numba import rshift1, rsqrt1


@njit(cache=True, error_model="numpy")
def rms_norm_rows(x, x_frac, wm, ws, eps_q, norm_r, norm_t, table, index_bits, table_frac,
                  out):
    """``int_rms_norm`` over the rows of ``x`` (N, n) int64 with ``wm`` (n,) int64: per row
    ``ss = sum(x*x) + eps_q``, ``r = rsqrt_fixed(ss, 2 x_frac, norm_r)``,
    ``out = ((x * r) >> (x_frac + norm_r - norm_t)) * wm >> ws`` (rounding shifts; int64
    arithmetic wraps exactly as numpy's)."""
    s1 = x_frac + norm_r - norm_t
    for t in range(x.shape[0]):
        ss = np.int64(0)
        for j in range(x.shape[1]):
            ss += x[t, j] * x[t, j]
        r = rsqrt1(ss + eps_q, 2 * x_frac, norm_r, table, index_bits, table_frac)
        for j in range(x.shape[1]):
            out[t, j] = rshift1(rshift1(x[t, j] * r, s1) * wm[j], ws)
