"""Progress bars (tqdm on stderr) that leave the multiprocessing start method alone.

tqdm guards its bars with a lock made from the *default* multiprocessing context on first
use, which fixes the process's start method; Lava's runtime then fails with "context has
already been set" when it asks for ``fork`` (an ``eval --backend engine`` followed by a
``sim-fixed`` run in one process did). Single-process bars need only a thread lock, so
:func:`bar` gives tqdm one before its first bar. Lava-free; the one place this lives.
"""
from __future__ import annotations


def bar(*args, **kwargs):
    """``tqdm.tqdm(*args, **kwargs)`` with a threading lock."""
    import threading

    from tqdm import tqdm

    if getattr(tqdm, "_lock", None) is None:
        tqdm.set_lock(threading.RLock())
    return tqdm(*args, **kwargs)
