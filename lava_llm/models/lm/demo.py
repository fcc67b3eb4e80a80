"""``make demo`` part: generate from the shipped checkpoint on Lava ``sim-fixed`` and on the
integer engine, and show the tokens (and logits) are equal."""
from __future__ import annotations

import numpy as np

PROMPT = "ROMEO:\n"
TOKENS = 24


def demo(prompt: str = PROMPT, tokens: int = TOKENS, seed: int = 0) -> dict:
    """Greedy generation on ``sim-fixed`` and ``engine``; returns texts, timings and whether
    tokens and integer logits are identical (``tokens_equal``, ``logits_equal``)."""
    from lava_llm.models.lm.generate import LanguageModel

    lm = LanguageModel.load()
    lava = lm.generate(prompt, tokens, backend="sim-fixed", seed=seed)
    eng = lm.generate(prompt, tokens, backend="engine", seed=seed)
    return {"prompt": prompt, "text_sim_fixed": lava["text"], "text_engine": eng["text"],
            "tokens_equal": bool(np.array_equal(lava["token_ids"], eng["token_ids"])),
            "logits_equal": bool(np.array_equal(lava["logits_raw"], eng["logits_raw"])),
            "leaf_processes": lava["leaf_processes"],
            "sim_fixed_tokens_per_s": round(lava["tokens_per_s"], 2),
            "engine_tokens_per_s": round(eng["tokens_per_s"], 2)}


if __name__ == "__main__":
    import json

    print(json.dumps(demo(), indent=2))
