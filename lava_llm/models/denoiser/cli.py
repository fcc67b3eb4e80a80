"""``lava-llm denoise IN.wav OUT.wav``: the streaming S5 denoiser on any backend.

The model is chosen by the input's sample rate (the shipped 8 kHz or 16 kHz sparse model)
unless ``--checkpoint`` is given. What is written: the denoised estimate scaled to the input's
speech level (``--level match``, :func:`lava_llm.audio.match_level`), soft-limited (never hard
clipped; ``limited_samples`` counts samples above the limiter's knee and a warning goes to
stderr), as 16-bit PCM (written atomically: nothing is left behind on failure).

Prints ``{"seconds", "real_time_factor", "gain", "limited_samples", "clipped_samples", ...}``
and the N-DNS latency and power terms (:func:`lava_llm.models.denoiser.metrics.ndns_metrics`:
``latency_*_ms``, ``power_proxy_ops_per_s``, ``pdp_ops``), plus ``"si_snr_db"``,
``"si_snri_db"`` and ``"si_snri_encdec_db"`` with ``--clean CLEAN.wav`` (target = the clean
file). Every metric is computed on the written file, read back. Lava backends add ``granularity`` and ``leaf_processes`` (the leaf
Processes that ran: 3 fused, ``6 + 7 L`` fine, I/O included). ``seconds`` is the wall time
of the whole denoising (front end, network, inverse STFT; for Lava backends including compile
and start); ``real_time_factor`` is ``seconds / clip duration`` (below 1 is faster than real
time). Library imports and a warm-up of the STFT on the first 2048 samples are not counted.
"""
from __future__ import annotations

HELP = "denoise a mono wav with the sparse fixed-point S5 denoiser"
BACKENDS = ("engine", "sim-float", "sim-fixed", "loihi2", "torch")


def add_arguments(parser) -> None:
    parser.add_argument("input", help="noisy mono wav at 8 kHz or 16 kHz (the model is "
                                      "chosen by its sample rate)")
    parser.add_argument("output", help="where to write the denoised wav (16-bit PCM); must "
                                       "not be the input")
    parser.add_argument("--clean", default=None,
                        help="clean reference wav: also report SI-SNR and SI-SNRi (dB)")
    parser.add_argument("--checkpoint", default=None,
                        help="parameter file (.npz; default: the shipped sparse_qat.npz for "
                             "the input's rate). --backend torch loads the .pt beside it")
    parser.add_argument("--chunk", type=int, default=64,
                        help="frames per Lava run call (state carries across calls)")
    parser.add_argument("--granularity", choices=("fused", "fine"), default="fused",
                        help="Lava form of the network: fused (one leaf, default) or fine "
                             "(its synapse and neuron Processes, 4 + 7 per S5 layer); "
                             "Lava backends only")
    parser.add_argument("--level", choices=("match", "raw"), default="match",
                        help="match: scale the output to the input's speech level (default); "
                             "raw: the network's output gain")


def run(args) -> dict:
    import sys
    import time
    from pathlib import Path

    from lava_llm import audio
    from lava_llm import validation as V
    from lava_llm.models.denoiser import network
    from lava_llm.run import check_backend, check_granularity

    backend = check_backend(args.backend, BACKENDS)
    granularity = check_granularity(getattr(args, "granularity", "fused"))
    leaves = None
    out_path = V.check_output_path("output", args.output, (".wav",))  # before any work
    V.check_int("--chunk", args.chunk, 1, V.MAX_CHUNK_FRAMES)
    in_path = Path(args.input)
    for name, other in (("input", in_path), ("--clean", args.clean)):
        if other is not None and audio.same_file(out_path, other):
            raise ValueError(f"output {str(out_path)!r} is the same file as the {name} "
                             f"{str(other)!r}; choose another output path")
    noisy, sr = audio.read_wav(in_path)
    ck = Path(args.checkpoint) if args.checkpoint else network.checkpoint_for_rate(
        sr, str(in_path))
    params = network.load_checkpoint(ck)
    den = network.Denoiser(params)
    if sr != den.sample_rate:
        raise ValueError(f"{str(in_path)!r} has sample rate {sr} Hz but the checkpoint "
                         f"{str(ck)!r} expects {den.sample_rate} Hz; resample it first")
    clean = None
    if args.clean is not None:
        clean, _ = audio.read_wav(args.clean, den.sample_rate)
        if clean.shape != noisy.shape:
            raise ValueError(f"--clean has {clean.size} samples but the input has "
                             f"{noisy.size}; they must be the same length")
    parent = out_path.parent if str(out_path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"output folder {str(parent)!r} does not exist")
    import torch  # noqa: F401  (the STFT front end; its import time is not denoising time)

    den.denoise(noisy[: min(noisy.size, 2048)], "engine")  # warm up the front end's caches
    t0 = time.perf_counter()
    if backend == "torch":
        from lava_llm.training import s5

        pt = ck.with_suffix(".pt")
        if not pt.is_file():
            raise FileNotFoundError(f"--backend torch needs the torch checkpoint {str(pt)!r}")
        est = s5.load_model(pt).denoise(noisy)
    elif backend == "engine":
        est = den.denoise(noisy, "engine")
    else:
        spec, feats = den.analyse(noisy)
        with network.LavaStream(params, backend, chunk=args.chunk,
                                granularity=granularity) as stream:
            mask = stream.process(feats)
            leaves = stream.leaf_processes
        est = den.synthesise(spec, mask, noisy.size)
    out = audio.prepare_output(est, noisy, level=args.level == "match")
    seconds = time.perf_counter() - t0
    audio.write_pcm16(out_path, out["pcm"], sr)
    written, _ = audio.read_wav_unchecked(out_path)
    if out["limited_samples"]:
        print(f"warning: the soft limiter acted on {out['limited_samples']} samples (peak "
              f"{out['peak_before_limit']:.3f} of full scale before limiting)", file=sys.stderr)
    if out["clipped_samples"]:
        print(f"warning: {out['clipped_samples']} samples clipped at 16 bits", file=sys.stderr)
    result = {"seconds": round(seconds, 4),
              "real_time_factor": round(seconds / (noisy.size / sr), 4),
              "gain": round(out["gain"], 6), "level": args.level,
              "limited_samples": out["limited_samples"],
              "clipped_samples": out["clipped_samples"],
              "output_peak": round(float(abs(written).max()), 6)}
    from lava_llm.models.denoiser import metrics

    result.update(metrics.ndns_metrics(params, noisy, clean, written))
    result.update(backend=backend, checkpoint=str(ck), output=str(out_path),
                  samples=int(noisy.size), sample_rate=int(sr))
    if leaves is not None:
        result.update(granularity=granularity, leaf_processes=int(leaves))
    return result
