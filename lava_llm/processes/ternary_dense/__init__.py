from lava_llm.processes.ternary_dense.process import TernaryDense

__all__ = ["TernaryDense"]
