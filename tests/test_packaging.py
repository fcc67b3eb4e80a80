"""Packaging: the extras and pins are consistent, ``lava-llm compat install`` installs the
pinned Lava releases the way the Makefile does, and without Lava the engine backends run
while a Lava backend is one clear error. (.ci/check_install.sh does the real install in a
throwaway venv.)"""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lava_llm import lava_compat as lc

REPO = Path(__file__).resolve().parent.parent


def _names(lines: str) -> set[str]:
    out = set()
    for ln in lines.splitlines():
        ln = ln.split("#")[0].strip()
        if ln:
            out.add(re.split(r"[<>=!;\[ ]", ln, maxsplit=1)[0].lower().replace("_", "-"))
    return out


@pytest.fixture(scope="module")
def cfg():
    c = configparser.ConfigParser()
    c.read(REPO / "setup.cfg")
    return c


def test_extras_and_base(cfg):
    base = _names(cfg["options"]["install_requires"])
    extras = {k: _names(v) for k, v in cfg["options.extras_require"].items()}
    assert {"lava", "test"} <= set(extras)
    assert not base & {"lava-nc", "lava-dl"}  # installed by `lava-llm compat install`
    assert {"numpy", "torch", "safetensors"} <= base
    assert {"matplotlib", "h5py", "networkx", "asteval", "scikit-learn"} <= extras["lava"]
    assert {"pytest", "pytest-timeout", "psutil"} <= extras["test"]


def test_requirements_txt_covers_setup_cfg(cfg):
    req = _names((REPO / "requirements.txt").read_text())
    declared = _names(cfg["options"]["install_requires"])
    for v in cfg["options.extras_require"].values():
        declared |= _names(v)
    assert declared - {"torch"} <= req  # torch: the Makefile pins it itself


def test_lava_pins_match_the_makefile():
    make = (REPO / "Makefile").read_text()
    for dist, version in lc.LAVA_PINS.items():
        assert f"{dist}=={version}" in make


def test_install_lava_is_a_no_op_when_installed(monkeypatch):
    monkeypatch.setattr(lc, "lava_version", lambda dist="lava-nc": lc.LAVA_PINS[dist])
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip was run"))
    assert lc.install_lava() == []


def test_install_lava_runs_pip_without_deps(monkeypatch):
    calls = []
    monkeypatch.setattr(lc, "lava_version", lambda dist="lava-nc": None)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: calls.append(cmd) or
                        subprocess.CompletedProcess(cmd, 0))
    assert lc.install_lava() == ["lava-nc==0.10.0", "lava-dl==0.6.0"]
    (cmd,) = calls
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--no-deps" in cmd and "--ignore-requires-python" in cmd
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: subprocess.CompletedProcess(cmd, 1))
    with pytest.raises(RuntimeError, match="failed"):
        lc.install_lava()


def _cli_without_lava(*args) -> subprocess.CompletedProcess:
    from test_layering import BLOCKER

    code = BLOCKER + "from lava_llm.cli import main\nraise SystemExit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def test_without_lava_engine_works_and_lava_backends_are_one_clear_error():
    ok = _cli_without_lava("generate", "--backend", "engine", "--prompt", "ROMEO:",
                           "--tokens", "4", "--json")
    assert ok.returncode == 0, ok.stderr
    bad = _cli_without_lava("generate", "--backend", "sim-fixed", "--prompt", "ROMEO:",
                            "--tokens", "2", "--json")
    assert bad.returncode == 1
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "needs Lava" in lines[0] and "compat install" in lines[0]
    assert '"error"' in bad.stdout
