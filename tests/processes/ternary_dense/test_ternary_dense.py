"""TernaryDense: Lava fixed == integer engine, Lava float ~ torch BitLinear, export, errors."""
import numpy as np
import pytest
import torch
from conftest import run_open_loop

from lava_llm import fixed_point as fp
from lava_llm.processes.ternary_dense import TernaryDense, kernels
from lava_llm.training.bitlinear import BitLinear, export_bitlinear

STEPS = 24


def run_lava(layer, data, backend):
    return run_open_loop(layer, data, backend)[0]


def naive_int_step(x, w, mant, shift):
    """Readable reference: add inputs where w=+1, subtract where w=-1, rescale, saturate."""
    x = np.clip(x, -128, 127)
    out = []
    for row in w:
        acc = int(sum(int(v) for v, t in zip(x, row) if t == 1)
                  - sum(int(v) for v, t in zip(x, row) if t == -1))
        prod = acc * mant
        half = (1 << (shift - 1)) if shift else 0
        r = (abs(prod) + half) >> shift
        r = -r if prod < 0 else r
        out.append(min(max(r, -(1 << 23)), (1 << 23) - 1))
    return np.array(out)


@pytest.mark.parametrize("n_in,n_out,scale,out_frac", [
    (1, 1, 1.0, 0), (16, 8, 0.37, 8), (33, 5, 2.5, 4), (64, 48, 0.01, 12)],
    ids=lambda v: str(v))
def test_lava_fixed_is_bit_exact_with_engine(n_in, n_out, scale, out_frac):
    rng = np.random.default_rng(n_in * 100 + n_out)
    w = rng.integers(-1, 2, (n_out, n_in))
    x = rng.integers(-128, 128, (n_in, STEPS))
    layer = TernaryDense(weights=w, scale=scale, out_frac=out_frac)
    out = run_lava(layer, x, "sim-fixed")
    m, s = int(layer.mant.init[0]), int(layer.shift.init[0])
    engine = kernels.int_step(x.T, w, m, s).T  # the engine is vectorised over time
    assert out.dtype.kind in "iuf"
    np.testing.assert_array_equal(out, engine)
    naive = np.stack([naive_int_step(x[:, t], w, m, s) for t in range(STEPS)], axis=1)
    np.testing.assert_array_equal(out, naive)
    assert np.any(out != 0)


def test_fixed_output_saturates_at_24_bits():
    w = np.ones((2, 64), dtype=int)
    x = np.full((64, 3), 127)
    layer = TernaryDense(weights=w, scale=2000.0)  # 8128 * 2000 > 2**23
    out = run_lava(layer, x, "sim-fixed")
    assert np.all(out == (1 << 23) - 1)


@pytest.mark.parametrize("bitlinear", [False, True], ids=["plain", "bitlinear"])
def test_lava_float_matches_torch_bitlinear(bitlinear):
    torch.manual_seed(0)
    n_in, n_out = 24, 10
    module = BitLinear(n_in, n_out).double()
    with torch.no_grad():
        module.norm.weight.uniform_(0.5, 1.5)
    exp = export_bitlinear(module)
    x = np.random.default_rng(0).normal(size=(n_in, STEPS))
    layer = TernaryDense.from_packed(packed=exp["packed"], shape=exp["shape"],
                                     scale=exp["scale"], bitlinear=bitlinear,
                                     norm_weight=exp["norm_weight"])
    out = run_lava(layer, x, "sim-float")
    if bitlinear:
        ref = module(torch.tensor(x.T)).detach().numpy().T
    else:  # the plain layer is alpha * W_t @ x, no front end
        trits, alpha = fp.ternary_absmean(module.weight.detach())
        ref = (torch.tensor(x.T) @ (trits * alpha).T).numpy().T
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_export_round_trips_exactly():
    torch.manual_seed(1)
    module = BitLinear(37, 11)
    exp = export_bitlinear(module)
    assert exp["packed"].nbytes == (37 * 11 + 3) // 4
    trits, alpha = fp.ternary_absmean(module.weight.detach().double())
    np.testing.assert_array_equal(fp.unpack_trits(exp["packed"], exp["shape"]), trits.numpy())
    assert exp["scale"] == float(alpha)
    layer = TernaryDense.from_packed(packed=exp["packed"], shape=exp["shape"],
                                     scale=exp["scale"])
    np.testing.assert_array_equal(layer.weights.init, trits.numpy())
    # exporting again from the same latent weights gives the same bytes
    np.testing.assert_array_equal(export_bitlinear(module)["packed"], exp["packed"])


def test_qat_gradients_flow_through_ste():
    module = BitLinear(8, 4)
    x = torch.randn(5, 8, requires_grad=True)
    module(x).sum().backward()
    assert module.weight.grad is not None and torch.any(module.weight.grad != 0)
    assert x.grad is not None and torch.any(x.grad != 0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(weights=[[0, 2]]), "weights must be ternary"),
    (dict(weights=[1, 0, -1]), "weights must be 2-D"),
    (dict(weights=[[1, float("nan")]]), "weights must be finite"),
    (dict(weights=[[1, 0]], scale=float("nan")), "scale must be finite"),
    (dict(weights=[[1, 0]], scale=-1.0), "scale must be finite and > 0"),
    (dict(weights=[[1, 0]], scale=1e9), "does not fit a 16-bit multiplier"),
    (dict(weights=[[1, 0]], norm_weight=[1.0]), r"norm_weight must have shape \(2\)"),
    (dict(weights=[[1, 0]], mant=5), "give both mant and shift"),
    (dict(weights=[[1, 0]], mant=1 << 16, shift=0), "mant must be in"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_input_is_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TernaryDense(**kwargs)


@pytest.mark.parametrize("magnitude", [127, 1 << 40, 1 << 50], ids=["int8", "2^40", "2^50"])
def test_ternary_matvec_is_exact_on_both_paths(magnitude):
    """The float64 (BLAS) path is used only where it is exact; beyond, the int64 path."""
    rng = np.random.default_rng(7)
    w = rng.integers(-1, 2, (9, 300))
    x = rng.integers(-magnitude, magnitude + 1, (5, 300))
    ref = np.array([[sum(int(a) * int(b) for a, b in zip(row, col)) for col in w] for row in x])
    np.testing.assert_array_equal(kernels.ternary_matvec(x, w), ref)
