"""Train a deeper MatMul-free LM with a subword tokenizer on tinyshakespeare (CPU, seeded).

    nice -n 10 .venv/bin/python scripts/train_lm_deep.py
        # writes lava_llm/checkpoints/lm_shakespeare_bpe/ (config.json, model.safetensors,
        # tokenizer.json, tokenizer_config.json); score it with benchmarks/lm_deep.py
    .venv/bin/python scripts/train_lm_deep.py --quick --out /tmp/deep
        # a tiny 6-layer model in a few seconds (the tests' end-to-end check)

Data: ``../shared/data/tinyshakespeare/input.txt`` (or ``$LAVA_LLM_DATA/tinyshakespeare``).
Split on characters: the first 90% trains the tokenizer and the model; the last 10%
(:func:`split_text`) is the held-out validation text, never seen by either and not used for
any choice made here.

Tokenizer: a byte-level BPE (the ``tokenizers`` package; ``--vocab`` tokens including the 256
byte symbols, no special tokens) trained on the training text. Byte-level means every UTF-8
text is encodable and ``decode(encode(text)) == text`` (checked), so bits per byte are exact.
The checkpoint carries it as ``tokenizer.json`` + ``tokenizer_config.json`` (no BOS, no EOS),
which :meth:`lava_llm.models.lm.generate.LanguageModel.load` picks up, so ``lava-llm generate
--checkpoint DIR --prompt TEXT`` and ``lava-llm eval --checkpoint DIR --text FILE`` work.

Model: HGRNBit (``--layers`` blocks of width ``--hidden``, GLU width ``--intermediate``, default
matmulfreellm's), trained with quantisation-aware training from the start: the project's
quantisers (:class:`lava_llm.training.bitlinear.BitLinear`: absmean ternary weights, per-token
absmax int8 activations, straight-through gradients). ``--float-steps`` > 0 prepends that many
full-precision warm-up steps (default 0). AdamW, linear warm-up then cosine decay to 0.

At the end the latent weights are ternarised once (``to_params``), the fixed-point scales are
calibrated on ``--calib-tokens`` tokens of *training* text (:func:`export.calibrate`) and the
checkpoint is written. Everything is seeded (``--seed``; torch on ``--threads`` CPU threads,
default 1, where a re-run reproduces the checkpoint bit for bit on the same software stack).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lava_llm.models.lm import export  # noqa: E402
from lava_llm.models.lm.checkpoint import save_checkpoint  # noqa: E402
from lava_llm.models.lm.config import LMConfig  # noqa: E402
from lava_llm.training.hgrn import HGRNBitForCausalLM, set_quantize  # noqa: E402

#: Where the default run writes its checkpoint.
DEEP_CHECKPOINT = REPO / "lava_llm" / "checkpoints" / "lm_shakespeare_bpe"
#: Fraction of the characters of input.txt that trains (the rest is validation).
TRAIN_FRACTION = 0.9


def data_path() -> Path:
    root = Path(os.environ.get("LAVA_LLM_DATA", REPO.parent / "shared" / "data"))
    path = root / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        raise SystemExit(f"train_lm_deep: {path} not found (set LAVA_LLM_DATA)")
    return path


def split_text(text: str) -> tuple[str, str]:
    """``(train, validation)``: the first 90% of the characters and the last 10%."""
    cut = int(TRAIN_FRACTION * len(text))
    return text[:cut], text[cut:]


def train_tokenizer(text: str, vocab_size: int):
    """A byte-level BPE trained on ``text`` (``vocab_size`` tokens, 256 byte symbols
    included, no special tokens); ``decode(encode(s)) == s`` for every string."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    tok.train_from_iterator([text], trainer=trainer, length=1)
    return tok


def write_tokenizer(tok, folder) -> list[str]:
    """``tokenizer.json`` + ``tokenizer_config.json`` (no BOS/EOS) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": False,
           "add_eos_token": False, "bos_token": None, "eos_token": None,
           "model_max_length": 1 << 20}
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    return ["tokenizer.json", "tokenizer_config.json"]


def batches(ids: np.ndarray, batch: int, seq: int, rng):
    starts = rng.integers(0, ids.size - seq - 1, size=batch)
    x = np.stack([ids[s:s + seq] for s in starts])
    y = np.stack([ids[s + 1:s + seq + 1] for s in starts])
    return torch.from_numpy(x), torch.from_numpy(y)


def train(model, train_ids, steps, *, lr, batch, seq, rng, desc, warmup, log_every, log):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    t0 = time.time()
    losses = []
    for step in range(steps):
        x, y = batches(train_ids, batch, seq, rng)
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item() / math.log(2))
        if step % log_every == 0 or step == steps - 1:
            recent = float(np.mean(losses[-log_every:]))
            log(f"[{desc}] step {step:5d}/{steps} train loss {recent:.3f} bits/token  "
                f"{time.time() - t0:.0f}s")
    return losses


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=256, help="residual width H (default 256)")
    ap.add_argument("--layers", type=int, default=6, help="number of blocks (default 6)")
    ap.add_argument("--intermediate", type=int, default=None,
                    help="GLU width (default matmulfreellm's 256*ceil(int(8H/3)/256))")
    ap.add_argument("--vocab", type=int, default=2048,
                    help="BPE vocabulary size incl. the 256 byte symbols (default 2048)")
    ap.add_argument("--steps", type=int, default=600, help="QAT steps (default 600)")
    ap.add_argument("--float-steps", type=int, default=0,
                    help="full-precision warm-up steps before QAT (default 0)")
    ap.add_argument("--batch", type=int, default=16, help="sequences per step (default 16)")
    ap.add_argument("--seq", type=int, default=128, help="tokens per sequence (default 128)")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak AdamW lr (default 2e-3)")
    ap.add_argument("--warmup", type=int, default=50, help="lr warm-up steps (default 50)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--calib-tokens", type=int, default=16384,
                    help="training tokens for the fixed-point calibration (default 16384)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--quick", action="store_true",
                    help="tiny smoke run: hidden 32, 6 layers, vocab 300, 4 steps of batch 2 x "
                         "32, 2k characters of text (overrides those options)")
    ap.add_argument("--out", default=str(DEEP_CHECKPOINT), help="checkpoint folder to write")
    ap.add_argument("--save-latent", default=None, metavar="FILE",
                    help="also torch.save the latent (pre-ternarisation) state dict here "
                         "(not part of the checkpoint; e.g. runs/lm_deep_latent.pt)")
    return ap


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    if args.quick:
        args.hidden, args.layers, args.vocab = 32, 6, 300
        args.steps, args.float_steps, args.batch, args.seq = 4, 0, 2, 32
        args.warmup, args.calib_tokens, args.log_every = 2, 256, 1
    for name, lo in (("hidden", 1), ("layers", 1), ("vocab", 257), ("steps", 1),
                     ("batch", 1), ("seq", 2), ("warmup", 1), ("threads", 1),
                     ("calib_tokens", 1), ("log_every", 1)):
        if getattr(args, name) < lo:
            parser().error(f"--{name.replace('_', '-')} must be >= {lo}, got "
                           f"{getattr(args, name)}")
    if args.float_steps < 0:
        parser().error(f"--float-steps must be >= 0, got {args.float_steps}")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = data_path().read_text(encoding="utf-8")
    if args.quick:
        text = text[:20000]
    train_text, val_text = split_text(text)
    if args.quick:
        train_text = train_text[:2000]
    t0 = time.time()
    tok = train_tokenizer(train_text, args.vocab)
    train_ids = np.array(tok.encode(train_text).ids, np.int64)
    if tok.decode(train_ids.tolist()) != train_text:
        raise RuntimeError("tokenizer round trip failed on the training text")
    vocab = tok.get_vocab_size()
    log(f"tokenizer: byte-level BPE, {vocab} tokens, {train_ids.size} training tokens "
        f"({len(train_text.encode()) / train_ids.size:.2f} bytes/token), "
        f"{time.time() - t0:.1f}s")
    if train_ids.size <= args.seq + 1:
        raise SystemExit(f"train_lm_deep: {train_ids.size} training tokens, need more than "
                         f"--seq + 1 = {args.seq + 1}")

    cfg = LMConfig(vocab_size=vocab, hidden_size=args.hidden, num_layers=args.layers,
                   intermediate_size=args.intermediate)
    model = HGRNBitForCausalLM(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"config {cfg}; {n_params} parameters; validation: last "
        f"{100 * (1 - TRAIN_FRACTION):.0f}% = {len(val_text)} characters (not used here)")
    t0 = time.time()
    if args.float_steps:
        set_quantize(model, False)
        train(model, train_ids, args.float_steps, lr=args.lr, batch=args.batch, seq=args.seq,
              rng=rng, desc="float", warmup=args.warmup, log_every=args.log_every, log=log)
    set_quantize(model, True)
    losses = train(model, train_ids, args.steps, lr=args.lr, batch=args.batch, seq=args.seq,
                   rng=rng, desc="qat", warmup=args.warmup, log_every=args.log_every, log=log)
    train_s = time.time() - t0

    params = model.to_params()
    n_cal = min(args.calib_tokens, train_ids.size - train_ids.size % 16)
    calib = export.calibrate(params, train_ids[:n_cal - n_cal % 16].reshape(16, -1))
    run_args = {k: v for k, v in vars(args).items() if k not in ("out", "log_every", "save_latent")}
    meta = {"trained_by": "scripts/train_lm_deep.py", "args": run_args,
            "data": f"tinyshakespeare/input.txt, first {100 * TRAIN_FRACTION:.0f}% of the "
                    f"characters (validation: the last {100 * (1 - TRAIN_FRACTION):.0f}%)",
            "tokenizer": f"byte-level BPE ({vocab} tokens) trained on the training text",
            "train_seconds": round(train_s, 1), "torch": torch.__version__,
            "final_train_loss_bits_per_token": float(np.mean(losses[-50:]))}
    out = save_checkpoint(args.out, params, None, calib, meta)
    write_tokenizer(tok, out)
    if args.save_latent:
        Path(args.save_latent).parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), args.save_latent)
    size = sum(p.stat().st_size for p in Path(out).iterdir())
    log(f"wrote {out} ({size} bytes) after {train_s:.0f}s of training")
    return {"out": str(out), "bytes": size, "train_seconds": train_s, "config": cfg.to_dict(),
            "final_train_loss": meta["final_train_loss_bits_per_token"]}


if __name__ == "__main__":
    main()
