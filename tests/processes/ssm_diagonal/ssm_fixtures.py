"""Random sparse S5 parameter dicts for the ssm_diagonal tests (no training needed)."""
from __future__ import annotations

import json

import numpy as np

from lava_llm.processes.ssm_diagonal import kernels


def random_params(L=2, P=4, H=6, F=5, density=0.5, seed=0, calib_T=20):
    """A dense float export like ``lava_llm.training.s5.export_float`` with random masks,
    quantised by :func:`kernels.build_params`."""
    rng = np.random.default_rng(seed)

    def sparse(shape, scale):
        mask = (rng.random(shape) < density).astype(float)
        return rng.standard_normal(shape) * scale * mask, mask

    d = {"config": json.dumps({"sample_rate": 8000, "d_model": H, "d_state": P,
                               "n_layers": L})}
    d["f_enc"], d["mask_enc"] = sparse((H, F), 0.5)
    d["f_dec"], d["mask_dec"] = sparse((F, H), 0.3)
    d["f_enc_b"] = rng.standard_normal(H) * 0.1
    d["f_dec_b"] = rng.standard_normal(F) * 0.1
    r = rng.uniform(0.6, 0.99, (L, P))
    th = rng.uniform(0, np.pi, (L, P))
    d["f_lam_re"], d["f_lam_im"] = r * np.cos(th), r * np.sin(th)
    masks_b = (rng.random((L, P, H)) < density).astype(float)
    d["f_b_re"] = rng.standard_normal((L, P, H)) * 0.2 * masks_b
    d["f_b_im"] = rng.standard_normal((L, P, H)) * 0.2 * masks_b
    d["mask_b"] = masks_b
    masks_c = (rng.random((L, H, P)) < density).astype(float)
    d["f_c_re"] = rng.standard_normal((L, H, P)) * 0.3 * masks_c
    d["f_c_im"] = rng.standard_normal((L, H, P)) * 0.3 * masks_c
    d["mask_c"] = masks_c
    masks_w = (rng.random((L, H, H)) < density).astype(float)
    d["f_w"] = rng.standard_normal((L, H, H)) * 0.5 * masks_w
    d["mask_w"] = masks_w
    d["f_sb_re"] = rng.standard_normal((L, P)) * 0.05
    d["f_sb_im"] = rng.standard_normal((L, P)) * 0.05
    d["f_d"] = rng.standard_normal((L, H))
    d["f_yb"] = rng.standard_normal((L, H)) * 0.1
    d["f_wb"] = rng.standard_normal((L, H)) * 0.1
    calib = [rng.standard_normal((calib_T, F)) * 2 for _ in range(2)]
    return kernels.build_params(d, calib), rng.standard_normal((calib_T, F)) * 2
