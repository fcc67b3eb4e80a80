"""Shared fixtures. ``shared_data`` is ``../shared/data`` beside the checkout (as in CI);
tests that need it skip with the reason when it is absent."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# Test-only Lava Processes (tests/lava_faulty) are imported as top-level packages.
sys.path.insert(0, str(Path(__file__).resolve().parent))
SHARED_DATA = Path(os.environ.get("LAVA_LLM_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set LAVA_LLM_DATA)")
    return SHARED_DATA


def need_data(*parts: str) -> Path:
    """Path under the shared data folder, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (shared data absent)")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def run_open_loop(procs, data, backend: str, read=()):
    """Drive Processes in Lava the way most tests do: column ``t`` of ``data`` enters the first
    Process's only InPort at step ``t`` (RingBuffer source); ``procs`` (one Process or a list)
    are chained OutPort -> InPort; the last one's only OutPort feeds a RingBuffer sink.

    Returns the sink's record, shape ``(n_out, T)``, and a dict with the values of the Vars
    named in ``read`` (of the first Process) after the run.
    """
    from lava_llm.run import lava_session, run_config, wire_open_loop

    procs = list(procs) if isinstance(procs, (list, tuple)) else [procs]
    _, sink = wire_open_loop(procs, data)
    with lava_session(procs[0], run_config(backend)) as session:
        session.run(data.shape[1])
        out = sink.data.get()
        values = {name: getattr(procs[0], name).get() for name in read}
    return out, values
