"""The fidelity benchmark's model and float32 floor are what they say."""
import numpy as np
import torch

from benchmarks import lm_fidelity as bf
from lava_llm.models.lm import fidelity as F
from lava_llm.training.hgrn import HGRNBitForCausalLM


def test_hf_like_params_and_float32_trace():
    p = bf.hf_like_params(2, 32, 40, 48, seed=0)
    gains = np.concatenate([v.norm_weight for v in p.linears.values()])
    assert gains.min() >= 0.5 and gains.max() <= 1.5
    assert all(set(np.unique(v.trits)) <= {-1, 0, 1} for v in p.linears.values())
    ids = np.random.default_rng(0).integers(0, 40, (2, 9))
    z32, r32 = bf.torch_float32_trace(p, ids)
    with torch.no_grad():   # the torch backend's own float32 model
        want, _ = HGRNBitForCausalLM.from_params(p, torch.float32)(torch.from_numpy(ids))
    assert np.array_equal(z32, want.double().numpy())
    z64, r64 = F.float_trace(p, ids)
    assert len(r32) == len(r64) == 3
    assert F.rel_rms(r32[-1], r64[-1]) < 1e-3 and F.logit_error(z32, z64).mean() < 1e-3
