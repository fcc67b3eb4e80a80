"""Synthetic spoken digits from ``espeak-ng`` voices, in the FSDD file layout.

More voices than FSDD's six speakers, reproducibly from software on the machine
(``apt-get install espeak-ng``; eSpeak NG 1.51 was used for the shipped 16 kHz model). Each
voice of :data:`VOICES` (a language/accent + a voice variant: 12 voices, 6 female-variant,
6 male-variant) speaks every digit word "zero" .. "nine" ``takes`` times, take ``k`` at a
speed and pitch drawn from ``numpy.random.default_rng(seed)`` (120-200 words/min, pitch
25-75). eSpeak's 22.05 kHz output is resampled (polyphase) to ``sample_rate`` and written as
16-bit PCM named like FSDD, ``{digit}_{speaker}_{take}.wav`` with speaker ``espeak`` + a
letter (FSDD's rule applies: takes 0-4 are the test split, 5 and up train), so
:func:`lava_llm.data.noisy_fsdd.build_noisy_fsdd` mixes them like FSDD speakers.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from math import gcd
from pathlib import Path

import numpy as np

from lava_llm.validation import check_int

#: (speaker name, espeak-ng voice) - accents of English x voice variants.
VOICES = (("espeaka", "en-us+f3"), ("espeakb", "en-gb+m3"), ("espeakc", "en-gb-scotland+f2"),
          ("espeakd", "en-029+m1"), ("espeake", "en-gb-x-rp+f4"), ("espeakf", "en-gb-x-gbclan+m2"),
          ("espeakg", "en-gb-x-gbcwmd+f1"), ("espeakh", "en-us+m7"), ("espeaki", "en-gb+f5"),
          ("espeakj", "en-us+m4"), ("espeakk", "en-gb-scotland+m6"), ("espeakl", "en-029+f2"))
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def espeak_binary() -> str | None:
    """Path of ``espeak-ng`` (or None when not installed)."""
    return shutil.which("espeak-ng")


def build_espeak_digits(out_dir, *, sample_rate: int = 8000, takes: int = 20, seed: int = 0,
                        voices=VOICES) -> Path:
    """Write the digits of ``voices`` into ``out_dir`` (cached: a folder whose manifest
    records the same arguments and espeak-ng version is returned as is)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    exe = espeak_binary()
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install -y espeak-ng); "
                                "it synthesises the extra training voices")
    check_int("sample_rate", sample_rate, 1000, 192000)
    check_int("takes", takes, 6, 50)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    out = Path(out_dir)
    params = {"sample_rate": int(sample_rate), "takes": int(takes), "seed": int(seed),
              "voices": [list(v) for v in voices], "espeak": version}
    man = out / "manifest.json"
    if man.is_file() and json.loads(man.read_text()) == params:
        return out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.wav"):
        old.unlink()
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp) / "u.wav"
        for speaker, voice in voices:
            for digit, word in enumerate(DIGITS):
                for k in range(takes):
                    speed = int(rng.integers(120, 201))
                    pitch = int(rng.integers(25, 76))
                    subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch),
                                    "-w", str(t), word], check=True, capture_output=True)
                    x, sr = sf.read(str(t), dtype="float64")
                    g = gcd(int(sr), int(sample_rate))
                    x = resample_poly(x, sample_rate // g, sr // g)
                    nz = np.flatnonzero(np.abs(x) > 1e-3)    # trim eSpeak's silent ends
                    if nz.size:
                        x = x[max(nz[0] - 80, 0): nz[-1] + 80]
                    x = 0.5 * x / max(float(np.abs(x).max()), 1e-9)
                    sf.write(str(out / f"{digit}_{speaker}_{k}.wav"), x, sample_rate,
                             subtype="PCM_16")
    man.write_text(json.dumps(params))
    return out
