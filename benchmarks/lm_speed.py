"""The MatMul-free LM at full depth: decode speed against the memory floor, import, load, RSS.

For the 370M configuration (24 layers, hidden 1024, vocab 32000, intermediate 2816) and a
1.3B-class one (24 layers, hidden 2048, vocab 32000, intermediate 5632), in one run:

1. a seeded random checkpoint in the HF layout (bf16 latent weights, the tests' writer
   ``tests/models/lm/hgrn_reference.random_state_dict``) is written to a temporary folder;
2. ``hf_import.convert`` turns it into a lava-llm checkpoint (packed trits, calibration
   cached): wall time and peak RSS;
3. generation from the converted folder with ``engine`` and ``torch`` at 1 and 2 threads
   (``lava-llm generate --threads N`` sets numba, torch and BLAS threads): tokens/s,
   ms/token, time to first token, load time and peak RSS;
4. the memory floor: the model's packed trits (bytes read per token by a 2-bit kernel)
   divided by this machine's read bandwidth, measured with a numpy sum over a 1 GiB array.

Every measurement runs in its own subprocess (``python -m benchmarks.lm_speed --child ...``);
peak RSS is that process's ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, read by the child
at its end, cross-checked with the parent's ``RUSAGE_CHILDREN`` (the largest child so far).

Run: ``python -m benchmarks.lm_speed`` (~10-15 min; ``--quick`` for a 2-layer smoke run,
``--skip-1b3`` for the 370M rows only; ``--quick`` writes its table under the temporary
directory, not over ``benchmarks/results``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._common import write_results  # noqa: E402

CONFIGS = {
    "370M": dict(vocab_size=32000, hidden_size=1024, num_hidden_layers=24,
                 intermediate_size=2816),
    "1.3B": dict(vocab_size=32000, hidden_size=2048, num_hidden_layers=24,
                 intermediate_size=5632),
    "quick": dict(vocab_size=1000, hidden_size=256, num_hidden_layers=2,
                  intermediate_size=768),
}
PROMPT_TOKENS = 16
#: Generations per row (in one process): the best is reported, the median beside it.
REPEATS = 3


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# --------------------------------------------------------------------------- children
def child_write(cfg_name: str, folder: str, seed: int) -> dict:
    import torch
    from safetensors.torch import save_file

    sys.path.insert(0, str(ROOT / "tests" / "models" / "lm"))
    import hgrn_reference as ref

    cfg = ref.hf_config(**CONFIGS[cfg_name])
    t0 = time.perf_counter()
    sd = ref.random_state_dict(cfg, seed=seed, dtype=torch.bfloat16)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    save_file({k: v.contiguous() for k, v in sd.items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    n = sum(v.numel() for v in sd.values())
    return {"params": int(n), "write_s": time.perf_counter() - t0,
            "file_MB": (out / "model.safetensors").stat().st_size / 1e6}


def child_convert(src: str, dst: str) -> dict:
    from lava_llm.models.lm import hf_import

    t0 = time.perf_counter()
    _, params, times = hf_import._convert(src, dst)
    summary = hf_import.import_summary(params)
    return {"convert_s": time.perf_counter() - t0, **times, **summary, "rss_MB": _rss_mb()}


def child_generate(ck: str, backend: str, threads: int, n_new: int) -> dict:
    from lava_llm.models.lm.engine import set_threads
    from lava_llm.models.lm.generate import LanguageModel

    set_threads(threads, torch_too=backend == "torch")
    t0 = time.perf_counter()
    lm = LanguageModel.load(ck)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    _ = lm.int_model if backend == "engine" else lm.torch_model()
    t_prep = time.perf_counter() - t0
    prompt = np.random.default_rng(1).integers(0, lm.config.vocab_size, PROMPT_TOKENS)
    runs = [lm.generate(prompt, n_new, backend=backend, record_logits=False)
            for _ in range(REPEATS)]
    tps = [r["tokens_per_s"] for r in runs]
    if any(list(r["token_ids"]) != list(runs[0]["token_ids"]) for r in runs):
        raise RuntimeError("repeated generations gave different tokens")
    kernel = kernel_time(lm.int_model) if backend == "engine" else {}
    return {**kernel, "load_s": t_load, "prepare_s": t_prep, "tokens_per_s": max(tps),
            "tokens_per_s_median": float(np.median(tps)),
            "time_to_first_token_s": min(r["time_to_first_token_s"] for r in runs),
            "token_ids": [int(t) for t in runs[0]["token_ids"]], "rss_MB": _rss_mb()}


def _packed_matrices(obj, out):
    from lava_llm.processes.ternary_dense.kernels import PackedTernary

    if isinstance(obj, PackedTernary):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _packed_matrices(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _packed_matrices(v, out)
    return out


def kernel_time(qmodel: dict) -> dict:
    """The packed kernels alone for one decode token: every ternary matrix of the integer
    model once, through ``ternary_matvec`` (the engine's call, with the thread policy the
    generation left), best of 5 per matrix, summed."""
    from lava_llm.processes.ternary_dense.kernels import ternary_matvec

    mats = _packed_matrices(qmodel, [])
    rng = np.random.default_rng(0)
    total = 0.0
    for p in mats:
        x = rng.integers(-128, 128, p.shape[1]).astype(np.int8)
        total += min(_timed(lambda: ternary_matvec(x, p)) for _ in range(5))
    nbytes = sum(p.nbytes for p in mats)
    return {"kernel_ms": total * 1e3, "kernel_GBps": nbytes / total / 1e9,
            "kernel_matrices": len(mats)}


def child_bandwidth() -> dict:
    """Read bandwidth: best of 5 ``np.sum`` over a 1 GiB float64 array (larger than the
    caches)."""
    a = np.ones(1 << 27)
    a.sum()
    best = min(_timed(a.sum) for _ in range(5))
    return {"read_GBps": a.nbytes / best / 1e9, "rss_MB": _rss_mb()}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _child_main(argv) -> None:
    kind, *rest = argv
    if kind == "write":
        out = child_write(rest[0], rest[1], int(rest[2]))
    elif kind == "convert":
        out = child_convert(rest[0], rest[1])
    elif kind == "generate":
        out = child_generate(rest[0], rest[1], int(rest[2]), int(rest[3]))
    elif kind == "bandwidth":
        out = child_bandwidth()
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print("RESULT " + json.dumps(out))


def run_child(*args, timeout: float = 1800) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "benchmarks.lm_speed", "--child", *map(str, args)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"child {args} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    out = json.loads(line[len("RESULT "):])
    out["wall_s"] = wall
    out["children_maxrss_MB"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return out


# --------------------------------------------------------------------------- main
def packed_bytes(cfg: dict) -> int:
    """Bytes of the 2-bit packed trits read per token (every BitLinear, the head included)."""
    V, H, L, inter = (cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"],
                      cfg["intermediate_size"])
    per_layer = [H * H] * 4 + [2 * inter * H, H * inter]
    return sum((n + 3) // 4 for n in per_layer * L + [V * H])


def bench_config(name: str, tmp: Path, n_new: int, threads: list[int], torch_ok: bool,
                 floor_gbps: float, log) -> list[dict]:
    cfg = CONFIGS[name]
    hf, ck = tmp / f"{name}-hf", tmp / f"{name}-ll"
    w = run_child("write", name, hf, 0)
    log(f"{name}: wrote {w['params'] / 1e6:.0f}M params ({w['file_MB']:.0f} MB bf16) in "
        f"{w['write_s']:.0f} s")
    c = run_child("convert", hf, ck)
    log(f"{name}: converted in {c['convert_s']:.1f} s, peak RSS {c['rss_MB']:.0f} MB")
    floor_ms = packed_bytes(cfg) / (floor_gbps * 1e9) * 1e3
    rows = [{"config": name, "layers": cfg["num_hidden_layers"], "hidden": cfg["hidden_size"],
             "backend": "import-hf (convert)", "threads": "", "tokens_per_s": "",
             "ms_per_token": "", "floor_ms": "", "ratio_to_floor": "",
             "time_to_first_token_s": "", "load_s": round(c["convert_s"], 2),
             "peak_rss_MB": round(c["rss_MB"]),
             "note": (f"read+ternarise {c['read_s']:.1f} s, calibrate {c['calibrate_s']:.1f} s "
                      f"(4x256 random ids, cached in the folder), write {c['write_s']:.1f} s; "
                      f"{c['bytes_packed_trits'] / 1e6:.1f} MB packed trits")}]
    tokens = {}
    for backend in ("engine", "torch"):
        if backend == "torch" and not torch_ok:
            rows.append({"config": name, "layers": cfg["num_hidden_layers"],
                         "hidden": cfg["hidden_size"], "backend": backend,
                         "note": "skipped (--skip-torch-1b3: does not fit the memory budget)"})
            continue
        for th in threads:
            g = run_child("generate", ck, backend, th, n_new)
            tokens[(backend, th)] = g["token_ids"]
            ms = 1e3 / g["tokens_per_s"]
            log(f"{name} {backend} threads={th}: {g['tokens_per_s']:.1f} tok/s "
                f"({ms:.1f} ms/token, floor {floor_ms:.1f} ms), TTFT "
                f"{g['time_to_first_token_s']:.2f} s, RSS {g['rss_MB']:.0f} MB")
            rows.append({"config": name, "layers": cfg["num_hidden_layers"],
                         "hidden": cfg["hidden_size"], "backend": backend, "threads": th,
                         "tokens_per_s": round(g["tokens_per_s"], 2),
                         "ms_per_token": round(ms, 2), "floor_ms": round(floor_ms, 2),
                         "ratio_to_floor": round(ms / floor_ms, 2),
                         "kernel_ms": (round(g["kernel_ms"], 2) if "kernel_ms" in g else ""),
                         "time_to_first_token_s": round(g["time_to_first_token_s"], 3),
                         "load_s": round(g["load_s"], 2), "peak_rss_MB": round(g["rss_MB"]),
                         "note": (f"median of {REPEATS}: {g['tokens_per_s_median']:.2f} tok/s; "
                                  + (f"kernels {g['kernel_GBps']:.1f} GB/s over "
                                     f"{g['kernel_matrices']} matrices; "
                                     if "kernel_ms" in g else "") +
                                  f"prepare (integer export / torch build) "
                                  f"{g['prepare_s']:.1f} s, not in TTFT")})
    eng = [v for (b, _), v in tokens.items() if b == "engine"]
    if len(eng) > 1 and any(e != eng[0] for e in eng):
        raise RuntimeError(f"{name}: engine tokens differ across thread counts")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="2-layer smoke run")
    ap.add_argument("--skip-1b3", action="store_true", help="370M rows only")
    ap.add_argument("--skip-torch-1b3", action="store_true",
                    help="no torch rows at 1.3B (float32 weights ~5.4 GB)")
    ap.add_argument("--tokens", type=int, default=24, help="new tokens per generation")
    args = ap.parse_args(argv)
    if args.child:
        return _child_main(args.child)
    t_start = time.perf_counter()
    load0 = os.getloadavg()
    up0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    names = ["quick"] if args.quick else ["370M"] + ([] if args.skip_1b3 else ["1.3B"])

    def log(msg):
        print(f"[{time.perf_counter() - t_start:6.0f} s] {msg}", flush=True)

    bw = run_child("bandwidth")
    log(f"read bandwidth {bw['read_GBps']:.1f} GB/s (numpy sum, 1 GiB)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lm_speed_") as tmp:
        for name in names:
            rows += bench_config(name, Path(tmp), args.tokens, [1, 2],
                                 not (name == "1.3B" and args.skip_torch_1b3),
                                 bw["read_GBps"], log)
    up1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    cmd = "python -m benchmarks.lm_speed" + (" --quick" if args.quick else "") + (
        " --skip-1b3" if args.skip_1b3 else "") + (
        " --skip-torch-1b3" if args.skip_torch_1b3 else "")
    notes = (
        f"Seeded random checkpoints in the HF layout (bf16 latent weights, "
        f"tests/models/lm/hgrn_reference.random_state_dict), converted with hf_import.convert; "
        f"generation from the converted folder, prompt of {PROMPT_TOKENS} random ids, "
        f"{args.tokens} new tokens, greedy, one process per row, {REPEATS} generations per "
        f"process: tokens_per_s is the best of them (median in the note), TTFT the best. "
        f"tokens_per_s: generated tokens after the first / their wall time; ms_per_token = "
        f"1000 / tokens_per_s. "
        f"floor_ms: bytes of packed trits (2 bits a weight, every BitLinear and the head) / "
        f"read bandwidth {bw['read_GBps']:.1f} GB/s (best of 5 numpy sums over 1 GiB, "
        f"measured in this run); ratio_to_floor = ms_per_token / floor_ms. threads: numba, "
        f"torch and BLAS threads set explicitly (--threads). kernel_ms: the packed ternary "
        f"kernels alone for one token (every matrix once through ternary_matvec, best of 5 "
        f"each, summed); ms_per_token - kernel_ms is the rest of the engine (norms, "
        f"quantisers, recurrence, sampling, Python). peak_rss_MB: the process's "
        f"ru_maxrss. load_s: checkpoint load (convert rows: the whole conversion). TTFT: "
        f"prefill + first sample (model preparation excluded). Engine tokens are identical "
        f"across thread counts (checked). Machine load: `{up0}` before, `{up1}` after; "
        f"2 CPUs shared with other work, so timings are noisy. Total wall "
        f"{time.perf_counter() - t_start:.0f} s.")
    write_results("lm_speed", rows, command=cmd, notes=notes,
                  columns=["config", "backend", "threads", "tokens_per_s", "ms_per_token",
                           "floor_ms", "ratio_to_floor", "kernel_ms", "time_to_first_token_s", "load_s",
                           "peak_rss_MB", "note"],
                  directory=Path(tempfile.gettempdir()) / "lava_llm_quick" if args.quick else None,
                  extra={"read_GBps": bw["read_GBps"], "load_before": load0,
                         "load_after": os.getloadavg(), "uptime_before": up0,
                         "uptime_after": up1})


if __name__ == "__main__":
    main()
