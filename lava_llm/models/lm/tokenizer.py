"""Character-level tokenizer: one token per Unicode character of the training text.

The vocabulary is the sorted set of characters of the training text (65 for tinyshakespeare),
stored in the checkpoint's ``config.json`` under ``"chars"``. Encoding a character outside the
vocabulary raises ValueError naming it; so does decoding an id outside ``[0, vocab_size)``.
"""
from __future__ import annotations

import numpy as np


class CharTokenizer:
    def __init__(self, chars):
        chars = list(chars)
        if len(chars) < 2 or len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("chars must be >= 2 distinct single characters")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        bad = sorted({c for c in text if c not in self.index})
        if bad:
            raise ValueError(f"prompt contains character(s) outside the vocabulary: "
                             f"{''.join(bad)!r} (the model knows {len(self.chars)} characters: "
                             f"{''.join(self.chars)!r})")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        ids = np.asarray(ids, np.int64).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.chars)):
            raise ValueError(f"token ids must lie in [0, {len(self.chars) - 1}], found "
                             f"[{ids.min()}, {ids.max()}]")
        return "".join(self.chars[i] for i in ids)
