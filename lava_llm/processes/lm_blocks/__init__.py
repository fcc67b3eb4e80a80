from lava_llm.processes.lm_blocks.process import GLU, GLUBlock, LMHead, RMSNorm, TokenEmbedding

__all__ = ["RMSNorm", "GLU", "GLUBlock", "TokenEmbedding", "LMHead"]
