"""Noisy spoken digits in the Intel N-DNS layout, a reader for that layout, and FSDD digits.

The benchmark is built from the Free Spoken Digit Dataset (FSDD, 8 kHz, files named
``{digit}_{speaker}_{index}.wav``; official split: index 0-4 test, 5-49 train):

1. Each clip lasts a duration drawn uniformly in ``[min_seconds, max_seconds]`` (default 2-4 s).
   It holds utterances of ONE speaker of the split, concatenated in random order with random
   gaps of 0-0.25 s, placed at a random offset (the remainder is silence).
2. The clean clip is scaled to an RMS level drawn uniformly in [-30, -20] dBFS.
3. Noise of one kind drawn uniformly from :data:`NOISE_TYPES` (white, pink (1/f power), brown
   (1/f^2 power), tonal hum (50 or 60 Hz and 8 harmonics over a faint white floor), babble
   (3-6 utterances of OTHER speakers of the same split, summed)) is scaled so that the whole-clip
   power ratio ``10 log10(sum clean^2 / sum noise^2)`` equals an SNR drawn uniformly in
   ``snr_range`` (default [-5, 20] dB).
4. If the mixture would clip (peak above 0.99) clean, noise and noisy are scaled down together
   (the SNR is unchanged).

The files are written as 16-bit PCM in the Intel N-DNS layout::

    out_dir/noisy/{kind}_snr{snr}_fileid_{N}.wav
    out_dir/clean/clean_fileid_{N}.wav
    out_dir/noise/noise_fileid_{N}.wav
    out_dir/manifest.json        (build parameters and, per clip, kind/snr/sources)

so that :class:`NDNSDataset` reads real N-DNS training/validation folders (16 kHz) the same way.
Every draw comes from ``numpy.random.default_rng(seed)``: the same arguments give the same files.
"""
from __future__ import annotations

import json
import re
import typing as ty
from math import gcd
from pathlib import Path

import numpy as np

from lava_llm.validation import check_choice, check_int

NOISE_TYPES = ("white", "pink", "brown", "hum", "babble")
#: Every kind :func:`make_noise` makes: the training mix plus ``talker`` (ONE competing talker
#: of another speaker; for the generalisation benchmark, not in the default training mix).
ALL_NOISE_TYPES = NOISE_TYPES + ("talker",)
SPLITS = ("train", "test")
FSDD_RATE = 8000
_FSDD_RE = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
_NOISY_RE = re.compile(r"^.*_fileid_(\d+)\.wav$")
_CLEAN_RE = re.compile(r"^clean_fileid_(\d+)\.wav$")
_BUILD_VERSION = 1


# --------------------------------------------------------------------------- FSDD files
def _recordings_dir(fsdd_dir) -> Path:
    path = Path(fsdd_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"fsdd_dir={str(path)!r} is not a folder (expected the FSDD "
                                f"folder or its recordings/ subfolder)")
    if (path / "recordings").is_dir():
        path = path / "recordings"
    return path


def _dirs(fsdd_dir) -> list:
    return list(fsdd_dir) if isinstance(fsdd_dir, (list, tuple)) else [fsdd_dir]


def fsdd_files(fsdd_dir, split: str) -> list[tuple[Path, int, str, int]]:
    """``(path, digit, speaker, index)`` of the FSDD recordings of ``split``, sorted by name.

    Official split: recording index 0-4 is ``"test"``, 5-49 is ``"train"``. ``fsdd_dir``: one
    folder or a list of folders in the FSDD layout (e.g. FSDD plus
    :func:`lava_llm.data.espeak_voices.build_espeak_digits`).
    """
    check_choice("split", split, SPLITS)
    paths = []
    for d in _dirs(fsdd_dir):
        paths += sorted(_recordings_dir(d).glob("*.wav"))
    rec = ", ".join(str(_recordings_dir(d)) for d in _dirs(fsdd_dir))
    out = []
    for p in paths:
        m = _FSDD_RE.match(p.name)
        if not m:
            continue
        digit, speaker, index = int(m.group(1)), m.group(2), int(m.group(3))
        if (index < 5) == (split == "test"):
            out.append((p, digit, speaker, index))
    if not out:
        raise FileNotFoundError(f"no FSDD recordings named digit_speaker_index.wav for "
                                f"split={split!r} in {str(rec)!r}")
    return out


def _read_mono(path: Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a wav as float32 mono; resample (polyphase) to ``sample_rate`` when given."""
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if data.shape[1] != 1:
        raise ValueError(f"{path}: expected mono audio, got {data.shape[1]} channels")
    x = data[:, 0]
    if sample_rate is not None and sr != sample_rate:
        from scipy.signal import resample_poly

        g = gcd(int(sr), int(sample_rate))
        x = resample_poly(x, sample_rate // g, sr // g).astype(np.float32)
        sr = sample_rate
    return x, int(sr)


def load_fsdd_digits(fsdd_dir, split: str, *, sample_rate: int = FSDD_RATE
                     ) -> tuple[list[np.ndarray], np.ndarray]:
    """FSDD spoken-digit classification data of ``split``.

    Returns
    -------
    waveforms : list of float32 arrays (variable length, mono, at ``sample_rate``)
    labels : int64 array of the spoken digits 0-9, aligned with ``waveforms``
    """
    check_int("sample_rate", sample_rate, 1000, 192000)
    files = fsdd_files(fsdd_dir, split)
    waves = [_read_mono(p, sample_rate)[0] for p, *_ in files]
    labels = np.array([d for _, d, _, _ in files], dtype=np.int64)
    return waves, labels


# --------------------------------------------------------------------------- noise
def _unit_rms(x: np.ndarray) -> np.ndarray:
    r = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    return (x / r if r > 0 else x).astype(np.float32)


def _coloured(n: int, rng: np.random.Generator, power_exponent: float) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f**power_exponent (spectral shaping)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / f ** (power_exponent / 2.0), n=n)


def _fit_length(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Tile ``x`` to at least ``n`` samples and cut ``n`` from a random offset."""
    reps = int(np.ceil((n + x.size) / max(x.size, 1)))
    tiled = np.tile(x, reps)
    start = int(rng.integers(0, x.size)) if x.size else 0
    return tiled[start:start + n]


def make_noise(kind: str, n: int, rng: np.random.Generator, *, sample_rate: int = FSDD_RATE,
               babble_pool: ty.Sequence[np.ndarray] | None = None) -> np.ndarray:
    """``n`` samples of unit-RMS noise of ``kind`` (one of :data:`NOISE_TYPES`).

    ``babble`` needs ``babble_pool``: utterances (of other speakers) to draw 3-6 talkers from.
    """
    check_choice("kind", kind, ALL_NOISE_TYPES)
    check_int("n", n, 1)
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        x = _coloured(n, rng, 1.0)
    elif kind == "brown":
        x = _coloured(n, rng, 2.0)
    elif kind == "hum":
        f0 = float(rng.choice([50.0, 60.0])) * (1.0 + rng.uniform(-0.02, 0.02))
        t = np.arange(n) / sample_rate
        x = np.zeros(n)
        for k in range(1, 9):
            if k * f0 < sample_rate / 2:
                x += rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * k * f0 * t
                                                         + rng.uniform(0, 2 * np.pi))
        x = _unit_rms(x) + 0.03 * rng.standard_normal(n)
    else:  # babble (3-6 talkers) or one competing talker
        if not babble_pool:
            raise ValueError(f"kind={kind!r} needs a non-empty babble_pool of utterances")
        talkers = 1 if kind == "talker" else int(rng.integers(3, 7))
        x = np.zeros(n)
        for j in rng.choice(len(babble_pool), size=talkers, replace=len(babble_pool) < talkers):
            x += _unit_rms(_fit_length(np.asarray(babble_pool[j]), n, rng))
    return _unit_rms(np.asarray(x, dtype=np.float64))


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``noise`` so that ``10 log10(sum clean^2 / sum noise^2) == snr_db``.

    Returns ``(noisy, scaled_noise)`` with ``noisy = clean + scaled_noise``.
    """
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    if clean.shape != noise.shape:
        raise ValueError(f"clean and noise must have the same shape, got {clean.shape} "
                         f"and {noise.shape}")
    pc, pn = float(np.sum(clean ** 2)), float(np.sum(noise ** 2))
    if pc <= 0 or pn <= 0:
        raise ValueError("clean and noise must both have non-zero power to mix at an SNR")
    scaled = noise * np.sqrt(pc / (pn * 10.0 ** (snr_db / 10.0)))
    return clean + scaled, scaled


# --------------------------------------------------------------------------- builder
def _make_clip(utts: list[np.ndarray], n: int, rng: np.random.Generator, sr: int
               ) -> tuple[np.ndarray, list[int]]:
    """One speaker's utterances (random order, 0-0.25 s gaps) at a random offset in n samples."""
    order = rng.permutation(len(utts))
    pieces, used, total = [], [], 0
    for j in order:
        gap = np.zeros(int(rng.integers(0, sr // 4 + 1)), dtype=np.float32) if pieces else \
            np.zeros(0, dtype=np.float32)
        u = utts[j]
        if pieces and total + gap.size + u.size > n:
            break
        pieces += [gap, u]
        used.append(int(j))
        total += gap.size + u.size
    speech = np.concatenate(pieces)[:n]
    clip = np.zeros(n, dtype=np.float64)
    off = int(rng.integers(0, n - speech.size + 1))
    clip[off:off + speech.size] = speech
    return clip, used


def build_noisy_fsdd(fsdd_dir, out_dir, *, split: str = "train", n_clips: int, seed: int,
                     sample_rate: int = FSDD_RATE, min_seconds: float = 2.0,
                     max_seconds: float = 4.0, snr_range: tuple[float, float] = (-5.0, 20.0),
                     kinds: ty.Sequence[str] = NOISE_TYPES,
                     speakers: ty.Sequence[str] | None = None,
                     exclude_speakers: ty.Sequence[str] = (), overwrite: bool = False) -> Path:
    """Write ``n_clips`` noisy/clean pairs from the FSDD ``split`` into ``out_dir`` (N-DNS layout).

    See the module docstring for the recipe. ``fsdd_dir``: a folder or a list of folders in the
    FSDD layout (extra voices). ``kinds``: the noise kinds drawn from (default
    :data:`NOISE_TYPES`; ``("talker",)`` for one competing talker). ``speakers`` /
    ``exclude_speakers``: keep only / drop these speakers as the clean voice (babble and
    competing talkers still come from the other speakers of the split). If ``out_dir/manifest.json`` already records the
    same build arguments and all files exist, nothing is rewritten (a cache). A folder built with
    other arguments raises unless ``overwrite=True``.

    Returns
    -------
    Path
        ``out_dir``; read it with ``NDNSDataset(out_dir)``.
    """
    import soundfile as sf

    check_choice("split", split, SPLITS)
    check_int("n_clips", n_clips, 1, 1_000_000)
    check_int("seed", seed, 0)
    check_int("sample_rate", sample_rate, 1000, 192000)
    if not (0 < float(min_seconds) <= float(max_seconds)):
        raise ValueError(f"need 0 < min_seconds <= max_seconds, got {min_seconds}, {max_seconds}")
    lo, hi = (float(v) for v in snr_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ValueError(f"snr_range must be finite (low, high) with low <= high, got {snr_range}")
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds must name at least one noise kind")
    for k in kinds:
        check_choice("kinds", k, ALL_NOISE_TYPES)
    files = fsdd_files(fsdd_dir, split)
    out = Path(out_dir)
    dirs = [str(_recordings_dir(d).resolve()) for d in _dirs(fsdd_dir)]
    params = {"version": _BUILD_VERSION, "fsdd_dir": dirs[0] if len(dirs) == 1 else dirs,
              "split": split, "n_clips": int(n_clips), "seed": int(seed),
              "sample_rate": int(sample_rate), "min_seconds": float(min_seconds),
              "max_seconds": float(max_seconds), "snr_range": [lo, hi]}
    if kinds != NOISE_TYPES:
        params["kinds"] = list(kinds)
    if speakers is not None:
        params["speakers"] = sorted(speakers)
    if exclude_speakers:
        params["exclude_speakers"] = sorted(exclude_speakers)
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if old.get("params") == params and all(
                (out / c["noisy"]).exists() and (out / c["clean"]).exists()
                for c in old.get("clips", [])):
            return out
        if not overwrite:
            raise FileExistsError(f"{out} holds a data set built with other arguments "
                                  f"({old.get('params')}); pass overwrite=True or another out_dir")
    for sub in ("noisy", "clean", "noise"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for old_file in (out / sub).glob("*.wav"):
            old_file.unlink()

    rng = np.random.default_rng(seed)
    by_speaker: dict[str, list[np.ndarray]] = {}
    names: dict[str, list[str]] = {}
    for p, _, speaker, _ in files:
        by_speaker.setdefault(speaker, []).append(_read_mono(p, sample_rate)[0])
        names.setdefault(speaker, []).append(p.name)
    everyone = sorted(by_speaker)
    voices = [v for v in everyone if (speakers is None or v in speakers)
              and v not in set(exclude_speakers)]
    if not voices:
        raise ValueError(f"no speaker left for split={split!r} (speakers={speakers}, "
                         f"exclude_speakers={list(exclude_speakers)}; have {everyone})")
    clips = []
    for i in range(n_clips):
        n = int(round(rng.uniform(min_seconds, max_seconds) * sample_rate))
        spk = voices[int(rng.integers(len(voices)))]
        clean, used = _make_clip(by_speaker[spk], n, rng, sample_rate)
        clean *= 10.0 ** (rng.uniform(-30.0, -20.0) / 20.0) / max(
            float(np.sqrt(np.mean(clean ** 2))), 1e-12)
        kind = kinds[int(rng.integers(len(kinds)))]
        pool = [u for s in everyone if s != spk for u in by_speaker[s]] or by_speaker[spk]
        noise = make_noise(kind, n, rng, sample_rate=sample_rate, babble_pool=pool)
        snr = float(rng.uniform(lo, hi))
        noisy, noise = mix_at_snr(clean, noise, snr)
        peak = float(np.max(np.abs(noisy)))
        if peak > 0.99:
            g = 0.99 / peak
            clean, noise, noisy = clean * g, noise * g, noisy * g
        rec = {"fileid": i, "noisy": f"noisy/{kind}_snr{snr:+.2f}_fileid_{i}.wav",
               "clean": f"clean/clean_fileid_{i}.wav", "noise": f"noise/noise_fileid_{i}.wav",
               "kind": kind, "snr_db": round(snr, 4), "seconds": n / sample_rate,
               "speaker": spk, "sources": [names[spk][j] for j in used]}
        for key, sig in (("noisy", noisy), ("clean", clean), ("noise", noise)):
            sf.write(str(out / rec[key]), sig.astype(np.float32), sample_rate, subtype="PCM_16")
        clips.append(rec)
    manifest_path.write_text(json.dumps({"params": params, "clips": clips}, indent=1) + "\n")
    return out


# --------------------------------------------------------------------------- reader
class NDNSDataset:
    """Noisy/clean pairs in the Intel N-DNS layout, paired by ``fileid``.

    ``root/noisy/*_fileid_N.wav`` pairs with ``root/clean/clean_fileid_N.wav``. Works on folders
    written by :func:`build_noisy_fsdd` and on real N-DNS training/validation folders.
    ``dataset[i]`` returns ``(noisy, clean)`` float32 mono arrays of equal length; the dataset is
    a Python sequence (``len``, negative indices, ``IndexError`` past the end, so ``for noisy,
    clean in dataset`` and ``list(dataset)`` work). Nothing is held in memory: every item (and
    :meth:`segment`, a crop read from disk without loading the whole file) is read on demand,
    so training streams from a folder of any size.

    Parameters
    ----------
    root : folder holding ``noisy/`` and ``clean/``
    sample_rate : the rate every file must have; ``None`` accepts the rate of the first file
        and requires all others to match it.

    Raises
    ------
    FileNotFoundError for a missing folder or no pairs; ValueError for unpaired or duplicate
    fileids, a file at another sample rate, a stereo file, or noisy/clean lengths that differ.
    """

    def __init__(self, root, sample_rate: int | None = None):
        import soundfile as sf

        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root={str(self.root)!r} is not a folder")
        for sub in ("noisy", "clean"):
            if not (self.root / sub).is_dir():
                raise FileNotFoundError(f"root={str(self.root)!r} has no {sub}/ folder "
                                        f"(expected the N-DNS layout noisy/, clean/)")
        if sample_rate is not None:
            sample_rate = check_int("sample_rate", sample_rate, 1000, 192000)
        noisy = self._index(self.root / "noisy", _NOISY_RE)
        clean = self._index(self.root / "clean", _CLEAN_RE)
        only_noisy = sorted(set(noisy) - set(clean))
        only_clean = sorted(set(clean) - set(noisy))
        if only_noisy or only_clean:
            raise ValueError(f"unpaired files in {self.root}: noisy without clean fileids "
                             f"{only_noisy[:5]}{'...' if len(only_noisy) > 5 else ''}, clean "
                             f"without noisy fileids {only_clean[:5]}"
                             f"{'...' if len(only_clean) > 5 else ''}")
        if not noisy:
            raise FileNotFoundError(f"no *_fileid_N.wav pairs in {self.root}/noisy and /clean")
        self.fileids = sorted(noisy)
        self.noisy_paths = [noisy[k] for k in self.fileids]
        self.clean_paths = [clean[k] for k in self.fileids]
        self.lengths: list[int] = []
        rate = sample_rate
        for pn, pc in zip(self.noisy_paths, self.clean_paths):
            inf_n, inf_c = sf.info(str(pn)), sf.info(str(pc))
            for p, inf in ((pn, inf_n), (pc, inf_c)):
                if rate is None:
                    rate = int(inf.samplerate)
                if inf.samplerate != rate:
                    raise ValueError(f"{p}: sample rate {inf.samplerate} Hz, expected {rate} Hz"
                                     + (" (sample_rate argument)" if sample_rate else
                                        " (rate of the first file)"))
                if inf.channels != 1:
                    raise ValueError(f"{p}: expected mono audio, got {inf.channels} channels")
            if inf_n.frames != inf_c.frames:
                raise ValueError(f"{pn} has {inf_n.frames} samples but {pc} has "
                                 f"{inf_c.frames}; noisy and clean must be the same length")
            self.lengths.append(int(inf_n.frames))
        self.sample_rate = int(rate)

    @staticmethod
    def _index(folder: Path, pattern: re.Pattern) -> dict[int, Path]:
        out: dict[int, Path] = {}
        for p in sorted(folder.glob("*.wav")):
            m = pattern.match(p.name)
            if not m:
                raise ValueError(f"{p}: name does not match the N-DNS pattern "
                                 f"{pattern.pattern!r}")
            k = int(m.group(1))
            if k in out:
                raise ValueError(f"fileid {k} appears twice in {folder}: {out[k].name}, {p.name}")
            out[k] = p
        return out

    def __len__(self) -> int:
        return len(self.fileids)

    def _index_of(self, i) -> int:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"NDNSDataset indices must be integers, got {type(i).__name__}")
        n = len(self)
        if not -n <= int(i) < n:
            raise IndexError(f"index {int(i)} out of range for {n} pairs")
        return int(i) % n

    def __getitem__(self, i) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        k = self._index_of(i)
        return (_read_mono(self.noisy_paths[k])[0], _read_mono(self.clean_paths[k])[0])

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def segment(self, i, start: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """``(noisy, clean)`` samples ``start .. start + frames`` of pair ``i`` read from disk
        (only that part of each file; zero-padded past the end)."""
        import soundfile as sf

        k = self._index_of(i)
        start = check_int("start", start, 0)
        frames = check_int("frames", frames, 1)
        out = []
        for path in (self.noisy_paths[k], self.clean_paths[k]):
            x = sf.read(str(path), start=start, frames=frames, dtype="float32",
                        always_2d=True)[0][:, 0]
            out.append(np.pad(x, (0, frames - x.size)))
        return out[0], out[1]

    def __repr__(self) -> str:
        return f"NDNSDataset({str(self.root)!r}, {len(self)} pairs, {self.sample_rate} Hz)"
