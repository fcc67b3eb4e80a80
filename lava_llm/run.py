"""Run configurations by name, and a run context that always stops the Lava runtime.

Backends
--------
``sim-float``
    Lava CPU simulation with the ``floating_pt`` ProcessModels (float64 reference dynamics).
``sim-fixed``
    Lava CPU simulation with the ``fixed_pt`` ProcessModels (integer, Loihi bit widths).
``loihi2``
    ``Loihi2HwCfg`` on a Loihi 2 system. Needs Intel's proprietary ``lava-loihi`` extension and
    a reachable board; where either is missing :func:`run_config` raises
    :class:`Loihi2UnavailableError`. It never falls back to simulation.

Library code outside Lava adds ``engine`` (the vectorised integer engine) and ``torch`` (the
float reference); :data:`ALL_BACKENDS` lists every name the command line accepts.

Example
-------
>>> from lava_llm.run import run_config, lava_session
>>> cfg = run_config("sim-fixed")
>>> with lava_session(net) as session:          # doctest: +SKIP
...     session.run(steps=20, run_cfg=cfg)
"""
from __future__ import annotations

import contextlib
import threading
import typing as ty
import warnings

LAVA_BACKENDS = ("sim-float", "sim-fixed", "loihi2")
ALL_BACKENDS = LAVA_BACKENDS + ("engine", "torch")
TAGS = {"sim-float": "floating_pt", "sim-fixed": "fixed_pt", "loihi2": "fixed_pt"}


class Loihi2UnavailableError(RuntimeError):
    """The ``loihi2`` backend was requested where no Loihi 2 runtime is present."""


def check_backend(backend: str, allowed: ty.Sequence[str] = ALL_BACKENDS) -> str:
    """Return ``backend`` if it is one of ``allowed``, else raise a ValueError naming both."""
    if backend not in allowed:
        raise ValueError(f"backend={backend!r} is not one of {list(allowed)}")
    return backend


def loihi2_status() -> tuple[bool, str]:
    """Whether Loihi 2 hardware can be used here, and why not when it cannot."""
    from lava.utils import loihi

    if not loihi.is_installed():
        return False, ("the proprietary lava-loihi extension is not installed "
                       "(lava.utils.loihi.is_installed() is False)")
    from lava.utils.system import Loihi2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        available = Loihi2.is_loihi2_available
    if not available:
        return False, "lava.utils.system.Loihi2.is_loihi2_available is False (no Loihi 2 compiler)"
    return True, "Loihi 2 available"


def run_config(backend: str, *, exception_proc_model_map: dict | None = None,
               select_sub_proc_model: bool = True, **kwargs):
    """Return the Lava run config for ``backend`` (one of :data:`LAVA_BACKENDS`).

    Parameters
    ----------
    backend : str
        ``"sim-float"``, ``"sim-fixed"`` or ``"loihi2"``.
    exception_proc_model_map : dict, optional
        Process class -> ProcessModel class overrides, passed to Lava unchanged.
    select_sub_proc_model : bool
        Expand hierarchical Processes into their sub-Processes (Lava's flag).
    **kwargs
        Passed to the Lava run config.

    Raises
    ------
    ValueError
        For an unknown backend name.
    Loihi2UnavailableError
        For ``"loihi2"`` where lava-loihi or the board is missing.
    """
    check_backend(backend, LAVA_BACKENDS)
    common = dict(select_tag=TAGS[backend], select_sub_proc_model=select_sub_proc_model,
                  exception_proc_model_map=exception_proc_model_map or {}, **kwargs)
    if backend == "loihi2":
        ok, why = loihi2_status()
        if not ok:
            raise Loihi2UnavailableError(
                f"backend='loihi2' needs a Loihi 2 system, but {why}. Use backend='sim-fixed' "
                "for the bit-accurate CPU simulation of the same fixed-point models.")
        from lava.magma.core.run_configs import Loihi2HwCfg

        return Loihi2HwCfg(**common)
    from lava.magma.core.run_configs import Loihi2SimCfg

    return Loihi2SimCfg(**common)


def limit_blas_threads(n: int = 1):
    """Limit BLAS to ``n`` threads in this OS process (threadpoolctl); returns the limiter
    (usable as a context manager) or None where threadpoolctl is missing.

    Per-step matrix-vector products are tiny; a multi-threaded OpenBLAS spends ~30x their
    cost synchronising threads on a loaded machine. Every Lava leaf is its own OS process, so
    :class:`lava_llm.processes.base.SingleBlasThreadModel` calls this once per leaf; token-by-token host generation
    uses it as a context manager.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up only
        return None
    return threadpool_limits(limits=n, user_api="blas")


class LavaRunTimeout(TimeoutError):
    """A Lava run did not finish in time; its runtime was terminated."""


#: ``timeout_s="auto"``: a run of ``n`` steps may take ``AUTO_TIMEOUT_BASE_S +
#: AUTO_TIMEOUT_PER_STEP_S * n`` seconds, far beyond any healthy run here (a few ms per step),
#: so it only ever ends a stalled runtime.
AUTO_TIMEOUT_BASE_S = 120.0
AUTO_TIMEOUT_PER_STEP_S = 0.5


def _resolve_timeout(timeout_s, steps: int) -> float | None:
    if timeout_s is None:
        return None
    if timeout_s == "auto":
        return AUTO_TIMEOUT_BASE_S + AUTO_TIMEOUT_PER_STEP_S * steps
    value = float(timeout_s)
    if not value > 0:
        raise ValueError(f"timeout_s={timeout_s!r} must be > 0, 'auto' or None")
    return value


class LavaSession:
    """Runs a Lava network and remembers the run config; see :func:`lava_session`.

    ``timeout_s`` (seconds, ``"auto"`` for a generous limit that grows with the number of
    steps, or ``None``; per :meth:`run` call, or the session default) guards against a known
    Lava 0.10 behaviour: when a ProcessModel raises inside a step, the runtime waits forever for the
    other models. With a timeout the run is started non-blocking and watched; past the limit the
    runtime's processes are terminated, its shared memory released, and
    :class:`LavaRunTimeout` raised.
    """

    def __init__(self, process, run_cfg=None, timeout_s: float | str | None = None):
        self.process = process
        self.run_cfg = run_cfg
        self.timeout_s = timeout_s
        self.steps_run = 0
        self._killed = False

    def run(self, steps: int, run_cfg=None, timeout_s: float | str | None = None) -> None:
        """Run ``steps`` time steps (the runtime is created by the first call)."""
        from lava.magma.core.run_conditions import RunSteps

        if isinstance(steps, bool) or int(steps) < 1:
            raise ValueError(f"steps={steps} must be >= 1")
        if self._killed:
            raise RuntimeError("this session's runtime was terminated after a timeout")
        cfg = run_cfg if run_cfg is not None else self.run_cfg
        if cfg is None:
            raise ValueError("run_cfg is required (see lava_llm.run.run_config)")
        self.run_cfg = cfg
        timeout_s = _resolve_timeout(self.timeout_s if timeout_s is None else timeout_s,
                                     int(steps))
        if timeout_s is None:
            self.process.run(condition=RunSteps(num_steps=int(steps)), run_cfg=cfg)
        else:
            self._run_watched(int(steps), cfg, float(timeout_s))
        self.steps_run += int(steps)

    def _run_watched(self, steps: int, cfg, timeout_s: float) -> None:
        from lava.magma.core.run_conditions import RunSteps

        self.process.run(condition=RunSteps(num_steps=steps, blocking=False), run_cfg=cfg)
        errors: list[BaseException] = []

        def wait():
            try:
                self.process.wait()
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)

        waiter = threading.Thread(target=wait, daemon=True, name="lava-llm-run-watch")
        waiter.start()
        waiter.join(timeout_s)
        if waiter.is_alive():
            self._terminate()
            raise LavaRunTimeout(
                f"the Lava run of {steps} step(s) did not finish within {timeout_s:g} s; its "
                "runtime was terminated. (In Lava 0.10 a ProcessModel that raises leaves the "
                "runtime waiting forever: look for an exception printed above.)")
        if errors:
            raise errors[0]

    def _terminate(self) -> None:
        """Kill the runtime's processes and release its shared memory."""
        runtime = self.process.runtime
        self._killed = True  # even if what follows fails, never call the blocking stop()
        infra = runtime._messaging_infrastructure
        import multiprocessing

        for actor in infra.actors:
            if actor.is_alive():
                actor.terminate()
            # Lava's SystemProcess.join takes no timeout: use the base class's.
            multiprocessing.Process.join(actor, 5)
        if infra.smm is not None:
            infra.smm.shutdown()
        runtime._is_started = runtime._is_running = False

    def stop(self) -> None:
        runtime = getattr(self.process, "runtime", None)
        if runtime is not None and not self._killed:
            self.process.stop()


@contextlib.contextmanager
def lava_session(process, run_cfg=None, *, timeout_s: float | str | None = None
                 ) -> ty.Iterator[LavaSession]:
    """Context manager that runs ``process``'s network and always stops its runtime.

    The runtime (one OS process per leaf ProcessModel plus shared-memory channels) is stopped
    on normal exit *and* when the body raises, so no child process or shared-memory segment
    outlives the block. ``timeout_s`` bounds every ``run`` (see :class:`LavaSession`).
    """
    session = LavaSession(process, run_cfg, timeout_s)
    try:
        yield session
    finally:
        session.stop()


def wire_open_loop(procs, data, *, sink_steps: int | None = None):
    """Put Processes between a RingBuffer source and a RingBuffer sink.

    Column ``t`` of ``data`` (shape ``(n_in, T)``) enters the first Process's only InPort at
    step ``t``; ``procs`` (one Process or a sequence) are chained, each one's only OutPort to
    the next one's only InPort; the last one's only OutPort feeds a sink that records
    ``sink_steps`` steps (default ``T``). Returns ``(source, sink)``; run the network with
    :func:`lava_session` on any of its Processes and read ``sink.data``.
    """
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    procs = list(procs) if isinstance(procs, (list, tuple)) else [procs]
    ports = []
    for p in procs:
        ins, outs = list(p.in_ports.members), list(p.out_ports.members)
        if len(ins) != 1 or len(outs) != 1:
            raise ValueError(f"wire_open_loop needs Processes with one InPort and one OutPort; "
                             f"{p.name} has {len(ins)} and {len(outs)}")
        ports.append((ins[0], outs[0]))
    src = Source(data=data)
    sink = Sink(shape=ports[-1][1].shape, buffer=data.shape[1] if sink_steps is None
                else sink_steps)
    src.s_out.connect(ports[0][0])
    for (_, a_out), (b_in, _) in zip(ports, ports[1:]):
        a_out.connect(b_in)
    ports[-1][1].connect(sink.a_in)
    return src, sink
