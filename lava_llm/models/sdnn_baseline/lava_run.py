"""Run the exported SDNN baseline in Lava through ``lava.lib.dl.netx.hdf5.Network``.

Network in Lava (fixed point; netx provides only ``fixed_pt`` models)::

    RingBuffer source --(24-bit graded messages round(d * 2**12))--> netx Network
        layer 0: Dense (8-bit weights) -> SigmaDelta (ReLU, vth = vThMant << 12)
        layer 1: Dense (8-bit weights) -> SigmaDelta (ReLU)
        layer 2: Dense (8-bit weights) -> Sigma       (output state = m * 2**18)
    --> RingBuffer sink

Leaf ProcessModels: 3 Dense + 2 SigmaDelta + 1 Sigma + source + sink = 8 OS processes. Every
netx Dense sends the sum it received one step earlier (Lava's Dense buffers ``a_out``), so the
mask of frame ``t`` leaves the network at step ``t + 3``: the host feeds 3 extra zero steps and
drops the first 3 outputs. Lava's Dense shifts its integer sum right by ``-weight_exp`` and the
SigmaDelta neuron keeps 24-bit state; on the delta-coded input of
:meth:`SDNNDenoiser.encode` the Lava output equals SLAYER's float output (tests assert equality
within float32 rounding, ``atol=1e-6``).

``asynchronous=True`` swaps the neuron models for ``PyLoihiModelToPyAsyncModel`` wrappers
through ``exception_proc_model_map`` (as the N-DNS baseline's Lava inference does): Lava's
main lever for simulation speed. Its outputs are checked against the synchronous run in the
benchmark, not assumed.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from lava_llm.models.sdnn_baseline.network import MSG_SCALE, N_LAYERS, OUT_SCALE
from lava_llm.run import check_backend, lava_session, run_config

BACKENDS = ("sim-fixed", "loihi2")


def input_messages(model, feats: np.ndarray) -> np.ndarray:
    """Delta-coded input of one clip as int32 graded messages, shape ``(bins, frames)``."""
    import torch

    with torch.no_grad():
        d = model.encode(torch.as_tensor(np.asarray(feats), dtype=torch.float32)[None])[0]
    msg = np.round(d.double().numpy() * MSG_SCALE)
    return msg.astype(np.int32)


def load_network(hdf5_path):
    """``netx.hdf5.Network`` for the exported file, taking 24-bit graded input messages."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lava.lib.dl import netx

        return netx.hdf5.Network(str(hdf5_path), input_message_bits=24)


def async_model_map() -> dict:
    """``exception_proc_model_map`` running the sigma-delta neurons asynchronously."""
    from lava.magma.core.model.py.model import PyLoihiModelToPyAsyncModel
    from lava.proc.sdn.models import PySigmaDeltaModelFixed, PySigmaModelFixed
    from lava.proc.sdn.process import Sigma, SigmaDelta

    return {SigmaDelta: PyLoihiModelToPyAsyncModel(PySigmaDeltaModelFixed),
            Sigma: PyLoihiModelToPyAsyncModel(PySigmaModelFixed)}


#: Wall-clock bound on one asynchronous run (seconds per frame, at least 60 s in all).
ASYNC_TIMEOUT_S_PER_FRAME = 2.0


def run_netx(hdf5_path, messages: np.ndarray, *, backend: str = "sim-fixed",
             asynchronous: bool = False, timings: dict | None = None) -> np.ndarray:
    """Run the netx network on ``messages`` (``(bins, frames)`` int32 from
    :func:`input_messages`) and return the mask, ``(frames, bins)`` float (``sigma / 2**18``),
    aligned with the input frames (the 3-step pipeline latency removed).

    ``timings``: a dict to fill with ``first_step_s`` (compile, start and one step) and
    ``steady_s`` (the remaining steps) wall seconds, and ``steps``. With ``asynchronous``
    the network runs in one call (Lava 0.10 hangs on a second run call of the async
    models), so ``first_step_s`` is 0 and ``steady_s`` includes compile and start.
    """
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    check_backend(backend, BACKENDS)
    msg = np.asarray(messages)
    if msg.ndim != 2 or not np.issubdtype(msg.dtype, np.integer):
        raise ValueError(f"messages must be a 2-D integer array (bins, frames), got "
                         f"{msg.dtype} {msg.shape}")
    if msg.size and np.abs(msg).max() >= 1 << 23:
        raise ValueError("messages must fit 24-bit signed graded spikes (|m| < 2**23); "
                         "the input features are far outside the trained range")
    cfg = run_config(backend, exception_proc_model_map=async_model_map() if asynchronous
                     else None)
    net = load_network(hdf5_path)
    bins, frames = msg.shape
    if net.inp.shape != (bins,):
        raise ValueError(f"messages have {bins} rows but the network takes {net.inp.shape}")
    steps = frames + N_LAYERS
    data = np.zeros((bins, steps), dtype=np.int32)
    data[:, :frames] = msg
    src = Source(data=data)
    sink = Sink(shape=net.out.shape, buffer=steps)
    src.s_out.connect(net.inp)
    net.out.connect(sink.a_in)
    # Lava 0.10's async runtime services, meeting the Loihi-protocol source and sink, were
    # seen to deadlock once in several runs; the watchdog turns that into LavaRunTimeout.
    timeout_s = max(60.0, ASYNC_TIMEOUT_S_PER_FRAME * steps) if asynchronous else None
    with lava_session(src, cfg, timeout_s=timeout_s) as session:
        t0 = time.perf_counter()
        if asynchronous:  # async models must run in one call (a second run call hangs)
            session.run(steps)
            t1 = t0
        else:
            session.run(1)
            t1 = time.perf_counter()
            session.run(steps - 1)
        t2 = time.perf_counter()
        out = np.asarray(sink.data.get(), dtype=np.float64)
    if timings is not None:
        timings.update(first_step_s=t1 - t0, steady_s=t2 - t1, steps=steps)
    return (out[:, N_LAYERS:] / OUT_SCALE).T


def denoise_lava(model, hdf5_path, wave: np.ndarray, sample_rate: int, *,
                 backend: str = "sim-fixed", asynchronous: bool = False,
                 timings: dict | None = None) -> np.ndarray:
    """Denoise one waveform: host STFT -> netx network in Lava -> host mask and iSTFT."""
    from lava_llm import audio

    if sample_rate != model.config["sample_rate"]:
        raise ValueError(f"sample_rate={sample_rate} but the model was trained at "
                         f"{model.config['sample_rate']} Hz")
    wave = audio.check_audio(wave, "wave")
    spec = audio.stft(wave.astype(np.float32), sample_rate)
    feats = audio.features(spec)
    mask = run_netx(hdf5_path, input_messages(model, feats), backend=backend,
                    asynchronous=asynchronous, timings=timings)
    return np.asarray(audio.istft(audio.apply_mask(spec, mask.astype(np.float32)), len(wave),
                                  sample_rate), dtype=np.float64)
