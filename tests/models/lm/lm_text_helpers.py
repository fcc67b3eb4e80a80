"""Helpers of the text-path tests: tokenizers trained here (never downloaded) and small HF
HGRNBit folders whose vocabulary is the tokenizer's."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

import hgrn_reference as ref

WORDS = ("the cat sat on a mat and the dog ran to the old red barn while a bird sang "
         "softly over green hills under a pale moon").split()


def corpus(n_lines: int = 120, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=8)) + "." for _ in range(n_lines)]


def train_bpe(folder: Path, vocab_size: int = 60, config: dict | None = None) -> Path:
    """A word-level-pretokenised BPE (``tokenizers``), no unknown token, with <s> and </s>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(corpus(), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"]))
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    cfg = {"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": True}
    if config is not None:
        cfg = config
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))
    return folder


def train_sentencepiece(folder: Path, vocab_size: int = 40) -> Path:
    """A SentencePiece unigram model (unk 0, <s> 1, </s> 2; no byte fallback)."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus()), model_writer=buf,
                                   vocab_size=vocab_size, model_type="unigram",
                                   minloglevel=2, num_threads=1)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.model").write_bytes(buf.getvalue())
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"bos_token": {"content": "<s>"}, "eos_token": "</s>", "add_bos_token": True}))
    return folder


def write_hf_model(folder: Path, vocab_size: int, seed: int = 3, hidden: int = 32,
                   layers: int = 2, inter: int = 48) -> Path:
    """An HF HGRNBit folder (config + safetensors) with random bf16 latent weights."""
    from test_hf_import import write_checkpoint

    cfg = ref.hf_config(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                        intermediate_size=inter)
    return write_checkpoint(folder, cfg, ref.random_state_dict(cfg, seed=seed))


def vocab_of(folder: Path) -> int:
    from lava_llm.models.lm.tokenizer import HFTokenizer

    return HFTokenizer(folder).vocab_size
