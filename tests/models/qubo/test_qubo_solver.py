"""QUBO solver: brute-force optima, recomputed costs, builders, dimod, files, CLI."""
import itertools
import json

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import need_data
from lava_llm import cli
from lava_llm.models import qubo
from lava_llm.models.qubo import schedule


def brute_force(prob):
    """Exact minimum of x^T Q x + offset by enumeration (n <= 20), in chunks."""
    n = prob.n
    q = prob.q.toarray()
    best = np.inf
    for start in range(0, 1 << n, 1 << 15):
        idx = np.arange(start, min(start + (1 << 15), 1 << n))
        x = ((idx[:, None] >> np.arange(n)) & 1).astype(np.float64)
        best = min(best, float(np.min(np.einsum("rn,rn->r", x @ q, x))))
    return best + prob.offset


@pytest.mark.parametrize("n, seed", [(8, 0), (12, 1), (16, 2), (20, 3), (20, 4)])
def test_engine_finds_brute_force_optimum(n, seed):
    rng = np.random.default_rng(seed)
    q = np.triu(rng.integers(-10, 11, (n, n)))
    prob = qubo.from_matrix(q)
    res = qubo.solve(prob, steps=600, replicas=8, seed=seed)
    assert res.best_cost == brute_force(prob)
    x = res.assignment.astype(float)
    assert res.best_cost == x @ q @ x                         # recomputed from the state
    assert res.cost_trace.shape == (600,) and res.cost_trace.min() == res.best_cost


def test_float_qubo_and_symmetric_input(rng):
    a = rng.normal(size=(14, 14))
    q = (a + a.T) / 2
    res = qubo.solve(q, steps=800, replicas=8, seed=1)
    x = res.assignment.astype(float)
    assert res.best_cost == pytest.approx(x @ q @ x, abs=1e-12)
    assert res.best_cost == pytest.approx(brute_force(qubo.from_matrix(q)), abs=1e-9)
    assert res.scale > 1  # real-valued Q was scaled to the 8-bit weights


@pytest.mark.parametrize("backend", ["sim-fixed", "sim-float"])
def test_lava_backends_find_optimum(backend):
    rng = np.random.default_rng(11)
    q = np.triu(rng.integers(-8, 9, (10, 10)))
    prob = qubo.from_matrix(q)
    res = qubo.solve(prob, backend=backend, steps=300, replicas=4, seed=0)
    x = res.assignment.astype(float)
    assert res.best_cost == x @ q @ x == brute_force(prob)


def test_sim_fixed_equals_engine_through_solve():
    rng = np.random.default_rng(5)
    prob = qubo.from_matrix(np.triu(rng.integers(-5, 6, (9, 9))))
    a = qubo.solve(prob, backend="sim-fixed", steps=60, replicas=2, seed=9)
    b = qubo.solve(prob, backend="engine", steps=60, replicas=2, seed=9)
    assert np.array_equal(a.cost_trace, b.cost_trace)
    assert np.array_equal(a.assignment, b.assignment)


def test_loihi2_is_refused_without_hardware():
    from lava_llm.run import Loihi2UnavailableError, loihi2_status

    if loihi2_status()[0]:
        pytest.skip("Loihi 2 present")
    with pytest.raises(Loihi2UnavailableError):
        qubo.solve(np.eye(3), backend="loihi2", steps=5)


def test_maxcut_energy_is_minus_cut(rng):
    n = 9
    edges = np.array([(i, j) for i, j in itertools.combinations(range(n), 2)
                      if rng.random() < 0.5])
    w = rng.integers(-3, 4, len(edges)).astype(float)
    prob = qubo.maxcut(n, edges, w)
    for _ in range(20):
        x = rng.integers(0, 2, n)
        assert prob.energy(x) == pytest.approx(-prob.cut(x))
    res = qubo.solve(prob, steps=400, replicas=4)
    assert res.cut == -res.best_cost == -brute_force(prob)


def test_mis_minimum_is_a_maximum_independent_set():
    rng = np.random.default_rng(3)
    n = 14
    edges = np.array([(i, j) for i, j in itertools.combinations(range(n), 2)
                      if rng.random() < 0.25])
    prob = qubo.mis(n, edges)
    res = qubo.solve(prob, steps=500, replicas=8)
    assert res.feasible and prob.violations(res.assignment) == 0
    # exact reference: largest independent set by enumeration
    best = 0
    for mask in range(1 << n):
        x = (mask >> np.arange(n)) & 1
        if not np.any(x[edges[:, 0]] & x[edges[:, 1]]):
            best = max(best, int(x.sum()))
    assert -res.best_cost == res.assignment.sum() == best
    with pytest.raises(ValueError, match="penalty"):
        qubo.mis(n, edges, penalty=1.0)


def test_dimod_round_trip(rng):
    import dimod

    bqm = dimod.BinaryQuadraticModel({"a": 1.5, "b": -2.0, "c": 0.5},
                                     {("a", "b"): 3.0, ("b", "c"): -1.0}, 0.25, dimod.BINARY)
    prob, labels = qubo.from_bqm(bqm)
    back = qubo.to_bqm(prob, labels)
    for _ in range(10):
        x = rng.integers(0, 2, 3)
        sample = dict(zip(labels, x))
        assert prob.energy(x) == pytest.approx(bqm.energy(sample))
        assert back.energy(sample) == pytest.approx(bqm.energy(sample))
    res = qubo.solve(bqm, steps=200, replicas=4)
    ref = dimod.ExactSolver().sample(bqm).first
    assert res.best_cost == pytest.approx(ref.energy)
    assert bqm.energy(res.sample()) == pytest.approx(res.best_cost)
    spin = dimod.BinaryQuadraticModel({0: 1.0, 1: -1.0}, {(0, 1): 0.5}, 0.0, dimod.SPIN)
    p2, lab2 = qubo.from_bqm(spin)
    x = np.array([1, 0])
    assert p2.energy(x) == pytest.approx(spin.energy({0: 1, 1: -1}))
    with pytest.raises(ValueError, match="no variables"):
        qubo.from_bqm(dimod.BinaryQuadraticModel("BINARY"))


def test_schedules():
    t = schedule.temperatures(10, 8.0, 1.0, "geometric")
    assert t[0] == 8.0 and t[-1] == pytest.approx(1.0) and np.all(np.diff(t) < 0)
    t = schedule.temperatures(10, 8.0, 1.0, "linear", restarts=1)
    assert t[0] == t[5] == 8.0 and t[4] == t[9] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="schedule"):
        schedule.temperatures(10, 8.0, 1.0, "cosine")
    with pytest.raises(ValueError, match="t_end"):
        schedule.temperatures(10, 8.0, 0.0)


def _write(tmp_path, text, name="g.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_gset_reader_and_errors(tmp_path):
    prob = qubo.read_gset(_write(tmp_path, "4 4\n1 2 1\n2 3 1\n3 4 1\n4 1 1\n"))
    assert prob.n == 4 and prob.kind == "maxcut" and prob.cut([0, 1, 0, 1]) == 4
    with pytest.raises(ValueError, match="bad header"):
        qubo.read_gset(_write(tmp_path, "four 4\n1 2 1\n"))
    with pytest.raises(ValueError, match="bad header"):
        qubo.read_gset(_write(tmp_path, "4\n1 2 1\n"))
    with pytest.raises(ValueError, match=r"out of range \[1, 4\]"):
        qubo.read_gset(_write(tmp_path, "4 2\n1 2 1\n3 5 1\n"))
    with pytest.raises(ValueError, match=r"out of range \[1, 4\]"):
        qubo.read_gset(_write(tmp_path, "4 1\n0 2 1\n"))
    with pytest.raises(ValueError, match="m=3 edges but the file has 2"):
        qubo.read_gset(_write(tmp_path, "4 3\n1 2 1\n2 3 1\n"))
    with pytest.raises(ValueError, match="empty"):
        qubo.read_gset(_write(tmp_path, ""))
    with pytest.raises(ValueError, match="self-loop"):
        qubo.read_gset(_write(tmp_path, "3 1\n2 2 1\n"))
    with pytest.raises(FileNotFoundError):
        qubo.read_gset(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="out of range"):
        qubo.read_edges(_write(tmp_path, "0 1\n1 -2\n"))
    with pytest.raises(ValueError, match="no edges"):
        qubo.read_edges(_write(tmp_path, "# nothing\n"))


def test_real_gset_file():
    path = need_data("gset", "G11.txt")
    prob = qubo.read_gset(path)
    assert prob.n == 800 and len(prob.edges) == 1600
    res = qubo.solve(prob, steps=300, replicas=2)
    assert res.cut == prob.cut(res.assignment) == -res.best_cost
    assert res.cut > 0.85 * 564  # best known 564; a random cut is ~0


def test_cli_solve_json(tmp_path, capsys):
    f = _write(tmp_path, "0 1\n1 2\n2 3\n3 0\n0 2 2\n")
    assert cli.main(["solve", "--maxcut-edges", str(f), "--steps", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"best_cost", "cut", "assignment", "seconds", "steps"}
    assert out["cut"] == 4.0 == -out["best_cost"] and out["steps"] == 200
    q = np.triu(np.random.default_rng(0).integers(-4, 5, (6, 6)))
    np.save(tmp_path / "q.npy", q)
    assert cli.main(["solve", "--qubo", str(tmp_path / "q.npy"), "--backend", "sim-fixed",
                     "--steps", "100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    x = np.array(out["assignment"])
    assert "cut" not in out and out["best_cost"] == x @ q @ x


def test_cli_bad_input_is_one_clear_line(tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.array([[1.0, 2.0], [3.0, 1.0]]))
    assert cli.main(["solve", "--qubo", str(tmp_path / "bad.npy"), "--json"]) == 2
    err = capsys.readouterr().err
    assert "symmetric or upper triangular" in err and "Traceback" not in err
    np.save(tmp_path / "nan.npy", np.array([[np.nan]]))
    assert cli.main(["solve", "--qubo", str(tmp_path / "nan.npy")]) == 2
    assert "finite" in capsys.readouterr().err
    assert cli.main(["solve", "--gset", str(_write(tmp_path, "2 1\n1 3 1\n")),
                     "--steps", "10"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert cli.main(["solve", "--gset", str(tmp_path / "nope.txt")]) == 2
    assert cli.main(["solve", "--maxcut-edges", str(_write(tmp_path, "0 1\n")),
                     "--steps", "0"]) == 2
    assert "steps" in capsys.readouterr().err


def test_sparse_input_equals_dense(rng):
    q = np.triu(rng.integers(-5, 6, (12, 12)))
    a = qubo.solve(q, steps=100, replicas=2, seed=4)
    b = qubo.solve(sp.csr_matrix(q), steps=100, replicas=2, seed=4)
    assert np.array_equal(a.cost_trace, b.cost_trace) and a.best_cost == b.best_cost


def test_extreme_scales_solve_or_fail_clearly():
    # tiny coefficients, no couplings: scale and default temperatures stay representable
    assert qubo.solve(np.diag([1e-9, -1e-9]), steps=50).assignment.tolist() == [0, 1]
    # weak coupling beside strong biases: exact optimum still found
    q = np.array([[1.0, 1e-6], [0.0, -1.0]])
    assert qubo.solve(q, steps=50).best_cost == -1.0
    # an explicit scale that overflows the 24-bit field is an error, not a wrap
    with pytest.raises(ValueError, match="24-bit field"):
        qubo.solve(np.eye(2), steps=5, scale=1e9)


def _ring_with_hubs(n, hubs, rng, every=3):
    """A +-1 ring of n vertices with hub vertices joined to every ``every``-th vertex: dense
    enough (mean degree >= 8) only through the hubs, whose degree is far above the mean."""
    ring = np.stack([np.arange(n), (np.arange(n) + 1) % n], 1)
    spokes = np.array([(h, v) for h in range(hubs) for v in range(hubs, n, every)])
    edges = np.r_[ring, spokes]
    return qubo.maxcut(n, edges, rng.choice([-1.0, 1.0], len(edges)))


def test_default_moves_and_budget_follow_measured_properties(rng):
    """The default moves and budget are chosen from measured graph properties: sign balance
    (mixed_sign), mean degree (spin_glass), degree spread (hubs) and the colouring."""
    def torus(k, signed):
        idx = np.arange(k * k).reshape(k, k)
        edges = np.r_[np.stack([idx.ravel(), np.roll(idx, -1, 1).ravel()], 1),
                      np.stack([idx.ravel(), np.roll(idx, -1, 0).ravel()], 1)]
        w = rng.choice([-1.0, 1.0], len(edges)) if signed else np.ones(len(edges))
        return qubo.maxcut(k * k, edges, w)

    signed, plain = torus(30, True), torus(30, False)
    assert schedule.mixed_sign(signed) and not schedule.mixed_sign(plain)
    assert not schedule.hubs(signed) and not schedule.spin_glass(signed)
    # chromatic both; the frustrated (+-1) torus gets the longer chains
    assert schedule.default_budget(signed) == (schedule.STEPS_MIN_FRUSTRATED,
                                               schedule.DEFAULT_REPLICAS)
    big_signed = torus(70, True)                            # 4900 vertices: 24 N
    assert schedule.default_budget(big_signed)[0] == schedule.STEPS_PER_VAR_FRUSTRATED * 4900
    assert schedule.default_budget(plain)[0] == schedule.STEPS_PER_VAR_CHROMATIC * 900
    big = torus(80, False)                                  # 6400 vertices: capped
    assert schedule.default_budget(big)[0] == schedule.STEPS_MAX_CHROMATIC
    # a dense +-1 graph whose density comes from hubs: parallel moves, short refractory
    # period, long chains
    hubbed = _ring_with_hubs(1200, 30, rng)
    assert schedule.hubs(hubbed) and schedule.spin_glass(hubbed)
    m = schedule.default_moves(hubbed)
    assert m["rule"] == "dense mixed-sign, hubs" and m["colour"] is None
    assert (m["p_wake"], m["ref_bits"]) == (1.0, 2)
    assert schedule.default_budget(hubbed, m)[0] == schedule.STEPS_PER_VAR_HUBS * 1200
    # hubs beyond LARGE_HUB_RATIO x the mean degree (~60x here) keep the 0-7 step period
    large = _ring_with_hubs(600, 4, rng, every=1)
    assert schedule.spin_glass(large) and schedule.hubs(large, schedule.LARGE_HUB_RATIO)
    assert not schedule.hubs(hubbed, schedule.LARGE_HUB_RATIO)
    ml = schedule.default_moves(large)
    assert (ml["rule"], ml["p_wake"], ml["ref_bits"]) == ("dense mixed-sign, large hubs", 1.0, 3)
    assert schedule.default_budget(large, ml)[0] == schedule.STEPS_PER_VAR_HUBS * 600
    # the same density without hubs (random +-1): refractory 0-7 steps, 8 steps per variable
    dense = qubo.from_matrix(np.triu(rng.choice([-1.0, 1.0], (60, 60)), 1))
    md = schedule.default_moves(dense)
    assert not schedule.hubs(dense) and (md["rule"], md["ref_bits"]) == ("dense mixed-sign", 3)
    assert schedule.default_budget(dense, md)[0] == schedule.STEPS_MIN
