"""MatMul-free language model (HGRNBit) on Lava: config, torch model exchange, integer
export, the vectorised integer engine, the Lava network builder and generation.

Public API (stable):

* :class:`~lava_llm.models.lm.config.LMConfig`
* :class:`~lava_llm.models.lm.params.LMParams`, :func:`~lava_llm.models.lm.params.random_params`,
  :func:`~lava_llm.models.lm.params.from_hf_import`
* :mod:`~lava_llm.models.lm.checkpoint`: ``save_checkpoint``, ``load_checkpoint``
* :mod:`~lava_llm.models.lm.export`: ``calibrate``, ``export_int``
* :mod:`~lava_llm.models.lm.engine`: ``float_forward``, ``int_forward``, ``bits_per_char``
* :mod:`~lava_llm.models.lm.generate`: ``LanguageModel`` (``load``, ``generate``, ``encode``,
  ``float_model``, ``int_model``, ``torch_model``), ``generate``
* :mod:`~lava_llm.models.lm.network`: ``build_network`` (the Lava ring, ``2 L + 2`` leaves)
* :mod:`~lava_llm.models.lm.tokenizer`: ``CharTokenizer``
* torch: :mod:`lava_llm.training.hgrn` (``HGRNBitForCausalLM``, HF state-dict names)

Docs: ``docs/lm.md``.
"""
