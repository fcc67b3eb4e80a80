"""What `lava-llm denoise` writes: the input's speech level, no silent clipping, metrics on the
written file, the output never over the input, nothing written on failure."""
import json
import os

import numpy as np
import pytest

from lava_llm import audio
from lava_llm.cli import main
from lava_llm.data import noisy_fsdd as nf
from lava_llm.models.denoiser import network

CK = network.CHECKPOINT_DIR


def level_db(x):
    return 10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2))


@pytest.fixture(scope="module")
def loud_pair():
    """The shipped example speech at a normal level: mixture peak 0.9, 5 dB pink noise."""
    clean, _ = audio.read_wav(CK / "example_clean.wav", 8000)
    noise = nf.make_noise("pink", clean.size, np.random.default_rng(3))
    noisy, _ = nf.mix_at_snr(clean, noise, 5.0)
    g = 0.9 / np.abs(noisy).max()
    return noisy * g, clean * g


def test_written_file_keeps_speech_level_and_metrics_are_on_it(loud_pair, tmp_path, capsys):
    noisy, clean = loud_pair
    a = audio.write_wav(tmp_path / "noisy.wav", noisy, 8000)
    b = audio.write_wav(tmp_path / "clean.wav", clean, 8000)
    out = tmp_path / "out.wav"
    assert main(["denoise", str(a), str(out), "--clean", str(b), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    y, _ = audio.read_wav_unchecked(out)
    n_back, _ = audio.read_wav(a, 8000)
    c_back, _ = audio.read_wav(b, 8000)
    assert abs(level_db(y) - level_db(c_back)) < 2.0          # was +12.8 dB before the fix
    assert res["clipped_samples"] == 0 and np.abs(y).max() < 1.0
    assert res["si_snr_db"] == pytest.approx(audio.si_snr(y, c_back), abs=1e-3)
    assert res["si_snri_db"] == pytest.approx(audio.si_snri(y, n_back, c_back), abs=1e-3)
    assert res["si_snri_db"] > 3.0
    assert res["latency_total_ms"] >= res["latency_buffer_ms"] == 32.0
    assert res["power_proxy_ops_per_s"] == pytest.approx(
        res["power_proxy_ops_per_step"] * 125, rel=1e-6)


def test_raw_gain_is_limited_and_reported(loud_pair, tmp_path, capsys):
    noisy, _ = loud_pair
    a = audio.write_wav(tmp_path / "noisy.wav", noisy, 8000)
    out = tmp_path / "out.wav"
    assert main(["denoise", str(a), str(out), "--level", "raw", "--json"]) == 0
    cap = capsys.readouterr()
    res = json.loads(cap.out)
    y, _ = audio.read_wav_unchecked(out)
    # the network's own gain is far too loud for this input: the limiter acts, says so
    assert res["limited_samples"] > 0 and "soft limiter" in cap.err
    assert res["clipped_samples"] == 0 and np.abs(y).max() < 1.0
    assert res["output_peak"] == pytest.approx(np.abs(y).max(), abs=1e-6)


def test_match_level_and_soft_limit_units(rng):
    clean = np.sin(np.arange(4000) / 7.0) * np.hanning(4000)
    noise = 0.3 * rng.standard_normal(4000)
    y, g = audio.match_level(5.0 * (clean + 0.05 * noise), clean + noise)
    assert g == pytest.approx(0.2, rel=0.05)
    assert abs(level_db(y) - level_db(clean)) < 0.5
    assert audio.match_level(np.zeros(10), np.ones(10))[1] == 1.0
    x = np.linspace(-3, 3, 601)
    lim, n = audio.soft_limit(x)
    assert n == int(np.sum(np.abs(x) > audio.LIMIT_KNEE))
    assert np.abs(lim).max() <= audio.LIMIT_CEIL and np.all(np.diff(lim) >= 0)  # monotone
    assert audio.to_pcm16(lim)[1] == 0
    keep = np.abs(x) <= audio.LIMIT_KNEE
    assert np.array_equal(lim[keep], x[keep])
    pcm, clipped = audio.to_pcm16(np.array([0.5, 1.0, -1.0, -1.5]))
    assert clipped == 2 and pcm.tolist() == [16384, 32767, -32768, -32768]


def test_write_wav_never_clips_silently(tmp_path):
    with pytest.warns(UserWarning, match="2 samples beyond full scale"):
        audio.write_wav(tmp_path / "x.wav", np.array([0.1, 1.2, -1.3, 0.0]), 8000)


def test_output_over_input_or_clean_refused(tmp_path, capsys):
    src = CK / "example_noisy.wav"
    a = tmp_path / "in.wav"
    a.write_bytes(src.read_bytes())
    link = tmp_path / "link.wav"
    os.symlink(a, link)
    before = a.read_bytes()
    for out in (a, link, tmp_path / "sub" / ".." / "in.wav"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert main(["denoise", str(a), str(out)]) == 2
        assert "same file as the input" in capsys.readouterr().err
    assert a.read_bytes() == before
    c = tmp_path / "clean.wav"
    c.write_bytes((CK / "example_clean.wav").read_bytes())
    assert main(["denoise", str(a), str(c), "--clean", str(c)]) == 2
    assert "same file as the --clean" in capsys.readouterr().err
    assert c.read_bytes() == (CK / "example_clean.wav").read_bytes()


def test_nothing_written_on_failure(tmp_path, capsys):
    noisy, _ = audio.read_wav(CK / "example_noisy.wav", 8000)
    a = audio.write_wav(tmp_path / "n.wav", noisy, 8000)
    short = audio.write_wav(tmp_path / "c.wav", noisy[:1000], 8000)
    out = tmp_path / "o.wav"
    assert main(["denoise", str(a), str(out), "--clean", str(short)]) == 2
    assert "same length" in capsys.readouterr().err
    assert main(["denoise", str(a), str(out), "--chunk", "0"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.wav", "n.wav"]


def test_unsupported_rate_names_the_shipped_rates(tmp_path, capsys):
    import soundfile as sf

    p = tmp_path / "cd.wav"
    sf.write(str(p), 0.1 * np.sin(np.arange(4410) / 9), 44100)
    assert main(["denoise", str(p), str(tmp_path / "o.wav")]) == 2
    err = capsys.readouterr().err
    assert "44100 Hz" in err and "8000 Hz" in err and "16000 Hz" in err
    assert not (tmp_path / "o.wav").exists()


def test_written_file_has_a_normal_mode(tmp_path):
    p = audio.write_wav(tmp_path / "m.wav", np.zeros(10), 8000)
    umask = os.umask(0)
    os.umask(umask)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_json_has_latency_and_power_without_clean(tmp_path, capsys):
    out = tmp_path / "o.wav"
    assert main(["denoise", str(CK / "example_noisy.wav"), str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "si_snri_db" not in res
    assert res["latency_network_ms"] == 0.0 and res["xcorr_delay_samples"] == 0
    assert res["pdp_ops"] == pytest.approx(res["power_proxy_ops_per_s"]
                                           * res["latency_total_ms"] * 1e-3, rel=1e-3)
    # event-driven SynOps never exceed the stored weights' count, NeuronOps as documented
    from lava_llm.processes.ssm_diagonal import kernels

    p = network.load_checkpoint()
    assert res["neuron_ops_per_step"] == kernels.neuron_ops(p)
    assert 0 < res["synops_per_step"] <= kernels.op_counts(p)["synops"]


def test_xcorr_delay_measures_a_shift(rng):
    from lava_llm.models.denoiser import metrics

    x = rng.standard_normal(4000)
    y = np.concatenate([np.zeros(24), x[:-24]])
    assert metrics.xcorr_delay(x, y, 8000) == 24
    assert metrics.xcorr_delay(x, x, 8000) == 0
