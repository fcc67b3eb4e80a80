from lava_llm.processes.qubo_annealing.process import QuboAnnealer

__all__ = ["QuboAnnealer"]
