"""Intel N-DNS metrics of a denoised clip: quality, latency, power proxy, power-delay product.

All on what the user gets (the written 16-bit samples), following the N-DNS challenge's list
(SI-SNR, SI-SNRi against the noisy data and against encode+decode, latency = encode/decode
compute + buffer + network, power proxy, PDP):

* ``si_snr_db``: SI-SNR(written, clean); ``si_snri_db``: minus SI-SNR(noisy, clean);
  ``si_snri_encdec_db``: minus SI-SNR(encode+decode of the noisy input, clean), where
  encode+decode is the front end with a unit mask (STFT -> iSTFT -> 16-bit PCM).
* ``latency_buffer_ms``: the STFT window a frame waits for before it can be processed
  (32 ms: 256 samples at 8 kHz, 512 at 16 kHz).
* ``latency_encdec_ms``: MEASURED compute of the host front end per frame (STFT + features +
  mask application + iSTFT of the clip, divided by its frames; best of 3 on this CPU).
* ``latency_network_ms``: pipeline steps of the network on chip times the hop (S5: 0, the
  mask of frame t leaves in step t; the SDNN baseline in Lava: 3 steps, one per Dense) plus
  the delay of the written output against the clean reference from their cross-correlation
  (lag of the maximum within +-100 ms; 0 for a mask model with no look-ahead or delay).
* ``latency_total_ms`` = buffer + enc/dec + network.
* ``power_proxy_ops_per_s`` = (SynOps + 10 NeuronOps) per step x frames per second, with
  :func:`lava_llm.processes.ssm_diagonal.kernels.op_counts` (event-driven SynOps measured on
  this clip); ``pdp_ops`` = power proxy x total latency (Ops).
"""
from __future__ import annotations

import time

import numpy as np

from lava_llm import audio


def xcorr_delay(reference, output, sample_rate: int, max_ms: float = 100.0) -> int:
    """Samples by which ``output`` lags ``reference`` (argmax of their cross-correlation
    within +-``max_ms``; negative = output leads)."""
    from scipy.signal import correlate, correlation_lags

    r = np.asarray(reference, np.float64) - np.mean(reference)
    o = np.asarray(output, np.float64) - np.mean(output)
    c = correlate(o, r, mode="full", method="fft")
    lags = correlation_lags(o.size, r.size, mode="full")
    m = int(round(max_ms * 1e-3 * sample_rate))
    keep = np.abs(lags) <= m
    return int(lags[keep][np.argmax(c[keep])])


def encode_decode(noisy, sample_rate: int) -> np.ndarray:
    """The front end with a unit mask (STFT -> iSTFT -> 16-bit PCM): the N-DNS "encode +
    decode" reference."""
    x = np.asarray(noisy, np.float64)
    y = audio.istft(audio.stft(x, sample_rate), x.size, sample_rate)
    return audio.to_pcm16(np.clip(y, -1, 1))[0] / audio.PCM16_SCALE


def encdec_seconds_per_frame(noisy, sample_rate: int, repeat: int = 3) -> float:
    """Measured host compute per frame of the front end (STFT, features, mask, iSTFT)."""
    x = np.asarray(noisy, np.float64)
    frames = audio.n_frames(x.size, sample_rate)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        spec = audio.stft(x, sample_rate)
        feats = audio.features(spec)
        audio.istft(audio.apply_mask(spec, np.zeros_like(feats)), x.size, sample_rate)
        best = min(best, time.perf_counter() - t0)
    return best / frames


def latency_power(*, sample_rate: int, clean, written, synops: float, neuron_ops: float,
                  encdec_s_per_frame: float, pipeline_steps: int = 0) -> dict:
    """Latency (ms), power proxy (Ops/s) and PDP (Ops) of one denoised clip (module doc)."""
    win, hop = audio.frame_sizes(sample_rate)
    buf = 1e3 * win / sample_rate
    encdec = 1e3 * float(encdec_s_per_frame)
    delay = xcorr_delay(clean, written, sample_rate)
    net = 1e3 * (int(pipeline_steps) * hop + max(delay, 0)) / sample_rate
    total = buf + encdec + net
    proxy_step = float(synops) + 10.0 * float(neuron_ops)
    proxy_s = proxy_step * sample_rate / hop
    return {"latency_buffer_ms": round(buf, 3), "latency_encdec_ms": round(encdec, 4),
            "latency_network_ms": round(net, 3), "xcorr_delay_samples": int(delay),
            "latency_total_ms": round(total, 3), "synops_per_step": round(float(synops), 1),
            "neuron_ops_per_step": round(float(neuron_ops), 1),
            "power_proxy_ops_per_step": round(proxy_step, 1),
            "power_proxy_ops_per_s": round(proxy_s, 1),
            "pdp_ops": round(proxy_s * total * 1e-3, 2)}


def quality(noisy, clean, written, sample_rate: int) -> dict:
    """SI-SNR, SI-SNRi (data) and SI-SNRi (encode+decode) in dB of the written samples."""
    noisy = np.asarray(noisy, np.float64)
    clean = np.asarray(clean, np.float64)
    written = np.asarray(written, np.float64)
    snr = audio.si_snr(written, clean)
    return {"si_snr_db": round(float(snr), 3),
            "si_snri_db": round(float(snr - audio.si_snr(noisy, clean)), 3),
            "si_snri_encdec_db": round(float(
                snr - audio.si_snr(encode_decode(noisy, sample_rate), clean)), 3)}


def ndns_metrics(params: dict, noisy, clean, written) -> dict:
    """N-DNS metrics of the S5 denoiser (``params``) on one clip; ``written`` = the samples
    as written (read back from the file). Without ``clean`` (None) the quality terms are left
    out and the cross-correlation delay is taken against the noisy input."""
    from lava_llm.processes.ssm_diagonal import kernels

    sr = int(kernels.config_dict(params)["sample_rate"])
    out = {} if clean is None else quality(noisy, clean, written, sr)
    spec = audio.stft(np.asarray(noisy, np.float64), sr)
    fq = kernels.quantize_input(audio.features(spec), int(params["e_in"]))
    ops = kernels.op_counts(params, fq)
    out.update(latency_power(sample_rate=sr, clean=noisy if clean is None else clean,
                             written=written,
                             synops=ops["synops"], neuron_ops=ops["neuron_ops"],
                             encdec_s_per_frame=encdec_seconds_per_frame(noisy, sr)))
    return out
