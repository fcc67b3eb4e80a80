"""Torch modules for quantisation-aware training, built on the quantisers of
:mod:`lava_llm.fixed_point` (the same functions the integer models use), and export of
trained parameters to the Lava Processes."""
