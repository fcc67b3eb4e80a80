"""LavaAnnealingSampler (dimod's own sampler checks) and the lava-optimization-shaped
adapter."""
import unittest

import dimod
import dimod.testing
import numpy as np
import pytest

from lava_llm.models.qubo import LavaAnnealingSampler
from lava_llm.models.qubo.lava_optimization import (QUBO, OptimizationSolver, SolverConfig,
                                                    SolverReport)


def test_sampler_api():
    sampler = LavaAnnealingSampler()
    dimod.testing.assert_sampler_api(sampler)
    assert isinstance(sampler, dimod.Sampler)
    assert {"num_reads", "num_sweeps", "seed"} <= set(sampler.parameters)


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_samples_in_the_bqms_vartype_with_true_energies(vartype):
    bqm = dimod.generators.gnp_random_bqm(12, 0.5, vartype, random_state=3)
    ss = LavaAnnealingSampler().sample(bqm, num_reads=5, num_sweeps=400, seed=1)
    assert ss.vartype is bqm.vartype and len(ss) == 5
    assert set(ss.variables) == set(bqm.variables)
    values = set(np.unique(ss.record.sample).tolist())
    assert values <= ({-1, 1} if vartype == "SPIN" else {0, 1})
    dimod.testing.assert_sampleset_energies(ss, bqm)
    ref = dimod.ExactSolver().sample(bqm).first.energy
    assert ss.first.energy == pytest.approx(ref)
    # seeded: same reads again
    again = LavaAnnealingSampler().sample(bqm, num_reads=5, num_sweeps=400, seed=1)
    assert np.array_equal(ss.record.sample, again.record.sample)


def test_sample_ising_and_qubo_and_labels():
    s = LavaAnnealingSampler()
    ss = s.sample_ising({"a": 1.0, ("x", 1): -0.5}, {("a", ("x", 1)): -1.0}, num_reads=2,
                        num_sweeps=100, seed=0)
    assert ss.vartype is dimod.SPIN and set(ss.variables) == {"a", ("x", 1)}
    assert ss.first.energy == pytest.approx(-1.5)
    ss = s.sample_qubo({(0, 0): -1.0, (0, 1): 2.0, (1, 1): -1.0}, num_reads=3, num_sweeps=50)
    assert ss.vartype is dimod.BINARY and ss.first.energy == -1.0
    with pytest.raises(ValueError, match="num_reads"):
        s.sample(dimod.BinaryQuadraticModel({0: 1.0}, {}, 0.0, "SPIN"), num_reads=0)


# dimod's own generated sampler tests (empty, 1-variable, small BQMs of every BQM class)
@dimod.testing.load_sampler_bqm_tests(LavaAnnealingSampler)
class TestDimodSamplerSuite(unittest.TestCase):
    pass


def test_lava_optimization_adapter():
    rng = np.random.default_rng(4)
    q = np.triu(rng.integers(-5, 6, (10, 10)))
    report = OptimizationSolver(QUBO(q)).solve(
        config=SolverConfig(timeout=300, target_cost=-1e9, probe_cost=True, num_replicas=4,
                            hyperparameters={"temperature": 6.0, "p_wake": 0.5}))
    assert isinstance(report, SolverReport)
    x = report.best_state.astype(float)
    assert report.best_cost == x @ q @ x == QUBO(q).evaluate_cost(x)
    assert report.cost_timeseries.shape == (300,)
    assert report.cost_timeseries[report.best_timestep] == report.best_cost
    assert np.all(report.cost_timeseries[:report.best_timestep] > report.best_cost)
    assert report.target_reached is False
    exact = dimod.ExactSolver().sample_qubo(
        {(i, j): float(q[i, j]) for i, j in zip(*np.nonzero(q))}).first.energy
    assert report.best_cost == exact
    plain = OptimizationSolver(QUBO(q)).solve(config=SolverConfig(timeout=50,
                                                                  backend="sim-fixed"))
    assert plain.cost_timeseries is None and plain.target_reached is None
    with pytest.raises(ValueError, match="unknown hyperparameter 'refract'"):
        OptimizationSolver(QUBO(q)).solve(SolverConfig(hyperparameters={"refract": 3}))
    with pytest.raises(ValueError, match="backend"):
        OptimizationSolver(QUBO(q)).solve(SolverConfig(backend="GPU"))
    with pytest.raises(ValueError, match="lower triangular"):
        QUBO(np.tril(np.ones((3, 3)), -1) + np.eye(3))
