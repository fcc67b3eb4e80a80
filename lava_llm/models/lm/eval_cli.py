"""``lava-llm eval``: bits per token / per byte of a text file under the LM, the recurrent
state carried over the whole file (:func:`lava_llm.models.lm.evaluate.evaluate_text`).

    lava-llm eval --checkpoint DIR --text FILE --backend engine --json

Prints ``{"tokens", "bits_per_token", "bits_per_byte", "backend", "bytes", "checkpoint",
"text_file"}``; a progress bar goes to stderr. ``--checkpoint``: a lava-llm checkpoint
(default: the shipped char model) or an HF folder with a tokenizer (then calibrated on
seeded random ids: convert it with ``lava-llm import-hf --calibration-text`` first for a
faithful integer model). The Lava backends cost ~0.5 ms per leaf Process per token: use
``--max-tokens`` or a short file.
"""
from __future__ import annotations

HELP = "score a text file with the MatMul-free LM: bits per token and per byte"
BACKENDS = ("engine", "torch", "sim-float", "sim-fixed")


def add_arguments(parser) -> None:
    parser.add_argument("--text", required=True, metavar="FILE", help="UTF-8 text file")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the "
                        "shipped tinyshakespeare model)")
    parser.add_argument("--max-tokens", type=int, default=0,
                        help="score only the first N tokens (0 = the whole file; default)")
    parser.add_argument("--chunk", type=int, default=256,
                        help="tokens per engine/torch call, state carried (default 256)")


def run(args) -> dict:
    from lava_llm.models.lm.generate import load_model
    from lava_llm.models.lm.evaluate import evaluate_text
    from lava_llm.models.lm.tokenizer import read_text_file

    text = read_text_file(args.text, "--text")
    lm = load_model(args.checkpoint)
    out = evaluate_text(lm, text, args.backend, max_tokens=args.max_tokens,
                        chunk=args.chunk, progress=True, what=f"--text {args.text}")
    out.update(checkpoint=args.checkpoint or "shipped lm_shakespeare", text_file=args.text)
    return out
