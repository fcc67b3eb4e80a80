"""Torch S5 and the sparse S5 speech denoiser: training, pruning, QAT and export.

API (what the benchmark and the scripts call)
----------------------------------------------
>>> cfg = DenoiserConfig(sample_rate=8000, d_model=64, d_state=64, n_layers=2)
>>> model = S5Denoiser(cfg)
>>> hist = train_denoiser(model, pairs, steps=600, sparsity=0.8, qat=True, seed=0)
>>> params = export_fixed(model)   # calibrated on the first 8 training clips (or calib=...)
>>> # params: dict of numpy arrays (sparse CSR matrices, float AND integer parameters),
>>> # consumed by lava_llm.processes.ssm_diagonal and lava_llm.models.denoiser.
>>> est = model.denoise(noisy_wave)          # torch float reference, numpy in/out

``pairs`` is any sequence of ``(noisy, clean)`` float arrays (e.g.
:class:`lava_llm.data.noisy_fsdd.NDNSDataset`). PTQ is ``export_fixed`` of a model trained
with ``qat=False`` (static post-training quantisation with calibrated power-of-two scales;
``export_fixed_ptq`` is the same function under that name).

The S5 layer
------------
Continuous-time diagonal SSM with ``P`` complex states (the conjugate half; the real system has
``2P``), ``H`` channels::

    x'(t) = Lambda x(t) + B u(t),   y(t) = 2 Re(C x(t)) + D u(t)

* **HiPPO-N initialisation**: ``Lambda`` are the eigenvalues of the normal part of HiPPO-LegS
  (``make_dplr_hippo``), block-diagonal with ``blocks`` copies of a ``2P/blocks`` HiPPO-N,
  keeping the eigenvalue of positive imaginary part of each conjugate pair (as S5). ``B`` and
  ``C`` are complex Gaussian (lecun-normal scale), ``D`` standard normal, per-state step
  ``Delta`` log-uniform in ``[dt_min, dt_max]``. (S5 also rotates B and C by the
  eigenvectors ``V``; for Gaussian B, C that is a change of random draw, so we draw directly
  in the eigenbasis.)
* **ZOH discretisation**: ``Lambda_bar = exp(Lambda Delta)``, ``B_bar = (Lambda_bar - 1) /
  Lambda * B``.
* **Parallel scan** (training): ``x_t = Lambda_bar x_{t-1} + B_bar u_t`` by a Hillis-Steele
  scan in ``ceil(log2 T)`` vectorised steps; **step mode** (streaming) runs the same recurrence
  one frame at a time with a carried state. ``tests/training/test_s5.py`` asserts they agree.

The layer recipe (SparseRNNs / S5): ``u = BatchNorm(x)``, ``y = S5(u)``, ``a = ReLU(y)``,
``z = a * sigmoid(W a + b)`` (half-GLU), ``x <- x + z``. The denoiser is a dense encoder
(bins -> H), ``n_layers`` blocks and a dense decoder (H -> bins) producing the mask.

Pruning: iterative magnitude pruning of every weight matrix (encoder, B, C, GLU W, decoder;
``Lambda`` and ``D`` are diagonal and stay dense) to ``sparsity``; the sparsity of each matrix
follows the cubic schedule of Zhu & Gupta (2017), pruning ``PRUNE_EVENTS`` (50) times between
5 % and 90 % of the steps (50 gentle steps recover better than 10 coarse ones: 9.01 against
8.85 dB SI-SNRi at 80 % sparsity for the shipped recipe). Complex B and C are pruned by
``|B_ij|`` (real and imaginary part share one mask).

QAT: in the last ``QAT_FRACTION`` of the steps BatchNorm is frozen and folded into ``B_bar`` and
``D`` (exactly what the fixed model runs), and every weight is fake-quantised with
:func:`lava_llm.fixed_point.quantize_pow2` through a straight-through estimator: ``Lambda_bar``
re/im at 16 bits (15 fractional bits), ``B_bar`` at 8 bits with one power-of-two scale per
state (row), ``C``, ``D``, ``W``, encoder and decoder at 8 bits per tensor. Activations are
quantised statically at export (16 bits, calibrated power-of-two scales), not during QAT.
"""
from __future__ import annotations

import math
import typing as ty

import numpy as np
import torch
from torch import nn

from lava_llm import audio
from lava_llm import fixed_point as fp
from lava_llm import validation as V
from lava_llm.models.denoiser.config import DenoiserConfig  # noqa: F401  (re-exported)

LAM_BITS = 16
LAM_FRAC = 15
W_BITS = fp.WEIGHT_BITS
ACT_BITS = 16
PRUNE_START, PRUNE_END, PRUNE_EVENTS = 0.05, 0.90, 50
QAT_FRACTION = 0.2
BN_EPS = 1e-5


# --------------------------------------------------------------------------- HiPPO and scans
def make_dplr_hippo(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of the normal part of HiPPO-LegS of size ``n`` (S5's
    ``make_DPLR_HiPPO``): ``S = A + p p^T`` with ``A`` HiPPO-LegS, ``p_k = sqrt(k + 1/2)``;
    ``Lambda = mean(diag S) + i eig(-i S)``."""
    k = np.arange(n)
    q = np.sqrt(1 + 2 * k)
    a = q[:, None] * q[None, :]
    a = -(np.tril(a) - np.diag(k))
    p = np.sqrt(k + 0.5)
    s = a + p[:, None] * p[None, :]
    lam_re = np.mean(np.diag(s)) * np.ones(n)
    lam_im, vec = np.linalg.eigh(s * -1j)
    return lam_re + 1j * lam_im, vec


def hippo_n_init(d_state: int, blocks: int) -> np.ndarray:
    """``d_state`` complex eigenvalues (positive-imaginary half of ``blocks`` HiPPO-N blocks
    of size ``2 d_state / blocks``)."""
    size = 2 * d_state // blocks
    lam, _ = make_dplr_hippo(size)
    lam = lam[np.argsort(-lam.imag, kind="stable")][: size // 2]
    return np.tile(lam, blocks)


def parallel_scan(lam_bar: torch.Tensor, bu: torch.Tensor,
                  x0: torch.Tensor | None = None) -> torch.Tensor:
    """All states of ``x_t = lam_bar * x_{t-1} + bu_t`` (``bu``: ``(..., T, P)`` complex,
    ``x_{-1} = x0`` or 0) by a Hillis-Steele scan: ``ceil(log2 T)`` vectorised steps."""
    if x0 is not None:
        bu = torch.cat([bu[..., :1, :] + lam_bar * x0.unsqueeze(-2), bu[..., 1:, :]], dim=-2)
    t = bu.shape[-2]
    a = lam_bar
    d = 1
    while d < t:
        bu = torch.cat([bu[..., :d, :], bu[..., d:, :] + a * bu[..., :-d, :]], dim=-2)
        a = a * a
        d *= 2
    return bu


def step_scan(lam_bar: torch.Tensor, bu: torch.Tensor,
              x0: torch.Tensor | None = None) -> torch.Tensor:
    """The same recurrence one step at a time (the streaming mode)."""
    x = torch.zeros_like(bu[..., 0, :]) if x0 is None else x0
    out = []
    for k in range(bu.shape[-2]):
        x = lam_bar * x + bu[..., k, :]
        out.append(x)
    return torch.stack(out, dim=-2)


# --------------------------------------------------------------------------- quantisers (STE)
def ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return x + (q - x).detach()


def pow2_exp(amax, bits: int, axis_amax: bool = False):
    """Power-of-two exponent(s) for a tensor's max |value| (per row when ``axis_amax``)."""
    a = np.atleast_1d(np.asarray(amax, dtype=np.float64))
    e = np.array([fp.pow2_exponent(max(float(v), 1e-12), bits) for v in a])
    return e if axis_amax else int(e[0])


def fake_quant(w: torch.Tensor, bits: int, exponent=None, per_row: bool = False):
    """STE fake quantisation with a static power-of-two scale (from max |w| unless given)."""
    with torch.no_grad():
        if exponent is None:
            if per_row:
                amax = w.detach().abs().amax(dim=-1).double().cpu().numpy()
                exponent = pow2_exp(amax, bits, axis_amax=True)
            else:
                exponent = pow2_exp(float(w.detach().abs().max()), bits)
        e = torch.as_tensor(np.asarray(exponent, dtype=np.float64), dtype=w.dtype)
        if per_row:
            e = e.unsqueeze(-1)
        q = torch.clamp(torch.round(w * 2.0 ** e), *fp.int_range(bits)) * 2.0 ** (-e)
    return ste(w, q)


def fake_quant_complex_rows(re: torch.Tensor, im: torch.Tensor, bits: int):
    """Per-row power-of-two quantisation with one exponent per row shared by re and im."""
    with torch.no_grad():
        amax = torch.maximum(re.abs().amax(-1), im.abs().amax(-1)).double().cpu().numpy()
        e = pow2_exp(amax, bits, axis_amax=True)
    return fake_quant(re, bits, e, per_row=True), fake_quant(im, bits, e, per_row=True)


def fake_quant_pair(re: torch.Tensor, im: torch.Tensor, bits: int):
    """Per-tensor quantisation, one exponent for re and im."""
    e = pow2_exp(float(torch.maximum(re.detach().abs().max(), im.detach().abs().max())), bits)
    return fake_quant(re, bits, e), fake_quant(im, bits, e)


def quant_lambda(lr: torch.Tensor, li: torch.Tensor):
    """``Lambda_bar`` at 16 bits with 15 fractional bits (|Lambda_bar| < 1)."""
    return fake_quant(lr, LAM_BITS, LAM_FRAC), fake_quant(li, LAM_BITS, LAM_FRAC)


# --------------------------------------------------------------------------- modules
class S5SSM(nn.Module):
    """One S5 SSM: ``H`` inputs/outputs, ``P`` complex states; see the module docstring."""

    def __init__(self, d_model: int, d_state: int, blocks: int = 4, dt_min: float = 0.001,
                 dt_max: float = 0.1, generator: torch.Generator | None = None):
        super().__init__()
        lam = hippo_n_init(d_state, blocks)
        self.lam_re = nn.Parameter(torch.tensor(lam.real, dtype=torch.float32))
        self.lam_im = nn.Parameter(torch.tensor(lam.imag, dtype=torch.float32))
        g = generator
        std_b = 1.0 / math.sqrt(d_model)
        std_c = 1.0 / math.sqrt(2 * d_state)
        self.b_re = nn.Parameter(torch.randn(d_state, d_model, generator=g) * std_b * 0.7071)
        self.b_im = nn.Parameter(torch.randn(d_state, d_model, generator=g) * std_b * 0.7071)
        self.c_re = nn.Parameter(torch.randn(d_model, d_state, generator=g) * std_c * 0.7071)
        self.c_im = nn.Parameter(torch.randn(d_model, d_state, generator=g) * std_c * 0.7071)
        self.d = nn.Parameter(torch.randn(d_model, generator=g))
        u = torch.rand(d_state, generator=g)
        self.log_dt = nn.Parameter(math.log(dt_min) + u * (math.log(dt_max) - math.log(dt_min)))
        self.register_buffer("mask_b", torch.ones(d_state, d_model))
        self.register_buffer("mask_c", torch.ones(d_model, d_state))

    def lam(self) -> torch.Tensor:
        return torch.complex(torch.clamp(self.lam_re, max=-1e-4), self.lam_im)

    def discrete(self):
        """``(Lambda_bar, B_bar)`` by zero-order hold (complex tensors, masks applied)."""
        lam = self.lam()
        dt = torch.exp(self.log_dt)
        lam_bar = torch.exp(lam * dt)
        b = torch.complex(self.b_re * self.mask_b, self.b_im * self.mask_b)
        b_bar = ((lam_bar - 1) / lam).unsqueeze(-1) * b
        return lam_bar, b_bar

    def c(self) -> torch.Tensor:
        return torch.complex(self.c_re * self.mask_c, self.c_im * self.mask_c)

    def forward(self, u: torch.Tensor, state: torch.Tensor | None = None, mode: str = "scan"):
        """``u``: ``(B, T, H)`` real -> ``(y (B, T, H), last state (B, P) complex)``."""
        lam_bar, b_bar = self.discrete()
        bu = u.to(b_bar.dtype) @ b_bar.transpose(0, 1)
        x = (parallel_scan if mode == "scan" else step_scan)(lam_bar, bu, state)
        y = 2 * (x @ self.c().transpose(0, 1)).real + self.d * u
        return y, x[..., -1, :]


class S5Block(nn.Module):
    """``x + z`` with ``z = a * sigmoid(W a + b)``, ``a = ReLU(S5(BatchNorm(x)))``."""

    def __init__(self, cfg: DenoiserConfig, generator=None):
        super().__init__()
        h = cfg.d_model
        self.norm = nn.BatchNorm1d(h, eps=BN_EPS)
        self.ssm = S5SSM(h, cfg.d_state, cfg.blocks, cfg.dt_min, cfg.dt_max, generator)
        self.glu = nn.Linear(h, h)
        with torch.no_grad():  # nn.Linear's default init, drawn from ``generator``
            bound = 1.0 / math.sqrt(h)
            self.glu.weight.uniform_(-bound, bound, generator=generator)
            self.glu.bias.uniform_(-bound, bound, generator=generator)
        self.register_buffer("mask_w", torch.ones(h, h))
        self.qat = False

    def norm_affine(self):
        """Eval-mode BatchNorm as ``u = scale * x + shift``."""
        n = self.norm
        scale = n.weight / torch.sqrt(n.running_var + n.eps)
        return scale, n.bias - n.running_mean * scale

    def folded(self, quantize: bool):
        """Parameters with BatchNorm folded in: ``Lambda_bar`` (re, im), ``B`` (re, im),
        state bias (re, im), ``C`` (re, im), ``D``, output bias, ``W``, gate bias; fake-
        quantised weights when ``quantize``."""
        s = self.ssm
        lam_bar, b_bar = s.discrete()
        scale, shift = self.norm_affine()
        b_eff = b_bar * scale
        sbias = b_bar @ shift.to(b_bar.dtype)
        lr, li = lam_bar.real, lam_bar.imag
        br, bi = b_eff.real, b_eff.imag
        c = s.c()
        cr, ci = c.real, c.imag
        d = s.d * scale
        ybias = s.d * shift
        w = self.glu.weight * self.mask_w
        if quantize:
            lr, li = quant_lambda(lr, li)
            br, bi = fake_quant_complex_rows(br, bi, W_BITS)
            cr, ci = fake_quant_pair(cr, ci, W_BITS)
            d = fake_quant(d, W_BITS)
            w = fake_quant(w, W_BITS)
        return dict(lam_re=lr, lam_im=li, b_re=br, b_im=bi, sb_re=sbias.real,
                    sb_im=sbias.imag, c_re=cr, c_im=ci, d=d, yb=ybias, w=w, wb=self.glu.bias)

    def forward(self, x, state=None, mode: str = "scan"):
        if not self.qat:
            u = self.norm(x.transpose(1, 2)).transpose(1, 2)
            y, last = self.ssm(u, state, mode)
        else:  # frozen BN folded into B and D, fake-quantised weights (what the chip runs)
            p = self.folded(quantize=True)
            lam_bar = torch.complex(p["lam_re"], p["lam_im"])
            bu = x.to(lam_bar.dtype) @ torch.complex(p["b_re"], p["b_im"]).transpose(0, 1) \
                + torch.complex(p["sb_re"], p["sb_im"])
            xs = (parallel_scan if mode == "scan" else step_scan)(lam_bar, bu, state)
            c = torch.complex(p["c_re"], p["c_im"])
            y = 2 * (xs @ c.transpose(0, 1)).real + p["d"] * x + p["yb"]
            last = xs[..., -1, :]
        a = torch.relu(y)
        w = self.glu.weight * self.mask_w
        if self.qat:
            w = fake_quant(w, W_BITS)
        z = a * torch.sigmoid(a @ w.t() + self.glu.bias)
        return x + z, last


class S5Denoiser(nn.Module):
    """Encoder (bins -> H), ``n_layers`` :class:`S5Block`, decoder (H -> bins) -> mask."""

    def __init__(self, config: DenoiserConfig | None = None, seed: int = 0):
        super().__init__()
        self.config = config or DenoiserConfig()
        cfg = self.config
        g = torch.Generator().manual_seed(int(seed))
        f, h = cfg.n_bins, cfg.d_model
        self.encoder = nn.Linear(f, h)
        self.decoder = nn.Linear(h, f)
        with torch.no_grad():
            self.encoder.weight.copy_(torch.randn(h, f, generator=g) / math.sqrt(f))
            self.encoder.bias.zero_()
            self.decoder.weight.copy_(torch.randn(f, h, generator=g) * 0.1 / math.sqrt(h))
            self.decoder.bias.zero_()
        self.register_buffer("mask_enc", torch.ones(h, f))
        self.register_buffer("mask_dec", torch.ones(f, h))
        self.layers = nn.ModuleList([S5Block(cfg, g) for _ in range(cfg.n_layers)])
        self.qat = False

    # -- pruning bookkeeping
    def prunable(self) -> list[tuple[str, list[torch.Tensor], torch.Tensor]]:
        """``(name, [weight tensors sharing one mask], mask buffer)`` of every prunable
        matrix."""
        out = [("encoder", [self.encoder.weight], self.mask_enc)]
        for i, blk in enumerate(self.layers):
            s = blk.ssm
            out += [(f"layers.{i}.B", [s.b_re, s.b_im], s.mask_b),
                    (f"layers.{i}.C", [s.c_re, s.c_im], s.mask_c),
                    (f"layers.{i}.W", [blk.glu.weight], blk.mask_w)]
        out.append(("decoder", [self.decoder.weight], self.mask_dec))
        return out

    def sparsity(self) -> float:
        """Fraction of zero entries over all prunable matrices (complex entries count once)."""
        tot = sum(m.numel() for _, _, m in self.prunable())
        return 1.0 - sum(float(m.sum()) for _, _, m in self.prunable()) / tot

    def set_qat(self, on: bool) -> None:
        self.qat = bool(on)
        for blk in self.layers:
            blk.qat = bool(on)
            if on:
                blk.norm.eval()

    def enc_w(self):
        w = self.encoder.weight * self.mask_enc
        return fake_quant(w, W_BITS) if self.qat else w

    def dec_w(self):
        w = self.decoder.weight * self.mask_dec
        return fake_quant(w, W_BITS) if self.qat else w

    # -- forward
    def forward_features(self, feats: torch.Tensor, states=None, mode: str = "scan"):
        """``feats`` ``(B, T, bins)`` -> ``(mask (B, T, bins), [state per layer])``."""
        x = feats @ self.enc_w().t() + self.encoder.bias
        new = []
        for i, blk in enumerate(self.layers):
            x, last = blk(x, None if states is None else states[i], mode)
            new.append(last)
        return x @ self.dec_w().t() + self.decoder.bias, new

    def forward(self, noisy: torch.Tensor, mode: str = "scan") -> torch.Tensor:
        """Denoise waveforms ``(B, N)`` -> ``(B, N)``."""
        sr = self.config.sample_rate
        spec = audio.stft(noisy, sr)
        mask, _ = self.forward_features(audio.features(spec).to(noisy.dtype), mode=mode)
        return audio.istft(audio.apply_mask(spec, mask), noisy.shape[-1], sr)

    @torch.no_grad()
    def denoise(self, noisy, mode: str = "scan") -> np.ndarray:
        """Torch float reference on a numpy waveform (eval mode, float64)."""
        was = self.training
        self.eval()
        m = self.double()
        try:
            x = torch.as_tensor(np.asarray(noisy, dtype=np.float64))[None]
            return m(x, mode)[0].numpy()
        finally:
            self.float()
            self.train(was)


# --------------------------------------------------------------------------- pruning
def sparsity_at(step: int, steps: int, target: float) -> float:
    """Cubic schedule (Zhu & Gupta): 0 before 5 % of ``steps``, ``target`` after 90 %,
    ``target * (1 - (1 - f)**3)`` in between, taken at ``PRUNE_EVENTS`` equally spaced
    events."""
    if target <= 0:
        return 0.0
    start, end = PRUNE_START * steps, PRUNE_END * steps
    if step < start:
        return 0.0
    f = min((step - start) / max(end - start, 1), 1.0)
    f = math.floor(f * PRUNE_EVENTS) / PRUNE_EVENTS
    return target * (1 - (1 - f) ** 3)


@torch.no_grad()
def magnitude_prune(model: S5Denoiser, sparsity: float) -> None:
    """Set each prunable matrix's mask to keep its ``1 - sparsity`` largest-magnitude entries
    (masks only shrink: pruned entries stay pruned)."""
    for _, ws, mask in model.prunable():
        mag = torch.sqrt(sum((w * mask) ** 2 for w in ws))
        k = int(round(sparsity * mag.numel()))
        if k <= 0:
            continue
        thresh = torch.kthvalue(mag.flatten(), k).values
        keep = (mag > thresh) & (mask > 0)
        mask.copy_(keep.to(mask.dtype))
        for w in ws:
            w.mul_(mask)


# --------------------------------------------------------------------------- training
def _crops(data, n: int, length: int, rng: np.random.Generator):
    """``n`` random crops of ``length`` samples: a random pair, a random offset. A dataset with
    ``lengths`` and ``segment(i, start, frames)`` (:class:`NDNSDataset`) is read from disk crop
    by crop (bounded memory); any other sequence of ``(noisy, clean)`` is indexed."""
    noisy, clean = [], []
    seg = getattr(data, "segment", None)
    lengths = getattr(data, "lengths", None)
    for _ in range(n):
        i = int(rng.integers(len(data)))
        if seg is not None and lengths is not None:
            o = int(rng.integers(max(int(lengths[i]) - length, 0) + 1))
            a, b = seg(i, o, length)
        else:
            a, b = data[i]
            a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
            if len(a) < length:
                a = np.pad(a, (0, length - len(a)))
                b = np.pad(b, (0, length - len(b)))
            o = int(rng.integers(len(a) - length + 1))
            a, b = a[o:o + length], b[o:o + length]
        noisy.append(a)
        clean.append(b)
    return (torch.tensor(np.stack(noisy), dtype=torch.float32),
            torch.tensor(np.stack(clean), dtype=torch.float32))


def train_denoiser(model: S5Denoiser, data, steps: int, *, sparsity: float = 0.0,
                   qat: bool = False, seed: int = 0, batch_size: int = 8,
                   crop_seconds: float = 1.5, lr: float = 3e-3, progress: bool = False,
                   log_every: int = 50) -> dict:
    """Train ``model`` in place on ``data`` (sequence of ``(noisy, clean)`` arrays, e.g. an
    :class:`~lava_llm.data.noisy_fsdd.NDNSDataset`, streamed: only one batch of crops is in
    memory) to maximise SI-SNR of the denoised waveform (Adam, cosine learning rate).

    ``sparsity`` in [0, 1): iterative magnitude pruning target (see :func:`sparsity_at`).
    ``qat``: fake-quantised training in the last ``QAT_FRACTION`` of the steps (BN frozen).
    Returns ``{"loss": [...], "sparsity": final, "steps": steps}``.
    """
    steps = V.check_int("steps", steps, 1)
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if len(data) == 0:
        raise ValueError("data is empty")
    model.calib_waves = [np.asarray(data[i][0], np.float32) for i in range(min(8, len(data)))]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    length = int(crop_seconds * model.config.sample_rate)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * k / steps)))
    qat_start = int(steps * (1 - QAT_FRACTION)) if qat else steps + 1
    model.train()
    model.set_qat(False)
    losses, current = [], -1.0
    it = range(steps)
    if progress:
        from lava_llm.progress import bar

        it = bar(it, desc="train", file=__import__("sys").stderr)
    for k in it:
        if k == qat_start:
            model.set_qat(True)
        target = sparsity_at(k, steps, sparsity)
        if target != current:
            if target > 0:
                magnitude_prune(model, target)
            current = target
        noisy, clean = _crops(data, batch_size, length, rng)
        est = model(noisy)
        loss = -audio.si_snr(est, clean).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            for _, ws, mask in model.prunable():
                for w in ws:
                    w.mul_(mask)
        losses.append(float(loss.detach()))
        if progress and k % log_every == 0:
            it.set_postfix(loss=f"{np.mean(losses[-log_every:]):.2f}")
    model.eval()
    return {"loss": losses, "sparsity": model.sparsity(), "steps": steps}


# --------------------------------------------------------------------------- export
@torch.no_grad()
def export_float(model: S5Denoiser) -> dict:
    """Float parameters (BatchNorm folded, eval mode; the fake-quantised values when the model
    is in QAT mode) as dense numpy arrays stacked over layers, with the pruning masks."""
    model.eval()
    m = model.double()
    try:
        out: dict[str, ty.Any] = {"config": model.config.to_json()}
        out["f_enc"] = m.enc_w().numpy()
        out["f_enc_b"] = m.encoder.bias.numpy().copy()
        out["f_dec"] = m.dec_w().numpy()
        out["f_dec_b"] = m.decoder.bias.numpy().copy()
        out["mask_enc"] = m.mask_enc.numpy().copy()
        out["mask_dec"] = m.mask_dec.numpy().copy()
        per = [blk.folded(quantize=model.qat) for blk in m.layers]
        for key in per[0]:
            out[f"f_{key}"] = np.stack([p[key].numpy() for p in per])
        out["mask_b"] = np.stack([b.ssm.mask_b.numpy() for b in m.layers])
        out["mask_c"] = np.stack([b.ssm.mask_c.numpy() for b in m.layers])
        out["mask_w"] = np.stack([b.mask_w.numpy() for b in m.layers])
        return out
    finally:
        model.float()


def export_fixed(model: S5Denoiser, calib=None, headroom: float = 2.0) -> dict:
    """Export the trained model for the Lava Process and the integer engine.

    ``calib``: noisy waveforms (list of 1-D arrays) to calibrate the static activation
    scales (max |activation| times ``headroom``, rounded to a power of two); default: the
    first 8 training clips, kept by :func:`train_denoiser` as ``model.calib_waves``. Returns the
    parameter dict of :func:`lava_llm.processes.ssm_diagonal.kernels.build_params` (float and
    integer parameters, sparse matrices in CSR).
    """
    from lava_llm.processes.ssm_diagonal import kernels

    if calib is None:
        calib = getattr(model, "calib_waves", None)
    if calib is None or len(calib) == 0:
        raise ValueError("calib must hold at least one noisy waveform to calibrate the "
                         "activation scales (train_denoiser keeps its first 8 training clips "
                         "as model.calib_waves; a loaded model needs calib=...)")
    dense = export_float(model)
    feats = [audio.features(audio.stft(np.asarray(w, np.float64), model.config.sample_rate))
             for w in calib]
    return kernels.build_params(dense, feats, headroom=headroom)


def export_fixed_ptq(model: S5Denoiser, calib, headroom: float = 2.0) -> dict:
    """Static post-training quantisation: the same export, of a model trained without QAT."""
    return export_fixed(model, calib, headroom)


def save_model(model: S5Denoiser, path) -> None:
    """Save the torch state (config + state_dict) with ``torch.save``."""
    torch.save({"config": model.config.to_json(), "state": model.state_dict(),
                "qat": model.qat}, str(path))


def load_model(path) -> S5Denoiser:
    blob = torch.load(str(path), map_location="cpu", weights_only=True)
    model = S5Denoiser(DenoiserConfig.from_json(blob["config"]))
    model.load_state_dict(blob["state"])
    model.set_qat(bool(blob.get("qat", False)))
    model.eval()
    return model
