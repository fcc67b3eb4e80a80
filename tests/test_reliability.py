"""Reliability of Lava runs: signals leave no orphan or shared memory, timeouts leak no fd or
thread, and many sessions in one process do not grow its memory."""
from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import psutil
import pytest

from lava_llm import run as R

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _group(pgid: int) -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                out.append(proc)
        except (ProcessLookupError, psutil.Error):
            pass
    return out


def _shm_of(procs) -> set[str]:
    paths = set()
    for proc in procs:
        try:
            paths.update(m.path for m in proc.memory_maps(grouped=False)
                         if m.path.startswith("/dev/shm/"))
        except psutil.Error:
            pass
    return paths


@pytest.mark.slow
@pytest.mark.parametrize("signame,when", [("SIGTERM", "running"), ("SIGHUP", "running"),
                                          ("SIGINT", "running"), ("SIGINT", "startup"),
                                          ("SIGTERM", "startup")])
def test_signal_stops_the_runtime_and_leaves_nothing(signame, when):
    """A sim-fixed ``generate`` in its own process group, signalled while its Lava runtime
    runs (or while it is still forking its children): exit status 128 + signal, no process of
    the group survives, none of the shared-memory segments it had mapped is left in /dev/shm,
    and the caller's communicate() returns."""
    sig = getattr(signal, signame)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lava_llm.cli", "generate", "--backend", "sim-fixed",
         "--tokens", "4000", "--prompt", "ROMEO:"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
    pgid = proc.pid
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            group = _group(pgid)
            seen |= _shm_of(group)
            if when == "startup" and len(group) >= 4:  # the runtime is being built
                break
            if len(group) >= 8 and len(seen) >= 10:  # the LM's leaves, their channels
                break
            time.sleep(0.2 if when == "running" else 0.01)
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        if when == "running":
            time.sleep(0.5)  # well inside the run (4000 tokens take ~30 s)
            seen |= _shm_of(_group(pgid))
            assert len(_group(pgid)) >= 8 and seen
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + sig, err.decode()[-2000:]
        assert f"interrupted by {signame}" in err.decode() and "Traceback" not in err.decode()
        time.sleep(3)
        assert _group(pgid) == []
        assert {p for p in seen if os.path.exists(p)} == set()
    finally:
        if _group(pgid):   # the test failed with the run still alive: SIGKILL cannot clean up,
            os.killpg(pgid, signal.SIGKILL)   # so remove the segments it had mapped ourselves
            time.sleep(1)
            for path in seen:
                if os.path.exists(path):
                    os.unlink(path)


def test_a_swallowed_interrupt_is_raised_at_the_next_check():
    """Python prints and ignores an exception raised in some places (at-fork hooks,
    ``__del__``); the interrupt is then raised by the next check instead of being lost."""
    with pytest.raises(R.LavaInterrupted):
        with R.stop_on_signals():
            try:
                R._raise_interrupted(signal.SIGTERM, None)
            except R.LavaInterrupted:
                pass  # swallowed
            R.check_interrupted()
    with R.stop_on_signals():
        R.check_interrupted()  # a new scope starts clean


def test_stop_on_signals_raises_in_the_main_thread_and_restores():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(R.LavaInterrupted) as exc:
        with R.stop_on_signals():
            with R.stop_on_signals():  # re-entrant
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
    assert exc.value.exit_status == 128 + signal.SIGTERM
    assert isinstance(exc.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) == before


def test_stop_on_signals_keeps_an_application_handler():
    got = []
    old = signal.signal(signal.SIGHUP, lambda s, f: got.append(s))
    try:
        with R.stop_on_signals():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.2)
        assert got == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, old)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _faulty_timeout(timeout_s: float) -> None:
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava_faulty.faulty import Faulty

    src = Source(data=np.ones((2, 10)))
    bad = Faulty(shape=(2,), fail_at=1)
    sink = Sink(shape=(2,), buffer=10)
    src.s_out.connect(bad.a_in)
    bad.s_out.connect(sink.a_in)
    with pytest.raises(R.LavaRunTimeout):
        with R.lava_session(bad, R.run_config("sim-float"), timeout_s=timeout_s) as session:
            session.run(10)


@pytest.mark.slow
def test_timeouts_release_every_fd_and_thread(capfd):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    _faulty_timeout(0.5)  # first run: Lava's lazy imports and caches
    gc.collect()
    fds, threads = _fds(), threading.active_count()
    for _ in range(10):
        _faulty_timeout(0.5)
    gc.collect()
    assert _fds() == fds
    assert threading.active_count() == threads, [t.name for t in threading.enumerate()]
    capfd.readouterr()  # the deliberate failures' tracebacks


def _small_run(weights) -> None:
    from lava_llm.processes.ternary_dense import TernaryDense

    layer = TernaryDense(weights=weights, scale=1.0)
    _, sink = R.wire_open_loop(layer, np.ones((weights.shape[1], 2)))
    with R.lava_session(layer, R.run_config("sim-float")) as session:
        session.run(2)
        sink.data.get()


@pytest.mark.slow
def test_many_sessions_do_not_grow_memory():
    """Lava's ProcessServer / VarServer keep every Process and Var ever built; lava_session
    drops its network's. 100 runs (each Process holds a 400x400 weight Var, ~1.3 MB as Lava
    keeps it) grow RSS by less than 20 MB, and the registries do not grow."""
    from lava.magma.core.process.process import ProcessServer
    from lava.magma.core.process.variable import VarServer

    weights = np.random.default_rng(0).integers(-1, 2, size=(400, 400))
    for _ in range(5):
        _small_run(weights)
    gc.collect()
    rss = psutil.Process().memory_info().rss
    n_proc, n_var = len(ProcessServer().processes), len(VarServer().vars)
    for _ in range(100):
        _small_run(weights)
    gc.collect()
    assert len(ProcessServer().processes) == n_proc
    assert len(VarServer().vars) == n_var
    grown = (psutil.Process().memory_info().rss - rss) / 2 ** 20
    assert grown < 20, f"RSS grew by {grown:.1f} MB over 100 runs"


def test_forget_processes_keeps_ids_unique():
    from lava_llm.processes.ternary_dense import TernaryDense

    a = TernaryDense(weights=np.eye(2, dtype=int), scale=1.0)
    assert R.forget_processes([a]) == 1
    b = TernaryDense(weights=np.eye(2, dtype=int), scale=1.0)
    assert b.id > a.id
