"""``lava-llm generate``: text from the MatMul-free LM on a backend.

    lava-llm generate --prompt "ROMEO:" --tokens 40 --backend sim-fixed --seed 0 --json
    lava-llm generate --prompt "ROMEO:" --tokens 40 --backend engine --temperature 0.8 --top-p 0.9

With ``--json`` prints ``{"text", "token_ids", "stopped", "tokens_per_s",
"time_to_first_token_s", "backend", ...}``; without it the text is streamed to the terminal as
it is generated, then the other fields as ``key: value`` lines. Generation stops after the
tokenizer's EOS token (``--ignore-eos`` to run all ``--tokens``).
``--checkpoint DIR`` takes a checkpoint folder written by ``save_checkpoint`` /
``lava-llm import-hf`` (default: the shipped ``lava_llm/checkpoints/lm_shakespeare``) or an HF
``HGRNBitForCausalLM`` folder. ``--prompt`` is text, tokenised by the checkpoint's tokenizer
(the char tokenizer, or an HF ``tokenizer.json`` / ``tokenizer.model``); ``--prompt-ids
i,j,k`` gives raw token ids for any model (for a model without a tokenizer ``--prompt i,j,k``
is read as ids too).
"""
from __future__ import annotations

HELP = "generate text with the MatMul-free LM (MLGRU + GLU) from a prompt"
BACKENDS = ("sim-fixed", "sim-float", "loihi2", "engine", "torch")


def add_arguments(parser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--prompt", help="prompt text, tokenised by the checkpoint's tokenizer "
                       "(token ids 'i,j,k' for tokenizer-less models)")
    group.add_argument("--prompt-ids", default=None, help="prompt as raw token ids 'i,j,k' "
                       "(any model)")
    parser.add_argument("--tokens", type=int, default=32, help="new tokens (default 32)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the "
                        "shipped tinyshakespeare model)")
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="sampling temperature; 0 = greedy (default)")
    parser.add_argument("--top-k", type=int, default=0, help="sample from the k most likely "
                        "tokens (0 = all; default)")
    parser.add_argument("--granularity", choices=("fused", "fine"), default="fused",
                        help="Lava form of the blocks: fused (one leaf per block, default) or "
                        "fine (synapse and neuron Processes; many leaves, slow on CPU)")
    parser.add_argument("--threads", type=int, default=None, help="compute threads of the "
                        "engine (numba), torch and BLAS, set explicitly (default: all cores)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling: keep the "
                        "fewest most likely tokens whose probability sums to >= p (1 = off; "
                        "default)")
    parser.add_argument("--ignore-eos", action="store_true", help="do not stop at the "
                        "tokenizer's end-of-sequence token")


def parse_ids(text: str, what: str) -> list[int]:
    """``'i,j,k'`` -> ``[i, j, k]``; ValueError naming ``what`` otherwise."""
    try:
        ids = [int(t) for t in str(text).split(",")]
    except ValueError:
        raise ValueError(f"{what}: give token ids as 'i,j,k' (integers separated by commas), "
                         f"got {text!r}") from None
    return ids


def run(args) -> dict:
    from lava_llm.models.lm.engine import set_threads
    from lava_llm.models.lm.generate import load_model

    set_threads(getattr(args, "threads", None), torch_too=args.backend == "torch")
    lm = load_model(args.checkpoint)
    if args.prompt_ids is not None:
        prompt = parse_ids(args.prompt_ids, "--prompt-ids")
    elif lm.tokenizer is None:
        prompt = parse_ids(args.prompt, "--prompt (this checkpoint has no tokenizer)")
    else:
        prompt = args.prompt
    on_token = None
    if not args.json:  # stream the text to the terminal as it is generated
        import sys

        from lava_llm.models.lm.generate import TextStream

        stream = TextStream(lm.tokenizer)

        def on_token(token_id):
            sys.stdout.write(stream.push(token_id))
            sys.stdout.flush()
    out = lm.generate(prompt, args.tokens, backend=args.backend, seed=args.seed,
                      temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                      stop_at_eos=not args.ignore_eos, on_token=on_token,
                      record_logits=False, granularity=getattr(args, "granularity", "fused"))
    keep = ("text", "token_ids", "stopped", "tokens_per_s", "time_to_first_token_s",
            "backend", "total_s", "startup_s", "leaf_processes", "granularity")
    if on_token is not None:
        print(stream.finish())
        keep = keep[1:]   # the text has just been shown
    return {k: out[k] for k in keep if k in out}
