"""Lava network builder for the MatMul-free LM (any config).

One Lava time step per token. The network is a ring of ``2 * num_layers + 2`` leaf
Processes::

    TokenEmbedding -> [MLGRUBlock -> GLUBlock] x num_layers -> LMHead --(token)--> TokenEmbedding

Every hop is same-step (each model receives, computes and sends in one ``run_spk``); the
embedding sends first and receives the readout's token after, which closes the
autoregressive loop inside Lava: prompt prefill and generation are one ``run`` of
``n_prompt + n_new - 1`` steps, with no host round-trip per token. Tokens and logits are read
from the head's Vars afterwards.

Every block is a hierarchical Process with two forms, chosen by the run config
(:func:`lava_llm.run.run_config` ``granularity``): ``fused`` runs each block as one leaf
(``2L + 2`` leaves in all), ``fine`` expands each into its synapse and neuron Processes
(``MLGRUBlock.FINE_LEAVES + GLUBlock.FINE_LEAVES`` = 26 per layer, + 1 for the embedding and
``LMHead.FINE_LEAVES`` = 5 for the head's norm, synapse, rescale and readout).
"""
from __future__ import annotations

import dataclasses

from lava_llm.processes.gated_recurrence import MLGRUBlock
from lava_llm.processes.lm_blocks import GLUBlock, LMHead, TokenEmbedding

#: Most leaf Processes a fine-grained LM may have on Lava's CPU backend (each leaf is one OS
#: process; the shipped 2-layer model has 58). Larger models: ``granularity="fused"``, or
#: ``lava-llm resources`` for their mapping.
MAX_FINE_LEAVES = 256


def fine_leaves(num_layers: int) -> int:
    """Leaf Processes of the fine-grained LM with ``num_layers`` layers."""
    return (1 + LMHead.FINE_LEAVES
            + num_layers * (MLGRUBlock.FINE_LEAVES + GLUBlock.FINE_LEAVES))


@dataclasses.dataclass
class LMNetwork:
    embedding: TokenEmbedding
    blocks: list
    head: LMHead

    @property
    def leaf_count(self) -> int:
        """Leaf Processes of the fused form (``2 * layers + 2``)."""
        return self.leaves("fused")

    def leaves(self, granularity: str = "fused") -> int:
        """Leaf Processes of the network in ``granularity`` (``fused`` or ``fine``)."""
        from lava_llm.run import check_granularity

        if check_granularity(granularity) == "fused":
            return 2 + len(self.blocks)
        return fine_leaves(len(self.blocks) // 2)


def build_network(float_model: dict, int_model: dict | None, prompt_ids, n_new: int, *,
                  temperature: float = 0.0, top_k: int = 0, seed: int = 0, top_p: float = 1.0,
                  record_logits: bool = True, granularity: str = "fused") -> LMNetwork:
    """Wire the Processes for a prompt and ``n_new`` generated tokens.

    ``float_model`` / ``int_model``: :func:`~lava_llm.models.lm.export.float_model` and
    :func:`~lava_llm.models.lm.export.export_int` of the same parameters (``int_model`` may be
    None for ``sim-float`` only). ``granularity``: the form it will run in (the run config
    picks it); ``"fine"`` is refused above :data:`MAX_FINE_LEAVES` leaves.
    """
    from lava_llm import validation as V
    from lava_llm.run import check_granularity

    n_new = V.check_int("n_new", n_new, 1)
    if check_granularity(granularity) == "fine":
        n = fine_leaves(len(float_model["layers"]))
        if n > MAX_FINE_LEAVES:
            raise ValueError(f"granularity='fine': this {len(float_model['layers'])}-layer "
                             f"model would run as {n} leaf Processes (one OS process each); "
                             f"the limit is {MAX_FINE_LEAVES}. Use granularity='fused' to run "
                             "it, and 'lava-llm resources' for its fine-grained mapping")
    eps = float_model["eps"]
    emb = TokenEmbedding(table=float_model["emb"], prompt=prompt_ids,
                         table_q=None if int_model is None else int_model["emb"])
    n_prompt = int(emb.prompt.init.size)
    blocks = []
    for li, lf in enumerate(float_model["layers"]):
        lq = None if int_model is None else int_model["layers"][li]
        blocks.append(MLGRUBlock(layer_float=lf, layer_int=lq, eps=eps, name=f"mlgru{li}"))
        blocks.append(GLUBlock(layer_float=lf, layer_int=lq, eps=eps, name=f"glu{li}"))
    head = LMHead(head_float=float_model["head"],
                  head_int=None if int_model is None else int_model["head"],
                  n_prompt=n_prompt, n_steps=n_prompt + n_new - 1, temperature=temperature,
                  top_k=top_k, top_p=top_p, seed=seed, record_logits=record_logits, eps=eps)
    prev = emb.s_out
    for b in blocks:
        prev.connect(b.a_in)
        prev = b.s_out
    prev.connect(head.a_in)
    head.s_out.connect(emb.a_in)
    return LMNetwork(emb, blocks, head)
