"""Data sets: the noisy spoken-digit denoising benchmark (Intel N-DNS layout), a reader for
that layout (works on real N-DNS folders too), and FSDD digit classification."""
from lava_llm.data.noisy_fsdd import (NOISE_TYPES, NDNSDataset, build_noisy_fsdd,
                                      fsdd_files, load_fsdd_digits, make_noise, mix_at_snr)

__all__ = ["NOISE_TYPES", "NDNSDataset", "build_noisy_fsdd", "fsdd_files",
           "load_fsdd_digits", "make_noise", "mix_at_snr"]
