"""``lava-llm generate``: text from the MatMul-free LM on a backend.

    lava-llm generate --prompt "ROMEO:" --tokens 40 --backend sim-fixed --seed 0 --json
    lava-llm generate --prompt "ROMEO:" --tokens 40 --backend engine --temperature 0.8 --top-k 10

Prints ``{"text", "token_ids", "tokens_per_s", "time_to_first_token_s", "backend", ...}``.
``--checkpoint DIR`` takes a checkpoint folder written by ``save_checkpoint`` (default: the
shipped ``lava_llm/checkpoints/lm_shakespeare``) or an HF ``HGRNBitForCausalLM`` folder
(then ``--prompt`` is a comma-separated list of token ids: there is no tokenizer).
"""
from __future__ import annotations

HELP = "generate text with the MatMul-free LM (MLGRU + GLU) from a prompt"
BACKENDS = ("sim-fixed", "sim-float", "loihi2", "engine", "torch")


def add_arguments(parser) -> None:
    parser.add_argument("--prompt", required=True, help="prompt text (characters of the "
                        "model's vocabulary; token ids 'i,j,k' for tokenizer-less models)")
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


def _load(folder):
    from pathlib import Path

    from lava_llm.models.lm.generate import LanguageModel

    if folder is not None:
        from lava_llm.models.lm import hf_import

        if hf_import.is_hf_checkpoint(folder):
            import sys

            # load_params also checks the checkpoint's epsilon against the library's
            params = hf_import.load_params(folder)
            print(f"note: {folder} is an HF folder without a fixed-point calibration: "
                  f"calibrating on random token ids now (convert it once with "
                  f"python -m lava_llm.models.lm.hf_import to cache one)", file=sys.stderr)
            return LanguageModel(params)
        if not Path(folder).exists():
            raise FileNotFoundError(f"--checkpoint {folder}: folder does not exist")
    return LanguageModel.load(folder)


def run(args) -> dict:
    from lava_llm.models.lm.engine import set_threads

    set_threads(getattr(args, "threads", None), torch_too=args.backend == "torch")
    lm = _load(args.checkpoint)
    prompt = args.prompt
    if lm.tokenizer is None:
        try:
            prompt = [int(t) for t in prompt.split(",")]
        except ValueError:
            raise ValueError("--prompt: this checkpoint has no tokenizer; give token ids "
                             "as 'i,j,k'") from None
    out = lm.generate(prompt, args.tokens, backend=args.backend, seed=args.seed,
                      temperature=args.temperature, top_k=args.top_k, record_logits=False,
                      granularity=getattr(args, "granularity", "fused"))
    keep = ("text", "token_ids", "tokens_per_s", "time_to_first_token_s", "backend",
            "total_s", "startup_s", "leaf_processes", "granularity")
    return {k: out[k] for k in keep if k in out}
