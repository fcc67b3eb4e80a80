# Process classes load lazily (Lava-free `kernels` imports): see lava_llm.processes.
from lava_llm.processes import lazy_exports

__all__ = ["QuboAnnealer", "AnnealingNeurons", "CouplingSynapses", "CostReadout"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "process"))
