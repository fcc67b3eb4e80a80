"""Torch S5: HiPPO-N init, ZOH, parallel scan == step mode, pruning schedule, training,
QAT, and export agreeing with the float kernels."""
import numpy as np
import pytest
import torch

from lava_llm import audio
from lava_llm.processes.ssm_diagonal import kernels
from lava_llm.training import s5

torch.set_num_threads(1)


def test_hippo_n_eigenvalues():
    lam, _ = s5.make_dplr_hippo(8)
    np.testing.assert_allclose(lam.real, -0.5)
    np.testing.assert_allclose(np.sort(lam.imag), -np.sort(lam.imag)[::-1], atol=1e-9)
    init = s5.hippo_n_init(d_state=8, blocks=2)  # 2 blocks of HiPPO-N(8), positive half
    assert init.shape == (8,) and np.all(init.imag > 0) and np.allclose(init.real, -0.5)
    np.testing.assert_allclose(init[:4], init[4:])


def test_zoh_matches_integral():
    ssm = s5.S5SSM(3, 4, blocks=1).double()
    lam_bar, b_bar = ssm.discrete()
    lam = ssm.lam().detach().numpy()
    dt = torch.exp(ssm.log_dt).detach().numpy()
    b = (ssm.b_re + 1j * ssm.b_im).detach().numpy()
    np.testing.assert_allclose(lam_bar.detach().numpy(), np.exp(lam * dt), rtol=1e-12)
    # B_bar = int_0^dt exp(lam s) ds B (midpoint rule, fine grid)
    s = (np.arange(20000) + 0.5) / 20000
    integ = (np.exp(np.outer(lam, s * 1) * dt[:, None]).mean(1) * dt)[:, None] * b
    np.testing.assert_allclose(b_bar.detach().numpy(), integ, rtol=1e-6)


@pytest.mark.parametrize("T", [1, 2, 7, 64, 100])
def test_parallel_scan_equals_step(T):
    g = torch.Generator().manual_seed(T)
    lam = torch.complex(-torch.rand(5, generator=g, dtype=torch.float64) * 0.2 + 0.8,
                        torch.rand(5, generator=g, dtype=torch.float64) * 0.5)
    bu = torch.complex(torch.randn(3, T, 5, generator=g, dtype=torch.float64),
                       torch.randn(3, T, 5, generator=g, dtype=torch.float64))
    x0 = torch.complex(torch.randn(3, 5, generator=g, dtype=torch.float64),
                       torch.randn(3, 5, generator=g, dtype=torch.float64))
    for init in (None, x0):
        a = s5.parallel_scan(lam, bu, init)
        b = s5.step_scan(lam, bu, init)
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_denoiser_scan_step_and_streaming_agree():
    model = s5.S5Denoiser(s5.DenoiserConfig(d_model=8, d_state=4, n_layers=2, blocks=2)).double()
    model.eval()
    f = torch.randn(2, 30, model.config.n_bins, dtype=torch.float64)
    with torch.no_grad():
        m_scan, st_scan = model.forward_features(f, mode="scan")
        m_step, _ = model.forward_features(f, mode="step")
        a, st = model.forward_features(f[:, :11], mode="step")
        b, _ = model.forward_features(f[:, 11:], states=st, mode="scan")
    torch.testing.assert_close(m_scan, m_step, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(torch.cat([a, b], 1), m_scan, rtol=1e-9, atol=1e-9)


def test_sparsity_schedule():
    steps, target = 1000, 0.8
    vals = [s5.sparsity_at(k, steps, target) for k in range(steps)]
    assert vals[0] == 0 and vals[49] == 0
    assert vals[900] == pytest.approx(target) and vals[-1] == pytest.approx(target)
    assert all(b >= a for a, b in zip(vals, vals[1:]))
    assert len(set(vals)) == s5.PRUNE_EVENTS + 1


def test_magnitude_prune_keeps_largest():
    model = s5.S5Denoiser(s5.DenoiserConfig(d_model=8, d_state=4, n_layers=1, blocks=2))
    w = model.encoder.weight.detach().clone()
    s5.magnitude_prune(model, 0.5)
    kept = model.mask_enc.bool()
    assert abs(kept.float().mean().item() - 0.5) < 0.01
    assert w.abs()[kept].min() >= w.abs()[~kept].max()
    assert model.sparsity() == pytest.approx(0.5, abs=0.01)
    # complex B pruned by |B|: re and im share one mask
    ssm = model.layers[0].ssm
    assert torch.all(ssm.b_re[ssm.mask_b == 0] == 0) and torch.all(ssm.b_im[ssm.mask_b == 0] == 0)


def synth_pairs(n=6, length=8000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 8000
    out = []
    for _ in range(n):
        clean = 0.05 * np.sin(2 * np.pi * rng.uniform(200, 800) * t) * (np.sin(2 * np.pi * 2 * t) > 0)
        out.append((clean + 0.02 * rng.standard_normal(length), clean))
    return out


def test_training_prunes_quantises_and_exports():
    pairs = synth_pairs()
    model = s5.S5Denoiser(s5.DenoiserConfig(d_model=16, d_state=8, n_layers=2, blocks=2))
    hist = s5.train_denoiser(model, pairs, 40, sparsity=0.7, qat=True, seed=0,
                             crop_seconds=0.5, batch_size=4)
    assert np.mean(hist["loss"][-5:]) < np.mean(hist["loss"][:5]) - 1.0
    assert hist["sparsity"] == pytest.approx(0.7, abs=0.01)
    params = s5.export_fixed(model, [pairs[0][0]])
    assert int(s5.export_fixed(model)["e_x"]) <= int(params["e_x"])  # default: training clips
    # QAT weights lie on the 8-bit grid: integer export reproduces them exactly
    np.testing.assert_allclose(params["q_w"] * 2.0 ** -np.repeat(
        params["e_w"], np.diff(params["w_indptr"]).reshape(2, -1).sum(1)), params["f_w"],
        atol=1e-6)
    # float kernels == torch (same folded, fake-quantised weights), tight tolerance
    noisy = pairs[1][0]
    f = audio.features(audio.stft(noisy, 8000))
    mk, _ = kernels.float_run(kernels.Net(params, "f"), f)
    with torch.no_grad():
        mt, _ = model.double().forward_features(torch.tensor(f)[None])
    np.testing.assert_allclose(mk, mt[0].numpy(), rtol=1e-7, atol=1e-7)
    # and the integer engine stays close to float
    mq, _ = kernels.int_run(kernels.Net(params, "q"),
                            kernels.quantize_input(f, int(params["e_in"])))
    assert np.abs(kernels.dequantize_mask(mq, int(params["e_m"])) - mk).max() < 0.05


def test_bad_arguments():
    model = s5.S5Denoiser(s5.DenoiserConfig(d_model=8, d_state=4, n_layers=1, blocks=2))
    with pytest.raises(ValueError, match="sparsity"):
        s5.train_denoiser(model, synth_pairs(1), 2, sparsity=1.0)
    with pytest.raises(ValueError, match="calib"):
        s5.export_fixed(model, [])
    with pytest.raises(ValueError, match="d_state"):
        s5.DenoiserConfig(d_state=6, blocks=4)


def test_model_init_depends_only_on_seed():
    cfg = s5.DenoiserConfig(d_model=8, d_state=4, n_layers=2, blocks=2)
    a = s5.S5Denoiser(cfg, seed=3).state_dict()
    torch.rand(100)  # disturb the global generator
    b = s5.S5Denoiser(cfg, seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = s5.S5Denoiser(cfg, seed=4).state_dict()
    assert not torch.equal(a["layers.0.glu.weight"], c["layers.0.glu.weight"])


def test_16khz_ndns_shape_end_to_end():
    """A 16 kHz (N-DNS) model: 512-sample window, 257 bins, through export and the engine."""
    from lava_llm.models.denoiser.network import Denoiser

    cfg = s5.DenoiserConfig(sample_rate=16000, d_model=8, d_state=4, n_layers=1, blocks=2)
    model = s5.S5Denoiser(cfg)
    assert model.encoder.in_features == 257
    rng = np.random.default_rng(0)
    wave = 0.05 * rng.standard_normal(4000)
    params = s5.export_fixed(model.eval(), [wave])
    den = Denoiser(params)
    assert den.sample_rate == 16000
    est_f = den.denoise(wave, "float")
    np.testing.assert_allclose(est_f, model.denoise(wave), atol=1e-9)
    assert den.denoise(wave, "engine").shape == wave.shape
