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

Memory: tensors are streamed one at a time (:class:`WeightReader`: safetensors read straight
into numpy, bf16 widened exactly without torch; ``.bin`` through ``torch.load(mmap=True)``),
each BitLinear weight is ternarised on its own and kept as packed trits; the whole model is
never held in float64 (converting the 370M configuration peaks at ~1.4 GB RSS here).

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


#: safetensors dtype names -> (numpy dtype of the stored bytes, floating point?)
_ST_DTYPES = {"BF16": ("<u2", True), "F16": ("<f2", True), "F32": ("<f4", True),
              "F64": ("<f8", True), "I8": ("i1", False), "U8": ("u1", False),
              "I16": ("<i2", False), "I32": ("<i4", False), "I64": ("<i8", False),
              "BOOL": ("?", False)}


def read_safetensors_header(path) -> tuple[dict, int]:
    """The header of a ``.safetensors`` file: ``({name: (dtype, shape, (begin, end))}, data
    start)``, checked against the file size. The format: an 8-byte little-endian header
    length ``N``, ``N`` bytes of JSON (name -> ``{"dtype", "shape", "data_offsets"}``, plus an
    optional ``"__metadata__"``), then the raw little-endian tensor bytes. Raises ValueError
    naming the file for anything malformed."""
    path = Path(path)
    size = path.stat().st_size
    if size < 8:
        raise V.ArgumentError(str(path), f"{path} is not a safetensors file: {size} byte(s), "
                              "empty or truncated")
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if size < 8 or n <= 0 or 8 + n > size:
                raise ValueError(f"header length {n} does not fit the file ({size} bytes)")
            raw = json.loads(f.read(n))
        if not isinstance(raw, dict):
            raise ValueError("the header is not a JSON object")
        entries = {}
        for name, e in raw.items():
            if name == "__metadata__":
                continue
            dt, shape, (b0, b1) = e["dtype"], tuple(int(d) for d in e["shape"]), \
                e["data_offsets"]
            if dt not in _ST_DTYPES:
                raise ValueError(f"{name}: unsupported dtype {dt!r}")
            want = int(np.prod(shape, dtype=np.int64)) * np.dtype(_ST_DTYPES[dt][0]).itemsize
            if not (0 <= b0 <= b1 and 8 + n + b1 <= size and b1 - b0 == want):
                raise ValueError(f"{name}: data_offsets {[b0, b1]} do not match its shape "
                                 f"{list(shape)} and dtype {dt} within the file")
            entries[name] = (dt, shape, (int(b0), int(b1)))
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise V.ArgumentError(str(path), f"{path} is not a valid safetensors file (truncated or "
                              f"corrupt): {exc}") from None
    return entries, 8 + n


class WeightReader:
    """The tensors of an HF checkpoint, read one at a time (``with WeightReader(files) as r``).

    ``shapes`` (name -> shape) and ``dtypes`` come from the file headers without reading
    data; :meth:`get` reads one tensor. safetensors files are read tensor by tensor straight
    from the file into numpy (:func:`read_safetensors_header` gives the offsets; bf16 is
    widened exactly by a 16-bit shift), so neither torch nor a memory map of the whole file
    is needed; ``.bin`` files are loaded with ``torch.load(mmap=True, weights_only=True)``
    (data paged in on access).
    """

    def __init__(self, files):
        self.files = [Path(f) for f in files]
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.dtypes: dict[str, str] = {}
        self._where: dict[str, tuple[Path, ty.Any]] = {}
        for path in self.files:
            if path.suffix == ".safetensors":
                header, start = read_safetensors_header(path)
                entries = {k: (shape, dt) for k, (dt, shape, _) in header.items()}
                srcs = {k: (start + off[0], dt) for k, (dt, _, off) in header.items()}
            else:
                import torch

                try:
                    sd = torch.load(str(path), map_location="cpu", weights_only=True,
                                    mmap=True)
                except Exception as exc:  # pickle/zip errors of many kinds
                    raise ValueError(f"{path} could not be read as a torch state dict "
                                     f"(weights_only=True): {exc}") from None
                if not isinstance(sd, dict):
                    raise ValueError(f"{path} holds a {type(sd).__name__}, not a state dict")
                entries = {}
                for k, t in sd.items():
                    if not isinstance(t, torch.Tensor):
                        raise ValueError(f"{path}: entry {k!r} is a {type(t).__name__}, not a "
                                         f"tensor")
                    entries[k] = (tuple(t.shape), str(t.dtype))
                srcs = {k: sd for k in sd}
            dup = sorted(set(entries) & set(self.shapes))
            if dup:
                raise ValueError(f"{path}: tensor(s) {', '.join(dup[:5])} appear in two shards")
            for k, (shape, dtype) in entries.items():
                self.shapes[k], self.dtypes[k] = shape, dtype
                self._where[k] = (path, srcs[k])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._where.clear()  # drops the mmap-backed .bin state dicts

    def get(self, name: str, dtype=np.float64) -> np.ndarray:
        """One tensor as a numpy array of ``dtype`` (bf16/fp16 -> float32/float64 is exact).
        Raises ValueError for a non-floating tensor."""
        path, src = self._where[name]
        if isinstance(src, tuple):                  # safetensors: (byte offset, dtype)
            offset, dt = src
            store, floating = _ST_DTYPES[dt]
            if not floating:
                raise ValueError(f"{path}: {name} has dtype {dt}; latent weights must be "
                                 f"floating point (float16/bfloat16/float32)")
            shape = self.shapes[name]
            count = int(np.prod(shape, dtype=np.int64))
            a = np.fromfile(path, dtype=store, count=count, offset=offset).reshape(shape)
            if dt == "BF16":   # bf16 is the top half of a float32: exact
                a = (a.astype(np.uint32) << 16).view(np.float32)
            return a.astype(dtype, copy=False)
        t = src[name]
        if not t.is_floating_point():
            raise ValueError(f"{path}: {name} has dtype {t.dtype}; latent weights must be "
                             f"floating point (float16/bfloat16/float32)")
        import torch

        tdtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
        return t.detach().to(tdtype).numpy()


def load_tensors(folder) -> tuple[dict[str, np.ndarray], list[Path]]:
    """All tensors of the checkpoint as float64 numpy arrays, and the files read (the whole
    model in float64: for small checkpoints and tests; the importer itself streams)."""
    files = weight_files(folder)
    with WeightReader(files) as r:
        return {k: r.get(k) for k in r.shapes}, files


def _check_names(shapes: dict, cfg: HFConfig) -> list[str]:
    want = expected_shapes(cfg)
    missing = [k for k in want if k not in shapes]
    if cfg.tie_word_embeddings and missing == ["lm_head.weight"]:
        missing = []
    unexpected = [k for k in shapes if k not in want]
    wrong = [f"{k}: {tuple(shapes[k])} (config needs {want[k]})"
             for k in want if k in shapes and tuple(shapes[k]) != want[k]]
    problems = []
    for title, items in (("missing keys", missing), ("unexpected keys", unexpected),
                         ("shape mismatches", wrong)):
        if items:
            problems.append(_listing(title, items))
    return problems


def _listing(title, items):
    more = f" ... and {len(items) - 8} more" if len(items) > 8 else ""
    return f"{title} ({len(items)}): " + "; ".join(items[:8]) + more


def _raise_problems(problems, cfg: HFConfig, where: str):
    if problems:
        c = cfg
        raise ValueError(f"{where} does not match its config (vocab_size={c.vocab_size}, "
                         f"hidden_size={c.hidden_size}, num_hidden_layers={c.num_hidden_layers},"
                         f" intermediate_size={c.intermediate_size}): " + " | ".join(problems))


def check_tensors(tensors: dict[str, np.ndarray], cfg: HFConfig, where: str = "checkpoint"
                  ) -> None:
    """Raise ValueError listing missing keys, unexpected keys, shape mismatches against the
    config and non-finite values (each list shortened to its first 8 entries)."""
    want = expected_shapes(cfg)
    problems = _check_names({k: np.shape(v) for k, v in tensors.items()}, cfg)
    bad = [k for k in want if k in tensors and not np.all(np.isfinite(tensors[k]))]
    if bad:
        problems.append(_listing("non-finite values in", bad))
    _raise_problems(problems, cfg, where)


def lower_bound_logits_off(num_layers: int, hidden: int) -> np.ndarray:
    """``lower_bounds`` that give ``lb = 0`` in every layer, i.e. no lower bound: row 0 is 0
    and the others ``-1e4`` (``softmax`` over layers is then exactly ``[1, 0, ..., 0]`` in
    float64, so ``cumsum - p[0]`` is exactly 0). Used for ``use_lower_bound=false``."""
    x = np.full((num_layers, hidden), _LB_OFF)
    x[0] = 0.0
    return x


def ternarise(weight: np.ndarray, norm_weight: np.ndarray, rows_per_chunk: int = 8192
              ) -> TernaryLinear:
    """One BitLinear's latent weight -> trits and scale (the one and only quantisation):
    :func:`lava_llm.fixed_point.ternary_absmean` in float64, the trits computed a chunk of
    rows at a time (the same elementwise result, bounded temporaries)."""
    w = np.asarray(weight, dtype=np.float64)
    alpha = max(float(np.abs(w).mean()), 1e-5)   # = fp.ternary_absmean's alpha
    trits = np.empty(w.shape, np.int8)
    for r0 in range(0, w.shape[0], rows_per_chunk):
        trits[r0:r0 + rows_per_chunk] = np.clip(np.round(w[r0:r0 + rows_per_chunk] / alpha),
                                                -1, 1)
    return TernaryLinear(trits=trits, scale=alpha,
                         norm_weight=np.asarray(norm_weight, dtype=np.float64))


def linear_names(cfg: HFConfig) -> list[str]:
    """HF module names of every BitLinear, in network order."""
    names = [f"model.layers.{layer}.{p}" for layer in range(cfg.num_hidden_layers)
             for p in BLOCK_PROJECTIONS]
    return names + ["lm_head"]


def _stream(folder, packed: bool):
    """Read, check and ternarise one tensor at a time. Returns ``(cfg, linears, tensors,
    files)``; ``linears``: name -> TernaryLinear with int8 trits, or (``packed``) with the
    compiled kernel's packed trits; ``tensors`` float64, or (``packed``) the embedding kept in
    float32 (bf16/fp16/fp32 latent values are exact in float32)."""
    from lava_llm.processes.ternary_dense import kernels as td

    cfg = read_config(folder)
    files = weight_files(folder)
    where = f"weights in {Path(folder)}"
    with WeightReader(files) as r:
        _raise_problems(_check_names(r.shapes, cfg), cfg, where)
        bad = []

        def get(name, dtype=np.float64):
            a = r.get(name, dtype)
            if not np.isfinite(a).all():
                bad.append(name)
            return a

        lin_names = linear_names(cfg)
        of_linears = {n + ".weight" for n in lin_names} | {n + ".norm.weight"
                                                            for n in lin_names}
        tensors = {}
        for name in expected_shapes(cfg):
            if name in of_linears:
                continue
            if name == "model.embeddings.weight" and packed:
                tensors[name] = get(name, np.float32)
            else:
                tensors[name] = get(name)
        linears = {}
        for name in lin_names:
            wname = name + ".weight"
            if wname not in r.shapes:   # tied head: the embedding matrix
                wname = "model.embeddings.weight"
            w, nw = get(wname), get(name + ".norm.weight")
            if bad:   # reported below with every other non-finite tensor
                continue
            lin = ternarise(w, nw)
            del w
            if packed:
                lin = TernaryLinear(td.PackedTernary.from_trits(lin.trits), lin.scale,
                                    lin.norm_weight)
            linears[name] = lin
        if bad:
            _raise_problems([_listing("non-finite values in", bad)], cfg, where)
    if not cfg.use_lower_bound:
        tensors["model.lower_bounds"] = lower_bound_logits_off(cfg.num_hidden_layers,
                                                               cfg.hidden_size)
    return cfg, linears, tensors, files


def read_checkpoint(folder) -> HFImport:
    """Read, check and ternarise an HF ``HGRNBitForCausalLM`` checkpoint folder (tensors
    streamed one at a time; int8 trits and float64 tensors in the result).

    Raises
    ------
    FileNotFoundError
        Missing folder, ``config.json``, weights or shards.
    ValueError
        Unsupported config, or tensors whose keys/shapes do not match the config, or
        non-finite values.
    """
    cfg, linears, tensors, files = _stream(folder, packed=False)
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


def import_summary(imp) -> dict:
    """Counts for reports: parameters, trits, bytes packed vs fp16 (of an
    :class:`HFImport` or an :class:`~lava_llm.models.lm.params.LMParams`)."""
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
    from lava_llm.models.lm.config import LMConfig
    from lava_llm.models.lm.params import LMParams
    from lava_llm.models.lm.params import TernaryLinear as Linear

    cfg = read_config(folder)
    if cfg.rms_norm_eps != BITLINEAR_EPS:
        raise ValueError(f"{Path(folder) / CONFIG_FILE}: rms_norm_eps="
                         f"{cfg.rms_norm_eps!r} is not supported: the library uses one "
                         f"epsilon ({BITLINEAR_EPS}) for the block norms and the BitLinear "
                         f"norms")
    cfg, linears, tensors, _ = _stream(folder, packed=True)
    lcfg = LMConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size,
                    num_layers=cfg.num_hidden_layers, intermediate_size=cfg.intermediate_size,
                    eps=cfg.rms_norm_eps)
    linears = {k: Linear(v.trits, v.scale, v.norm_weight) for k, v in linears.items()}
    return LMParams(lcfg, linears, tensors).check("HF import")


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
    for good fixed-point accuracy). The calibration is stored in ``dst/config.json``, so
    loading ``dst`` (``LanguageModel.load``, ``generate --checkpoint dst``) never
    recalibrates. The tokenizer files of ``src`` (``tokenizer.json`` / ``tokenizer.model``,
    ``tokenizer_config.json``) are checked against the vocabulary and copied
    (:func:`lava_llm.models.lm.tokenizer.copy_tokenizer_files`). Returns ``dst`` as a Path.
    """
    return _convert(src, dst, calibration_ids, seed)[0]


def _convert(src, dst, calibration_ids=None, seed: int = 0):
    import time

    from lava_llm.models.lm.checkpoint import save_checkpoint
    from lava_llm.models.lm.export import calibrate

    t0 = time.perf_counter()
    params = load_params(src)
    if calibration_ids is None:
        rng = np.random.default_rng(seed)
        calibration_ids = rng.integers(0, params.config.vocab_size, (4, 256))
        calib_src = f"4x256 uniformly random token ids (seed {seed})"
    else:
        calib_src = f"{np.asarray(calibration_ids).size} given token ids"
    ids = V.check_int_range("calibration_ids", calibration_ids, 0,
                            params.config.vocab_size - 1)
    t1 = time.perf_counter()
    calib = calibrate(params, ids)
    t2 = time.perf_counter()
    meta = {"source": "hf_import", "hf_folder": str(Path(src).resolve()),
            "calibration_data": calib_src}
    from lava_llm.models.lm.tokenizer import copy_tokenizer_files

    meta["tokenizer_files"] = copy_tokenizer_files(src, dst, params.config.vocab_size)
    out = save_checkpoint(dst, params, tokenizer=None, calibration=calib, meta=meta)
    return out, params, {"read_s": t1 - t0, "calibrate_s": t2 - t1,
                         "write_s": time.perf_counter() - t2}


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
        out, params, times = _convert(args.src, args.dst, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"hf_import: error: {exc}")
        return 2
    print(json.dumps({"written": str(out), **import_summary(params), **times}))
    return 0


__all__ += ["convert", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
