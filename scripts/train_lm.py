"""Train the shipped MatMul-free LM demo checkpoint on tinyshakespeare (CPU, seeded).

    .venv/bin/python scripts/train_lm.py --float-baseline-steps 800
        # writes lava_llm/checkpoints/lm_shakespeare/ (the baseline option does not change it)
        # and benchmarks/results/lm_bpc.{json,md}

Data: ``../shared/data/tinyshakespeare/input.txt`` (or ``$LAVA_LLM_DATA/tinyshakespeare``),
character level (vocabulary: the characters of the file); the last 10% is held out for
validation. One schedule, stated honestly:

1. float warm-up: ``--float-steps`` AdamW steps with every BitLinear in full precision;
   the snapshot at the end is the *float-weight baseline* (scored, not shipped);
2. QAT: ``--qat-steps`` more steps from there with fake quantisation (ternary weights,
   per-token int8 activations, straight-through gradients);
3. optionally (``--float-baseline-steps N``) a separate float-weight model trained for N
   steps, an equal-compute float baseline (scored only);
4. ternarise once, calibrate the static fixed-point scales on training text, export the
   integer model and score validation bits per character (BPC) for: the float-weight
   baseline (torch), the ternary model in float arithmetic (torch fake-quant, and the numpy
   float path), and the integer engine (bit-exact with Lava sim-fixed).

Everything is seeded (``--seed``); torch runs on 1 CPU thread, so a re-run reproduces the
checkpoint bit for bit on the same software stack.
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

from lava_llm.models.lm import engine, export  # noqa: E402
from lava_llm.models.lm.checkpoint import (DEFAULT_CHECKPOINT, load_checkpoint,  # noqa: E402
                                           save_checkpoint)
from lava_llm.models.lm.config import LMConfig  # noqa: E402
from lava_llm.models.lm.tokenizer import CharTokenizer  # noqa: E402
from lava_llm.training.hgrn import HGRNBitForCausalLM, set_quantize  # noqa: E402


def data_path() -> Path:
    root = Path(os.environ.get("LAVA_LLM_DATA", REPO.parent / "shared" / "data"))
    path = root / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        raise SystemExit(f"train_lm: {path} not found (set LAVA_LLM_DATA)")
    return path


@torch.no_grad()
def torch_bpc(model, ids, streams=64, chunk=256) -> float:
    model.eval()

    def fn(x, state):
        logits, state = model(torch.from_numpy(x), state)
        return logits.double().numpy(), state

    out = engine.bits_per_char(fn, ids, streams=streams, chunk=chunk)
    model.train()
    return out


def train(model, train_ids, steps, *, lr, batch, seq, rng, desc, warmup=50):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    data = torch.from_numpy(train_ids)
    t0 = time.time()
    for step in range(steps):
        starts = rng.integers(0, train_ids.size - seq - 1, size=batch)
        x = torch.stack([data[s:s + seq] for s in starts])
        y = torch.stack([data[s + 1:s + seq + 1] for s in starts])
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"[{desc}] step {step:4d}/{steps} loss {loss.item() / math.log(2):.3f} "
                  f"bits/char  {time.time() - t0:.0f}s", file=sys.stderr, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--float-steps", type=int, default=300)
    ap.add_argument("--qat-steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calib-tokens", type=int, default=16384)
    ap.add_argument("--calib-percentile", type=float, default=100.0)
    ap.add_argument("--float-baseline-steps", type=int, default=0,
                    help="also train a separate float-weight model for this many steps (after "
                         "the checkpoint is written, own seed stream; 0 = skip) and score it")
    ap.add_argument("--out", default=str(DEFAULT_CHECKPOINT))
    ap.add_argument("--no-results", action="store_true", help="do not write benchmarks/results")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = data_path().read_text()
    tok = CharTokenizer.from_text(text)
    ids = tok.encode(text)
    split = int(0.9 * ids.size)
    train_ids, val_ids = ids[:split], ids[split:]
    cfg = LMConfig(vocab_size=tok.vocab_size, hidden_size=args.hidden, num_layers=args.layers)
    print(f"config {cfg}; train {train_ids.size} / val {val_ids.size} chars", file=sys.stderr)

    model = HGRNBitForCausalLM(cfg)
    t0 = time.time()
    set_quantize(model, False)
    train(model, train_ids, args.float_steps, lr=args.lr, batch=args.batch, seq=args.seq,
          rng=rng, desc="float")
    bpc_float_weights = torch_bpc(model, val_ids)
    print(f"float-weight baseline: val BPC {bpc_float_weights:.4f}", file=sys.stderr)
    set_quantize(model, True)
    train(model, train_ids, args.qat_steps, lr=args.lr, batch=args.batch, seq=args.seq,
          rng=rng, desc="qat")
    train_s = time.time() - t0

    params = model.to_params()
    calib_ids = train_ids[: args.calib_tokens].reshape(64, -1)
    calib = export.calibrate(params, calib_ids, percentile=args.calib_percentile)
    run_args = {k: v for k, v in vars(args).items()
                if k not in ("out", "no_results", "float_baseline_steps")}
    meta = {"trained_by": "scripts/train_lm.py", "args": run_args,
            "data": "tinyshakespeare/input.txt, first 90% (validation: last 10%)"}
    out = save_checkpoint(args.out, params, tok, calib, meta)
    size = sum(p.stat().st_size for p in Path(out).iterdir())
    print(f"wrote {out} ({size} bytes)", file=sys.stderr)

    # Score from the saved checkpoint, so the numbers are those of the shipped files.
    ck = load_checkpoint(out)
    tmodel = HGRNBitForCausalLM.from_params(ck.params)
    bpc_fake = torch_bpc(tmodel, val_ids)
    fm = export.float_model(ck.params)
    bpc_np = engine.bits_per_char(lambda x, s: engine.float_forward(fm, x, s), val_ids)
    qm = export.export_int(ck.params, ck.calibration)
    t1 = time.time()
    bpc_int = engine.bits_per_char(lambda x, s: engine.int_forward(qm, x, s), val_ids,
                                   scale=2.0 ** -qm["logit_frac"])
    int_s = time.time() - t1
    rel = (bpc_int - bpc_fake) / bpc_fake
    extra_rows = []
    if args.float_baseline_steps:
        torch.manual_seed(args.seed + 1)
        base = set_quantize(HGRNBitForCausalLM(cfg), False)
        train(base, train_ids, args.float_baseline_steps, lr=args.lr, batch=args.batch,
              seq=args.seq, rng=np.random.default_rng(args.seed + 1), desc="float-baseline")
        extra_rows.append({"model": f"float weights, separate run of "
                                    f"{args.float_baseline_steps} steps (torch)",
                           "val_bpc": torch_bpc(base, val_ids)})
    rows = [
        {"model": "float weights (torch, end of float warm-up)", "val_bpc": bpc_float_weights},
        {"model": "ternary fake-quant (torch float32)", "val_bpc": bpc_fake},
        {"model": "ternary, numpy float64 path (= sim-float)", "val_bpc": bpc_np},
        {"model": "ternary integer engine (= sim-fixed)", "val_bpc": bpc_int},
    ] + extra_rows
    summary = {"integer_vs_fake_quant_rel": rel,
               "integer_vs_float_weights_rel": (bpc_int - bpc_float_weights) / bpc_float_weights,
               "within_1pct_of_ternary_float": bool(abs(rel) <= 0.01),
               "val_chars": int(val_ids.size), "int_engine_seconds": int_s,
               "checkpoint_bytes": int(size), "config": cfg.to_dict(),
               "x_frac": qm["x_frac"], "train_seconds": train_s}
    if extra_rows:
        b = extra_rows[0]["val_bpc"]
        summary["float_baseline_steps"] = args.float_baseline_steps
        summary["integer_vs_float_baseline_rel"] = (bpc_int - b) / b
    print(json.dumps(summary, indent=1), file=sys.stderr)
    if not args.no_results:
        sys.path.insert(0, str(REPO))
        from benchmarks._common import write_results

        notes = (f"Validation: last 10% of tinyshakespeare ({val_ids.size} chars), char level. "
                 f"One schedule: {args.float_steps} float steps, then {args.qat_steps} QAT steps "
                 f"(the float-weight row is the snapshot after the float steps, so it saw fewer "
                 f"updates). Integer engine vs ternary float arithmetic: {100 * rel:+.2f}% BPC; "
                 f"vs float weights: {100 * summary['integer_vs_float_weights_rel']:+.2f}%. "
                 f"Integer engine scored {val_ids.size} chars in {int_s:.1f} s.")
        if extra_rows:
            notes += (f" Equal-compute float baseline ({args.float_baseline_steps} float steps, "
                      f"separate run): integer engine "
                      f"{100 * summary['integer_vs_float_baseline_rel']:+.2f}% BPC against it.")
        command = " ".join(["python scripts/train_lm.py"] + list(sys.argv[1:] if argv is None
                                                                   else argv))
        write_results("lm_bpc", rows, command=command, notes=notes,
                      extra={"summary": summary})
    return summary


if __name__ == "__main__":
    main()
