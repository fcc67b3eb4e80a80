"""Bad input on the command line: one clear line naming the argument or file, exit status 2,
nothing written, no traceback; with ``--json`` also ``{"error", "argument"}`` on stdout."""
from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from lava_llm import cli
from lava_llm import validation as V
from lava_llm.models.lm import checkpoint as ck

SHIPPED_WAV = Path(ck.DEFAULT_CHECKPOINT).parent / "s5_denoiser" / "example_noisy.wav"


def _fails(capsys, argv, match, status=2, argument=None):
    """Run the CLI; it must return (or exit with) ``status``, print one ``error:`` line that
    matches ``match`` on stderr, and with --json one error object on stdout."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == status, (out, err)
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1
    assert re.search(match, lines[0]), lines[0]
    if "--json" in argv:
        obj = json.loads(out.strip().splitlines()[-1])
        assert set(obj) == {"error", "argument"} and obj["error"]
        if argument is not None:
            assert obj["argument"] == argument, obj
    return lines[0]


@pytest.fixture
def lm_copy(tmp_path):
    dst = tmp_path / "lm"
    shutil.copytree(ck.DEFAULT_CHECKPOINT, dst)
    return dst


def _set_config(folder, fn):
    path = folder / ck.CONFIG_FILE
    raw = json.loads(path.read_text())
    fn(raw)
    path.write_text(json.dumps(raw))


@pytest.mark.parametrize("value,shown", [(float("nan"), "nan"), (-1.0, "-1.0"), ("x", "'x'"),
                                         (0, "0")])
def test_bad_calibration_value_in_checkpoint(capsys, lm_copy, value, shown):
    _set_config(lm_copy, lambda raw: raw["calibration"]["linears"].__setitem__(
        "model.layers.0.attn.i_proj", value))
    line = _fails(capsys, ["generate", "--prompt", "hi", "--backend", "engine",
                           "--checkpoint", str(lm_copy), "--json"],
                  r"config\.json: calibration\.linears\['model\.layers\.0\.attn\.i_proj'\] "
                  r"must be a finite number > 0")
    assert shown in line


def test_negative_residual_calibration(capsys, lm_copy):
    _set_config(lm_copy, lambda raw: raw["calibration"].__setitem__("residual", -3))
    _fails(capsys, ["generate", "--prompt", "hi", "--backend", "engine", "--checkpoint",
                    str(lm_copy)], r"calibration\.residual must be a finite number > 0")


@pytest.mark.parametrize("key,value,match", [
    ("eps", [1], r"config\.json: eps must be a number, got list"),
    ("eps", "1e-6", r"config\.json: eps must be a number, got str"),
    ("hidden_size", 128.0, r"config\.json: hidden_size must be an int, got float"),
    ("vocab_size", "65", r"config\.json: vocab_size must be an int, got str"),
])
def test_config_type_errors_name_file_and_key(capsys, lm_copy, key, value, match):
    _set_config(lm_copy, lambda raw: raw["config"].__setitem__(key, value))
    _fails(capsys, ["generate", "--prompt", "hi", "--backend", "engine", "--checkpoint",
                    str(lm_copy)], match)


@pytest.mark.parametrize("damage", ["empty", "truncated", "corrupt", "header_only"])
def test_broken_safetensors(capsys, lm_copy, damage):
    path = lm_copy / ck.WEIGHTS_FILE
    data = path.read_bytes()
    if damage == "empty":
        data = b""
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "corrupt":
        data = data[:8] + b"\xff" * 64 + data[72:]
    else:
        data = data[:8]
    path.write_bytes(data)
    _fails(capsys, ["generate", "--prompt", "hi", "--backend", "engine", "--checkpoint",
                    str(lm_copy), "--json"],
           r"model\.safetensors is not a (valid )?safetensors file",
           argument=str(path))


@pytest.fixture
def noisy_wav(tmp_path):
    if not SHIPPED_WAV.is_file():
        pytest.skip(f"needs {SHIPPED_WAV}")
    dst = tmp_path / "noisy.wav"
    shutil.copy(SHIPPED_WAV, dst)
    return dst


def test_truncated_wav_is_an_error(capsys, noisy_wav, tmp_path):
    data = noisy_wav.read_bytes()
    noisy_wav.write_bytes(data[: len(data) - 1000])
    out = tmp_path / "out.wav"
    _fails(capsys, ["denoise", str(noisy_wav), str(out), "--json"],
           r"noisy\.wav is truncated: its header declares \d+ bytes of audio data but only "
           r"\d+ are present")
    assert not out.exists()


def test_check_wav_complete_accepts_whole_files(noisy_wav):
    V.check_wav_complete(noisy_wav)  # the shipped example is complete
    riff = noisy_wav.read_bytes()
    assert riff[:4] == b"RIFF" and struct.unpack("<I", riff[4:8])[0] + 8 == len(riff)


@pytest.mark.parametrize("chunk", ["1000000000", "0", "-5"])
def test_chunk_out_of_range(capsys, noisy_wav, tmp_path, chunk):
    out = tmp_path / "out.wav"
    _fails(capsys, ["denoise", str(noisy_wav), str(out), "--backend", "sim-fixed",
                    "--chunk", chunk, "--json"], r"--chunk must be in \[1, 65536\]",
           argument="--chunk")
    assert not out.exists()


def test_chunk_not_an_int_is_a_usage_error(capsys, noisy_wav, tmp_path):
    _fails(capsys, ["denoise", str(noisy_wav), str(tmp_path / "o.wav"), "--chunk", "1e9",
                    "--json"], r"argument --chunk: invalid int value: '1e9'",
           argument="--chunk")


@pytest.mark.parametrize("name", ["out.mp3", "out", "out.wav.txt"])
def test_output_extension_checked_before_the_run(capsys, noisy_wav, tmp_path, monkeypatch,
                                                 name):
    from lava_llm.models.denoiser import network

    def no_run(*a, **k):
        raise AssertionError("the run started before the output path was checked")

    monkeypatch.setattr(network, "load_checkpoint", no_run)
    out = tmp_path / name
    _fails(capsys, ["denoise", str(noisy_wav), str(out), "--json"],
           r"error: output '.*out[^']*' must end in \.wav", argument="output")
    assert not out.exists()


def test_output_in_missing_folder(capsys, noisy_wav, tmp_path):
    _fails(capsys, ["denoise", str(noisy_wav), str(tmp_path / "nope" / "o.wav")],
           r"output folder .* does not exist")


@pytest.mark.parametrize("name,match", [
    ("nope", r"no benchmark 'nope'"),
    ("../x", r"benchmark name '\.\./x' must be a plain name"),
    ("/etc/passwd", r"must be a plain name"),
])
def test_bench_bad_names_exit_2(capsys, name, match):
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", name])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(match, err)


def test_json_usage_error_on_stdout(capsys):
    _fails(capsys, ["generate", "--backend", "gpu", "--json"], r"invalid choice: 'gpu'",
           argument="--backend")
    _fails(capsys, ["solve", "--json"], r"one of the arguments", argument=None)


def test_temperature_error_names_the_option(capsys):
    line = _fails(capsys, ["generate", "--prompt", "hi", "--backend", "engine",
                           "--temperature", "1e-9", "--json"],
                  r"argument --temperature: temperature=1e-09 is outside the range",
                  argument="--temperature")
    assert "[9.54e-07" in line


def test_validation_helpers():
    with pytest.raises(V.ArgumentTypeError, match="eps must be a number, got bool"):
        V.as_float("eps", True)
    assert V.as_float("eps", 2) == 2.0
    with pytest.raises(ValueError, match=r"f\.json: boom"):
        V.in_file("f.json", lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert V.check_calibration(None, "c") is None
    with pytest.raises(ValueError, match="calibration.linears must be an object"):
        V.check_calibration({"residual": 1.0}, "c.json")
    np.testing.assert_equal(V.check_calibration({"linears": {"a": 1.5}, "residual": 2},
                                                "c.json")["residual"], 2)


@pytest.mark.parametrize("data", [b"", b"garbage-garbage-garbage"])
def test_broken_safetensors_in_an_hf_folder(capsys, tmp_path, data):
    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "hgrn_bit", "architectures": ["HGRNBitForCausalLM"], "vocab_size": 11,
         "hidden_size": 16, "num_hidden_layers": 1, "intermediate_size": 32,
         "rms_norm_eps": 1e-6}))
    (tmp_path / "model.safetensors").write_bytes(data)
    _fails(capsys, ["generate", "--prompt", "1,2", "--backend", "engine", "--checkpoint",
                    str(tmp_path), "--json"],
           r"model\.safetensors is not a (valid )?safetensors file")
