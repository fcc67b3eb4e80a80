"""Audio front end, SI-SNR and checked wav I/O."""
import numpy as np
import pytest
import soundfile as sf

from lava_llm import audio


def test_frame_sizes_follow_ndns():
    assert audio.frame_sizes(8000) == (256, 64)
    assert audio.frame_sizes(16000) == (512, 128)
    assert audio.n_bins(16000) == 257


def test_stft_roundtrip_and_unit_mask(rng):
    x = rng.standard_normal(4000) * 0.1
    spec = audio.stft(x, 8000)
    assert spec.shape == (audio.n_frames(4000, 8000), 129)
    np.testing.assert_allclose(audio.istft(spec, 4000, 8000), x, atol=1e-10)
    y = audio.istft(audio.apply_mask(spec, np.zeros(spec.shape)), 4000, 8000)
    np.testing.assert_allclose(y, x, atol=1e-10)
    z = audio.istft(audio.apply_mask(spec, -2 * np.ones(spec.shape)), 4000, 8000)
    assert np.abs(z).max() == 0  # gains below zero clip to 0


def test_si_snr_properties(rng):
    t = rng.standard_normal(1000)
    n = rng.standard_normal(1000)
    assert audio.si_snr(t + 0.1 * n, t) == pytest.approx(audio.si_snr(5 * (t + 0.1 * n), t))
    assert audio.si_snr(t + 0.1 * n, t) == pytest.approx(20.0, abs=1.0)
    # argument order: target (clean) last; improvement of a cleaner estimate is positive
    assert audio.si_snri(t + 0.1 * n, t + n, t) == pytest.approx(
        audio.si_snr(t + 0.1 * n, t) - audio.si_snr(t + n, t))
    assert audio.si_snri(t + 0.1 * n, t + n, t) > 15
    with pytest.raises(ValueError, match="shape"):
        audio.si_snr(t, t[:10])


def write(path, data, sr=8000, subtype="PCM_16"):
    sf.write(str(path), data, sr, subtype=subtype)
    return path


@pytest.mark.parametrize("case,match", [
    ("stereo", "2 channels"), ("rate", "sample rate 16000 Hz"), ("empty", "empty"),
    ("clipped", "clipped"), ("nan", "finite"), ("missing", "does not exist"),
    ("garbage", "cannot read")])
def test_bad_audio_errors(tmp_path, case, match):
    x = 0.1 * np.sin(np.arange(800) / 5)
    p = tmp_path / f"{case}.wav"
    if case == "stereo":
        write(p, np.stack([x, x], 1))
    elif case == "rate":
        write(p, x, sr=16000)
    elif case == "empty":
        write(p, np.zeros(0))
    elif case == "clipped":
        y = x.copy()
        y[100:110] = 1.0
        write(p, y)
    elif case == "nan":
        y = x.copy()
        y[5] = np.nan
        write(p, y, subtype="FLOAT")
    elif case == "garbage":
        p.write_bytes(b"not a wav file at all")
    err = FileNotFoundError if case == "missing" else ValueError
    with pytest.raises(err, match=match):
        audio.read_wav(p, 8000)


def test_read_write_roundtrip(tmp_path):
    x = 0.3 * np.sin(np.arange(800) / 5)
    p = audio.write_wav(tmp_path / "a.wav", x, 8000)
    y, sr = audio.read_wav(p, 8000)
    assert sr == 8000 and np.abs(y - x).max() < 1e-4
    with pytest.raises(ValueError, match="beyond full scale"):
        audio.check_audio(np.array([0.0, 1.5]))
