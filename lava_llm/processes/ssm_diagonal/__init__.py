from lava_llm.processes.ssm_diagonal.process import SSMDiagonal

__all__ = ["SSMDiagonal"]
