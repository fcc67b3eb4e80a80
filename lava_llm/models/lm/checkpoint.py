"""Checkpoint folders of the LM.

Layout (``save_checkpoint``)::

    DIR/config.json          {"format": "lava-llm-lm", "version": 1, "config": LMConfig,
                              "tokenizer": {"type": "char", "chars": "..."},
                              "calibration": {...} or null, "meta": {...}}
    DIR/model.safetensors    per BitLinear NAME (HF names): NAME.weight.packed (uint8, trits
                             packed 2 bits each by fixed_point.pack_trits), NAME.weight.scale
                             (float64, alpha), NAME.norm.weight (float32); the full-precision
                             tensors under their HF names (float32)

Trits are stored once ternarised; loading never re-quantises. Loading reads one tensor at a
time and converts the stored trits straight into the compiled kernel's packed layout
(:class:`~lava_llm.processes.ternary_dense.kernels.PackedTernary`, 2 bits a weight); the
embedding stays float32 as stored. ``load_checkpoint`` raises
FileNotFoundError for a missing folder/file and ValueError (naming the keys) for keys or shapes
that do not match the config.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm import validation as V
from lava_llm.models.lm.config import LMConfig
from lava_llm.models.lm.params import LMParams, TernaryLinear
from lava_llm.models.lm.tokenizer import CharTokenizer
from lava_llm.processes.ternary_dense import kernels as td

FORMAT = "lava-llm-lm"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
EMBEDDING = "model.embeddings.weight"
#: The shipped demo checkpoint (trained by ``scripts/train_lm.py``).
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "lm_shakespeare"


@dataclasses.dataclass
class Checkpoint:
    params: LMParams
    tokenizer: CharTokenizer | None
    calibration: dict | None
    meta: dict


def save_checkpoint(folder, params: LMParams, tokenizer: CharTokenizer | None = None,
                    calibration: dict | None = None, meta: dict | None = None) -> Path:
    from safetensors.numpy import save_file

    params.check()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, lin in params.linears.items():
        arrays[name + ".weight.packed"] = fp.pack_trits(lin.trits)
        arrays[name + ".weight.scale"] = np.array([float(lin.scale)], np.float64)
        arrays[name + ".norm.weight"] = np.asarray(lin.norm_weight, np.float32)
    for name, t in params.tensors.items():
        arrays[name] = np.asarray(t, np.float32)
    save_file(arrays, str(folder / WEIGHTS_FILE))
    cfg = {"format": FORMAT, "version": 1, "config": params.config.to_dict(),
           "tokenizer": None if tokenizer is None else {"type": "char",
                                                        "chars": "".join(tokenizer.chars)},
           "calibration": calibration, "meta": meta or {}}
    (folder / CONFIG_FILE).write_text(json.dumps(cfg, indent=1) + "\n")
    return folder


def _open_weights(wpath: Path, safe_open):
    """``safe_open`` on the weights, with a ValueError naming the file when it is empty,
    truncated or corrupt (the messages of :func:`lava_llm.validation.load_safetensors`)."""
    size = wpath.stat().st_size
    if size < 8:
        raise V.ArgumentError(str(wpath), f"{wpath} is not a safetensors file: {size} byte(s), "
                              "empty or truncated")
    try:
        return safe_open(str(wpath), framework="numpy")
    except Exception as exc:  # safetensors raises SafetensorError and others
        raise V.ArgumentError(str(wpath), f"{wpath} is not a valid safetensors file (truncated "
                              f"or corrupt): {exc}") from None


def load_checkpoint(folder=None) -> Checkpoint:
    """Load a checkpoint folder (default: the shipped :data:`DEFAULT_CHECKPOINT`)."""
    from safetensors import safe_open

    folder = Path(DEFAULT_CHECKPOINT if folder is None else folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"checkpoint folder {folder} does not exist")
    cpath, wpath = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for p in (cpath, wpath):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: a lava-llm LM checkpoint needs "
                                    f"{CONFIG_FILE} and {WEIGHTS_FILE}")
    raw = V.read_json_object(cpath)
    if raw.get("format") != FORMAT:
        raise ValueError(f"{cpath}: not a {FORMAT} checkpoint (format={raw.get('format')!r}); "
                         f"HF HGRNBit folders load with lava_llm.models.lm.hf_import")
    cfg = V.in_file(cpath, LMConfig.from_dict, raw.get("config"))
    linears, tensors, problems = {}, {}, []
    used = set()
    with _open_weights(wpath, safe_open) as f:   # one tensor at a time
        keys = set(f.keys())
        for name, shape in cfg.linear_shapes().items():
            names = [name + ".weight.packed", name + ".weight.scale", name + ".norm.weight"]
            absent = [k for k in names if k not in keys]
            if absent:
                problems += [f"missing key {k}" for k in absent]
                continue
            used.update(names)
            try:
                trits = td.PackedTernary.from_packed(f.get_tensor(names[0]), shape)
            except ValueError as exc:
                problems.append(f"{name}.weight: {exc}")
                continue
            linears[name] = TernaryLinear(trits, float(f.get_tensor(names[1]).ravel()[0]),
                                          f.get_tensor(names[2]).astype(np.float64))
        for name in cfg.tensor_shapes():
            if name not in keys:
                problems.append(f"missing key {name}")
                continue
            used.add(name)
            t = f.get_tensor(name)
            # the embedding stays float32 as stored (exact; widened where float64 is needed)
            tensors[name] = t if name == EMBEDDING else t.astype(np.float64)
    problems += [f"unexpected key {k}" for k in sorted(keys - used)]
    if problems:
        raise ValueError(f"{wpath} does not match its config ({cfg}): "
                         + "; ".join(problems[:10]))
    params = LMParams(cfg, linears, tensors).check(f"weights in {wpath}")
    tok = raw.get("tokenizer")
    tokenizer = CharTokenizer(tok["chars"]) if tok else None
    if tokenizer is not None and tokenizer.vocab_size != cfg.vocab_size:
        raise ValueError(f"{cpath}: tokenizer has {tokenizer.vocab_size} characters but "
                         f"vocab_size={cfg.vocab_size}")
    calibration = V.check_calibration(raw.get("calibration"), cpath)
    return Checkpoint(params, tokenizer, calibration, raw.get("meta") or {})
