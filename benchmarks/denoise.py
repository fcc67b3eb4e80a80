#!/usr/bin/env python
"""Denoising results: dense S5, sparse S5, fixed-point sparse S5 and the N-DNS SDNN baseline on
the noisy-FSDD test clips: SI-SNRi, parameters, bytes at W8A16, operations per 8 ms step, the
N-DNS power proxy, and the real-time factor of every backend on this CPU.

    .venv/bin/python benchmarks/denoise.py            # writes benchmarks/results/denoise.*

Models (all shipped, nothing is trained here):
  * dense S5          ``lava_llm/checkpoints/s5_denoiser/dense_float.npz``, float (numpy) path
  * sparse S5         ``.../sparse_qat.npz`` (80 % of every weight matrix pruned, QAT), float
  * sparse S5 fixed   the same parameters on the integer engine (bit-exact with Lava sim-fixed)
  * SDNN baseline     ``lava_llm/checkpoints/sdnn_baseline/sdnn_baseline.net`` run in Lava
                      sim-fixed through netx (async models); SLAYER torch gives the same masks

Test data: ``build_noisy_fsdd(split="test", n_clips=40, seed=1)``, the clips the S5 training
script evaluates on (FSDD speakers' test recordings, 2-4 s, SNR -5..20 dB).

Operation counts per step (one 8 ms frame), our definitions (see docs/s5_benchmarks.md):
  * SynOPS: multiply-accumulates on stored weights. S5: every non-zero of the encoder, B
    (x2, complex), C (x2), W (half-GLU), decoder, plus D (H per layer); S5 activations are
    dense, so every stored weight is used every step. SDNN: non-zero input messages x fan-out
    of each layer, measured on the test clips (event-driven).
  * NeuronOPS: neuron updates per step. S5: H encoder outputs + per layer (P complex states
    + H gated outputs) + F decoder outputs. SDNN: every sigma-delta neuron (2 x hidden + F).
  * power proxy = SynOPS + 10 x NeuronOPS (the issue's N-DNS proxy).
Bytes at W8A16: 8-bit weights (one byte per stored value), 16-bit Lambda_bar (re, im) and
biases; ``bytes_csr`` adds 16-bit column indices and row pointers for the pruned matrices.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import markdown_table, write_results  # noqa: E402

S5_DIR = ROOT / "lava_llm" / "checkpoints" / "s5_denoiser"


# --------------------------------------------------------------------------- S5 accounting
def s5_counts(params: dict) -> dict:
    from lava_llm.processes.ssm_diagonal import kernels

    L, P, H, F = kernels.dims(params)
    nz = kernels.nnz(params)
    dense_sizes = {k: int(np.prod(kernels.matrix_shape(k, params))) for k in nz}
    syn = nz["enc"] + 2 * nz["b"] + 2 * nz["c"] + nz["w"] + nz["dec"] + L * H
    neurons = H + L * (P + H) + F
    # parameters: stored weights (complex entries count 2), D, Lambda_bar re/im, biases
    n_w = nz["enc"] + 2 * nz["b"] + 2 * nz["c"] + nz["w"] + nz["dec"] + L * H
    n_bias = H + F + 2 * L * P + 2 * L * H
    n_lam = 2 * L * P
    dense_w = (dense_sizes["enc"] + 2 * dense_sizes["b"] + 2 * dense_sizes["c"]
               + dense_sizes["w"] + dense_sizes["dec"])
    sparsity = 1 - sum(nz.values()) / sum(dense_sizes.values())
    bytes_vals = n_w * 1 + n_lam * 2 + n_bias * 2
    rows = {"enc": H, "b": L * P, "c": L * H, "w": L * H, "dec": F}
    # CSR: one 16-bit column index per stored entry (re and im share the pattern), one 16-bit
    # row pointer per row
    idx = sum(2 * nz[k] + 2 * (rows[k] + 1) for k in nz)
    return {"params": n_w + n_lam + n_bias, "weight_sparsity": sparsity,
            "bytes_w8a16": bytes_vals, "bytes_csr": bytes_vals + (idx if sparsity > 0 else 0),
            "syn_ops": float(syn), "neuron_ops": float(neurons),
            "dense_weights": dense_w, "shape": {"L": L, "P": P, "H": H, "F": F}}


def timed(fn, *a, repeat: int = 1, **k):
    best = None
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*a, **k)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return out, best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fsdd", default=str(ROOT.parent / "shared" / "data" / "fsdd"))
    ap.add_argument("--work", default="/tmp/lava_llm_s5_denoiser")
    ap.add_argument("--n-test", type=int, default=40)
    ap.add_argument("--lava-clips", type=int, default=40,
                    help="test clips run through Lava for the SDNN (rest: SLAYER torch)")
    ap.add_argument("--rtf-clip", type=int, default=0, help="test clip index timed for RTF")
    args = ap.parse_args(argv)

    import torch

    from lava_llm import audio
    from lava_llm.data import NDNSDataset, build_noisy_fsdd
    from lava_llm.models.denoiser.network import Denoiser, LavaStream, load_checkpoint
    from lava_llm.models.sdnn_baseline import CHECKPOINT as SDNN_CKPT
    from lava_llm.models.sdnn_baseline.lava_run import denoise_lava
    from lava_llm.models.sdnn_baseline.network import (count_ops, denoise_torch, load_hdf5,
                                                       parameter_count, state_range)
    from lava_llm.training import s5 as s5mod

    torch.set_num_threads(1)
    test = NDNSDataset(build_noisy_fsdd(args.fsdd, Path(args.work) / "test", split="test",
                                        n_clips=args.n_test, seed=1), sample_rate=8000)
    pairs = [(n.astype(np.float64), c.astype(np.float64)) for n, c in
             (test[i] for i in range(len(test)))]
    sr = 8000
    seconds_audio = sum(len(n) for n, _ in pairs) / sr

    def evaluate(fn, subset=None):
        snri, snr = [], []
        for i, (n, c) in enumerate(pairs):
            if subset is not None and i not in subset:
                continue
            est = fn(n)
            snr.append(audio.si_snr(est, c))
            snri.append(audio.si_snri(est, n, c))
        return float(np.mean(snri)), float(np.mean(snr)), snri

    noisy_snr = float(np.mean([audio.si_snr(n, c) for n, c in pairs]))
    dense = Denoiser(load_checkpoint(S5_DIR / "dense_float.npz"))
    sparse = Denoiser(load_checkpoint(S5_DIR / "sparse_qat.npz"))
    sdnn = load_hdf5(SDNN_CKPT)

    results = {}
    t0 = time.time()
    results["dense S5 (float)"] = evaluate(lambda w: dense.denoise(w, "float"))
    results["sparse S5 (float)"] = evaluate(lambda w: sparse.denoise(w, "float"))
    results["sparse S5 (fixed, engine)"] = evaluate(lambda w: sparse.denoise(w, "engine"))
    results["SDNN baseline (SLAYER torch)"] = evaluate(lambda w: denoise_torch(sdnn, w, sr))
    lava_idx = set(range(min(args.lava_clips, len(pairs))))
    results["SDNN baseline (Lava sim-fixed)"] = evaluate(
        lambda w: denoise_lava(sdnn, SDNN_CKPT, w, sr, asynchronous=True), lava_idx)
    print(f"evaluation {time.time() - t0:.0f} s", file=sys.stderr)

    # SDNN op counts on the test clips (event-driven)
    ops = [count_ops(sdnn, audio.features(audio.stft(n.astype(np.float32), sr)))
           for n, _ in pairs]
    sd_syn = float(np.mean([o["syn_ops"] for o in ops]))
    sd_neur = ops[0]["neuron_ops"]
    sd_density = np.mean([o["input_density"] for o in ops], axis=0).round(3).tolist()
    sd_state = np.max([state_range(sdnn, audio.features(audio.stft(n.astype(np.float32), sr)))
                       for n, _ in pairs], axis=0).round(3).tolist()
    n_sd = parameter_count(sdnn)

    cd, cs = s5_counts(dense.params), s5_counts(sparse.params)
    rows = []

    def row(name, key, counts, backend):
        si, snr, _ = results[key]
        rows.append({"model": name, "backend": backend, "si_snri_db": round(si, 3),
                     "si_snr_db": round(snr, 3),
                     "weight_sparsity": round(counts["weight_sparsity"], 3),
                     "params": counts["params"], "bytes_w8a16": counts["bytes_w8a16"],
                     "bytes_csr": counts["bytes_csr"], "syn_ops": round(counts["syn_ops"]),
                     "neuron_ops": round(counts["neuron_ops"]),
                     "power_proxy": round(counts["syn_ops"] + 10 * counts["neuron_ops"])})

    row("dense S5", "dense S5 (float)", cd, "float")
    row("sparse S5", "sparse S5 (float)", cs, "float")
    row("sparse S5 fixed point", "sparse S5 (fixed, engine)", cs, "engine (== sim-fixed)")
    sd_counts = {"params": n_sd, "weight_sparsity": 0.0, "bytes_w8a16": n_sd,
                 "bytes_csr": n_sd, "syn_ops": sd_syn, "neuron_ops": sd_neur}
    row("SDNN baseline", "SDNN baseline (Lava sim-fixed)", sd_counts,
        f"Lava sim-fixed (netx, {len(lava_idx)} clips)")
    row("SDNN baseline", "SDNN baseline (SLAYER torch)", sd_counts, "SLAYER torch")

    # ---------------------------------------------------------------- real-time factor
    n, c = pairs[args.rtf_clip]
    secs = len(n) / sr
    rtf = []

    def add_rtf(model, backend, seconds, note=""):
        rtf.append({"model": model, "backend": backend, "clip_s": round(secs, 2),
                    "wall_s": round(seconds, 3), "real_time_factor": round(seconds / secs, 3),
                    "note": note})

    add_rtf("dense S5", "float (numpy)", timed(dense.denoise, n, "float", repeat=3)[1])
    add_rtf("sparse S5", "float (numpy)", timed(sparse.denoise, n, "float", repeat=3)[1])
    add_rtf("sparse S5", "engine (integer)", timed(sparse.denoise, n, "engine", repeat=3)[1])
    tmodel = s5mod.load_model(S5_DIR / "sparse_qat.pt")
    add_rtf("sparse S5", "torch", timed(tmodel.denoise, n, repeat=3)[1])
    spec, feats = sparse.analyse(n)
    q = sparse.quantize(feats)
    steps = len(q)
    with LavaStream(sparse.params, "sim-fixed", chunk=steps) as stream:
        t_a = time.perf_counter()
        first = stream.process_int(q[:1])            # compiles and starts the runtime
        t_b = time.perf_counter()
        rest = stream.process_int(q[1:])             # state carried across the calls
        t_c = time.perf_counter()
    lava_eq = bool(np.array_equal(np.concatenate([first, rest]), s5_engine_mask(sparse, q)[0]))
    add_rtf("sparse S5", "Lava sim-fixed", (t_c - t_b) * steps / (steps - 1),
            f"steady state; first step incl. compile/start {t_b - t_a:.2f} s; "
            f"masks == engine: {lava_eq}")
    add_rtf("SDNN baseline", "SLAYER torch", timed(denoise_torch, sdnn, n, sr, repeat=3)[1])
    for asyn, label in ((False, "Lava sim-fixed"), (True, "Lava sim-fixed, async models")):
        tm: dict = {}
        denoise_lava(sdnn, SDNN_CKPT, n, sr, asynchronous=asyn, timings=tm)
        if asyn:  # one run call (a second call hangs with async models): incl. compile
            add_rtf("SDNN baseline", label, tm["steady_s"], "incl. compile/start (one call)")
        else:
            add_rtf("SDNN baseline", label, tm["steady_s"] * tm["steps"] / (tm["steps"] - 1),
                    f"steady state; first step incl. compile/start {tm['first_step_s']:.2f} s")

    # ---------------------------------------------------------------- targets
    d_si, s_si, f_si = (results[k][0] for k in ("dense S5 (float)", "sparse S5 (float)",
                                                 "sparse S5 (fixed, engine)"))
    sd_si = results["SDNN baseline (Lava sim-fixed)"][0]
    ops_ratio = (cs["syn_ops"] + 10 * cs["neuron_ops"]) / (cd["syn_ops"] + 10 * cd["neuron_ops"])
    syn_ratio = cs["syn_ops"] / cd["syn_ops"]
    pp_s = cs["syn_ops"] + 10 * cs["neuron_ops"]
    pp_sd = sd_syn + 10 * sd_neur
    targets = [
        {"target": "sparse within 0.3 dB of dense", "value": f"{s_si - d_si:+.3f} dB",
         "met": bool(s_si >= d_si - 0.3)},
        {"target": "sparse at <= 1/2 the operations of dense (power proxy)",
         "value": f"{ops_ratio:.3f}x (SynOPS {syn_ratio:.3f}x)", "met": bool(ops_ratio <= 0.5)},
        {"target": "fixed point within 0.2 dB of float (sparse)",
         "value": f"{f_si - s_si:+.4f} dB", "met": bool(f_si >= s_si - 0.2)},
        {"target": "S5 (sparse, fixed) ahead of SDNN baseline in SI-SNRi",
         "value": f"{f_si:.2f} vs {sd_si:.2f} dB", "met": bool(f_si > sd_si)},
        {"target": "... at fewer operations (power proxy)",
         "value": f"{pp_s:.0f} vs {pp_sd:.0f} per step", "met": bool(pp_s < pp_sd)},
    ]
    lava_vs_torch = [abs(a - b) for a, b in zip(
        results["SDNN baseline (Lava sim-fixed)"][2],
        results["SDNN baseline (SLAYER torch)"][2][:len(lava_idx)])]
    notes = "\n".join([
        f"{len(pairs)} test clips ({seconds_audio:.0f} s of audio; mean noisy SI-SNR "
        f"{noisy_snr:.2f} dB). SI-SNRi = SI-SNR(estimate, clean) - SI-SNR(noisy, clean), "
        "mean over clips. S5: d_model H = "
        f"{cd['shape']['H']}, P = {cd['shape']['P']} complex states, "
        f"{cd['shape']['L']} layers; SDNN: 129-256-256-129, input densities per layer "
        f"{sd_density}, max |sigma state| per layer as a fraction of the 24-bit range "
        f"{sd_state}. SDNN SI-SNRi, Lava vs SLAYER torch, max |difference| per clip: "
        f"{max(lava_vs_torch):.2e} dB.",
        "",
        "#### Targets (issue 4)",
        "",
        markdown_table(targets),
        "#### Real-time factor on this CPU (wall / audio seconds, one clip, 1 torch thread; "
        "shared 2-core machine, other jobs running)",
        "",
        markdown_table(rtf),
    ])
    cmd = "benchmarks/denoise.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_results("denoise", rows, command=cmd.strip(), notes=notes,
                  extra={"targets": targets, "rtf": rtf, "sdnn_input_density": sd_density,
                         "sdnn_state_over_24bit": sd_state,
                         "s5_dense_counts": cd, "s5_sparse_counts": cs})
    return 0


def s5_engine_mask(den, q):
    from lava_llm.processes.ssm_diagonal import kernels

    return kernels.int_run(den.net("q"), q)


if __name__ == "__main__":
    raise SystemExit(main())
