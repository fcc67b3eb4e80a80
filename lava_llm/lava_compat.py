"""Make lava-nc 0.10.0 import on Python 3.11.

The problem
-----------
``lava/magma/compiler/var_model.py`` (lava-nc 0.10.0, upstream unfixed) declares dataclass
fields such as ``x: ByteEncoder = ByteEncoder()``. Python 3.11's ``dataclasses`` rejects a
mutable (unhashable) default, so *every* ``import lava...`` that reaches the compiler fails
with ``ValueError: mutable default ... use default_factory``.

The fix
-------
A meta-path finder intercepts exactly that one module and compiles a patched copy of its
source in which each ``= ByteEncoder()`` default becomes
``= dataclasses.field(default_factory=ByteEncoder)``: the same value, built per instance.
Nothing in lava is vendored or rewritten on disk.

* The patched code is compiled from source on every import: the loader overrides
  ``get_code`` and so never reads the ``.pyc`` that pip compiled at install time (which
  holds the unpatched code and would make a source rewrite silently do nothing).
* Where lava already imports (Python < 3.11, or a lava release that fixed the file) the
  finder steps aside: it is a no-op.
* On a lava-nc version other than the ones listed in ``KNOWN_VERSIONS`` whose source still
  has the problem, the import fails loudly with :class:`LavaCompatError` instead of being
  patched blindly. Likewise if a known version's source does not hold exactly the expected
  number of offending defaults.

Activation
----------
``make`` (through :func:`write_pth`, also ``lava-llm compat install``) writes ``lava_llm_compat.pth`` into
the environment's site-packages; Python runs it at start-up, so *any* script in the venv
(``python -c "from lava.proc.lif.process import LIF"``) gets the fix without importing
``lava_llm`` first. ``import lava_llm`` also installs it, for environments set up by hand.
``lava-llm compat uninstall`` removes the ``.pth`` file.

``lava-llm compat install`` also installs the pinned lava-nc and lava-dl releases
(:data:`LAVA_PINS`) where they are missing, with ``pip install --no-deps
--ignore-requires-python`` (:func:`install_lava`): they declare Python < 3.11 and lava-dl pins
torch < 2.4, so pip would refuse them or downgrade torch. Their dependencies come from the
``lava`` extra (``pip install -e ".[lava]"``).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import sys
import sysconfig
from pathlib import Path

TARGET_MODULE = "lava.magma.compiler.var_model"
#: lava-nc releases whose ``var_model.py`` this fix was checked against, with the number of
#: ``= ByteEncoder()`` defaults each holds.
KNOWN_VERSIONS = {"0.10.0": 8}
PTH_NAME = "lava_llm_compat.pth"
PTH_LINE = "import lava_llm.lava_compat as _llc; _llc.install()\n"

_PATTERN = re.compile(r"(:\s*ByteEncoder\s*)=\s*ByteEncoder\(\)")
_REPLACEMENT = r'\1= __import__("dataclasses").field(default_factory=ByteEncoder)'


class LavaCompatError(ImportError):
    """Raised when the installed lava-nc needs a fix this module does not know."""


def needs_fix() -> bool:
    """True where ``dataclasses`` rejects mutable defaults (Python >= 3.11)."""
    return sys.version_info >= (3, 11)


def lava_version(dist: str = "lava-nc") -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


#: The Lava releases lava-llm is built and tested against.
LAVA_PINS = {"lava-nc": "0.10.0", "lava-dl": "0.6.0"}


def install_lava(pip_args: tuple[str, ...] = ()) -> list[str]:
    """pip-install the :data:`LAVA_PINS` not installed at their pinned version, into this
    interpreter, without dependencies and ignoring their Requires-Python; returns the
    requirements installed (empty when nothing was missing). Raises RuntimeError when pip
    fails (its output is shown)."""
    import subprocess

    missing = [f"{d}=={v}" for d, v in LAVA_PINS.items() if lava_version(d) != v]
    if missing:
        cmd = [sys.executable, "-m", "pip", "install", "--no-deps",
               "--ignore-requires-python", *pip_args, *missing]
        if subprocess.run(cmd).returncode != 0:
            raise RuntimeError(f"'{' '.join(cmd)}' failed (see pip's output above)")
    return missing


def patch_source(source: str, version: str | None) -> str:
    """Return ``source`` with the mutable dataclass defaults replaced.

    Raises
    ------
    LavaCompatError
        If the source still has the problem but ``version`` is not in ``KNOWN_VERSIONS``,
        or if the number of offending defaults differs from the one checked for it.
    """
    found = len(_PATTERN.findall(source))
    if found == 0:
        return source  # already fixed upstream: nothing to do
    if version not in KNOWN_VERSIONS:
        raise LavaCompatError(
            f"lava-nc {version!r} has mutable dataclass defaults in {TARGET_MODULE} that fail "
            f"on Python {sys.version_info.major}.{sys.version_info.minor}, and lava_llm's "
            f"compatibility fix was only checked for lava-nc {sorted(KNOWN_VERSIONS)}. "
            "Install lava-nc==0.10.0 (see README) or use Python 3.10.")
    expected = KNOWN_VERSIONS[version]
    if found != expected:
        raise LavaCompatError(
            f"lava-nc {version}: expected {expected} 'ByteEncoder()' defaults in "
            f"{TARGET_MODULE}, found {found}; the installed file differs from the release "
            "this fix was checked against.")
    return _PATTERN.sub(_REPLACEMENT, source)


class _PatchingLoader(importlib.machinery.SourceFileLoader):
    """Source loader that compiles the patched source and never uses the cached .pyc."""

    def get_code(self, fullname):
        source = self.get_data(self.path).decode("utf-8")
        patched = patch_source(source, lava_version())
        return compile(patched, self.path, "exec", dont_inherit=True, optimize=-1)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _PatchingLoader(fullname, spec.origin)
        return spec


def is_installed() -> bool:
    return any(isinstance(f, _Finder) for f in sys.meta_path)


def install() -> None:
    """Put the finder in front of ``sys.meta_path`` (idempotent; no-op below Python 3.11)."""
    if needs_fix() and not is_installed():
        sys.meta_path.insert(0, _Finder())


def pth_path() -> Path:
    return Path(sysconfig.get_paths()["purelib"]) / PTH_NAME


def write_pth() -> Path:
    """Write the start-up hook into this interpreter's site-packages."""
    path = pth_path()
    path.write_text(PTH_LINE)
    return path


def remove_pth() -> None:
    pth_path().unlink(missing_ok=True)


def status() -> dict:
    return {"python": sys.version.split()[0], "lava_nc": lava_version(),
            "lava_dl": lava_version("lava-dl"),
            "fix_needed": needs_fix(), "startup_hook": str(pth_path()) if pth_path().exists()
            else None}
