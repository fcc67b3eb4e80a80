"""The lava-nc 0.10.0 / Python 3.11 import fix (lava_llm.lava_compat)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lava_llm import lava_compat as lc

BROKEN = '''
from dataclasses import dataclass
@dataclass
class ByteEncoder:
    base: int = 0
@dataclass
class CoreEncoder:
    x: ByteEncoder = ByteEncoder()
    y: ByteEncoder   =   ByteEncoder()
'''


def _run(src):
    ns = {}
    exec(compile(src, "<test>", "exec"), ns)
    return ns


def test_patch_rewrites_every_default_and_keeps_values():
    # A source with 2 defaults is not the checked 0.10.0 file (8 defaults): refused.
    with pytest.raises(lc.LavaCompatError, match="expected 8"):
        lc.patch_source(BROKEN, version="0.10.0")
    lc.KNOWN_VERSIONS["test-2"] = 2
    try:
        patched = lc.patch_source(BROKEN, version="test-2")
    finally:
        del lc.KNOWN_VERSIONS["test-2"]
    assert "ByteEncoder()" not in patched
    ns = _run(patched)
    a, b = ns["CoreEncoder"](), ns["CoreEncoder"]()
    assert a.x == ns["ByteEncoder"]() and a.x is not b.x  # a fresh default per instance


@pytest.mark.skipif(sys.version_info < (3, 11), reason="3.10 accepts the original source")
def test_original_source_fails_on_this_python():
    with pytest.raises(ValueError, match="mutable default"):
        _run(BROKEN)


def test_unknown_version_fails_loudly():
    with pytest.raises(lc.LavaCompatError, match="lava-nc '9.9.9'"):
        lc.patch_source(BROKEN, version="9.9.9")


def test_already_fixed_source_is_left_alone():
    fixed = re.sub(r"=\s*ByteEncoder\(\)", "= field(default_factory=ByteEncoder)", BROKEN)
    assert lc.patch_source(fixed, version="9.9.9") == fixed


def test_installed_lava_is_patched_from_source_not_pyc():
    import lava.magma.compiler.var_model as vm

    if not lc.needs_fix():
        pytest.skip("Python < 3.11: no fix needed")
    assert isinstance(vm.__spec__.loader, lc._PatchingLoader)
    # pip compiled the unpatched module at install time; the import succeeded anyway, so the
    # loader did not use that .pyc.
    cached = Path(vm.__file__).parent / "__pycache__"
    assert any(p.name.startswith("var_model.") for p in cached.glob("*.pyc"))
    assert vm.CoreEncoder().x is not vm.CoreEncoder().x


@pytest.mark.skipif(not lc.pth_path().exists(),
                    reason="start-up hook not written in this environment (make writes it)")
def test_any_script_in_the_venv_imports_lava():
    # A fresh interpreter that never imports lava_llm itself.
    out = subprocess.run([sys.executable, "-c",
                          "from lava.proc.lif.process import LIF; print(LIF.__name__)"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "LIF"
