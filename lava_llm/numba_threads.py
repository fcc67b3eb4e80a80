"""Starting numba's thread pool without fixing the process's multiprocessing start method.

numba's threading-layer start reads ``multiprocessing.get_start_method()``, which fixes the
default context; Lava's runtime calls ``multiprocessing.set_start_method('fork')`` when it is
imported and would then raise "context has already been set" whenever a compiled engine
(the packed-ternary LM kernels, the parallel QUBO replicas) ran before a Lava backend in the
same process (the CLI, a notebook). :func:`start` leaves an unchosen start method unchosen
(``set_start_method(None, force=True)``, public API), so either order works.

Lava-free; the one place this workaround lives.
"""
from __future__ import annotations

_STARTED = False


def start() -> None:
    """Launch numba's threading layer once per process (idempotent)."""
    global _STARTED
    if _STARTED:
        return
    import multiprocessing

    import numba

    unset = multiprocessing.get_start_method(allow_none=True) is None
    numba.get_num_threads()            # launches the threading layer
    if unset:
        multiprocessing.set_start_method(None, force=True)
    _STARTED = True
