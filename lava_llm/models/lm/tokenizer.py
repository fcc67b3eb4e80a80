"""Tokenizers of the LM.

* :class:`CharTokenizer`: one token per Unicode character of the training text. The vocabulary
  is the sorted set of characters of the training text (65 for tinyshakespeare), stored in the
  checkpoint's ``config.json`` under ``"chars"``. Encoding a character outside the vocabulary
  raises ValueError naming it; so does decoding an id outside ``[0, vocab_size)``.
* :class:`HFTokenizer`: the subword tokenizer of an HF folder (``tokenizer.json`` for the
  ``tokenizers`` package, or a SentencePiece ``tokenizer.model``, plus
  ``tokenizer_config.json``: BOS/EOS tokens, ``add_bos_token``). :func:`load_tokenizer` reads
  one from a folder (HF checkpoint or converted lava-llm checkpoint, which carries copies made
  by :func:`copy_tokenizer_files`); :func:`check_vocab` rejects a tokenizer whose size does
  not fit the model's ``vocab_size``.

Both have ``encode(text) -> int64 ids``, ``decode(ids) -> str``, ``vocab_size``, ``eos_id``
(None for the char tokenizer).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np


class CharTokenizer:
    def __init__(self, chars):
        chars = list(chars)
        if len(chars) < 2 or len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("chars must be >= 2 distinct single characters")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    eos_id = None
    bos_id = None

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str, *, what: str = "prompt") -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"{what} must be a str, got {type(text).__name__}")
        bad = sorted({c for c in text if c not in self.index})
        if bad:
            raise ValueError(f"{what} contains character(s) outside the vocabulary: "
                             f"{''.join(bad)!r} (the model knows {len(self.chars)} characters: "
                             f"{''.join(self.chars)!r})")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        ids = np.asarray(ids, np.int64).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.chars)):
            raise ValueError(f"token ids must lie in [0, {len(self.chars) - 1}], found "
                             f"[{ids.min()}, {ids.max()}]")
        return "".join(self.chars[i] for i in ids)


# --------------------------------------------------------------------------- HF tokenizers
#: Files of an HF tokenizer that a converted checkpoint carries (copied by
#: :func:`copy_tokenizer_files`; the model files that exist are copied, the others skipped).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                   "special_tokens_map.json")
#: A model may pad its vocabulary above the tokenizer's, up to the next multiple of this.
VOCAB_PAD = 128


def _token_str(value):
    """``"<s>"`` or ``{"content": "<s>", ...}`` (tokenizer_config.json forms) -> str or None."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


class HFTokenizer:
    """A subword tokenizer read from an HF folder: ``tokenizer.json`` (the ``tokenizers``
    package; preferred when both exist) or ``tokenizer.model`` (``sentencepiece``), with the
    special tokens of ``tokenizer_config.json`` / ``special_tokens_map.json``.

    ``encode(text)`` returns the ids with ``bos_id`` prepended when ``add_bos`` (the config's
    ``add_bos_token``; without that key a ``tokenizer.json`` applies its own post-processor
    and a SentencePiece model adds no BOS) and raises ValueError naming the characters the
    tokenizer cannot represent (mapped to the unknown token, or dropped by a BPE without one).
    ``decode(ids)`` skips special tokens. ``eos_id`` (or None) ends generation.
    """

    def __init__(self, folder):
        folder = Path(folder)
        self.folder = folder
        cfg = {}
        for name in ("special_tokens_map.json", "tokenizer_config.json"):  # config wins
            p = folder / name
            if p.is_file():
                try:
                    raw = json.loads(p.read_text())
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise ValueError(f"{p}: not a readable JSON file ({exc})") from None
                if not isinstance(raw, dict):
                    raise ValueError(f"{p}: expected a JSON object")
                cfg.update(raw)
        self.config = cfg
        tj, tm = folder / "tokenizer.json", folder / "tokenizer.model"
        if tj.is_file():
            from tokenizers import Tokenizer

            try:
                self._tok = Tokenizer.from_file(str(tj))
            except Exception as exc:  # the Rust library raises its own Exception type
                raise ValueError(f"{tj}: not a tokenizers JSON file ({exc})") from None
            self.kind, self.file = "tokenizers", tj
            self._char_cache: dict[str, bool] = {}
            self.vocab_size = int(self._tok.get_vocab_size(with_added_tokens=True))
            self._to_id = self._tok.token_to_id
        elif tm.is_file():
            import sentencepiece as spm

            self._sp = spm.SentencePieceProcessor()
            try:
                ok = self._sp.Load(str(tm))
            except (OSError, RuntimeError) as exc:
                raise ValueError(f"{tm}: not a SentencePiece model ({exc})") from None
            if not ok:
                raise ValueError(f"{tm}: not a SentencePiece model")
            self.kind, self.file = "sentencepiece", tm
            self.vocab_size = int(self._sp.get_piece_size())

            def to_id(piece):
                i = int(self._sp.piece_to_id(piece))
                return None if i == self._sp.unk_id() and piece != self._sp.id_to_piece(i) \
                    else i
            self._to_id = to_id
        else:
            raise FileNotFoundError(f"{folder}: no tokenizer.json or tokenizer.model")
        self.bos_id = self._special("bos_token", "<s>")
        self.eos_id = self._special("eos_token", "</s>")
        if "add_bos_token" in cfg:
            self.add_bos = bool(cfg["add_bos_token"])
            self._post = False
        else:
            self.add_bos = False
            self._post = self.kind == "tokenizers"   # the tokenizer's own template
        if self.add_bos and self.bos_id is None:
            raise ValueError(f"{folder}: add_bos_token is true but the BOS token "
                             f"{cfg.get('bos_token')!r} is not in the tokenizer")

    def _special(self, key, default):
        name = _token_str(self.config.get(key))
        if name is None and key in self.config:     # explicitly null
            return None
        i = self._to_id(name if name is not None else default)
        if i is None and name is not None:
            raise ValueError(f"{self.folder}: {key} {name!r} is not in the tokenizer")
        return None if i is None else int(i)

    def __repr__(self):
        return (f"HFTokenizer({self.kind}, {self.file}, vocab_size={self.vocab_size}, "
                f"bos_id={self.bos_id}, eos_id={self.eos_id}, add_bos={self.add_bos})")

    def _char_ok(self, c: str) -> bool:
        """Whether ``tokenizer.json`` represents the character ``c``: encoded alone, it must
        come back from decoding (a BPE without an unknown token silently drops characters
        outside its alphabet; an unknown token decodes to something else)."""
        ok = self._char_cache.get(c)
        if ok is None:
            enc = self._tok.encode(c, add_special_tokens=False)
            norm = self._tok.normalizer
            want = (norm.normalize_str(c) if norm is not None else c).strip()
            got = self._tok.decode(enc.ids, skip_special_tokens=True)
            unk = _token_str(getattr(self._tok.model, "unk_token", None))
            unk_id = None if unk is None else self._tok.token_to_id(unk)
            ok = bool(enc.ids) and unk_id not in enc.ids and (not want or want in got)
            self._char_cache[c] = ok
        return ok

    @property
    def files(self) -> list[Path]:
        return [self.folder / n for n in TOKENIZER_FILES if (self.folder / n).is_file()]

    def encode(self, text: str, *, what: str = "text") -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"{what} must be a str, got {type(text).__name__}")
        if self.kind == "tokenizers":
            ids = list(self._tok.encode(text, add_special_tokens=self._post).ids)
            bad = [c for c in sorted(set(text)) if not c.isspace() and not self._char_ok(c)]
        else:
            ids = list(self._sp.encode(text))
            unk_id = self._sp.unk_id()
            bad = []
            if unk_id in ids:
                bad = sorted({c for c in set(text) if not c.isspace()
                              and unk_id in self._sp.encode(c)})
                bad = bad or ["?"]
        if bad:
            raise ValueError(f"{what} contains character(s) the tokenizer {self.file} cannot "
                             f"encode: {''.join(bad)!r}")
        if self.add_bos:
            ids = [self.bos_id] + ids
        return np.array(ids, dtype=np.int64)

    def decode(self, ids) -> str:
        ids = np.asarray(ids, np.int64).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size - 1}] for the "
                             f"tokenizer {self.file}, found [{ids.min()}, {ids.max()}]")
        ids = [int(i) for i in ids]
        if self.kind == "tokenizers":
            return self._tok.decode(ids, skip_special_tokens=True)
        return self._sp.decode([i for i in ids if not self._sp.is_control(i)])


def has_tokenizer(folder) -> bool:
    folder = Path(folder)
    return (folder / "tokenizer.json").is_file() or (folder / "tokenizer.model").is_file()


def load_tokenizer(folder, vocab_size: int | None = None):
    """The :class:`HFTokenizer` of ``folder``, or None when it holds no tokenizer file.
    With ``vocab_size`` (the model's) checks it with :func:`check_vocab`."""
    if not has_tokenizer(folder):
        return None
    tok = HFTokenizer(folder)
    if vocab_size is not None:
        check_vocab(tok, vocab_size)
    return tok


def check_vocab(tokenizer, vocab_size: int) -> None:
    """Raise ValueError (naming the tokenizer file) unless the model's ``vocab_size`` equals
    the tokenizer's or pads it up to at most the next multiple of :data:`VOCAB_PAD`."""
    n = int(tokenizer.vocab_size)
    where = getattr(tokenizer, "file", "tokenizer")
    padded = -(-n // VOCAB_PAD) * VOCAB_PAD
    if not n <= int(vocab_size) <= max(padded, n):
        raise ValueError(f"{where}: the tokenizer has {n} tokens but the model's vocab_size "
                         f"is {vocab_size} (allowed: {n} to {max(padded, n)}); wrong "
                         f"tokenizer for this checkpoint?")


def copy_tokenizer_files(src, dst, vocab_size: int | None = None) -> list[str]:
    """Copy the tokenizer files of the HF folder ``src`` (see :data:`TOKENIZER_FILES`) into
    ``dst`` after loading and checking them (``vocab_size``: the model's). Returns the names
    copied; ``[]`` when ``src`` has no tokenizer."""
    tok = load_tokenizer(src, vocab_size)
    if tok is None:
        return []
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for f in tok.files:
        shutil.copyfile(f, dst / f.name)
    return [f.name for f in tok.files]


def read_text_file(path, what: str = "--text") -> str:
    """A UTF-8 text file's contents; one clear error for a missing, unreadable or empty
    file (naming ``what`` and the path)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p}: file does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {p}: not UTF-8 text ({exc})") from None
    if not text.strip():
        raise ValueError(f"{what} {p}: the file is empty")
    return text
