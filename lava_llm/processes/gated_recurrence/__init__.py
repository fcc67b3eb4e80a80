from lava_llm.processes.gated_recurrence.process import MLGRU, MLGRUBlock

__all__ = ["MLGRU", "MLGRUBlock"]
