"""`lava-llm denoise --granularity fine`: the shipped denoiser as its synapse and neuron
Processes writes the same file as the fused form and the integer engine (sim-fixed is
bit-exact), and says how many leaves ran."""
import json

import numpy as np
import pytest

from lava_llm import audio
from lava_llm.cli import main
from lava_llm.models.denoiser import network
from lava_llm.processes.ssm_diagonal import fine_kernels as fk
from lava_llm.processes.ssm_diagonal import kernels


@pytest.fixture
def short_wav(tmp_path):
    noisy, _ = audio.read_wav(network.CHECKPOINT_DIR / "example_noisy.wav", 8000)
    return audio.write_wav(tmp_path / "noisy.wav", noisy[:2000], 8000), tmp_path


def _denoise(args, capsys):
    assert main(["denoise", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_fine_writes_the_engine_file(short_wav, capsys):
    wav, tmp = short_wav
    eng = _denoise([str(wav), str(tmp / "e.wav"), "--backend", "engine"], capsys)
    fine = _denoise([str(wav), str(tmp / "f.wav"), "--backend", "sim-fixed", "--granularity",
                     "fine", "--chunk", "8"], capsys)
    L = kernels.dims(network.load_checkpoint())[0]
    assert fine["granularity"] == "fine"
    assert fine["leaf_processes"] == fk.fine_leaves(L) + 2 == 20
    assert "leaf_processes" not in eng
    a, _ = audio.read_wav(tmp / "e.wav", 8000)
    b, _ = audio.read_wav(tmp / "f.wav", 8000)
    assert np.array_equal(a, b)


def test_stream_fine_equals_fused_across_calls():
    den = network.Denoiser()
    noisy, _ = audio.read_wav(network.CHECKPOINT_DIR / "example_noisy.wav", 8000)
    _, feats = den.analyse(noisy[:1600])
    fq = den.quantize(feats)
    with network.LavaStream(den.params, "sim-fixed", chunk=6, granularity="fine") as stream:
        got = np.concatenate([stream.process_int(fq[:7]), stream.process_int(fq[7:])])
        assert stream.leaf_processes == 20
    want, _ = kernels.int_run(den.net("q"), fq)
    assert np.array_equal(got.astype(np.int64), want)


def test_bad_granularity(short_wav, capsys):
    wav, tmp = short_wav
    with pytest.raises(SystemExit) as exc:   # argparse's choices
        main(["denoise", str(wav), str(tmp / "o.wav"), "--granularity", "tiny"])
    assert exc.value.code == 2
    assert "granularity" in capsys.readouterr().err
    assert not (tmp / "o.wav").exists()
    with pytest.raises(ValueError, match="granularity"):
        network.LavaStream(network.load_checkpoint(), "sim-fixed", granularity="tiny")
