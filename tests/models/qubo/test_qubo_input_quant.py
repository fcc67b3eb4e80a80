"""QUBO solver: bad input (Gset headers, memory, inline comments) and faithful quantisation
(strict, warnings, costs in the problem's own units, sim-float without fixed-point checks,
SPIN samples)."""
import json
import warnings

import numpy as np
import pytest

from lava_llm import cli
from lava_llm.models import qubo
from lava_llm.models.qubo import problem as P
from lava_llm.models.qubo.solver import QuantizationWarning
from lava_llm.processes.qubo_annealing import kernels


def _write(tmp_path, text, name="g.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_gset_file_given_as_edge_list_names_gset(tmp_path, capsys):
    f = _write(tmp_path, "4 4\n1 2 1\n2 3 1\n3 4 1\n4 1 1\n")
    with pytest.raises(ValueError, match="--gset"):
        qubo.read_edges(f)
    assert qubo.read_gset(f).n == 4
    assert cli.main(["solve", "--maxcut-edges", str(f), "--steps", "10"]) == 2
    err = capsys.readouterr().err
    assert "--gset" in err and "Traceback" not in err
    # a plain edge list whose first line is an edge is still read
    assert qubo.read_edges(_write(tmp_path, "0 1\n1 2\n2 3 2\n", "e.txt")).n == 4


def test_huge_vertex_count_is_refused_before_allocating(tmp_path, capsys, monkeypatch):
    f = _write(tmp_path, "1000000000000 1\n1 2 1\n")
    with pytest.raises(P.InsufficientMemoryError, match="n=1000000000000"):
        qubo.read_gset(f)
    assert cli.main(["solve", "--gset", str(f), "--steps", "10"]) == 2
    assert "GiB" in capsys.readouterr().err
    with pytest.raises(P.InsufficientMemoryError):
        qubo.maxcut(10**12, [(0, 1)])
    # the check uses what is available now: with 1 MiB free a modest problem is refused too
    monkeypatch.setattr(P, "available_memory", lambda: 1 << 20)
    with pytest.raises(P.InsufficientMemoryError, match="replicas=64"):
        qubo.solve(np.eye(2000), replicas=64, steps=1)
    monkeypatch.setattr(P, "available_memory", lambda: None)   # unknown: no refusal
    assert qubo.maxcut(5, [(0, 1)]).n == 5


def test_inline_comment_is_a_clear_error(tmp_path, capsys):
    f = _write(tmp_path, "0 1 # first edge\n1 2\n")
    with pytest.raises(ValueError, match="inline comment"):
        qubo.read_edges(f)
    g = _write(tmp_path, "% a comment line is fine\n3 2\n1 2 1 %w\n2 3 1\n", "g2.txt")
    with pytest.raises(ValueError, match="line 3 .*inline comment"):
        qubo.read_gset(g)
    assert cli.main(["solve", "--gset", str(g)]) == 2
    assert "inline comment" in capsys.readouterr().err


def _wide_range_problem():
    """Couplings 1e6 and 1e-3 mixed: 8-bit weights cannot hold both."""
    rng = np.random.default_rng(0)
    n = 12
    q = np.triu(rng.choice([-1e-3, 1e-3], (n, n)), 1)
    q[0, 1], q[2, 3], q[4, 5] = 1e6, -1e6, 2e6
    q[np.diag_indices(n)] = rng.choice([-2e-3, 2e-3], n)
    return qubo.from_matrix(q)


def _brute(prob):
    n = prob.n
    x = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)
    return float(prob.energy(x).min())


def test_strict_refuses_and_default_warns_with_counts(capsys, tmp_path):
    prob = _wide_range_problem()
    with pytest.raises(ValueError, match=r"strict: \d+ of \d+ non-zero Q coefficients round to 0"):
        qubo.solve(prob, steps=50, strict=True)
    with pytest.warns(QuantizationWarning, match=r"(\d+) of (\d+) non-zero Q coefficients"):
        res = qubo.solve(prob, steps=200, replicas=4)
    rep = res.quantization
    assert rep["zeroed"] > 0.8 * rep["total"] and not rep["exact"]
    # relative precision: a Q that only loses a little passes strict with a loose tolerance
    q = np.array([[0.0, 1.0], [0.0, 0.0]])
    q[0, 1], q[1, 1] = 100.0, 0.3               # 0.3 at scale 0.5 -> 0, 50 % off
    with pytest.raises(ValueError, match="strict"):
        qubo.solve(q, steps=10, strict=True)
    np.save(tmp_path / "w.npy", _wide_range_problem().q.toarray())
    assert cli.main(["solve", "--qubo", str(tmp_path / "w.npy"), "--strict",
                     "--steps", "20"]) == 2
    assert "round to 0" in capsys.readouterr().err
    assert cli.main(["solve", "--qubo", str(tmp_path / "w.npy"), "--steps", "20",
                     "--json"]) == 0
    cap = capsys.readouterr()
    assert "lava-llm solve: warning:" in cap.err and "round to 0" in cap.err
    out = json.loads(cap.out)
    assert out["quantization"]["zeroed"] > 0
    x = np.array(out["assignment"], dtype=float)
    assert out["best_cost"] == pytest.approx(_wide_range_problem().energy(x))
    # an exact Q gives no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)
        assert qubo.solve(np.triu(np.ones((4, 4))), steps=20).quantization["exact"]


@pytest.mark.parametrize("backend", ["engine", "sim-fixed"])
def test_reported_costs_are_in_the_problems_units(backend):
    prob = _wide_range_problem()
    with pytest.warns(QuantizationWarning):
        res = qubo.solve(prob, backend=backend, steps=300, replicas=3, seed=2)
    x = res.assignment.astype(float)
    assert res.best_cost == pytest.approx(prob.energy(x), rel=1e-12)
    # the trace is of true costs: its minimum is the best state's cost, never below the optimum
    assert res.cost_trace.min() == pytest.approx(res.best_cost, rel=1e-9)
    assert res.cost_trace.min() >= _brute(prob) - 1e-6 * abs(_brute(prob))


def test_true_cost_trace_step_by_step_equals_energy_of_the_state():
    prob = _wide_range_problem()
    K, c, scale = kernels.quantize_qubo(prob.J, prob.d)
    temps = qubo.temperatures(60, 1e5, 70.0)
    betas = kernels.beta_fixed(temps, scale)
    x0, r0 = kernels.initial_state(3, 2, prob.n)
    st = kernels.AnnealState(x0, kernels.initial_field(x0, K, c), np.zeros_like(x0), r0)
    moved = 0
    for b in betas:
        before = st.x.copy()
        kernels.run_steps(st, K, c, [b], 256, 1, fixed=True, true=(prob.J, prob.d),
                          unit=1 / scale)
        moved += int(np.any(before != st.x))
        # float64 round-off of the incremental field only: 1e-12 of the coefficients' size
        np.testing.assert_allclose(st.true_trace[0], prob.energy(st.x.astype(float)),
                                   rtol=0, atol=1e-12 * abs(prob.q).sum())
    assert moved > 3


def test_one_huge_edge_warns_and_the_cut_is_recomputed():
    edges = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)]
    w = [1.0, 1.0, 1.0, 1.0, 1e12]
    prob = qubo.maxcut(4, edges, w)
    with pytest.warns(QuantizationWarning, match="round to 0"):
        res = qubo.solve(prob, steps=200, replicas=4)
    assert res.cut == prob.cut(res.assignment) == -res.best_cost


def test_sim_float_runs_no_fixed_point_check():
    prob = _wide_range_problem()
    temps = qubo.temperatures(80, 1e6, 1e-4)      # beta far outside the 24-bit range
    with pytest.raises(ValueError, match="24-bit range"):
        qubo.solve(prob, backend="sim-fixed", steps=80, schedule=temps)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)   # no quantisation warning either
        res = qubo.solve(prob, backend="sim-float", steps=80, schedule=temps, replicas=2)
    assert res.quantization is None
    assert res.best_cost == pytest.approx(prob.energy(res.assignment.astype(float)))


def test_spin_bqm_gets_spin_samples():
    import dimod

    bqm = dimod.BinaryQuadraticModel({0: 1.0, 1: -1.0, 2: 0.5}, {(0, 1): 0.5, (1, 2): -2.0},
                                     0.0, dimod.SPIN)
    res = qubo.solve(bqm, steps=200, replicas=4)
    assert set(res.sample().values()) <= {-1, 1} and res.vartype == "SPIN"
    assert bqm.energy(res.sample()) == pytest.approx(res.best_cost)
    assert res.best_cost == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
