"""The streaming S5 denoiser on every backend.

Data flow (one STFT frame = one time step = 8 ms of audio)::

    host:  wave -> STFT (32 ms / 8 ms) -> log|X| -> [quantise to 16 bits: fixed backends]
    chip:  RingBuffer source --s_in--> SSMDiagonal (encoder, S5 blocks, decoder) --a_out-->
           RingBuffer sink      (fused: 1 compute leaf + 2 I/O leaves in Lava; fine: the
                                 4 + 7 L synapse and neuron Processes + 2 I/O leaves)
    host:  mask -> X * max(1 + mask, 0) -> inverse STFT -> wave

Backends: ``sim-float`` / ``sim-fixed`` / ``loihi2`` run the Lava network (:class:`LavaStream`,
fed frame by frame, state carried across calls); ``engine`` is the vectorised integer engine
(:func:`kernels.int_run` on the whole clip; bit-exact with ``sim-fixed``); ``float`` is the
float64 numpy path (:func:`kernels.float_run`, the same numbers as ``sim-float``); ``torch``
runs the trained torch model (needs the torch checkpoint).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lava_llm import audio
from lava_llm.processes.ssm_diagonal import kernels

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent.parent / "checkpoints" / "s5_denoiser"
#: The shipped sparse model: parameters of the Lava Process / integer engine.
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "sparse_qat.npz"
#: Its torch state (for ``--backend torch`` and further training).
DEFAULT_TORCH_CHECKPOINT = CHECKPOINT_DIR / "sparse_qat.pt"
#: The shipped sparse models by sample rate (8 kHz: FSDD framing, 129 bins; 16 kHz: the N-DNS
#: framing, 512-sample window, 128 hop, 257 bins).
CHECKPOINTS = {8000: DEFAULT_CHECKPOINT,
               16000: CHECKPOINT_DIR.parent / "s5_denoiser_16k" / "sparse_qat.npz"}


def checkpoint_for_rate(sample_rate: int, name: str = "input") -> Path:
    """The shipped sparse checkpoint for audio at ``sample_rate`` (8000 or 16000 Hz)."""
    sr = int(sample_rate)
    if sr not in CHECKPOINTS:
        raise ValueError(f"{name} has sample rate {sr} Hz; the shipped denoisers run at "
                         f"{', '.join(f'{r} Hz' for r in sorted(CHECKPOINTS))}: resample it "
                         "first or pass --checkpoint")
    return CHECKPOINTS[sr]


def load_checkpoint(path=None) -> dict:
    """Parameter dict of a checkpoint (default: the shipped sparse fixed-point model)."""
    p = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {str(p)!r} does not exist (reproduce the shipped "
                                "one with: python scripts/train_denoiser.py)")
    return kernels.load_params(p)


class Denoiser:
    """Host side of the denoiser: front end, quantisation and the non-Lava backends."""

    def __init__(self, params: dict | None = None):
        self.params = load_checkpoint() if params is None else params
        self.config = kernels.config_dict(self.params)
        self.sample_rate = int(self.config["sample_rate"])
        self.e_in = int(self.params["e_in"])
        self.e_m = int(self.params["e_m"])
        self._nets: dict = {}

    def net(self, kind: str) -> kernels.Net:
        if kind not in self._nets:
            self._nets[kind] = kernels.Net(self.params, kind)
        return self._nets[kind]

    # front end
    def analyse(self, wave) -> tuple[np.ndarray, np.ndarray]:
        """``(spec, features)`` of a checked mono waveform."""
        x = audio.check_audio(wave, "wave")
        spec = audio.stft(x, self.sample_rate)
        return spec, audio.features(spec)

    def synthesise(self, spec, mask, length: int) -> np.ndarray:
        return audio.istft(audio.apply_mask(spec, mask), length, self.sample_rate)

    def quantize(self, feats) -> np.ndarray:
        return kernels.quantize_input(feats, self.e_in)

    def dequantize(self, mask_q) -> np.ndarray:
        return kernels.dequantize_mask(mask_q, self.e_m)

    # backends on frames
    def mask_engine(self, feats, state=None):
        """Integer engine on float frames (quantised here) -> (float mask, state)."""
        mq, st = kernels.int_run(self.net("q"), self.quantize(feats), state)
        return self.dequantize(mq), st

    def mask_float(self, feats, state=None):
        return kernels.float_run(self.net("f"), feats, state)

    def denoise(self, wave, backend: str = "engine", granularity: str = "fused") -> np.ndarray:
        """Denoise a whole waveform with ``engine``, ``float``, ``sim-float``, ``sim-fixed``
        or ``loihi2`` (Lava backends in the form ``granularity``, ``fused`` or ``fine``)."""
        spec, feats = self.analyse(wave)
        if backend == "engine":
            mask, _ = self.mask_engine(feats)
        elif backend == "float":
            mask, _ = self.mask_float(feats)
        elif backend in ("sim-float", "sim-fixed", "loihi2"):
            with LavaStream(self.params, backend, chunk=len(feats),
                            granularity=granularity) as stream:
                mask = stream.process(feats)
        else:
            raise ValueError(f"backend={backend!r} is not one of ['engine', 'float', "
                             "'sim-float', 'sim-fixed', 'loihi2']")
        return self.synthesise(spec, mask, len(np.asarray(wave).reshape(-1)))


class LavaStream:
    """The denoiser as a Lava network fed frame by frame, kept running between calls.

    ``source`` (RingBuffer of ``chunk`` frames) -> :class:`SSMDiagonal` -> ``sink``
    (RingBuffer). :meth:`process` writes the next frames into the source buffer, runs one
    step per frame and reads the masks back; the S5 state persists across calls. Use as a
    context manager (the runtime is stopped on exit, via :func:`lava_llm.run.lava_session`).
    ``granularity``: ``fused`` (one leaf) or ``fine`` (the synapse and neuron Processes,
    :func:`lava_llm.processes.ssm_diagonal.fine_kernels.fine_leaves`); both are bit-exact
    with the integer engine on ``sim-fixed``. ``leaf_processes`` is set once running.
    """

    def __init__(self, params: dict, backend: str = "sim-fixed", chunk: int = 64,
                 granularity: str = "fused"):
        from lava.proc.io import sink, source

        from lava_llm.processes.ssm_diagonal import SSMDiagonal
        from lava_llm.run import check_backend, run_config

        self.backend = check_backend(backend, ("sim-float", "sim-fixed", "loihi2"))
        self.fixed = backend != "sim-float"
        self.host = Denoiser(params)
        self.granularity = granularity
        self.run_cfg = run_config(backend, granularity=granularity)
        self.leaf_processes = None
        self.chunk = int(chunk)
        if self.chunk < 1:
            raise ValueError(f"chunk={chunk} must be >= 1")
        F = kernels.dims(params)[3]
        self.n_bins = F
        dtype = np.int32 if self.fixed else np.float64
        self.source = source.RingBuffer(data=np.zeros((F, self.chunk), dtype))
        self.ssm = SSMDiagonal(params=params)
        self.sink = sink.RingBuffer(shape=(F,), buffer=self.chunk)
        self.source.s_out.connect(self.ssm.s_in)
        self.ssm.a_out.connect(self.sink.a_in)
        self.t = 0
        self._ctx = None
        self.session = None

    def __enter__(self) -> "LavaStream":
        from lava_llm.run import lava_session

        self._ctx = lava_session(self.ssm, self.run_cfg, timeout_s="auto")
        self.session = self._ctx.__enter__()
        return self

    def _count_leaves(self) -> None:
        if self.leaf_processes is None and self.session is not None:
            self.leaf_processes = self.session.leaf_processes

    def __exit__(self, *exc):
        ctx, self._ctx = self._ctx, None
        self.session = None
        if ctx is not None:
            ctx.__exit__(*exc)

    def process_int(self, frames_q: np.ndarray) -> np.ndarray:
        """Raw Lava I/O: frames as they go on the wire (int for fixed backends) ->
        masks as they come back, ``(T, bins)``."""
        if self.session is None:
            raise RuntimeError("LavaStream is not running: use it as a context manager, "
                               "with LavaStream(...) as s: s.process(...)")
        frames_q = np.asarray(frames_q)
        if frames_q.ndim != 2 or frames_q.shape[1] != self.n_bins:
            raise ValueError(f"frames must have shape (T, {self.n_bins}), got {frames_q.shape}")
        out = []
        for k0 in range(0, len(frames_q), self.chunk):
            part = frames_q[k0:k0 + self.chunk]
            n = len(part)
            if self.t > 0:  # the buffer Var exists on the runtime side after the first run
                data = np.array(self.source.data.get())
            else:
                data = np.zeros((self.n_bins, self.chunk))
            cols = (self.t + np.arange(n)) % self.chunk
            data[:, cols] = part.T
            if self.t > 0:
                self.source.data.set(data.astype(self.source.data.init.dtype))
            else:
                self.source.data.init = data.astype(self.source.data.init.dtype)
            self.session.run(n)
            self._count_leaves()
            got = np.array(self.sink.data.get())
            out.append(got[:, cols].T)
            self.t += n
        return np.concatenate(out) if out else np.zeros((0, self.n_bins))

    def process(self, feats: np.ndarray) -> np.ndarray:
        """Float frames in, float masks out (quantised on the host for fixed backends)."""
        if self.fixed:
            return self.host.dequantize(self.process_int(self.host.quantize(feats)))
        return self.process_int(np.asarray(feats, np.float64))


def evaluate(denoise_fn, pairs) -> dict:
    """Mean SI-SNR of ``denoise_fn(noisy)`` and mean SI-SNRi over ``(noisy, clean)`` pairs
    (dB; target = clean)."""
    snr, snri = [], []
    for noisy, clean in pairs:
        est = denoise_fn(np.asarray(noisy, np.float64))
        snr.append(audio.si_snr(est, np.asarray(clean, np.float64)))
        snri.append(audio.si_snri(est, np.asarray(noisy, np.float64),
                                  np.asarray(clean, np.float64)))
    return {"si_snr_db": float(np.mean(snr)), "si_snri_db": float(np.mean(snri)),
            "n_clips": len(snri)}
