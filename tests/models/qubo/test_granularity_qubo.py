"""`lava-llm solve --granularity fine`: the solver as annealing neurons, coupling synapses and
cost readout gives the fused solver's and the engine's answer (sim-fixed is bit-exact) and
says how many leaves ran."""
import json

import numpy as np
import pytest

from lava_llm.cli import main
from lava_llm.models import qubo


def _gset(tmp_path):
    rng = np.random.default_rng(3)
    n, edges = 14, set()
    while len(edges) < 30:
        i, j = sorted(rng.choice(n, 2, replace=False))
        edges.add((int(i) + 1, int(j) + 1))
    text = f"{n} {len(edges)}\n" + "".join(f"{i} {j} 1\n" for i, j in sorted(edges))
    path = tmp_path / "g.txt"
    path.write_text(text)
    return path


def _solve(args, capsys):
    assert main(["solve", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_solve_fine_equals_fused_and_engine(tmp_path, capsys):
    g = _gset(tmp_path)
    common = [f"--gset={g}", "--steps", "60", "--replicas", "2", "--seed", "4"]
    fine = _solve(common + ["--backend", "sim-fixed", "--granularity", "fine"], capsys)
    fused = _solve(common + ["--backend", "sim-fixed"], capsys)
    eng = _solve(common + ["--backend", "engine"], capsys)
    assert fine["granularity"] == "fine" and fine["leaf_processes"] == 3
    assert fused["granularity"] == "fused" and fused["leaf_processes"] == 1
    assert "leaf_processes" not in eng
    for key in ("best_cost", "cut", "assignment"):
        assert fine[key] == fused[key] == eng[key], key


def test_solve_fine_trace_equals_engine():
    prob = qubo.from_matrix(np.triu(np.random.default_rng(0).integers(-5, 6, (9, 9))))
    a = qubo.solve(prob, backend="sim-fixed", steps=25, replicas=2, seed=1, granularity="fine")
    b = qubo.solve(prob, backend="engine", steps=25, replicas=2, seed=1)
    assert a.leaf_processes == 3
    assert np.array_equal(a.cost_trace, b.cost_trace)
    assert np.array_equal(a.replica_states, b.replica_states)


def test_bad_granularity():
    prob = qubo.from_matrix(np.eye(3))
    with pytest.raises(ValueError, match="granularity"):
        qubo.solve(prob, backend="sim-fixed", steps=2, granularity="coarse")
