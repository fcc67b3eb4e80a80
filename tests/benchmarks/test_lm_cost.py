"""The cost benchmark's bookkeeping: parameter counts it compares are the real ones, and the
KV-cache transformer's cached decode equals its full forward."""
import torch

from benchmarks import lm_cost as bc
from lava_llm.models.lm.config import LMConfig
from lava_llm.training.hgrn import HGRNBitForCausalLM


def test_parameter_counts_are_real_and_equal():
    cfg = LMConfig(vocab_size=50, hidden_size=64, num_layers=3)
    V, H, L, inter = 50, 64, 3, cfg.intermediate_size
    model = HGRNBitForCausalLM(cfg)
    assert bc.hgrn_params(V, H, L, inter)["total"] == sum(p.numel() for p in model.parameters())
    assert bc.hgrn_params(V, H, L, inter)["ternary"] == sum(
        m.weight.numel() for m in model.bitlinears().values())
    max_len = 200
    mlp = bc.equal_param_mlp(V, H, L, inter, max_len)
    tf = bc.KVTransformer(V, H, L, mlp, heads=4, max_len=max_len)
    n_tf = sum(p.numel() for p in tf.parameters())
    assert n_tf == bc.transformer_params(V, H, L, mlp, max_len)
    # equal up to one MLP column per layer
    assert abs(n_tf - bc.hgrn_params(V, H, L, inter)["total"]) <= H * L


def test_kv_cache_decode_equals_full_forward():
    torch.manual_seed(0)
    tf = bc.KVTransformer(31, 32, 2, 48, heads=4, max_len=16).eval()
    ids = torch.randint(0, 31, (9,))
    full = tf(ids, tf.new_cache(16))
    cache = tf.new_cache(16)
    first = tf(ids[:5], cache)
    rest = [tf(ids[t:t + 1], cache)[0] for t in range(5, 9)]
    got = torch.cat([first, torch.stack(rest)])
    assert torch.allclose(got, full, atol=1e-5)
    # and attention does look back: changing an early token changes the last logits
    ids2 = ids.clone()
    ids2[0] = (ids[0] + 1) % 31
    assert not torch.allclose(tf(ids2, tf.new_cache(16))[-1], full[-1], atol=1e-4)


def test_370m_estimate_numbers():
    rows = {r["quantity"]: r for r in bc.estimate(32000, 1024, 24, 2816, 0.31)}
    w = 24 * (4 * 1024 ** 2 + 3 * 1024 * 2816) + 32000 * 1024
    assert rows["ternary weights W"]["value"] == w
    assert abs(rows["MB weights, packed trits"]["value"] - w / 4e6) < 1e-3
    assert 0.30 < bc.ternary_zero_fraction_gaussian() < 0.32
