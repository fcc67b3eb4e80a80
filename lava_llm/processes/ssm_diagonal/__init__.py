# Process classes load lazily (Lava-free `kernels` imports): see lava_llm.processes.
from lava_llm.processes import lazy_exports

__all__ = ["SSMDiagonal", "SparseSynapse", "BiasNeuron", "S5StateNeuron", "S5OutputNeuron",
           "S5GateNeuron"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "process"))
