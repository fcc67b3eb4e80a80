"""Trials of the S5 denoiser studies (iso-accuracy grid, leave-one-speaker-out), run by Ray.

One trial = train a fresh :class:`~lava_llm.training.s5.S5Denoiser` on an N-DNS-layout folder
(streamed), export it to fixed point, and measure on a test folder what the benchmarks report:
SI-SNRi of the integer engine (bit-exact with Lava sim-fixed), compute with THE op-count
definition (:func:`lava_llm.processes.ssm_diagonal.kernels.op_counts`: event-driven SynOps
measured on the test clips, NeuronOps, power proxy = SynOps + 10 NeuronOps per step) and
memory with :func:`~lava_llm.processes.ssm_diagonal.kernels.memory_bytes` (bytes incl. the
sparse matrices' indices).

:func:`run_trials` sends the trials to Ray as tasks (``ray.init()`` local by default, or
``address`` of an existing cluster; every trial needs the data folders at the same path on
every node) and returns their results in the order given.
"""
from __future__ import annotations

import typing as ty

import numpy as np


def run_trial(spec: dict) -> dict:
    """Train and measure one model. ``spec``: ``train_dir``, ``test_dir``, ``d_model``,
    ``d_state`` (default d_model), ``n_layers`` (2), ``sparsity``, ``seed``, ``steps``,
    ``crop_seconds`` (1.5), ``batch_size`` (8), ``n_test`` (all), ``qat`` (True);
    ``test_dirs``: ``{name: folder}`` more test sets (``si_snri_db_<name>`` in the result)."""
    import time

    import torch

    from lava_llm.data.noisy_fsdd import NDNSDataset
    from lava_llm.models.denoiser.network import Denoiser
    from lava_llm.processes.ssm_diagonal import kernels
    from lava_llm.training import s5
    from lava_llm import audio

    torch.set_num_threads(1)
    t0 = time.time()
    train = NDNSDataset(spec["train_dir"])
    test = NDNSDataset(spec["test_dir"], sample_rate=train.sample_rate)
    h = int(spec["d_model"])
    p = int(spec.get("d_state", h))
    cfg = s5.DenoiserConfig(sample_rate=train.sample_rate, d_model=h, d_state=p,
                            n_layers=int(spec.get("n_layers", 2)),
                            blocks=int(spec.get("blocks", 4 if p % 4 == 0 else 1)))
    model = s5.S5Denoiser(cfg, seed=int(spec["seed"]))
    hist = s5.train_denoiser(model, train, int(spec["steps"]), sparsity=float(spec["sparsity"]),
                             qat=bool(spec.get("qat", True)), seed=int(spec["seed"]),
                             batch_size=int(spec.get("batch_size", 8)),
                             crop_seconds=float(spec.get("crop_seconds", 1.5)))
    params = s5.export_fixed(model)
    den = Denoiser(params)
    n_test = int(spec.get("n_test", len(test)))

    def measure(ds):
        snri, syn, proxy = [], [], []
        for i in range(min(n_test, len(ds))):
            noisy, clean = (np.asarray(a, np.float64) for a in ds[i])
            out = audio.prepare_output(den.denoise(noisy, "engine"), noisy)["wave"]
            snri.append(audio.si_snri(out, noisy, clean))
            ops = kernels.op_counts(den.net("q"), den.quantize(den.analyse(noisy)[1]))
            syn.append(ops["synops"])
            proxy.append(ops["power_proxy"])
        return snri, syn, proxy

    snri, syn, proxy = measure(test)
    extra = {}
    for name, d in dict(spec.get("test_dirs", {})).items():
        extra[f"si_snri_db_{name}"] = float(np.mean(measure(
            NDNSDataset(d, sample_rate=train.sample_rate))[0]))
    mem = kernels.memory_bytes(params)
    res = {k: spec[k] for k in spec if k not in ("train_dir", "test_dir", "test_dirs")}
    res.update(extra)
    res.update(si_snri_db=float(np.mean(snri)), weight_sparsity=float(hist["sparsity"]),
               synops=float(np.mean(syn)), power_proxy=float(np.mean(proxy)),
               neuron_ops=float(kernels.neuron_ops(params)), bytes=mem["total"],
               bytes_values=mem["values"], bytes_indices=mem["indices"],
               n_test=len(snri), train_seconds=round(time.time() - t0, 1))
    return res


def run_trials(specs: ty.Sequence[dict], *, address: str | None = None,
               num_cpus: int | None = None, progress=None) -> list[dict]:
    """Run :func:`run_trial` on every spec as Ray tasks (one CPU each); results in order.
    Starts a local Ray (``num_cpus``) unless ``address`` names a cluster; shuts down what it
    started."""
    import os
    import signal

    import ray

    started = False
    # ray.init installs a SIGTERM handler in the driver and leaves it there after
    # ray.shutdown; a library call must not change the caller's signal handling (it broke
    # lava_llm.run.stop_on_signals in the same process), so the handlers come back after.
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    if not ray.is_initialized():
        env = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        if address:
            ray.init(address=address, runtime_env={"env_vars": env})
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": env})
        started = True
    try:
        task = ray.remote(num_cpus=1)(run_trial)
        refs = [task.remote(dict(s)) for s in specs]
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            if progress is not None:
                progress(len(refs) - len(pending), len(refs))
        return ray.get(refs)
    finally:
        if started:
            ray.shutdown()
            for sig, handler in saved.items():
                if handler is not None:
                    signal.signal(sig, handler)


def pareto_front(points: ty.Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points ``(cost, quality)`` no other point beats (lower cost and higher
    quality), sorted by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -np.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def iso_cost(dense: ty.Sequence[tuple[float, float]], quality: float) -> float | None:
    """Cost a dense model needs for ``quality``: log-linear interpolation along the dense
    Pareto front (``(cost, quality)`` points); None outside the front's quality range."""
    idx = pareto_front(dense)
    c = np.array([dense[i][0] for i in idx], np.float64)
    q = np.array([dense[i][1] for i in idx], np.float64)
    if quality < q[0] or quality > q[-1]:
        return None
    if len(q) == 1:
        return float(c[0])
    return float(np.exp(np.interp(quality, q, np.log(c))))
