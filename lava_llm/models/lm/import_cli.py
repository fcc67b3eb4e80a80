"""``lava-llm import-hf SRC DST``: convert an HF ``HGRNBitForCausalLM`` folder into a lava-llm
LM checkpoint (packed trits, fixed-point calibration, the tokenizer files).

    lava-llm import-hf ./hgrn-370m ./hgrn-370m-lava --calibration-text corpus.txt --json

Calls :func:`lava_llm.models.lm.hf_import.convert`. With ``--calibration-text FILE`` the
fixed-point formats (and the scales of the static-int8 option) are calibrated on that text, tokenised by the tokenizer in ``SRC``
(at most ``--calibration-tokens`` tokens, cut into rows of 256); without it on seeded random
token ids (recorded in the checkpoint's ``meta``). The checkpoint is written to a temporary
folder beside ``DST`` and renamed into place only when complete, so a failure leaves nothing
behind; ``DST`` must not exist yet. Prints ``{"written", "config", "tokenizer_files",
"calibration_data", "calibration_tokens"}``.
"""
from __future__ import annotations

HELP = "convert an HF HGRNBitForCausalLM folder into a lava-llm LM checkpoint"
BACKENDS = ("engine",)   # the calibration runs the numpy float engine
CALIB_ROW = 256


def add_arguments(parser) -> None:
    parser.add_argument("src", help="HF folder: config.json, model.safetensors / "
                        "pytorch_model.bin (or a sharded index), tokenizer files if any")
    parser.add_argument("dst", help="output folder (must not exist yet)")
    parser.add_argument("--calibration-text", default=None, metavar="FILE",
                        help="UTF-8 text to calibrate the fixed-point scales on (tokenised "
                        "by SRC's tokenizer); default: seeded random token ids")
    parser.add_argument("--calibration-tokens", type=int, default=4096,
                        help="use at most this many tokens of the text (default 4096)")


def calibration_ids(src, path, max_tokens: int, vocab_size: int):
    """Token ids of the text file ``path`` by the tokenizer of ``src``, as (rows, 256) (or
    one shorter row)."""
    import numpy as np

    from lava_llm import validation as V
    from lava_llm.models.lm.tokenizer import load_tokenizer, read_text_file

    max_tokens = V.check_int("--calibration-tokens", max_tokens, 16, 1 << 20)
    tok = load_tokenizer(src, vocab_size)
    if tok is None:
        raise ValueError(f"--calibration-text: {src} has no tokenizer.json or "
                         f"tokenizer.model to tokenise the text with")
    text = read_text_file(path, "--calibration-text")
    ids = tok.encode(text, what=f"--calibration-text {path}")[:max_tokens]
    if ids.size < 2:
        raise ValueError(f"--calibration-text {path}: only {ids.size} token(s); need >= 2")
    if ids.size >= CALIB_ROW:
        ids = ids[: ids.size // CALIB_ROW * CALIB_ROW].reshape(-1, CALIB_ROW)
    return np.atleast_2d(ids)


def run(args) -> dict:
    import json
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from lava_llm.models.lm import hf_import

    src, dst = Path(args.src), Path(args.dst)
    if not src.is_dir():
        raise FileNotFoundError(f"SRC {src}: folder does not exist")
    if dst.exists():
        raise ValueError(f"DST {dst} already exists; give a new folder (nothing overwritten)")
    cfg = hf_import.read_config(src)   # checks config.json before any work
    ids = None
    if args.calibration_text is not None:
        ids = calibration_ids(src, args.calibration_text, args.calibration_tokens,
                              cfg.vocab_size)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent))
    try:
        hf_import.convert(src, tmp, calibration_ids=ids, seed=args.seed)
        raw = json.loads((tmp / "config.json").read_text())
        meta = raw.get("meta") or {}
        if args.calibration_text is not None:
            meta["calibration_data"] = (f"{args.calibration_text} "
                                        f"({meta.get('calibration_data')})")
            raw["meta"] = meta
            (tmp / "config.json").write_text(json.dumps(raw, indent=1) + "\n")
        os.rename(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    calib = raw.get("calibration") or {}
    return {"written": str(dst), "config": raw.get("config"),
            "tokenizer_files": meta.get("tokenizer_files", []),
            "calibration_data": meta.get("calibration_data"),
            "calibration_tokens": calib.get("tokens")}
