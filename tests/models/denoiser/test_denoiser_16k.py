"""The shipped 16 kHz model (N-DNS framing): chosen by the input's rate, small, Lava sim-fixed
bit-exact with the integer engine, denoises its example clip."""
import json

import numpy as np
import pytest

from lava_llm import audio
from lava_llm.cli import main
from lava_llm.models.denoiser import network
from lava_llm.processes.ssm_diagonal import kernels

CK16 = network.CHECKPOINTS[16000]


@pytest.fixture(scope="module")
def den16():
    return network.Denoiser(network.load_checkpoint(CK16))


def test_16k_checkpoint_shape_and_size(den16):
    L, P, H, F = kernels.dims(den16.params)
    assert den16.sample_rate == 16000 and F == 257 and audio.frame_sizes(16000) == (512, 128)
    for f in CK16.parent.glob("sparse_qat.*"):
        assert f.stat().st_size < 1_000_000
    nz = sum(kernels.nnz(den16.params).values())
    full = H * F * 2 + L * (2 * P * H + H * H)
    assert nz <= 0.21 * full


def test_16k_lava_bit_exact_with_engine(den16):
    noisy, _ = audio.read_wav(CK16.parent / "example_noisy.wav", 16000)
    _, feats = den16.analyse(noisy[:6400])                  # 0.4 s, 51 frames
    fq = den16.quantize(feats)
    with network.LavaStream(den16.params, "sim-fixed", chunk=32) as stream:
        got = np.concatenate([stream.process_int(fq[:20]), stream.process_int(fq[20:])])
    want, _ = kernels.int_run(den16.net("q"), fq)
    assert np.array_equal(got.astype(np.int64), want)


def test_cli_picks_the_model_by_sample_rate(tmp_path, capsys):
    d = CK16.parent
    out = tmp_path / "o16.wav"
    assert main(["denoise", str(d / "example_noisy.wav"), str(out), "--clean",
                 str(d / "example_clean.wav"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["sample_rate"] == 16000 and res["checkpoint"] == str(CK16)
    y, sr = audio.read_wav_unchecked(out)
    clean, _ = audio.read_wav(d / "example_clean.wav", 16000)
    assert sr == 16000 and y.size == clean.size
    assert res["si_snri_db"] > 3.0
    assert abs(10 * np.log10(np.mean(y ** 2) / np.mean(clean ** 2))) < 3.0
