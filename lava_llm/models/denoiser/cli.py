"""``lava-llm denoise IN.wav OUT.wav``: the streaming S5 denoiser on any backend.

Prints ``{"seconds", "real_time_factor", ...}`` (plus ``"si_snr_db"`` and ``"si_snri_db"`` with
``--clean CLEAN.wav``; target = the clean file). ``seconds`` is the wall time of the whole
denoising (front end, network, inverse STFT; for Lava backends including compile and start);
``real_time_factor`` is ``seconds / clip duration`` (below 1 is faster than real time).
Library imports and a warm-up of the STFT on the first 2048 samples are not counted.
"""
from __future__ import annotations

HELP = "denoise a mono wav with the sparse fixed-point S5 denoiser"
BACKENDS = ("engine", "sim-float", "sim-fixed", "loihi2", "torch")


def add_arguments(parser) -> None:
    parser.add_argument("input", help="noisy mono wav at the model's sample rate (8 kHz)")
    parser.add_argument("output", help="where to write the denoised wav (16-bit PCM)")
    parser.add_argument("--clean", default=None,
                        help="clean reference wav: also report SI-SNR and SI-SNRi (dB)")
    parser.add_argument("--checkpoint", default=None,
                        help="parameter file (.npz; default: the shipped sparse_qat.npz). "
                             "--backend torch loads the .pt beside it")
    parser.add_argument("--chunk", type=int, default=64,
                        help="frames per Lava run call (state carries across calls)")


def run(args) -> dict:
    import time
    from pathlib import Path

    import numpy as np

    from lava_llm import audio
    from lava_llm import validation as V
    from lava_llm.models.denoiser import network
    from lava_llm.run import check_backend

    backend = check_backend(args.backend, BACKENDS)
    V.check_output_path("output", args.output, (".wav",))  # before any work
    V.check_int("--chunk", args.chunk, 1, V.MAX_CHUNK_FRAMES)
    params = network.load_checkpoint(args.checkpoint)
    den = network.Denoiser(params)
    noisy, sr = audio.read_wav(args.input, den.sample_rate)
    clean = None
    if args.clean is not None:
        clean, _ = audio.read_wav(args.clean, den.sample_rate)
        if clean.shape != noisy.shape:
            raise ValueError(f"--clean has {clean.size} samples but the input has "
                             f"{noisy.size}; they must be the same length")
    out_path = Path(args.output)
    if not out_path.parent.exists():
        raise FileNotFoundError(f"output folder {str(out_path.parent)!r} does not exist")
    import torch  # noqa: F401  (the STFT front end; its import time is not denoising time)

    den.denoise(noisy[: min(noisy.size, 2048)], "engine")  # warm up the front end's caches
    t0 = time.perf_counter()
    if backend == "torch":
        from lava_llm.training import s5

        ck = Path(args.checkpoint) if args.checkpoint else network.DEFAULT_CHECKPOINT
        pt = ck.with_suffix(".pt")
        if not pt.is_file():
            raise FileNotFoundError(f"--backend torch needs the torch checkpoint {str(pt)!r}")
        est = s5.load_model(pt).denoise(noisy)
    elif backend == "engine":
        est = den.denoise(noisy, "engine")
    else:
        spec, feats = den.analyse(noisy)
        with network.LavaStream(params, backend, chunk=args.chunk) as stream:
            mask = stream.process(feats)
        est = den.synthesise(spec, mask, noisy.size)
    seconds = time.perf_counter() - t0
    audio.write_wav(out_path, est, sr)
    result = {"seconds": round(seconds, 4),
              "real_time_factor": round(seconds / (noisy.size / sr), 4)}
    if clean is not None:
        result["si_snr_db"] = round(float(audio.si_snr(est, clean)), 3)
        result["si_snri_db"] = round(float(audio.si_snri(est, noisy, clean)), 3)
    result.update(backend=backend, output=str(out_path), samples=int(noisy.size),
                  sample_rate=int(sr))
    return result
