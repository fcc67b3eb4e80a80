"""The fine-grained QuboAnnealer (annealing neurons, coupling synapses, cost readout): the
same trajectories as the fused leaf and the engine (sim-fixed: ``==``), parameters as Vars,
ports of at most 24 bits."""
import numpy as np
import pytest
from lava.proc.io.sink import RingBuffer

from lava_llm.models.qubo import engine, from_matrix, temperatures
from lava_llm.processes.qubo_annealing import QuboAnnealer, fine_kernels as fk, kernels
from lava_llm.run import lava_session, run_config

READ = ("x", "best_x", "best_cost", "cost_history", "field", "ref", "rng", "cost")


def _run(prob, temps, backend, granularity, replicas=2, seed=5, extra=0, **kw):
    proc = QuboAnnealer(q=prob.q, temperatures=temps, replicas=replicas, seed=seed, **kw)
    sink = RingBuffer(shape=(replicas, 2), buffer=len(temps))
    proc.a_out.connect(sink.a_in)
    with lava_session(proc, run_config(backend, granularity=granularity), timeout_s=120) as s:
        s.run(len(temps) // 2)            # two runs: state carries over
        s.run(len(temps) - len(temps) // 2 + extra)   # extra: steps past the schedule
        words = np.moveaxis(sink.data.get(), -1, 0)
        out = {k: np.array(getattr(proc, k).get()) for k in READ}
        out["words"] = words
        out["leaves"] = s.leaf_processes
    return out


@pytest.mark.parametrize("case", ["integer", "chromatic", "lossy"])
def test_fine_sim_fixed_equals_fused_and_engine(rng, case):
    n = 12
    q = np.triu(rng.integers(-6, 7, (n, n))).astype(float)
    kw = {}
    if case == "lossy":
        q = q * rng.uniform(0.5, 1.5, q.shape)
    if case == "chromatic":
        kw["colour"] = kernels.graph_colouring(kernels.split_qubo(q)[0])
    prob = from_matrix(q)
    temps = temperatures(30, 6.0, 0.3)
    fine = _run(prob, temps, "sim-fixed", "fine", **kw)
    fused = _run(prob, temps, "sim-fixed", "fused", **kw)
    if case == "integer":    # steps past the schedule reuse its last temperature, alike
        assert np.array_equal(_run(prob, temps, "sim-fixed", "fine", extra=4)["cost_history"],
                              _run(prob, temps, "sim-fixed", "fused", extra=4)["cost_history"])
    assert fine["leaves"] == fk.FINE_LEAVES + 1 and fused["leaves"] == 2   # + the sink
    for k in READ + ("words",):
        assert np.array_equal(fine[k], fused[k]), k
    assert np.all(np.abs(fine["words"]) < 1 << 23)                        # 24-bit payloads
    eng = engine.anneal(prob, temps, replicas=2, seed=5, mode="fixed", colour=kw.get("colour"))
    assert np.array_equal(kernels.join_cost_words(fine["words"].astype(np.int64)),
                          eng["model_trace"] if "model_trace" in eng else eng["trace"])
    assert np.array_equal(fine["best_x"], eng["best_x"])
    assert len(np.unique(fine["cost_history"])) > 3                      # it moved


def test_fine_sim_float_equals_fused_on_integer_q(rng):
    prob = from_matrix(np.triu(rng.integers(-4, 5, (10, 10))).astype(float))
    temps = temperatures(20, 3.0, 0.2)
    fine = _run(prob, temps, "sim-float", "fine", seed=2, extra=3)
    fused = _run(prob, temps, "sim-float", "fused", seed=2, extra=3)
    for k in ("x", "best_x", "best_cost", "cost_history", "words"):
        assert np.array_equal(fine[k], fused[k]), k


def test_fine_components_declare_their_vars():
    from lava.magma.core.model.py.type import LavaPyType

    from lava_llm.processes.qubo_annealing import models as M

    for cls in (M.PyAnnealingNeuronsModelFixed, M.PyCouplingSynapsesModelFixed,
                M.PyCostReadoutModelFixed):
        types = {n: getattr(cls, n) for n in dir(cls)
                 if isinstance(getattr(cls, n, None), LavaPyType)}
        ints = {n: t for n, t in types.items() if t.d_type is not float}
        assert len(ints) >= 3
        for name, t in ints.items():                 # every integer Var and port: a width
            assert t.precision is not None, (cls.__name__, name)
        for name, t in types.items():
            if name.endswith(("_in", "_out")):       # ports: at most 24-bit payloads
                assert t.precision <= 24, (cls.__name__, name)


def test_vectorised_acceptance_equals_the_compiled_one(rng):
    tab = kernels.exp_table()
    for beta in (1, 300, 65536, 2**23):
        delta = rng.integers(-(2**22), 2**22, 2000)
        sat = int(kernels.saturation_delta([beta])[0])
        want = np.array([kernels._accept_fixed(int(d), beta, sat, tab, 8) for d in delta[:200]])
        assert np.array_equal(fk.accept_fixed(delta[:200], beta, sat, tab), want)
