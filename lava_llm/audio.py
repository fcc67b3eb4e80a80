"""Off-chip audio front end of the denoiser (as in Intel N-DNS), SI-SNR, and checked wav I/O.

Data flow (everything here runs on the host, not on the chip)::

    wave --stft--> X (frames, bins) complex      32 ms Hann window, 8 ms hop, centred frames
    features = log(|X| + FEATURE_EPS)            what the network sees, one frame per step
    mask     = network(features)                 (frames, bins), real
    Y        = X * max(1 + mask, 0)              magnitude mask |X|(1+mask), noisy phase
    wave'    = istft(Y, length=len(wave))

One implementation serves numpy and torch callers: :func:`stft` / :func:`istft` are
``torch.stft`` / ``torch.istft`` (numpy arrays are converted and converted back), so the
training loss, the Lava backends and the integer engine share exactly the same front end.
At 8 kHz (FSDD) a frame is 256 samples (129 bins) and the hop 64 samples; at 16 kHz (N-DNS)
512 samples (257 bins) and 128.

Metrics
-------
``si_snr(estimate, target)`` and ``si_snri(estimate, noisy, target)``: the target (the clean
reference) is ALWAYS the last argument. Both are in dB, zero-mean, scale-invariant.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lava_llm import validation as V

WINDOW_SECONDS = 0.032
HOP_SECONDS = 0.008
FEATURE_EPS = 1e-3
#: A run of at least this many consecutive samples at or above CLIP_LEVEL of full scale counts
#: as clipping.
CLIP_RUN = 3
CLIP_LEVEL = 0.999


def frame_sizes(sample_rate: int) -> tuple[int, int]:
    """``(window, hop)`` in samples for ``sample_rate``: 32 ms and 8 ms."""
    sr = V.check_int("sample_rate", sample_rate, 1000, 192000)
    return int(round(WINDOW_SECONDS * sr)), int(round(HOP_SECONDS * sr))


def n_bins(sample_rate: int) -> int:
    """Number of STFT bins (``window // 2 + 1``)."""
    return frame_sizes(sample_rate)[0] // 2 + 1


def n_frames(n_samples: int, sample_rate: int) -> int:
    """Number of STFT frames of a signal of ``n_samples`` (centred frames)."""
    return n_samples // frame_sizes(sample_rate)[1] + 1


def _torch(x):
    import torch

    if isinstance(x, torch.Tensor):
        return x, False
    return torch.as_tensor(np.asarray(x)), True


def stft(wave, sample_rate: int):
    """Complex STFT, shape ``(..., frames, bins)`` (numpy in -> numpy out, torch -> torch)."""
    import torch

    win, hop = frame_sizes(sample_rate)
    x, was_np = _torch(wave)
    if not torch.is_floating_point(x):
        x = x.double()
    window = torch.hann_window(win, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_fft=win, hop_length=hop, win_length=win, window=window,
                      center=True, pad_mode="constant", return_complex=True)
    spec = spec.transpose(-1, -2)
    return spec.numpy() if was_np else spec


def istft(spec, length: int, sample_rate: int):
    """Inverse of :func:`stft` (``spec`` of shape ``(..., frames, bins)``) to ``length``
    samples."""
    import torch

    win, hop = frame_sizes(sample_rate)
    s, was_np = _torch(spec)
    real = torch.float64 if s.dtype == torch.complex128 else torch.float32
    window = torch.hann_window(win, periodic=True, dtype=real, device=s.device)
    out = torch.istft(s.transpose(-1, -2), n_fft=win, hop_length=hop, win_length=win,
                      window=window, center=True, length=int(length))
    return out.numpy() if was_np else out


def features(spec):
    """Network input: ``log(|X| + FEATURE_EPS)`` (numpy or torch)."""
    if isinstance(spec, np.ndarray):
        return np.log(np.abs(spec) + FEATURE_EPS)
    import torch

    return torch.log(spec.abs() + FEATURE_EPS)


def apply_mask(spec, mask):
    """``X * max(1 + mask, 0)``: the magnitude mask ``|X| (1 + mask)`` with the noisy phase
    (negative gains are clipped to 0)."""
    if isinstance(spec, np.ndarray):
        return spec * np.maximum(1.0 + np.asarray(mask), 0.0)
    import torch

    return spec * torch.clamp(1.0 + mask, min=0.0)


# --------------------------------------------------------------------------- metrics
def si_snr(estimate, target, eps: float = 1e-8):
    """Scale-invariant SNR in dB of ``estimate`` against the clean ``target`` (last axis).

    ``s = <e, t> t / |t|^2`` (after removing the means), ``SI-SNR = 10 log10(|s|^2 / |e -
    s|^2)``. Works on numpy arrays (returns float or array) and torch tensors (differentiable).
    """
    if isinstance(estimate, np.ndarray) or isinstance(target, np.ndarray):
        e = np.asarray(estimate, dtype=np.float64)
        t = np.asarray(target, dtype=np.float64)
        if e.shape != t.shape:
            raise ValueError(f"estimate shape {e.shape} != target shape {t.shape}")
        e = e - e.mean(-1, keepdims=True)
        t = t - t.mean(-1, keepdims=True)
        s = (e * t).sum(-1, keepdims=True) / ((t * t).sum(-1, keepdims=True) + eps) * t
        r = 10 * np.log10(((s * s).sum(-1) + eps) / (((e - s) ** 2).sum(-1) + eps))
        return float(r) if np.ndim(r) == 0 else r
    import torch

    e = estimate - estimate.mean(-1, keepdim=True)
    t = target - target.mean(-1, keepdim=True)
    s = (e * t).sum(-1, keepdim=True) / ((t * t).sum(-1, keepdim=True) + eps) * t
    return 10 * torch.log10(((s * s).sum(-1) + eps) / (((e - s) ** 2).sum(-1) + eps))


def si_snri(estimate, noisy, target):
    """SI-SNR improvement in dB: ``si_snr(estimate, target) - si_snr(noisy, target)``
    (target = clean reference, last)."""
    return si_snr(estimate, target) - si_snr(noisy, target)


# --------------------------------------------------------------------------- checked I/O
def check_audio(wave, name: str = "audio") -> np.ndarray:
    """Return ``wave`` as float64 mono 1-D, or raise ValueError for empty, stereo,
    non-finite, out-of-range (``|x| > 1``) or clipped audio (a run of ``CLIP_RUN`` samples at
    ``>= CLIP_LEVEL`` of full scale)."""
    x = V.as_array(name, wave)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise ValueError(f"{name} must be mono (1-D samples), got shape {x.shape}"
                         + (" (stereo/multi-channel: mix it down to one channel first)"
                            if x.ndim == 2 else ""))
    if x.size == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    x = V.check_finite(name, x).astype(np.float64)
    peak = float(np.max(np.abs(x)))
    if peak > 1.0:
        raise ValueError(f"{name} has samples beyond full scale (peak |x| = {peak:.4g} > 1.0); "
                         "expected float audio in [-1, 1]")
    hot = np.abs(x) >= CLIP_LEVEL
    if hot.sum() >= CLIP_RUN:
        run = np.convolve(hot.astype(np.int64), np.ones(CLIP_RUN, np.int64), mode="valid")
        if run.max() >= CLIP_RUN:
            raise ValueError(f"{name} is clipped: {int(hot.sum())} samples at full scale, "
                             f"with runs of >= {CLIP_RUN} consecutive samples at |x| >= "
                             f"{CLIP_LEVEL}; lower the recording level")
    return x


def read_wav(path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a mono wav as float64 in [-1, 1]; check it with :func:`check_audio`.

    Raises FileNotFoundError for a missing file and ValueError for a sample rate other than
    ``sample_rate`` (when given; no silent resampling), stereo, empty, clipped or non-finite
    audio, or a file soundfile cannot read.
    """
    import soundfile as sf

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"audio file {str(p)!r} does not exist")
    V.check_wav_complete(p)
    try:
        data, sr = sf.read(str(p), dtype="float64", always_2d=True)
    except Exception as exc:  # soundfile raises its own error types
        raise ValueError(f"cannot read {str(p)!r} as audio: {exc}") from None
    if data.shape[1] != 1:
        raise ValueError(f"{str(p)!r} has {data.shape[1]} channels; the denoiser needs mono "
                         "audio (mix it down to one channel first)")
    if sample_rate is not None and sr != sample_rate:
        raise ValueError(f"{str(p)!r} has sample rate {sr} Hz but the model expects "
                         f"{sample_rate} Hz; resample it first")
    return check_audio(data[:, 0], name=str(p)), int(sr)


def read_wav_unchecked(path) -> tuple[np.ndarray, int]:
    """Read a mono wav as float64 exactly as stored (no level/clipping checks): for reading
    back a file this library wrote (16-bit PCM comes back as ``pcm / 32768``)."""
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    if data.shape[1] != 1:
        raise ValueError(f"{str(path)!r} has {data.shape[1]} channels, expected mono")
    return data[:, 0], int(sr)


#: Soft limiter knee (fraction of full scale): samples below it pass unchanged, above it
#: ``knee + (c - knee) tanh((|x| - knee) / (c - knee))`` with ``c`` = :data:`LIMIT_CEIL`, the
#: largest positive 16-bit sample (continuous slope; the output never saturates 16 bits).
LIMIT_KNEE = 0.9
PCM16_SCALE = 32768.0
LIMIT_CEIL = 32767.0 / 32768.0


def match_level(estimate, noisy) -> tuple[np.ndarray, float]:
    """Scale the denoised ``estimate`` to the speech level of the ``noisy`` input.

    ``g = max(<noisy, estimate>, 0) / |estimate|^2`` is the least-squares gain of the estimate
    against the input: noise uncorrelated with the speech drops out of ``<noisy, estimate>``,
    so ``g * estimate`` carries the input's speech level (the denoiser's magnitude mask leaves
    the gain free; the SI-SNR loss does not see it). ``g`` is capped so that the output never
    has more energy than the input. Returns ``(g * estimate, g)``; an all-zero estimate is
    returned unchanged with ``g = 1``.
    """
    e = np.asarray(estimate, np.float64).reshape(-1)
    x = np.asarray(noisy, np.float64).reshape(-1)
    if e.shape != x.shape:
        raise ValueError(f"estimate has {e.size} samples but noisy has {x.size}")
    ee = float(e @ e)
    if ee <= 0.0:
        return e.copy(), 1.0
    g = max(float(x @ e), 0.0) / ee
    g = min(g, float(np.sqrt((x @ x) / ee)))
    return g * e, g


def soft_limit(wave, knee: float = LIMIT_KNEE) -> tuple[np.ndarray, int]:
    """Soft limiter: ``|x| <= knee`` unchanged, above it ``sign(x) (knee + (c - knee)
    tanh((|x| - knee) / (c - knee)))``, ``c`` = :data:`LIMIT_CEIL` (slope 1 at the knee,
    monotone, ``|output| <= 32767/32768``: the 16-bit output never saturates). Returns
    ``(limited wave, number of samples above the knee)``."""
    if not 0.0 < knee < LIMIT_CEIL:
        raise ValueError(f"knee must be in (0, {LIMIT_CEIL}), got {knee}")
    c = LIMIT_CEIL
    x = V.check_finite("wave", wave).astype(np.float64).reshape(-1)
    a = np.abs(x)
    hot = a > knee
    y = x.copy()
    y[hot] = np.sign(x[hot]) * (knee + (c - knee) * np.tanh((a[hot] - knee) / (c - knee)))
    return y, int(hot.sum())


def to_pcm16(wave) -> tuple[np.ndarray, int]:
    """Float audio -> 16-bit PCM samples ``round(x * 32768)`` saturated to [-32768, 32767];
    returns ``(int16 samples, number of samples that saturated)``. ``pcm / 32768`` is exactly
    what a reader of the written file gets back."""
    x = V.check_finite("wave", wave).astype(np.float64).reshape(-1)
    q = np.round(x * PCM16_SCALE)
    clipped = int(np.count_nonzero((q > 32767) | (q < -32768)))
    return np.clip(q, -32768, 32767).astype(np.int16), clipped


def prepare_output(estimate, noisy, *, level: bool = True, limit: bool = True) -> dict:
    """What the denoiser writes: level matched to the input (:func:`match_level`), soft-limited
    (:func:`soft_limit`), quantised to 16-bit PCM (:func:`to_pcm16`).

    Returns ``{"pcm": int16 samples, "wave": pcm / 32768 (float64, the written samples),
    "gain": level gain, "limited_samples": n, "clipped_samples": n, "peak_before_limit": p}``.
    """
    x = V.check_finite("estimate", estimate).astype(np.float64).reshape(-1)
    gain = 1.0
    if level:
        x, gain = match_level(x, noisy)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    limited = 0
    if limit:
        x, limited = soft_limit(x)
    pcm, clipped = to_pcm16(x)
    return {"pcm": pcm, "wave": pcm.astype(np.float64) / PCM16_SCALE, "gain": gain,
            "limited_samples": limited, "clipped_samples": clipped,
            "peak_before_limit": peak}


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name the same file (symlinks and ``..`` resolved; an
    existing file is also compared by inode)."""
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        try:
            return pa.samefile(pb)
        except OSError:
            pass
    return Path(__import__("os").path.realpath(pa)) == Path(__import__("os").path.realpath(pb))


def write_pcm16(path, pcm, sample_rate: int) -> Path:
    """Write int16 samples as a 16-bit PCM wav atomically (a temporary file in the same folder,
    then renamed: a failed write leaves nothing behind)."""
    import os
    import tempfile

    import soundfile as sf

    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"output folder {str(parent)!r} does not exist")
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16:
        raise ValueError(f"pcm must be int16 samples, got {pcm.dtype}")
    fd, tmp = tempfile.mkstemp(suffix=".wav", prefix=".tmp_", dir=str(parent))
    os.close(fd)
    try:
        sf.write(tmp, pcm.reshape(-1), int(sample_rate), subtype="PCM_16", format="WAV")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)       # mkstemp makes 0600; give a normal file's mode
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def write_wav(path, wave, sample_rate: int) -> Path:
    """Write float audio in [-1, 1] as 16-bit PCM (:func:`to_pcm16`, atomic write).

    Never clips silently: samples that saturate 16 bits raise a :class:`UserWarning` naming
    how many (use :func:`prepare_output` for a soft limiter instead)."""
    import warnings

    pcm, clipped = to_pcm16(wave)
    if clipped:
        warnings.warn(f"write_wav({str(path)!r}): {clipped} samples beyond full scale were "
                      "clipped to 16 bits", UserWarning, stacklevel=2)
    return write_pcm16(path, pcm, sample_rate)
