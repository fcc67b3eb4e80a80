"""Constants of the packed ternary layout, shared by :mod:`lava_llm.processes.ternary_dense.kernels` and the numba kernels
of :mod:`lava_llm._ternary_numba` (one definition, no import cycle)."""

#: Bytes of one block of the packed layout; a block holds ``4 * BLOCK_BYTES`` inputs.
BLOCK_BYTES = 64
#: Blocks accumulated in the 16-bit lanes before they are flushed into the 64-bit row sum:
#: a lane gains at most ``4 * 2 * 128 = 1024`` in magnitude per block, so 16 blocks stay
#: within ``2**14`` (exact in int16).
FLUSH_BLOCKS = 16
#: How far ahead (bytes) the kernels prefetch the packed rows they are about to read.
PREFETCH_BYTES = 1024
