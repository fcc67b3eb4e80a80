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
import logging
import os
import signal
import threading
import time
import typing as ty
import warnings

LAVA_BACKENDS = ("sim-float", "sim-fixed", "loihi2")
ALL_BACKENDS = LAVA_BACKENDS + ("engine", "torch")
TAGS = {"sim-float": "floating_pt", "sim-fixed": "fixed_pt", "loihi2": "fixed_pt"}
#: Forms of a hierarchical Process: ``fused`` (its PyProcessModel: one leaf, fast on CPU) or
#: ``fine`` (its AbstractSubProcessModel: the synapse and neuron Processes a chip would hold).
GRANULARITIES = ("fused", "fine")


def check_granularity(granularity: str) -> str:
    """Return ``granularity`` if it is one of :data:`GRANULARITIES`, else raise ValueError."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity={granularity!r} is not one of {list(GRANULARITIES)}")
    return granularity


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


def run_config(backend: str, *, granularity: str = "fused",
               exception_proc_model_map: dict | None = None,
               select_sub_proc_model: bool | None = None, **kwargs):
    """Return the Lava run config for ``backend`` (one of :data:`LAVA_BACKENDS`).

    Parameters
    ----------
    backend : str
        ``"sim-float"``, ``"sim-fixed"`` or ``"loihi2"``.
    granularity : str
        ``"fused"`` (default): hierarchical Processes run their fused PyProcessModel;
        ``"fine"``: their sub-process model (Lava's ``select_sub_proc_model=True``). A Process
        with only a sub-process model (e.g. lava-dl's netx ``Network``) is expanded either way.
    exception_proc_model_map : dict, optional
        Process class -> ProcessModel class overrides, passed to Lava unchanged.
    select_sub_proc_model : bool, optional
        Lava's flag, set directly (overrides ``granularity``).
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
    check_granularity(granularity)
    if select_sub_proc_model is None:
        select_sub_proc_model = granularity == "fine"
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


class LavaInterrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived during a Lava session (see :func:`stop_on_signals`);
    the runtime was killed and its shared memory released. ``exit_status`` is ``128 + signum``.
    A ``KeyboardInterrupt``, so ``except Exception`` in library code does not swallow it."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.exit_status = 128 + self.signum
        super().__init__(f"interrupted by {signal.Signals(self.signum).name}")


#: The signals a session (and the ``lava-llm`` command) turns into :class:`LavaInterrupted`.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, n))
_signals_lock = threading.Lock()
_signals_depth = 0
_signals_saved: dict = {}
#: The first stop signal received, and whether its LavaInterrupted reached a handler that
#: stops the runtime (lava_session, the CLI). Python ignores an exception raised in some
#: places (an at-fork hook, a ``__del__``): until delivered, every later signal raises again
#: and :func:`check_interrupted` (called between and during runs) raises it.
_interrupt = {"signum": None, "delivered": False}


def _raise_interrupted(signum, frame):
    if _interrupt["signum"] is None:
        _interrupt["signum"] = signum
    if _forking:
        # Inside os.fork's at-fork hooks Python would print and ignore the exception; the
        # signal is sent again once the fork is done (see _after_fork_in_parent).
        _interrupt["during_fork"] = True
        return
    # Once delivered, the clean-up has started: a second signal (an impatient user, a
    # supervisor's TERM after INT) must not abort it.
    if not _interrupt["delivered"]:
        raise LavaInterrupted(_interrupt["signum"])


def check_interrupted() -> None:
    """Raise :class:`LavaInterrupted` for a stop signal whose exception has not reached a
    handler yet (it was swallowed, e.g. raised inside ``os.fork``'s at-fork hooks)."""
    if _interrupt["signum"] is not None and not _interrupt["delivered"]:
        raise LavaInterrupted(_interrupt["signum"])


def _delivered(exc: BaseException) -> None:
    if isinstance(exc, LavaInterrupted):
        _interrupt["delivered"] = True


@contextlib.contextmanager
def stop_on_signals():
    """While active, SIGINT, SIGTERM and SIGHUP raise :class:`LavaInterrupted` in the main
    thread, so that ``with`` blocks (:func:`lava_session`) unwind and stop their runtime
    instead of the process dying with its Lava children and ``/dev/shm`` segments left behind.

    Re-entrant; a no-op outside the main thread (Python delivers signals there only). A
    handler the application installed itself (anything but the default, or ours) is kept.
    Previous handlers come back on exit.
    """
    global _signals_depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _signals_lock:
        if _signals_depth == 0:
            _interrupt.update(signum=None, delivered=False)
            for sig in STOP_SIGNALS:
                current = signal.getsignal(sig)
                if current in (signal.SIG_DFL, signal.default_int_handler):
                    _signals_saved[sig] = current
                    signal.signal(sig, _raise_interrupted)
        _signals_depth += 1
    try:
        yield
    finally:
        with _signals_lock:
            _signals_depth -= 1
            if _signals_depth == 0:
                for sig, handler in _signals_saved.items():
                    signal.signal(sig, handler)
                _signals_saved.clear()
                _interrupt.update(signum=None, delivered=False)


# Lava's children are forked (multiprocessing "fork"). While a session is being set up in
# this process, a forked child (i) ignores SIGINT (a terminal's Ctrl-C goes to the whole
# process group; the parent stops the runtime), (ii) dies of SIGTERM/SIGHUP by default instead
# of running the parent's Python handlers, and (iii) gets SIGKILL when its parent thread dies
# (Linux PR_SET_PDEATHSIG), so no orphan outlives a parent that was killed outright and keeps
# its stdout open.
_sessions_active = 0
_fork_from_main = False
_forking = False


def _before_fork():
    global _fork_from_main, _forking
    _fork_from_main = threading.current_thread() is threading.main_thread()
    _forking = _fork_from_main


def _after_fork_in_parent():
    global _forking
    _forking = False
    if _interrupt.pop("during_fork", False):
        # Re-send a moment later from a helper thread, so that the main thread takes it
        # outside the hooks.
        timer = threading.Timer(0.05, os.kill, args=(os.getpid(), _interrupt["signum"]))
        timer.daemon = True
        timer.start()


def _after_fork_in_child():
    global _forking
    _forking = False
    _interrupt.pop("during_fork", None)
    if not _sessions_active:
        return
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
    except (ValueError, OSError):  # pragma: no cover - not the main thread
        pass
    if _fork_from_main:
        _die_with_parent()


def _die_with_parent() -> None:
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        parent = os.getppid()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


def forget_processes(processes) -> int:
    """Drop ``processes`` and their Vars from Lava's global registries (``ProcessServer``,
    ``VarServer``), which otherwise keep every Process and Var ever built (with the Vars'
    arrays and the runtime) for the life of the interpreter; ids stay unique (the id counters
    are not reset). Also removes the duplicate console handlers that every
    ``AbstractProcess.__init__`` adds to the root logger (one is kept). Returns how many
    Processes were dropped."""
    from lava.magma.core.process.process import ProcessServer
    from lava.magma.core.process.variable import VarServer

    drop = {id(p) for p in processes}
    server, var_server = ProcessServer(), VarServer()
    before = len(server.processes)
    server.processes = [p for p in server.processes if id(p) not in drop]
    var_server.vars = [v for v in var_server.vars
                       if id(getattr(v, "process", None)) not in drop]
    _dedupe_lava_log_handlers()
    return before - len(server.processes)


def _dedupe_lava_log_handlers() -> None:
    from lava.magma.core.process.process import LogConfig

    cfg = LogConfig()
    root = logging.getLogger()
    seen = False
    for h in list(root.handlers):
        fmt = getattr(h, "formatter", None)
        if (type(h) is logging.StreamHandler and fmt is not None and fmt._fmt == cfg.format
                and fmt.datefmt == cfg.date_format):
            if seen:
                root.removeHandler(h)
            seen = True


def _network_processes(runtime) -> list:
    """Every Process the runtime was compiled from: the leaves and their parents."""
    procs, seen = [], set()
    builders = getattr(getattr(runtime, "_executable", None), "proc_builders", None) or {}
    for p in builders:
        while p is not None and id(p) not in seen:
            seen.add(id(p))
            procs.append(p)
            p = getattr(p, "parent_proc", None)
    return procs


class LavaSession:
    """Runs a Lava network and remembers the run config; see :func:`lava_session`.

    ``timeout_s`` (seconds, ``"auto"`` for a generous limit that grows with the number of
    steps, or ``None``; per :meth:`run` call, or the session default) guards against a known
    Lava 0.10 behaviour: when a ProcessModel raises inside a step, the runtime waits forever for the
    other models. With a timeout the run is started non-blocking and watched; past the limit the
    runtime's processes are terminated, its shared memory released, and
    :class:`LavaRunTimeout` raised. Every file descriptor and thread the runtime opened in this
    process is released too, so a long-lived process survives any number of timeouts.
    """

    def __init__(self, process, run_cfg=None, timeout_s: float | str | None = None):
        self.process = process
        self.run_cfg = run_cfg
        self.timeout_s = timeout_s
        self.steps_run = 0
        self._killed = False
        self._closed = False
        import multiprocessing

        self._children_before = set(multiprocessing.active_children())

    def run(self, steps: int, run_cfg=None, timeout_s: float | str | None = None) -> None:
        """Run ``steps`` time steps (the runtime is created by the first call)."""
        from lava.magma.core.run_conditions import RunSteps

        if isinstance(steps, bool) or int(steps) < 1:
            raise ValueError(f"steps={steps} must be >= 1")
        check_interrupted()
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
        check_interrupted()
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
        deadline = time.monotonic() + timeout_s
        try:
            while waiter.is_alive() and time.monotonic() < deadline:
                waiter.join(min(0.2, max(deadline - time.monotonic(), 0.0)))
                check_interrupted()
        except BaseException as exc:  # a signal (LavaInterrupted) while waiting
            _delivered(exc)
            self._terminate()
            waiter.join(5)
            raise
        if waiter.is_alive():
            self._terminate()
            waiter.join(5)
            raise LavaRunTimeout(
                f"the Lava run of {steps} step(s) did not finish within {timeout_s:g} s; its "
                "runtime was terminated. (In Lava 0.10 a ProcessModel that raises leaves the "
                "runtime waiting forever: look for an exception printed above.)")
        if errors:
            raise errors[0]

    def _terminate(self) -> None:
        """Kill the runtime's processes and release everything it holds in this process:
        shared memory, the port threads, pipes and queues (Lava's own ``stop`` would wait
        forever on a stalled runtime). Each step runs even if an earlier one failed, e.g.
        for a runtime that a signal interrupted half-way through its start-up."""
        import multiprocessing

        self._killed = True  # even if what follows fails, never call the blocking stop()
        runtime = getattr(self.process, "runtime", None)
        infra = getattr(runtime, "_messaging_infrastructure", None)
        actors = list(getattr(infra, "actors", None) or [])
        quiet = contextlib.suppress(Exception)
        for actor in actors:
            with quiet:
                if actor.is_alive():
                    actor.terminate()
        for actor in actors:
            with quiet:
                # Lava's SystemProcess.join takes no timeout: use the base class's.
                multiprocessing.Process.join(actor, 5)
                if actor.is_alive():
                    actor.kill()
                    multiprocessing.Process.join(actor, 5)
        # A thread blocked in runtime.wait() (the run watcher) waits on the service ports'
        # condition: make its next receive raise, then wake it.
        for port in list(getattr(runtime, "service_to_runtime", None) or []):
            with quiet:
                port.recv = _raise_terminated
                queue = getattr(port, "_queue", None)
                if queue is not None:
                    queue.put_nowait(0)
                if port.observer is not None:
                    port.observer()
        # Port threads wait on semaphores the dead children would have released.
        for port in list(getattr(runtime, "_open_ports", None) or []):
            with quiet:
                port.join()
        if runtime is not None:
            runtime._open_ports = []
        with quiet:
            if infra is not None and infra.smm is not None:
                infra.smm.shutdown()  # the shared-memory server unlinks every segment
        with quiet:
            runtime._watchdog_manager.stop()
        # Whatever else this session started and is still running (a shared-memory or
        # watchdog server whose start a signal interrupted, before Lava recorded it):
        # multiprocessing would otherwise join it forever when the interpreter exits.
        for child in set(multiprocessing.active_children()) - self._children_before:
            with quiet:
                child.terminate()
                child.join(5)
                if child.is_alive():
                    child.kill()
                    child.join(5)
        for actor in actors:
            _close_actor(actor)
        if runtime is not None:
            runtime._is_started = runtime._is_running = False

    @property
    def leaf_processes(self) -> int:
        """How many leaf Processes (each an OS process on the CPU backend) the compiled network
        holds (0 before the first run)."""
        runtime = getattr(self.process, "runtime", None)
        exe = getattr(runtime, "_executable", None)
        return 0 if exe is None else len(exe.proc_builders)

    def stop(self) -> None:
        runtime = getattr(self.process, "runtime", None)
        if runtime is not None and not self._killed:
            self.process.stop()

    def close(self, force: bool = False) -> None:
        """Stop the runtime (``force``: kill it, for a signal or a stalled run) and drop the
        network's Processes from Lava's global registry. Idempotent."""
        if self._closed:
            return
        runtime = getattr(self.process, "runtime", None)
        if force:
            self._terminate()
        else:
            self.stop()
        self._closed = True
        if runtime is not None:
            forget_processes(_network_processes(runtime))

    def _close_after_error(self, force: bool) -> None:
        """Close while an exception propagates: a failing graceful stop falls back to killing
        the runtime, and never masks the exception."""
        try:
            self.close(force=force)
        except BaseException:
            with contextlib.suppress(BaseException):
                self.close(force=True)


def _raise_terminated(*args, **kwargs):
    raise RuntimeError("the Lava runtime was terminated")


def _close_actor(actor) -> None:
    """Release the pipes, exception queue and sentinel of one of Lava's SystemProcesses."""
    for conn in (getattr(actor, "_pconn", None), getattr(actor, "_cconn", None)):
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
    queue = getattr(actor, "_kwargs", {}).get("exception_q")
    if queue is not None:
        with contextlib.suppress(Exception):
            queue.close()
            queue.join_thread()
    with contextlib.suppress(Exception):
        actor.close()  # multiprocessing.Process.close: the sentinel fd
    actor._is_done = True  # Lava's SystemProcess.join becomes a no-op


@contextlib.contextmanager
def lava_session(process, run_cfg=None, *, timeout_s: float | str | None = None
                 ) -> ty.Iterator[LavaSession]:
    """Context manager that runs ``process``'s network and always stops its runtime.

    The runtime (one OS process per leaf ProcessModel plus shared-memory channels) is stopped
    on normal exit *and* when the body raises, so no child process or shared-memory segment
    outlives the block. ``timeout_s`` bounds every ``run`` (see :class:`LavaSession`).

    SIGINT, SIGTERM and SIGHUP inside the block (main thread) raise :class:`LavaInterrupted`
    (see :func:`stop_on_signals`): the runtime is killed, its shared memory released, and the
    exception propagates (the ``lava-llm`` command exits with ``128 + signum``). On exit the
    network's Processes are dropped from Lava's global Process registry, so a long-lived
    process running many sessions does not grow.
    """
    global _sessions_active
    session = LavaSession(process, run_cfg, timeout_s)
    with stop_on_signals():
        with _signals_lock:
            _sessions_active += 1
        try:
            yield session
        except Exception:
            session._close_after_error(force=False)
            raise
        except BaseException as exc:  # LavaInterrupted, KeyboardInterrupt, SystemExit
            _delivered(exc)
            session._close_after_error(force=True)
            raise
        else:
            try:
                check_interrupted()
                session.close()
            except BaseException as exc:
                _delivered(exc)
                session._close_after_error(force=True)
                raise
        finally:
            with _signals_lock:
                _sessions_active -= 1


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
