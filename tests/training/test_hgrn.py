"""Torch HGRNBit: QAT trains (straight-through gradients reach every latent weight), the HF
state dict loads strictly, and the recurrence carries state across calls."""
import pytest
import torch

from lava_llm.models.lm.config import LMConfig
from lava_llm.training.hgrn import HGRNBitForCausalLM, set_quantize

CFG = LMConfig(vocab_size=9, hidden_size=16, num_layers=2, intermediate_size=16)


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: thread sync would dominate on the shared CPU
    yield
    torch.set_num_threads(n)


def test_qat_steps_reduce_loss_and_reach_every_weight():
    torch.manual_seed(0)
    m = HGRNBitForCausalLM(CFG)
    x = torch.arange(24).remainder(9)[None].repeat(4, 1)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        logits, _ = m(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 9), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        if not losses:
            missing = [n for n, p in m.named_parameters() if p.grad is None
                       or not torch.any(p.grad != 0)]
            assert missing == [], missing
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_strict_state_dict_roundtrip_and_state_carry():
    torch.manual_seed(1)
    a, b = HGRNBitForCausalLM(CFG), HGRNBitForCausalLM(CFG)
    b.load_state_dict(a.state_dict(), strict=True)
    ids = torch.randint(0, 9, (2, 10))
    full, _ = a(ids)
    first, state = b(ids[:, :6])
    rest, _ = b(ids[:, 6:], state)
    torch.testing.assert_close(torch.cat([first, rest], 1), full)
    set_quantize(b, False)
    assert not torch.allclose(b(ids)[0], full)
