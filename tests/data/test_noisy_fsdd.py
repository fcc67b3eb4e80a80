"""Noisy-FSDD builder and the N-DNS layout reader: a synthetic FSDD folder in tmp_path tests
everything without shared data; the real-FSDD tests skip when ../shared/data is absent."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from conftest import need_data

from lava_llm.data import (NOISE_TYPES, NDNSDataset, build_noisy_fsdd, fsdd_files,
                           load_fsdd_digits, make_noise, mix_at_snr)

SR = 8000


@pytest.fixture
def fake_fsdd(tmp_path):
    """3 speakers x 3 digits x indices {0, 5, 6}: tones of 0.3-0.6 s, 8 kHz mono."""
    rec = tmp_path / "fsdd" / "recordings"
    rec.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for s, spk in enumerate(("ann", "bob", "cat")):
        for d in range(3):
            for idx in (0, 5, 6):
                n = int(rng.integers(int(0.3 * SR), int(0.6 * SR)))
                t = np.arange(n) / SR
                x = 0.3 * np.sin(2 * np.pi * (200 + 100 * d + 30 * s) * t) * np.hanning(n)
                sf.write(str(rec / f"{d}_{spk}_{idx}.wav"), x.astype(np.float32), SR,
                         subtype="PCM_16")
    return tmp_path / "fsdd"


def test_split_follows_official_index_rule(fake_fsdd):
    test = fsdd_files(fake_fsdd, "test")
    train = fsdd_files(fake_fsdd / "recordings", "train")
    assert {i for *_, i in test} == {0} and {i for *_, i in train} == {5, 6}
    assert len(test) == 9 and len(train) == 18
    with pytest.raises(ValueError, match="split"):
        fsdd_files(fake_fsdd, "valid")
    with pytest.raises(FileNotFoundError, match="fsdd_dir"):
        fsdd_files(fake_fsdd / "nope", "test")


def test_build_writes_ndns_layout_at_requested_snr(fake_fsdd, tmp_path):
    out = build_noisy_fsdd(fake_fsdd, tmp_path / "set", split="train", n_clips=12, seed=3)
    manifest = json.loads((out / "manifest.json").read_text())
    ds = NDNSDataset(out, sample_rate=SR)
    assert len(ds) == 12 and ds.sample_rate == SR and ds.fileids == list(range(12))
    for clip in manifest["clips"]:
        assert (out / clip["noisy"]).name.endswith(f"_fileid_{clip['fileid']}.wav")
        assert (out / "clean" / f"clean_fileid_{clip['fileid']}.wav").exists()
        assert clip["kind"] in NOISE_TYPES
        assert -5.0 <= clip["snr_db"] <= 20.0
        noisy, clean = ds[clip["fileid"]]
        assert 2.0 * SR - 1 <= noisy.size <= 4.0 * SR + 1
        assert np.max(np.abs(noisy)) <= 1.0
        snr = 10 * np.log10(np.sum(clean.astype(float) ** 2)
                            / np.sum((noisy.astype(float) - clean) ** 2))
        assert abs(snr - clip["snr_db"]) < 0.05  # only 16-bit PCM rounding in between
        # one speaker per clip, from the train split
        assert all(s.split("_")[1] == clip["speaker"] for s in clip["sources"])
        assert all(int(s.split("_")[2][:-4]) >= 5 for s in clip["sources"])


def test_build_is_seeded_cached_and_guarded(fake_fsdd, tmp_path):
    a = build_noisy_fsdd(fake_fsdd, tmp_path / "a", split="test", n_clips=4, seed=7)
    b = build_noisy_fsdd(fake_fsdd, tmp_path / "b", split="test", n_clips=4, seed=7)
    c = build_noisy_fsdd(fake_fsdd, tmp_path / "c", split="test", n_clips=4, seed=8)
    da, db, dc = NDNSDataset(a), NDNSDataset(b), NDNSDataset(c)
    for i in range(4):
        assert np.array_equal(da[i][0], db[i][0]) and np.array_equal(da[i][1], db[i][1])
    assert any(da[i][0].size != dc[i][0].size or not np.array_equal(da[i][0], dc[i][0])
               for i in range(4))
    stamp = (a / "noisy").stat().st_mtime_ns
    build_noisy_fsdd(fake_fsdd, a, split="test", n_clips=4, seed=7)  # cache hit
    assert (a / "noisy").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="overwrite"):
        build_noisy_fsdd(fake_fsdd, a, split="test", n_clips=5, seed=7)
    build_noisy_fsdd(fake_fsdd, a, split="test", n_clips=2, seed=7, overwrite=True)
    assert len(NDNSDataset(a)) == 2


def test_build_rejects_bad_arguments(fake_fsdd, tmp_path):
    with pytest.raises(ValueError, match="n_clips"):
        build_noisy_fsdd(fake_fsdd, tmp_path / "x", n_clips=0, seed=0)
    with pytest.raises(ValueError, match="snr_range"):
        build_noisy_fsdd(fake_fsdd, tmp_path / "x", n_clips=1, seed=0, snr_range=(5, -5))
    with pytest.raises(ValueError, match="min_seconds"):
        build_noisy_fsdd(fake_fsdd, tmp_path / "x", n_clips=1, seed=0, min_seconds=3,
                         max_seconds=2)


def test_resampled_build_and_wrong_rate_error(fake_fsdd, tmp_path):
    out = build_noisy_fsdd(fake_fsdd, tmp_path / "s16", split="test", n_clips=2, seed=0,
                           sample_rate=16000)
    assert NDNSDataset(out).sample_rate == 16000
    with pytest.raises(ValueError, match="sample rate 16000 Hz, expected 8000"):
        NDNSDataset(out, sample_rate=8000)


def _pair(root, fid, n=800, n_clean=None, rate=SR, channels=1):
    (root / "noisy").mkdir(parents=True, exist_ok=True)
    (root / "clean").mkdir(parents=True, exist_ok=True)
    shape = (n, channels) if channels > 1 else (n,)
    sf.write(str(root / "noisy" / f"book_x_snr5_fileid_{fid}.wav"), np.zeros(shape), rate)
    sf.write(str(root / "clean" / f"clean_fileid_{fid}.wav"), np.zeros(n_clean or n), rate)


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        NDNSDataset(tmp_path / "missing")
    (tmp_path / "only_noisy" / "noisy").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="clean/"):
        NDNSDataset(tmp_path / "only_noisy")
    (tmp_path / "empty" / "noisy").mkdir(parents=True)
    (tmp_path / "empty" / "clean").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no \\*_fileid_N.wav pairs"):
        NDNSDataset(tmp_path / "empty")

    unpaired = tmp_path / "unpaired"
    _pair(unpaired, 0)
    sf.write(str(unpaired / "noisy" / "a_fileid_7.wav"), np.zeros(10), SR)
    with pytest.raises(ValueError, match=r"unpaired.*\[7\]"):
        NDNSDataset(unpaired)

    rates = tmp_path / "rates"
    _pair(rates, 0)
    _pair(rates, 1, rate=16000)
    with pytest.raises(ValueError, match="sample rate 16000 Hz, expected 8000"):
        NDNSDataset(rates)

    stereo = tmp_path / "stereo"
    _pair(stereo, 0, channels=2)
    with pytest.raises(ValueError, match="mono"):
        NDNSDataset(stereo)

    lengths = tmp_path / "lengths"
    _pair(lengths, 0, n=800, n_clean=700)
    with pytest.raises(ValueError, match="same length"):
        NDNSDataset(lengths)

    badname = tmp_path / "badname"
    _pair(badname, 0)
    sf.write(str(badname / "clean" / "clean_1.wav"), np.zeros(10), SR)
    with pytest.raises(ValueError, match="N-DNS pattern"):
        NDNSDataset(badname)

    good = tmp_path / "good"
    _pair(good, 3)
    _pair(good, 1)
    ds = NDNSDataset(good)
    assert ds.fileids == [1, 3] and len(ds[-1][0]) == 800
    with pytest.raises(IndexError, match="index 2 out of range"):
        ds[2]


def _ndns_folder(root, n_pairs, rate=16000, seconds=(0.5, 1.2), seed=0):
    """A tiny synthetic N-DNS folder as the challenge's synthesizer names it."""
    rng = np.random.default_rng(seed)
    for sub in ("noisy", "clean", "noise"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    t_all = []
    for fid in range(n_pairs):
        n = int(rng.uniform(*seconds) * rate)
        t = np.arange(n) / rate
        clean = 0.2 * np.sin(2 * np.pi * rng.uniform(150, 400) * t) * np.hanning(n)
        noise = 0.05 * rng.standard_normal(n)
        name = f"book_{fid:05d}_chp_0001_reader_0001_0_snr{fid % 20}_tl-30_fileid_{fid}.wav"
        sf.write(str(root / "noisy" / name), clean + noise, rate, subtype="PCM_16")
        sf.write(str(root / "clean" / f"clean_fileid_{fid}.wav"), clean, rate, subtype="PCM_16")
        sf.write(str(root / "noise" / f"noise_fileid_{fid}.wav"), noise, rate, subtype="PCM_16")
        t_all.append(n)
    return t_all


def test_dataset_is_a_python_sequence(tmp_path):
    lengths = _ndns_folder(tmp_path, 5)
    ds = NDNSDataset(tmp_path)
    assert len(ds) == 5 and ds.sample_rate == 16000 and ds.lengths == lengths
    items = list(ds)                                    # iteration stops at IndexError
    assert len(items) == 5
    assert np.array_equal(ds[-1][0], items[4][0]) and np.array_equal(ds[-5][1], items[0][1])
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(IndexError):
        ds[-6]
    with pytest.raises(TypeError, match="integers"):
        ds["0"]
    assert len(ds[1:3]) == 2
    a, b = ds.segment(2, 100, 300)
    assert np.array_equal(a, items[2][0][100:400]) and np.array_equal(b, items[2][1][100:400])
    a, _ = ds.segment(0, lengths[0] - 10, 50)               # zero-padded past the end
    assert a.shape == (50,) and np.all(a[10:] == 0)


def test_training_streams_from_an_ndns_folder(tmp_path, monkeypatch):
    from lava_llm.training import s5

    _ndns_folder(tmp_path / "train", 6)
    ds = NDNSDataset(tmp_path / "train")
    reads = []
    orig = NDNSDataset.segment

    def spy(self, i, start, frames):
        reads.append(frames)
        return orig(self, i, start, frames)

    monkeypatch.setattr(NDNSDataset, "segment", spy)
    model = s5.S5Denoiser(s5.DenoiserConfig(sample_rate=16000, d_model=8, d_state=8,
                                            n_layers=1), seed=0)
    hist = s5.train_denoiser(model, ds, 3, batch_size=2, crop_seconds=0.25, seed=0)
    assert len(hist["loss"]) == 3 and np.all(np.isfinite(hist["loss"]))
    assert reads == [4000] * 6                      # crops read from disk, never whole files


def test_noise_spectra_and_mixing():
    rng = np.random.default_rng(0)
    n = 4 * SR
    f = np.fft.rfftfreq(n, 1 / SR)
    lo, hi = (f > 100) & (f < 400), (f > 1600) & (f < 3200)

    def tilt(x):  # dB of low band power over high band power
        p = np.abs(np.fft.rfft(x)) ** 2
        return 10 * np.log10(p[lo].mean() / p[hi].mean())

    white, pink, brown = (make_noise(k, n, rng) for k in ("white", "pink", "brown"))
    for x in (white, pink, brown):
        assert abs(np.sqrt(np.mean(x.astype(float) ** 2)) - 1) < 1e-3
    assert abs(tilt(white)) < 1.0
    assert 8 < tilt(pink) < 14  # 1/f: 10 dB per decade, bands a factor 8 apart -> 9 dB
    assert 15 < tilt(brown) < 22  # 1/f^2: 18 dB
    hum = make_noise("hum", n, rng)
    p = np.abs(np.fft.rfft(hum)) ** 2
    assert f[np.argmax(p)] < 70 or any(abs(f[np.argmax(p)] / k - 55) < 7 for k in range(2, 9))
    with pytest.raises(ValueError, match="babble_pool"):
        make_noise("babble", n, rng)
    bab = make_noise("babble", 1000, rng, babble_pool=[np.ones(300), np.arange(50.0)])
    assert bab.shape == (1000,)
    with pytest.raises(ValueError, match="kind"):
        make_noise("rain", n, rng)

    clean = rng.standard_normal(1000)
    noisy, noise = mix_at_snr(clean, rng.standard_normal(1000), 7.5)
    assert np.allclose(noisy, clean + noise)
    assert abs(10 * np.log10(np.sum(clean ** 2) / np.sum(noise ** 2)) - 7.5) < 1e-9
    with pytest.raises(ValueError, match="non-zero power"):
        mix_at_snr(np.zeros(5), np.ones(5), 0.0)


@pytest.mark.data
def test_real_fsdd_split_and_digits():
    fsdd = need_data("fsdd", "recordings")
    assert len(fsdd_files(fsdd, "test")) == 300 and len(fsdd_files(fsdd, "train")) == 2700
    waves, labels = load_fsdd_digits(fsdd.parent, "test")
    assert len(waves) == 300 and np.array_equal(np.bincount(labels), np.full(10, 30))
    assert all(w.dtype == np.float32 and w.ndim == 1 and w.size > 1000 for w in waves)


@pytest.mark.data
def test_real_fsdd_build(tmp_path):
    fsdd = need_data("fsdd", "recordings")
    out = build_noisy_fsdd(fsdd, tmp_path / "nf", split="test", n_clips=10, seed=0)
    ds = NDNSDataset(out, sample_rate=8000)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(ds) == 10
    for clip in manifest["clips"]:
        assert all(int(s[:-4].split("_")[2]) < 5 for s in clip["sources"])


def test_speaker_selection_kinds_and_several_folders(fake_fsdd, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    for d in range(2):
        for idx in (0, 5):
            sf.write(str(extra / f"{d}_dan_{idx}.wav"),
                     0.2 * np.sin(np.arange(3000) / (3 + d)).astype(np.float32), SR)
    both = [fake_fsdd, extra]
    assert {s for _, _, s, _ in fsdd_files(both, "train")} == {"ann", "bob", "cat", "dan"}
    out = build_noisy_fsdd(both, tmp_path / "only_dan", split="train", n_clips=4, seed=0,
                           speakers=["dan"], kinds=("talker",))
    man = json.loads((out / "manifest.json").read_text())
    assert {c["speaker"] for c in man["clips"]} == {"dan"}
    assert {c["kind"] for c in man["clips"]} == {"talker"}
    out = build_noisy_fsdd(both, tmp_path / "no_dan", split="train", n_clips=6, seed=0,
                           exclude_speakers=["dan"])
    man = json.loads((out / "manifest.json").read_text())
    assert "dan" not in {c["speaker"] for c in man["clips"]}
    with pytest.raises(ValueError, match="no speaker left"):
        build_noisy_fsdd(fake_fsdd, tmp_path / "none", split="train", n_clips=2, seed=0,
                         speakers=["zed"])
    with pytest.raises(ValueError, match="kinds"):
        build_noisy_fsdd(fake_fsdd, tmp_path / "bad", split="train", n_clips=2, seed=0,
                         kinds=("rain",))


def test_one_competing_talker_is_one_voice():
    rng = np.random.default_rng(0)
    pool = [np.sin(np.arange(500) * f) for f in (0.1, 0.2, 0.3, 0.4)]
    x = make_noise("talker", 2000, rng, babble_pool=pool)
    spec = np.abs(np.fft.rfft(x))
    assert np.sqrt(np.mean(x ** 2)) == pytest.approx(1.0, rel=1e-6)
    assert np.sum(spec > 0.2 * spec.max()) <= 6           # one tone, not a mixture


def test_espeak_voices_build_like_fsdd(tmp_path):
    from lava_llm.data import espeak_voices as ev

    if ev.espeak_binary() is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng)")
    out = ev.build_espeak_digits(tmp_path / "es", sample_rate=8000, takes=6,
                                 voices=ev.VOICES[:1])
    names = sorted(p.name for p in out.glob("*.wav"))
    assert len(names) == 60 and "7_espeaka_5.wav" in names
    test = fsdd_files(out, "test")
    assert len(test) == 50 and {s for _, _, s, _ in test} == {"espeaka"}
    x, sr = sf.read(str(out / "3_espeaka_0.wav"))
    assert sr == 8000 and 0.2 < len(x) / sr < 1.5 and 0.45 < np.abs(x).max() <= 0.51
    mtime = (out / "3_espeaka_0.wav").stat().st_mtime_ns
    ev.build_espeak_digits(tmp_path / "es", sample_rate=8000, takes=6, voices=ev.VOICES[:1])
    assert (out / "3_espeaka_0.wav").stat().st_mtime_ns == mtime      # cached
