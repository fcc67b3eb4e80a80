from lava_llm.processes.lm_blocks.process import (GLU, GLUBlock, LMHead, ResidualAdd, RMSNorm,
                                                   TokenEmbedding)

__all__ = ["RMSNorm", "GLU", "GLUBlock", "ResidualAdd", "TokenEmbedding", "LMHead"]
