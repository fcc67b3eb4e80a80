"""Run configs by name and the run context that always stops the runtime."""
import multiprocessing as mp
import os

import numpy as np
import pytest
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source

from lava_llm import run as R
from lava_llm.processes.ternary_dense import TernaryDense


def _mapped_shm() -> set:
    """Shared-memory segments this process has mapped now (Lava's channels are mapped in the
    main process too). Other programs' segments are not counted, so the check holds while
    other Lava programs run on the machine."""
    try:
        lines = open("/proc/self/maps").read().splitlines()
    except OSError:
        pytest.skip("needs /proc/self/maps")
    return {ln.split()[-1] for ln in lines if "/dev/shm/" in ln}


def _left_over(segments: set) -> set:
    return {p for p in segments if os.path.exists(p)}


@pytest.mark.parametrize("backend,tag", [("sim-float", "floating_pt"),
                                         ("sim-fixed", "fixed_pt")])
def test_sim_configs(backend, tag):
    cfg = R.run_config(backend)
    assert isinstance(cfg, Loihi2SimCfg)
    assert cfg.select_tag == tag


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match=r"backend='gpu' is not one of .*sim-fixed"):
        R.run_config("gpu")
    with pytest.raises(ValueError, match="backend='engine'"):
        R.run_config("engine")  # engine is not a Lava backend


def test_loihi2_never_falls_back_to_simulation():
    ok, why = R.loihi2_status()
    if ok:
        pytest.skip("a Loihi 2 system is present")
    with pytest.raises(R.Loihi2UnavailableError, match="lava-loihi|Loihi2"):
        R.run_config("loihi2")


def _net(backend):
    w = np.array([[1, -1, 0], [0, 1, 1]])
    data = np.arange(12).reshape(3, 4) % 5
    src = Source(data=data.astype(float))
    layer = TernaryDense(weights=w, scale=1.0)
    sink = Sink(shape=(2,), buffer=4)
    src.s_out.connect(layer.s_in)
    layer.a_out.connect(sink.a_in)
    return src, layer, sink, w @ data


@pytest.mark.parametrize("backend", ["sim-float", "sim-fixed"])
def test_session_runs_and_stops(backend):
    before_children = set(mp.active_children())
    src, layer, sink, expected = _net(backend)
    with R.lava_session(layer, R.run_config(backend)) as session:
        session.run(2)
        session.run(2)  # state and runtime persist across runs
        out = sink.data.get()
        assert session.steps_run == 4
        used = _mapped_shm()
        assert used and set(mp.active_children()) - before_children  # there was a runtime
    np.testing.assert_array_equal(out, expected)
    assert not layer.runtime._is_started
    assert set(mp.active_children()) <= before_children
    assert not _left_over(used)


def test_session_stops_when_the_body_raises():
    before_children = set(mp.active_children())
    src, layer, sink, _ = _net("sim-fixed")
    used = set()
    with pytest.raises(KeyError, match="boom"):
        with R.lava_session(layer, R.run_config("sim-fixed")) as session:
            session.run(2)
            used = _mapped_shm()
            raise KeyError("boom")
    assert used
    assert not layer.runtime._is_started
    assert set(mp.active_children()) <= before_children
    assert not _left_over(used)


def test_session_rejects_bad_steps_without_starting():
    src, layer, sink, _ = _net("sim-float")
    with pytest.raises(ValueError, match="steps=0"):
        with R.lava_session(layer, R.run_config("sim-float")) as session:
            session.run(0)
    assert layer.runtime is None


def test_watchdog_ends_a_run_whose_model_raised():
    """Lava 0.10 waits forever when a ProcessModel raises; the session's timeout ends it and
    leaves no process or shared memory behind."""
    from lava_faulty.faulty import Faulty

    before_children = set(mp.active_children())
    src = Source(data=np.ones((2, 10)))
    bad = Faulty(shape=(2,), fail_at=3)
    sink = Sink(shape=(2,), buffer=10)
    src.s_out.connect(bad.a_in)
    bad.s_out.connect(sink.a_in)
    used = set()

    def spy_terminate(orig=R.LavaSession._terminate):
        def wrapped(self):
            used.update(_mapped_shm())
            orig(self)
        return wrapped

    R.LavaSession._terminate, saved = spy_terminate(), R.LavaSession._terminate
    try:
        with pytest.raises(R.LavaRunTimeout, match="did not finish within 5 s"):
            with R.lava_session(bad, R.run_config("sim-float"), timeout_s=5) as session:
                session.run(10)
    finally:
        R.LavaSession._terminate = saved
    assert used
    assert set(mp.active_children()) <= before_children
    assert not _left_over(used)


def test_watchdog_lets_a_healthy_run_finish():
    src, layer, sink, expected = _net("sim-fixed")
    with R.lava_session(layer, R.run_config("sim-fixed"), timeout_s=60) as session:
        session.run(4)
        out = sink.data.get()
    np.testing.assert_array_equal(out, expected)


def test_auto_timeout_grows_with_steps_and_rejects_nonsense():
    assert R._resolve_timeout(None, 10) is None
    assert R._resolve_timeout("auto", 100) == R.AUTO_TIMEOUT_BASE_S + 100 * R.AUTO_TIMEOUT_PER_STEP_S
    assert R._resolve_timeout(3, 100) == 3.0
    with pytest.raises(ValueError, match="timeout_s=-1"):
        R._resolve_timeout(-1, 5)


def test_watched_runs_can_be_repeated_with_state_kept():
    """The library's networks run watched (timeout_s='auto') over several run calls."""
    src, layer, sink, expected = _net("sim-float")
    with R.lava_session(layer, R.run_config("sim-float"), timeout_s="auto") as session:
        session.run(1)
        session.run(3)
        out = sink.data.get()
    np.testing.assert_array_equal(out, expected)


def test_wire_open_loop_names_a_process_it_cannot_chain():
    import numpy as np

    from lava_llm.processes.qubo_annealing import QuboAnnealer
    from lava_llm.run import wire_open_loop

    proc = QuboAnnealer(q=np.eye(3), temperatures=[1.0])  # an OutPort but no InPort
    with pytest.raises(ValueError, match="one InPort and one OutPort.*has 0 and 1"):
        wire_open_loop(proc, np.zeros((3, 2)))
