"""Import HF ``HGRNBitForCausalLM`` checkpoints (matmulfreellm) from a local folder.

A checkpoint folder holds ``config.json`` (matmulfreellm's ``HGRNBitConfig``: ``vocab_size``,
``hidden_size``, ``num_hidden_layers``, ``intermediate_size`` or ``hidden_ratio``,
``rms_norm_eps``, ``use_lower_bound``, ...) and the weights as one of

* ``model.safetensors``, or sharded ``model.safetensors.index.json`` + its shards;
* ``pytorch_model.bin``, or sharded ``pytorch_model.bin.index.json`` + its shards.

Nothing is fetched from a hub. The state dict uses the HF names (``model.embeddings.weight``,
``model.lower_bounds``, ``model.layers.{l}.attn.{i,f,g,o}_proj.weight`` and ``.norm.weight``,
``.attn.g_norm.weight``, ``.attn_norm.weight``, ``.mlp_norm.weight``,
``.mlp.{gate,down}_proj.weight`` / ``.norm.weight``, ``model.norm.weight``,
``lm_head.weight``, ``lm_head.norm.weight``).

Checkpoints store *latent* 16-bit weights. Each BitLinear weight is ternarised exactly once
here, with the shared quantiser :func:`lava_llm.fixed_point.ternary_absmean` in float64
(``alpha = mean|W|``, ``trits = clip(round(W / alpha), -1, 1)``); from then on the model
carries ``(trits, alpha)``. Quantising ``alpha * trits`` a second time would keep the trits but
shrink the scale to ``alpha * mean|trits|``: the importer never does that, and the test
(``tests/models/lm/test_hf_import.py``) would catch it against an independent reference.

Entry points: :func:`load_params` (-> :class:`~lava_llm.models.lm.params.LMParams`, which the
torch model, the engines and the Lava network take), :func:`load_torch` (the torch model),
:func:`convert` / ``python -m lava_llm.models.lm.hf_import SRC DST`` (a lava-llm checkpoint with
packed trits and a fixed-point calibration), :func:`read_checkpoint` (checked and ternarised,
library-neutral form).

Supported configurations: ``use_short_conv=False``, ``expand_ratio=1``, ``hidden_act`` swish
/ silu, no mixture of experts. ``num_heads`` is accepted for any value that divides the hidden
size (the recurrence is element-wise, heads only reshape it). ``use_lower_bound=False`` is
mapped exactly onto the lower-bound form (see :func:`lower_bound_logits_off`). Anything else
raises a ``ValueError`` that names the key.
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing as ty
from pathlib import Path

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm import validation as V

CONFIG_FILE = "config.json"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
ARCHITECTURE = "HGRNBitForCausalLM"
MODEL_TYPE = "hgrn_bit"
BITLINEAR_EPS = 1e-6
#: ``lower_bounds`` value that makes ``softmax`` weight exactly 0 in float64 (exp(-1e4) == 0).
_LB_OFF = -1.0e4

#: The BitLinear projections of one block, by HF name suffix.
BLOCK_PROJECTIONS = ("attn.i_proj", "attn.f_proj", "attn.g_proj", "attn.o_proj",
                     "mlp.gate_proj", "mlp.down_proj")
#: The plain RMSNorm gains of one block.
BLOCK_NORMS = ("attn_norm", "attn.g_norm", "mlp_norm")


@dataclasses.dataclass(frozen=True)
class HFConfig:
    """The parts of ``config.json`` that define the network (all validated)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    intermediate_size: int
    rms_norm_eps: float
    use_lower_bound: bool
    tie_word_embeddings: bool
    max_position_embeddings: int
    raw: dict = dataclasses.field(repr=False, compare=False, default_factory=dict)


@dataclasses.dataclass
class TernaryLinear:
    """A BitLinear after one ternarisation: ``y = scale * trits @ q8(RMSNorm(x) * norm)``."""

    trits: np.ndarray        # int8 (out, in), values in {-1, 0, 1}
    scale: float             # alpha = mean|W_latent|
    norm_weight: np.ndarray  # float64 (in,)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.trits.shape)


@dataclasses.dataclass
class HFImport:
    """A checkpoint after import: config, float tensors and ternarised projections.

    ``linears`` maps the HF module name (``model.layers.0.attn.i_proj``, ``lm_head``) to a
    :class:`TernaryLinear`; ``tensors`` holds the full-precision rest (embeddings, lower
    bounds, RMSNorm gains) as float64 by HF name.
    """

    config: HFConfig
    linears: dict[str, TernaryLinear]
    tensors: dict[str, np.ndarray]
    source: dict

    def lower_bounds(self) -> np.ndarray:
        """``lb = cumsum(softmax(lower_bounds, 0)) - softmax(...)[0]``, shape (L, H); layer
        0's row is 0 (the first layer has no lower bound)."""
        x = self.tensors["model.lower_bounds"]
        p = np.exp(x - x.max(axis=0, keepdims=True))
        p /= p.sum(axis=0, keepdims=True)
        return np.cumsum(p, axis=0) - p[0]


# --------------------------------------------------------------------------- config
def default_intermediate_size(hidden_size: int, hidden_ratio: float = 4) -> int:
    """matmulfreellm's default MLP width: ``256 * ceil(int(H * ratio * 2 / 3) / 256)``
    (``8H/3`` rounded up to a multiple of 256 for the default ratio 4)."""
    n = int(hidden_size * hidden_ratio * 2 / 3)
    return 256 * ((n + 255) // 256)


def _need(raw: dict, key: str, kind, path: Path, lo=None):
    if key not in raw or raw[key] is None:
        raise ValueError(f"{path}: config key {key!r} is missing (needed for an "
                         f"{ARCHITECTURE} checkpoint)")
    v = raw[key]
    if kind is int and (isinstance(v, bool) or not isinstance(v, int)):
        raise ValueError(f"{path}: config key {key!r} must be an int, got {v!r}")
    if kind is float and (isinstance(v, bool) or not isinstance(v, (int, float))
                          or not math.isfinite(v)):
        raise ValueError(f"{path}: config key {key!r} must be a finite number, got {v!r}")
    if lo is not None and v < lo:
        raise ValueError(f"{path}: config key {key!r} must be >= {lo}, got {v!r}")
    return kind(v)


def read_config(folder) -> HFConfig:
    """Read and validate ``folder/config.json``.

    Raises
    ------
    FileNotFoundError
        If the folder or its ``config.json`` is missing.
    ValueError
        For another architecture, a missing/ill-typed key, or an option this importer does not
        support (named in the message).
    """
    folder = _folder(folder)
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: an {ARCHITECTURE} checkpoint folder needs "
                                f"{CONFIG_FILE} next to its weights")
    raw = V.read_json_object(path)
    archs = raw.get("architectures") or []
    if raw.get("model_type") != MODEL_TYPE and ARCHITECTURE not in archs:
        raise ValueError(f"{path}: model_type={raw.get('model_type')!r}, "
                         f"architectures={archs!r}; expected model_type={MODEL_TYPE!r} "
                         f"({ARCHITECTURE})")
    unsupported = []
    if raw.get("use_short_conv", False):
        unsupported.append("use_short_conv=true (short convolutions are not implemented)")
    if raw.get("expand_ratio", 1) not in (1, None):
        unsupported.append(f"expand_ratio={raw['expand_ratio']!r} (only 1)")
    if raw.get("hidden_act", "swish") not in ("swish", "silu"):
        unsupported.append(f"hidden_act={raw['hidden_act']!r} (only 'swish'/'silu')")
    if raw.get("use_moe", False):
        unsupported.append("use_moe=true (mixture of experts)")
    if unsupported:
        raise ValueError(f"{path}: unsupported {ARCHITECTURE} option(s): "
                         + "; ".join(unsupported))
    vocab = _need(raw, "vocab_size", int, path, 1)
    hidden = _need(raw, "hidden_size", int, path, 1)
    layers = _need(raw, "num_hidden_layers", int, path, 1)
    heads = raw.get("num_heads") or 1
    if not isinstance(heads, int) or heads < 1 or hidden % heads:
        raise ValueError(f"{path}: num_heads={heads!r} must be a positive int dividing "
                         f"hidden_size={hidden}")
    if raw.get("intermediate_size") is not None:
        inter = _need(raw, "intermediate_size", int, path, 1)
    else:
        ratio = raw.get("hidden_ratio") or 4
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or ratio <= 0:
            raise ValueError(f"{path}: hidden_ratio={ratio!r} must be a positive number")
        inter = default_intermediate_size(hidden, ratio)
    eps = _need(raw, "rms_norm_eps", float, path) if "rms_norm_eps" in raw else 1e-6
    if not eps > 0:
        raise ValueError(f"{path}: rms_norm_eps={eps!r} must be > 0")
    max_pos = raw.get("max_position_embeddings") or 2048
    return HFConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                    intermediate_size=inter, rms_norm_eps=eps,
                    use_lower_bound=bool(raw.get("use_lower_bound", True)),
                    tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
                    max_position_embeddings=int(max_pos), raw=raw)


def expected_shapes(cfg: HFConfig) -> dict[str, tuple[int, ...]]:
    """Every state-dict name of the configuration and its shape."""
    V, H, L, inter = (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers,
                      cfg.intermediate_size)
    shapes = {"model.embeddings.weight": (V, H)}
    if cfg.use_lower_bound:
        shapes["model.lower_bounds"] = (L, H)
    for layer in range(L):
        pre = f"model.layers.{layer}."
        for norm in BLOCK_NORMS:
            shapes[pre + norm + ".weight"] = (H,)
        for p in ("i", "f", "g", "o"):
            shapes[f"{pre}attn.{p}_proj.weight"] = (H, H)
            shapes[f"{pre}attn.{p}_proj.norm.weight"] = (H,)
        shapes[pre + "mlp.gate_proj.weight"] = (2 * inter, H)
        shapes[pre + "mlp.gate_proj.norm.weight"] = (H,)
        shapes[pre + "mlp.down_proj.weight"] = (H, inter)
        shapes[pre + "mlp.down_proj.norm.weight"] = (inter,)
    shapes["model.norm.weight"] = (H,)
    shapes["lm_head.weight"] = (V, H)
    shapes["lm_head.norm.weight"] = (H,)
    return shapes


# --------------------------------------------------------------------------- weights
def _folder(folder) -> Path:
    path = Path(folder)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint folder {path} does not exist")
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint path {path} is not a folder (expected a folder "
                                f"with {CONFIG_FILE} and {' or '.join(WEIGHT_FILES)})")
    return path


def weight_files(folder) -> list[Path]:
    """The weight files to read, in the order of preference of :data:`WEIGHT_FILES`
    (safetensors before pickled torch). Raises FileNotFoundError when none is there, or when a
    shard named by an index file is missing."""
    folder = _folder(folder)
    for name in WEIGHT_FILES:
        path = folder / name
        if not path.is_file():
            continue
        if not name.endswith(".index.json"):
            return [path]
        try:
            index = json.loads(path.read_text())
            shards = sorted(set(index["weight_map"].values()))
        except (json.JSONDecodeError, KeyError, AttributeError, TypeError):
            raise ValueError(f"{path} is not a valid shard index (needs a 'weight_map' "
                             f"object of name -> file)") from None
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise FileNotFoundError(f"{path} names shard(s) that are missing: "
                                    f"{', '.join(missing)}")
        return [folder / s for s in shards]
    present = sorted(p.name for p in folder.iterdir())
    raise FileNotFoundError(f"no weights in {folder}: expected one of {', '.join(WEIGHT_FILES)}"
                            f" (found: {', '.join(present) or 'nothing'})")


def _read_one(path: Path) -> dict:
    import torch

    if path.suffix == ".safetensors":
        sd = V.load_safetensors(path, "torch")  # a broken file: a ValueError naming it
    else:
        try:
            sd = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle/zip errors of many kinds
            raise ValueError(f"{path} could not be read as a torch state dict "
                             f"(weights_only=True): {exc}") from None
        if not isinstance(sd, dict):
            raise ValueError(f"{path} holds a {type(sd).__name__}, not a state dict")
    out = {}
    for name, t in sd.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{path}: entry {name!r} is a {type(t).__name__}, not a tensor")
        if not t.is_floating_point():
            raise ValueError(f"{path}: {name} has dtype {t.dtype}; latent weights must be "
                             f"floating point (float16/bfloat16/float32)")
        # bf16/fp16 -> float64 is exact: the latent weights are used as stored.
        out[name] = t.detach().to(torch.float64).numpy()
    return out


def load_tensors(folder) -> tuple[dict[str, np.ndarray], list[Path]]:
    """All tensors of the checkpoint as float64 numpy arrays, and the files read."""
    files = weight_files(folder)
    tensors: dict[str, np.ndarray] = {}
    for path in files:
        part = _read_one(path)
        dup = sorted(set(part) & set(tensors))
        if dup:
            raise ValueError(f"{path}: tensor(s) {', '.join(dup[:5])} appear in two shards")
        tensors.update(part)
    return tensors, files


def check_tensors(tensors: dict[str, np.ndarray], cfg: HFConfig, where: str = "checkpoint"
                  ) -> None:
    """Raise ValueError listing missing keys, unexpected keys, shape mismatches against the
    config and non-finite values (each list shortened to its first 8 entries)."""
    want = expected_shapes(cfg)
    missing = [k for k in want if k not in tensors]
    if cfg.tie_word_embeddings and missing == ["lm_head.weight"]:
        missing = []
    unexpected = [k for k in tensors if k not in want]
    wrong = [f"{k}: {tuple(tensors[k].shape)} (config needs {want[k]})"
             for k in want if k in tensors and tuple(tensors[k].shape) != want[k]]
    bad = [k for k in want if k in tensors and not np.all(np.isfinite(tensors[k]))]
    problems = []

    def listing(title, items):
        more = f" ... and {len(items) - 8} more" if len(items) > 8 else ""
        problems.append(f"{title} ({len(items)}): " + "; ".join(items[:8]) + more)

    if missing:
        listing("missing keys", missing)
    if unexpected:
        listing("unexpected keys", unexpected)
    if wrong:
        listing("shape mismatches", wrong)
    if bad:
        listing("non-finite values in", bad)
    if problems:
        c = cfg
        raise ValueError(f"{where} does not match its config (vocab_size={c.vocab_size}, "
                         f"hidden_size={c.hidden_size}, num_hidden_layers={c.num_hidden_layers},"
                         f" intermediate_size={c.intermediate_size}): " + " | ".join(problems))


def lower_bound_logits_off(num_layers: int, hidden: int) -> np.ndarray:
    """``lower_bounds`` that give ``lb = 0`` in every layer, i.e. no lower bound: row 0 is 0
    and the others ``-1e4`` (``softmax`` over layers is then exactly ``[1, 0, ..., 0]`` in
    float64, so ``cumsum - p[0]`` is exactly 0). Used for ``use_lower_bound=false``."""
    x = np.full((num_layers, hidden), _LB_OFF)
    x[0] = 0.0
    return x


def ternarise(weight: np.ndarray, norm_weight: np.ndarray) -> TernaryLinear:
    """One BitLinear's latent weight -> trits and scale (the one and only quantisation)."""
    w = np.asarray(weight, dtype=np.float64)
    trits, alpha = fp.ternary_absmean(w)
    return TernaryLinear(trits=trits.astype(np.int8), scale=float(alpha),
                         norm_weight=np.asarray(norm_weight, dtype=np.float64))


def linear_names(cfg: HFConfig) -> list[str]:
    """HF module names of every BitLinear, in network order."""
    names = [f"model.layers.{layer}.{p}" for layer in range(cfg.num_hidden_layers)
             for p in BLOCK_PROJECTIONS]
    return names + ["lm_head"]


def read_checkpoint(folder) -> HFImport:
    """Read, check and ternarise an HF ``HGRNBitForCausalLM`` checkpoint folder.

    Raises
    ------
    FileNotFoundError
        Missing folder, ``config.json``, weights or shards.
    ValueError
        Unsupported config, or tensors whose keys/shapes do not match the config, or
        non-finite values.
    """
    cfg = read_config(folder)
    tensors, files = load_tensors(folder)
    check_tensors(tensors, cfg, where=f"weights in {Path(folder)}")
    if cfg.tie_word_embeddings and "lm_head.weight" not in tensors:
        tensors["lm_head.weight"] = tensors["model.embeddings.weight"]
    if not cfg.use_lower_bound:
        tensors["model.lower_bounds"] = lower_bound_logits_off(cfg.num_hidden_layers,
                                                               cfg.hidden_size)
    linears = {name: ternarise(tensors.pop(name + ".weight"),
                               tensors.pop(name + ".norm.weight"))
               for name in linear_names(cfg)}
    source = {"folder": str(Path(folder)), "files": [p.name for p in files],
              "architecture": ARCHITECTURE}
    return HFImport(config=cfg, linears=linears, tensors=tensors, source=source)


def is_hf_checkpoint(folder) -> bool:
    """Whether ``folder`` looks like an HF HGRNBit checkpoint (``config.json`` naming the
    architecture or model type). Never raises."""
    try:
        raw = json.loads((Path(folder) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(raw, dict) and (raw.get("model_type") == MODEL_TYPE
                                      or ARCHITECTURE in (raw.get("architectures") or []))


def import_summary(imp: HFImport) -> dict:
    """Counts for reports: parameters, trits, bytes packed vs fp16."""
    n_trits = sum(lin.trits.size for lin in imp.linears.values())
    n_float = sum(t.size for t in imp.tensors.values()) + sum(
        lin.norm_weight.size for lin in imp.linears.values())
    return {"ternary_weights": int(n_trits), "float_params": int(n_float),
            "bytes_packed_trits": int(sum((lin.trits.size + 3) // 4
                                          for lin in imp.linears.values())),
            "bytes_fp16_all": int(2 * (n_trits + n_float))}


__all__: ty.List[str] = [
    "HFConfig", "HFImport", "TernaryLinear", "read_config", "expected_shapes", "weight_files",
    "load_tensors", "check_tensors", "ternarise", "read_checkpoint", "is_hf_checkpoint",
    "default_intermediate_size", "lower_bound_logits_off", "linear_names", "import_summary",
]


# --------------------------------------------------------------------------- into the library
def load_params(folder):
    """An HF checkpoint folder -> :class:`lava_llm.models.lm.params.LMParams` (the exchange
    format of every backend: torch model, integer engine, Lava network).

    Raises ValueError where the checkpoint's ``rms_norm_eps`` differs from the BitLinear
    epsilon (1e-6): the library's models use one epsilon for every norm, and a silent mismatch
    would change the logits.
    """
    from lava_llm.models.lm.params import from_hf_import

    imp = read_checkpoint(folder)
    if imp.config.rms_norm_eps != BITLINEAR_EPS:
        raise ValueError(f"{Path(folder) / CONFIG_FILE}: rms_norm_eps="
                         f"{imp.config.rms_norm_eps!r} is not supported: the library uses one "
                         f"epsilon ({BITLINEAR_EPS}) for the block norms and the BitLinear "
                         f"norms")
    return from_hf_import(imp)


def load_torch(folder, dtype=None):
    """An HF checkpoint folder -> the library's torch
    :class:`~lava_llm.training.hgrn.HGRNBitForCausalLM` with frozen ternary BitLinears
    (``alpha * trits`` as imported; never re-quantised). ``dtype`` defaults to float64."""
    import torch

    from lava_llm.training.hgrn import HGRNBitForCausalLM

    return HGRNBitForCausalLM.from_params(load_params(folder), dtype=dtype or torch.float64)


__all__ += ["load_params", "load_torch"]


def convert(src, dst, calibration_ids=None, seed: int = 0):
    """Import the HF checkpoint ``src`` and save it as a lava-llm LM checkpoint in ``dst``
    (packed trits, :func:`lava_llm.models.lm.checkpoint.save_checkpoint`), with the static
    fixed-point scales the integer backends need.

    ``calibration_ids``: token ids (1-D or (B, T)) to calibrate on. HF checkpoints come
    without our tokenizer, so by default the calibration runs on 4 x 256 seeded uniformly
    random token ids; that is recorded in the checkpoint's ``meta`` (calibrate on real text
    for good fixed-point accuracy). Returns ``dst`` as a Path.
    """
    from lava_llm.models.lm.checkpoint import save_checkpoint
    from lava_llm.models.lm.export import calibrate

    params = load_params(src)
    if calibration_ids is None:
        rng = np.random.default_rng(seed)
        calibration_ids = rng.integers(0, params.config.vocab_size, (4, 256))
        calib_src = f"4x256 uniformly random token ids (seed {seed})"
    else:
        calib_src = f"{np.asarray(calibration_ids).size} given token ids"
    ids = V.check_int_range("calibration_ids", calibration_ids, 0,
                            params.config.vocab_size - 1)
    calib = calibrate(params, ids)
    meta = {"source": "hf_import", "hf_folder": str(Path(src).resolve()),
            "calibration_data": calib_src}
    return save_checkpoint(dst, params, tokenizer=None, calibration=calib, meta=meta)


def main(argv=None) -> int:
    """``python -m lava_llm.models.lm.hf_import SRC DST``: check, ternarise and convert."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m lava_llm.models.lm.hf_import",
                                 description="Import a local HF HGRNBitForCausalLM checkpoint "
                                             "folder into a lava-llm LM checkpoint.")
    ap.add_argument("src", help="folder with config.json and model.safetensors / "
                                "pytorch_model.bin (or a sharded index)")
    ap.add_argument("dst", help="output folder (lava-llm checkpoint)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the calibration token ids")
    args = ap.parse_args(argv)
    try:
        imp = read_checkpoint(args.src)
        out = convert(args.src, args.dst, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"hf_import: error: {exc}")
        return 2
    print(json.dumps({"written": str(out), **import_summary(imp)}))
    return 0


__all__ += ["convert", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
