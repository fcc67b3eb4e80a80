"""The shipped S5 denoiser: Lava streaming (sim-fixed) bit-exact with the integer engine,
Lava float against torch, quality on the shipped example clip, and the CLI."""
import json

import numpy as np
import pytest
import torch

from lava_llm import audio
from lava_llm.cli import main
from lava_llm.models.denoiser import network
from lava_llm.processes.ssm_diagonal import kernels

CK = network.CHECKPOINT_DIR


@pytest.fixture(scope="module")
def den():
    return network.Denoiser()


@pytest.fixture(scope="module")
def example():
    noisy, _ = audio.read_wav(CK / "example_noisy.wav", 8000)
    clean, _ = audio.read_wav(CK / "example_clean.wav", 8000)
    return noisy, clean


def test_shipped_checkpoint_is_sparse_and_small(den):
    nnz = kernels.nnz(den.params)
    L, P, H, F = kernels.dims(den.params)
    full = {"enc": H * F, "b": L * P * H, "c": L * H * P, "w": L * H * H, "dec": F * H}
    assert sum(nnz.values()) <= 0.21 * sum(full.values())  # >= ~80 % weight sparsity
    assert network.DEFAULT_CHECKPOINT.stat().st_size < 2_000_000


def test_lava_stream_bit_exact_with_engine(den, example):
    noisy, _ = example
    _, feats = den.analyse(noisy[:4000])  # 0.5 s, 63 frames
    fq = den.quantize(feats)
    with network.LavaStream(den.params, "sim-fixed", chunk=16) as stream:
        first = stream.process_int(fq[:21])  # state carried across calls and buffer wraps
        rest = stream.process_int(fq[21:])
        s_re = np.array(stream.ssm.s_re.get()).astype(np.int64)
    want, st = kernels.int_run(den.net("q"), fq)
    assert np.array_equal(np.concatenate([first, rest]).astype(np.int64), want)
    assert np.array_equal(s_re, st["s_re"])


def test_lava_float_matches_torch(den, example):
    from lava_llm.training import s5

    noisy, _ = example
    _, feats = den.analyse(noisy[:2400])
    with network.LavaStream(den.params, "sim-float", chunk=len(feats)) as stream:
        got = stream.process(feats)
    model = s5.load_model(network.DEFAULT_TORCH_CHECKPOINT).double()
    with torch.no_grad():
        want, _ = model.forward_features(torch.tensor(feats)[None], mode="step")
    np.testing.assert_allclose(got, want[0].numpy(), rtol=1e-7, atol=1e-7)


def test_engine_denoises_example(den, example):
    noisy, clean = example
    fixed = audio.si_snri(den.denoise(noisy, "engine"), noisy, clean)
    flt = audio.si_snri(den.denoise(noisy, "float"), noisy, clean)
    assert fixed > 3.0
    assert abs(fixed - flt) < 0.2


@pytest.fixture
def short_wavs(tmp_path, example):
    noisy, clean = example
    a = audio.write_wav(tmp_path / "noisy.wav", noisy[:8000], 8000)
    b = audio.write_wav(tmp_path / "clean.wav", clean[:8000], 8000)
    return a, b, tmp_path


@pytest.mark.parametrize("backend", ["engine", "sim-fixed"])
def test_cli_denoise(short_wavs, capsys, backend):
    a, b, tmp = short_wavs
    out = tmp / "out.wav"
    rc = main(["denoise", str(a), str(out), "--clean", str(b), "--backend", backend, "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert {"seconds", "real_time_factor", "si_snr_db", "si_snri_db"} <= set(res)
    y, sr = audio.read_wav(out, 8000)
    assert sr == 8000 and y.size == 8000
    assert res["real_time_factor"] == pytest.approx(res["seconds"], rel=1e-2, abs=1e-3)


def test_cli_bad_input(tmp_path, capsys):
    import soundfile as sf

    stereo = tmp_path / "st.wav"
    sf.write(str(stereo), np.zeros((800, 2)) + 0.1, 8000)
    assert main(["denoise", str(stereo), str(tmp_path / "o.wav")]) == 2
    assert "2 channels" in capsys.readouterr().err
    wide = tmp_path / "wide.wav"
    sf.write(str(wide), np.zeros(2205) + 0.1, 22050)
    assert main(["denoise", str(wide), str(tmp_path / "o.wav")]) == 2
    assert "22050 Hz" in capsys.readouterr().err
    ck16 = tmp_path / "a16.wav"
    sf.write(str(ck16), np.zeros(1600) + 0.1, 16000)
    assert main(["denoise", str(ck16), str(tmp_path / "o.wav"), "--checkpoint",
                 str(network.DEFAULT_CHECKPOINT)]) == 2
    assert "expects 8000 Hz" in capsys.readouterr().err
    assert main(["denoise", str(tmp_path / "none.wav"), str(tmp_path / "o.wav")]) == 2


def test_lava_stream_misuse(den):
    stream = network.LavaStream(den.params, "sim-fixed", chunk=4)
    with pytest.raises(RuntimeError, match="context manager"):
        stream.process(np.zeros((2, 129)))
    with pytest.raises(ValueError, match="backend"):
        network.LavaStream(den.params, "engine")
    with pytest.raises(ValueError, match="chunk"):
        network.LavaStream(den.params, "sim-fixed", chunk=0)
    with pytest.raises(ValueError, match="backend"):
        den.denoise(np.zeros(800) + 0.01, "gpu")


def test_loihi2_is_never_faked(den):
    from lava_llm.run import Loihi2UnavailableError, loihi2_status

    if loihi2_status()[0]:
        pytest.skip("a Loihi 2 system is present")
    with pytest.raises(Loihi2UnavailableError, match="sim-fixed"):
        network.LavaStream(den.params, "loihi2")
