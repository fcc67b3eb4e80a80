"""Argument checks with clear messages, shared by every Process, engine and CLI command.

Each check names the argument and the allowed range, and returns the (converted) value, so
that callers write ``w = check_finite("weights", w)``.
"""
from __future__ import annotations

import json
import typing as ty
from pathlib import Path

import numpy as np


class ArgumentError(ValueError):
    """A ValueError about one named argument; ``argument`` is the library's parameter name
    (the command line maps it to its option, e.g. ``temperature`` -> ``--temperature``).
    Every check below raises it (or :class:`ArgumentTypeError`)."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument


class ArgumentTypeError(TypeError):
    """A TypeError about one named argument (see :class:`ArgumentError`)."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument


def as_array(name: str, value, dtype=None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(
            name, f"{name} must be array-like of numbers, got {type(value).__name__}") \
            from exc
    if arr.dtype == object:
        raise ArgumentTypeError(name, f"{name} must be a numeric array, got dtype=object")
    return arr


def check_finite(name: str, value) -> np.ndarray:
    """Raise if ``value`` holds NaN or inf."""
    arr = as_array(name, value)
    if np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ArgumentError(
                name, f"{name} must be finite; found {int(bad.sum())} NaN/inf value(s)")
    return arr


def check_ndim(name: str, value, ndim: int) -> np.ndarray:
    arr = as_array(name, value)
    if arr.ndim != ndim:
        raise ArgumentError(name, f"{name} must be {ndim}-D, got shape {arr.shape}")
    return arr


def check_shape(name: str, value, shape: ty.Sequence[int | None]) -> np.ndarray:
    """Raise unless ``value`` has ``shape`` (``None`` entries match any size)."""
    arr = as_array(name, value)
    ok = arr.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ArgumentError(name, f"{name} must have shape {want}, got {arr.shape}")
    return arr


def check_int_range(name: str, value, lo: int, hi: int) -> np.ndarray:
    """Raise unless every element is an integer in ``[lo, hi]``; return it as int64."""
    arr = check_finite(name, value)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ArgumentError(
                name, f"{name} must hold integers in [{lo}, {hi}], found non-integers")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < lo or arr.max() > hi):
        raise ArgumentError(name, f"{name} must lie in [{lo}, {hi}], found values in "
                         f"[{int(arr.min())}, {int(arr.max())}]")
    return arr


def check_ternary(name: str, value) -> np.ndarray:
    """Raise unless every element is -1, 0 or +1; return int8."""
    arr = check_finite(name, value)
    bad = ~np.isin(arr, (-1, 0, 1))
    if bad.any():
        raise ArgumentError(name, f"{name} must be ternary (every entry in {{-1, 0, +1}}); "
                         f"found {int(bad.sum())} other value(s), e.g. {arr[bad].flat[0]!r}")
    return arr.astype(np.int8)


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        rng = ">= 0" if allow_zero else "> 0"
        raise ArgumentError(name, f"{name} must be finite and {rng}, got {value!r}")
    return v


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(name, f"{name} must be an int, got {type(value).__name__}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ArgumentError(name, f"{name} must be in [{lo if lo is not None else '-inf'}, "
                         f"{hi if hi is not None else 'inf'}], got {v}")
    return v


def check_choice(name: str, value, choices: ty.Iterable) -> ty.Any:
    choices = list(choices)
    if value not in choices:
        raise ArgumentError(name, f"{name}={value!r} is not one of {choices}")
    return value


def read_json_object(path) -> dict:
    """Parse the JSON file ``path``, which must hold an object; a ValueError names the file
    when it is not valid JSON or not an object. (Callers check that it exists, with their own
    message about what the file is for.)"""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(raw).__name__}")
    return raw


def as_float(name: str, value) -> float:
    """``value`` as a float; an :class:`ArgumentTypeError` naming ``name`` for anything but a
    real number (bools and strings included), instead of ``float()``'s anonymous message."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                      np.floating)):
        raise ArgumentTypeError(name, f"{name} must be a number, got {type(value).__name__} "
                                f"{value!r}")
    return float(value)


def in_file(path, fn, *args, **kwargs):
    """Call ``fn``; a ValueError or TypeError it raises (a bad value read from ``path``) comes
    back as a ValueError whose message starts with the file's name."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        err = ArgumentError(getattr(exc, "argument", None) or str(path), f"{path}: {exc}")
        raise err from None


def check_calibration(calibration, path) -> dict | None:
    """A checkpoint's static calibration (``None`` or ``{"linears": {name: amax},
    "residual": amax, ...}``): every amax must be a finite number > 0 (a NaN or negative
    scale would silently degrade the integer model). Errors name ``path`` and the key."""
    if calibration is None:
        return None
    where = f"{path}: calibration"
    if not isinstance(calibration, dict):
        raise ArgumentError(str(path), f"{where} must be an object or null, got "
                            f"{type(calibration).__name__}")
    linears = calibration.get("linears")
    if not isinstance(linears, dict):
        raise ArgumentError(str(path), f"{where}.linears must be an object of "
                            "{linear name: max |input|}")
    items = [(f"linears[{k!r}]", v) for k, v in linears.items()]
    items.append(("residual", calibration.get("residual")))
    for key, value in items:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and np.isfinite(value) and value > 0)
        if not ok:
            raise ArgumentError(str(path), f"{where}.{key} must be a finite number > 0 "
                                f"(a max |activation|), got {value!r}")
    return calibration


def load_safetensors(path, framework: str = "numpy") -> dict:
    """``safetensors.<framework>.load_file`` (``"numpy"`` arrays, or ``"torch"`` CPU tensors),
    with a ValueError naming the file when it is empty, truncated or corrupt (instead of the
    library's own exception types)."""
    if framework == "torch":
        from safetensors.torch import load_file as _load

        def load_file(p):
            return _load(p, device="cpu")
    else:
        from safetensors.numpy import load_file

    path = Path(path)
    size = path.stat().st_size
    if size < 8:
        raise ArgumentError(str(path), f"{path} is not a safetensors file: {size} byte(s), "
                            "empty or truncated")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises SafetensorError and others
        raise ArgumentError(str(path), f"{path} is not a valid safetensors file (truncated or "
                            f"corrupt): {exc}") from None


def check_wav_complete(path) -> None:
    """Raise a ValueError naming ``path`` when a RIFF/WAVE file is truncated: its ``data``
    chunk declares more bytes than the file holds (libsndfile then reads the partial data
    without complaint). Files that are not RIFF/WAVE are left to the audio reader."""
    import struct

    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, length = struct.unpack("<4sI", f.read(8))
            if cid == b"data":
                have = size - pos - 8
                if length != 0xFFFFFFFF and length > have:
                    raise ArgumentError(str(path), f"{path} is truncated: its header declares "
                                        f"{length} bytes of audio data but only {have} are "
                                        "present")
                return
            pos += 8 + length + (length & 1)
    raise ArgumentError(str(path), f"{path} is truncated or not a wav file: no complete "
                        "'data' chunk")


def check_output_path(name: str, path, suffixes: ty.Sequence[str]) -> Path:
    """An output file path: its extension one of ``suffixes`` (e.g. ``(".wav",)``), its folder
    existing, not itself a folder. Checked before any work, so a bad path fails at once."""
    p = Path(path)
    if p.suffix.lower() not in [s.lower() for s in suffixes]:
        raise ArgumentError(name, f"{name} {str(p)!r} must end in {' or '.join(suffixes)} "
                            f"(got {p.suffix or 'no extension'!r})")
    if p.is_dir():
        raise ArgumentError(name, f"{name} {str(p)!r} is a folder, not a file")
    if not p.parent.exists():
        raise FileNotFoundError(f"{name}: output folder {str(p.parent)!r} does not exist")
    return p


#: Frames per Lava run call of the streaming denoiser: 65536 frames (~9 minutes of 8 kHz
#: audio at an 8 ms hop) bounds the source/sink buffers to tens of MB.
MAX_CHUNK_FRAMES = 1 << 16
