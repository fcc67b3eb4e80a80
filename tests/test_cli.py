"""The ``lava-llm`` command line: registry consistency, JSON output, clear errors."""
import importlib
import json
import subprocess
import sys

import pytest

from lava_llm import cli
from lava_llm.run import ALL_BACKENDS


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_registry_matches_modules(name):
    mod = importlib.import_module(cli.COMMANDS[name])
    help_, backends = cli.COMMAND_INFO[name]
    assert mod.HELP == help_
    assert tuple(mod.BACKENDS) == tuple(backends)
    assert set(backends) <= set(ALL_BACKENDS)
    assert callable(mod.add_arguments) and callable(mod.run)


def test_every_run_command_takes_backend_seed_json():
    parser = cli.build_parser()
    for name in cli.COMMANDS:
        args, _ = parser.parse_known_args([name, "--seed", "3", "--json"])
        assert args.seed == 3 and args.json and args.backend in ALL_BACKENDS


def test_dense_json_on_sim_fixed(capsys):
    assert cli.main(["dense", "--backend", "sim-fixed", "--json", "--steps", "5",
                     "--inputs", "8", "--outputs", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["backend"] == "sim-fixed" and out["equals_engine"] is True
    assert out["steps"] == 5 and out["shape"] == [4, 8]
    assert 0 < out["rel_err_vs_float"] < 0.05


def test_bad_argument_is_one_clear_line(capsys):
    assert cli.main(["dense", "--backend", "engine", "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert "--steps must be in [1," in err and "Traceback" not in err


def test_loihi2_without_hardware_is_an_error_not_a_fallback(capsys):
    from lava_llm.run import loihi2_status

    if loihi2_status()[0]:
        pytest.skip("Loihi 2 present")
    assert cli.main(["dense", "--backend", "loihi2"]) == 1
    assert "needs a Loihi 2 system" in capsys.readouterr().err


def test_unknown_backend_rejected_by_argparse():
    out = subprocess.run([sys.executable, "-m", "lava_llm.cli", "dense", "--backend", "gpu"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "invalid choice: 'gpu'" in out.stderr


def test_bench_unknown_name_lists_known(capsys):
    with pytest.raises(SystemExit, match="no benchmark 'nope'"):
        cli.main(["bench", "nope"])


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_command_help_lists_its_own_options(name, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--backend" in out and "--json" in out
    # at least one option beyond the common ones comes from the command's module
    own = [ln for ln in out.splitlines() if ln.strip().startswith("--")
           and not ln.strip().startswith(("--backend", "--seed", "--json"))]
    assert own, out
