#!/usr/bin/env python
"""Q-S5 bit-width sweep: accuracy of a small S5 classifier with ``Lambda_bar`` at 16/8/6/4 bits
and the other weights at 8/4 bits, post-training quantisation (PTQ) against quantisation-aware
training (QAT), on two sequence classification tasks that train on this CPU in minutes.

Tasks
-----
``digits8x8``  scikit-learn's 8x8 digits (1,797 images) read pixel by pixel: 64 steps of one
               input (intensity / 16); stratified 80/20 split (seed 0).
``fsdd``       Free Spoken Digit Dataset, official split (index 0-4 test): 32 log-mel bands of
               the shared 32 ms / 8 ms STFT (:mod:`lava_llm.audio`), the first 96 frames
               (0.77 s; shorter clips are zero-padded and masked). Skipped without
               ``../shared/data``.

Model (what we chose so that the sweep runs in minutes on 2 cores)
-----------------------------------------------------------------
Linear encoder (inputs -> H = 32) - 2 x [LayerNorm, S5 SSM (P = 32 complex states, HiPPO-N
init, ZOH, parallel scan: :class:`lava_llm.training.s5.S5SSM`), GELU, residual] - mean over
time - linear decoder (H -> 10). Adam, cosine learning rate. Float training ``--epochs``
(digits) / ``--fsdd-epochs``; QAT = the float model fine-tuned ``--qat-epochs`` more with
fake-quantised weights (straight-through estimator) at the bit widths of the row; PTQ = the
float model's weights quantised once (static power-of-two scales from max |w|), no retraining.

Quantisers (the shared ones of :mod:`lava_llm.training.s5`, power-of-two scales):
``Lambda_bar`` real and imaginary parts at ``b`` bits with ``b - 1`` fractional bits
(|Lambda_bar| < 1; values are clipped to ``1 - 2**(1-b)``, so 4-bit ``Lambda_bar`` cannot hold
long memories); ``B_bar`` at ``w`` bits with one scale per state (row, re and im shared); ``C``
(re/im one scale), ``D``, encoder and decoder at ``w`` bits per tensor. LayerNorm, biases and
activations stay float (the sweep isolates weight precision, as the issue's table asks).

Run: ``.venv/bin/python benchmarks/qs5_sweep.py``
(writes ``benchmarks/results/qs5_sweep.{json,md}``).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results  # noqa: E402

from lava_llm.training.s5 import (S5SSM, fake_quant, fake_quant_complex_rows,  # noqa: E402
                                  fake_quant_pair, parallel_scan)

REPO = Path(__file__).resolve().parent.parent
LAMBDA_BITS = (16, 8, 6, 4)
WEIGHT_BITS = (8, 4)
COLUMNS = ["task", "lambda_bits", "weight_bits", "ptq_acc", "qat_acc", "ptq_drop", "qat_drop",
           "seconds", "note"]


# --------------------------------------------------------------------------- model
class QS5Classifier(nn.Module):
    """Encoder - ``n_layers`` x [LayerNorm, S5, GELU, residual] - mean pool - decoder."""

    def __init__(self, d_in: int, n_classes: int = 10, d_model: int = 32, d_state: int = 32,
                 n_layers: int = 2, blocks: int = 2, dt_min: float = 0.01,
                 dt_max: float = 0.1, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.encoder = nn.Linear(d_in, d_model)
        self.norms = nn.ModuleList([nn.LayerNorm(d_model) for _ in range(n_layers)])
        self.ssms = nn.ModuleList([S5SSM(d_model, d_state, blocks, dt_min, dt_max, g)
                                   for _ in range(n_layers)])
        self.decoder = nn.Linear(d_model, n_classes)
        self.bits: tuple[int, int] | None = None   # (lambda_bits, weight_bits) or float

    def _w(self, w):
        return w if self.bits is None else fake_quant(w, self.bits[1])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` ``(B, T, d_in)``, ``mask`` ``(B, T)`` of valid steps -> logits ``(B, C)``."""
        h = x @ self._w(self.encoder.weight).t() + self.encoder.bias
        for norm, ssm in zip(self.norms, self.ssms):
            u = norm(h)
            lam_bar, b_bar = ssm.discrete()
            c, d = ssm.c(), ssm.d
            if self.bits is not None:
                lb, wb = self.bits
                lr = fake_quant(lam_bar.real, lb, lb - 1)
                li = fake_quant(lam_bar.imag, lb, lb - 1)
                lam_bar = torch.complex(lr, li)
                br, bi = fake_quant_complex_rows(b_bar.real, b_bar.imag, wb)
                b_bar = torch.complex(br, bi)
                cr, ci = fake_quant_pair(c.real, c.imag, wb)
                c = torch.complex(cr, ci)
                d = fake_quant(d, wb)
            xs = parallel_scan(lam_bar, u.to(b_bar.dtype) @ b_bar.transpose(0, 1))
            y = 2 * (xs @ c.transpose(0, 1)).real + d * u
            h = h + torch.nn.functional.gelu(y)
        if mask is None:
            pooled = h.mean(1)
        else:
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1)
        return pooled @ self._w(self.decoder.weight).t() + self.decoder.bias


# --------------------------------------------------------------------------- data
def digits_task(seed: int = 0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.reshape(-1, 64, 1) / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=seed,
                                          stratify=d.target)
    return (torch.tensor(xtr), None, torch.tensor(ytr)), (torch.tensor(xte), None,
                                                          torch.tensor(yte))


def mel_filterbank(n_mels: int, n_bins: int, sample_rate: int) -> np.ndarray:
    """Triangular mel filters ``(n_mels, n_bins)`` (HTK mel scale)."""
    def mel(f):
        return 2595 * np.log10(1 + f / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    freqs = np.linspace(0, sample_rate / 2, n_bins)
    edges = hz(np.linspace(mel(0), mel(sample_rate / 2), n_mels + 2))
    fb = np.zeros((n_mels, n_bins))
    for i in range(n_mels):
        lo, c, hi = edges[i], edges[i + 1], edges[i + 2]
        fb[i] = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
    return fb


def fsdd_task(fsdd_dir, frames: int = 96, n_mels: int = 32):
    from lava_llm import audio
    from lava_llm.data import load_fsdd_digits

    fb = mel_filterbank(n_mels, audio.n_bins(8000), 8000)

    def featurise(split):
        waves, labels = load_fsdd_digits(fsdd_dir, split)
        x = np.zeros((len(waves), frames, n_mels), np.float32)
        m = np.zeros((len(waves), frames), bool)
        for i, w in enumerate(waves):
            p = np.abs(audio.stft(w, 8000)) ** 2
            f = np.log(p @ fb.T + 1e-6)[:frames]
            x[i, :len(f)] = f
            m[i, :len(f)] = True
        return x, m, labels

    (xtr, mtr, ytr), (xte, mte, yte) = featurise("train"), featurise("test")
    mu, sd = xtr[mtr].mean(0), xtr[mtr].std(0) + 1e-6
    xtr = np.where(mtr[..., None], (xtr - mu) / sd, 0).astype(np.float32)
    xte = np.where(mte[..., None], (xte - mu) / sd, 0).astype(np.float32)
    return ((torch.tensor(xtr), torch.tensor(mtr), torch.tensor(ytr)),
            (torch.tensor(xte), torch.tensor(mte), torch.tensor(yte)))


# --------------------------------------------------------------------------- train / eval
def train(model, data, epochs: int, lr: float, seed: int, batch: int = 64) -> None:
    x, m, y = data
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_steps = epochs * math.ceil(len(y) / batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k / n_steps, 1.0))))
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), batch):
            idx = perm[i:i + batch]
            logits = model(x[idx], None if m is None else m[idx])
            loss = nn.functional.cross_entropy(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    model.eval()


@torch.no_grad()
def accuracy(model, data) -> float:
    x, m, y = data
    model.eval()
    pred = torch.cat([model(x[i:i + 256], None if m is None else m[i:i + 256]).argmax(-1)
                      for i in range(0, len(y), 256)])
    return float((pred == y).float().mean())


def sweep_task(name, train_data, test_data, d_in, args, epochs: int) -> list[dict]:
    import copy

    t0 = time.time()
    base = QS5Classifier(d_in, seed=args.seed)
    train(base, train_data, epochs, args.lr, args.seed)
    float_acc = accuracy(base, test_data)
    t_float = time.time() - t0
    rows = [{"task": name, "lambda_bits": "float", "weight_bits": "float",
             "ptq_acc": round(100 * float_acc, 2), "qat_acc": round(100 * float_acc, 2),
             "ptq_drop": 0.0, "qat_drop": 0.0, "seconds": round(t_float, 1)}]
    print(f"[{name}] float {100 * float_acc:.2f}% ({t_float:.0f} s)", file=sys.stderr)
    # control: the same extra fine-tuning as QAT, without quantisation
    ctrl = copy.deepcopy(base)
    train(ctrl, train_data, args.qat_epochs, args.qat_lr, args.seed + 1)
    ctrl_acc = accuracy(ctrl, test_data)
    rows.append({"task": name, "lambda_bits": "float", "weight_bits": "float",
                 "ptq_acc": "", "qat_acc": round(100 * ctrl_acc, 2), "ptq_drop": "",
                 "qat_drop": round(100 * (float_acc - ctrl_acc), 2), "seconds": "",
                 "note": f"control: float fine-tuned {args.qat_epochs} epochs like QAT"})
    for lb in LAMBDA_BITS:
        for wb in WEIGHT_BITS:
            t1 = time.time()
            ptq = copy.deepcopy(base)
            ptq.bits = (lb, wb)
            ptq_acc = accuracy(ptq, test_data)
            qat = copy.deepcopy(base)
            qat.bits = (lb, wb)
            train(qat, train_data, args.qat_epochs, args.qat_lr, args.seed + 1)
            qat_acc = accuracy(qat, test_data)
            rows.append({"task": name, "lambda_bits": lb, "weight_bits": wb,
                         "ptq_acc": round(100 * ptq_acc, 2), "qat_acc": round(100 * qat_acc, 2),
                         "ptq_drop": round(100 * (float_acc - ptq_acc), 2),
                         "qat_drop": round(100 * (float_acc - qat_acc), 2),
                         "seconds": round(time.time() - t1, 1)})
            print(f"[{name}] L{lb} W{wb}: PTQ {100 * ptq_acc:.2f}%  QAT {100 * qat_acc:.2f}%",
                  file=sys.stderr)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=20, help="float epochs, digits8x8")
    ap.add_argument("--fsdd-epochs", type=int, default=8, help="float epochs, fsdd")
    ap.add_argument("--qat-epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--qat-lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tasks", default="digits8x8,fsdd")
    ap.add_argument("--fsdd", default=str(REPO.parent / "shared" / "data" / "fsdd"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows, notes = [], []
    t0 = time.time()
    for task in args.tasks.split(","):
        if task == "digits8x8":
            tr, te = digits_task(args.seed)
            rows += sweep_task(task, tr, te, 1, args, args.epochs)
        elif task == "fsdd":
            if not Path(args.fsdd).is_dir():
                notes.append(f"fsdd skipped: {args.fsdd} not found")
                continue
            tr, te = fsdd_task(args.fsdd)
            rows += sweep_task(task, tr, te, tr[0].shape[-1], args, args.fsdd_epochs)
        else:
            raise SystemExit(f"unknown task {task!r} (digits8x8, fsdd)")
    total = time.time() - t0
    cmd = "benchmarks/qs5_sweep.py " + " ".join(argv if argv is not None else sys.argv[1:])
    notes.append(
        f"Accuracy (%) on the test split; drop = float accuracy - quantised accuracy "
        f"(percentage points). Model: H=32, P=32, 2 S5 layers (dt in [0.01, 0.1]); float "
        f"training {args.epochs} epochs on digits8x8 and {args.fsdd_epochs} on fsdd (Adam "
        f"{args.lr}, cosine, batch 64), QAT = {args.qat_epochs} fine-tuning epochs with "
        f"fake-quantised weights (lr {args.qat_lr}), PTQ = the float weights quantised "
        f"(power-of-two scales). The second float row fine-tunes the float model for the same "
        f"{args.qat_epochs} epochs without quantisation: compare the QAT column with it, "
        f"since QAT rows also get that extra training. Activations, LayerNorm and biases "
        f"stay float. Seed "
        f"{args.seed}, one run per cell (no error bars). Total {total:.0f} s on "
        f"{args.threads} thread(s).")
    if not args.no_write:
        write_results("qs5_sweep", rows, command=cmd.strip(), notes="\n\n".join(notes),
                      columns=COLUMNS)
    else:
        from _common import markdown_table

        print(markdown_table(rows, COLUMNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
