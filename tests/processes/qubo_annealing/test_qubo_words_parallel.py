"""QuboAnnealer: the cost readout's two 24-bit words, Vars instead of proc_params, and
parallel replicas bit-exact with the sequential ones."""
import numpy as np
import pytest

from lava_llm.models.qubo import engine, from_matrix, temperatures
from lava_llm.processes.qubo_annealing import QuboAnnealer, kernels


def test_cost_words_round_trip_within_24_bits(rng):
    c = np.r_[0, 1, -1, (1 << 23) - 1, 1 << 23, -(1 << 23), (1 << 31) - 1, -(1 << 31),
              rng.integers(-(1 << 31), 1 << 31, 500)]
    w = kernels.cost_words(c)
    assert w.shape == (c.size, 2)
    assert np.all((w >= -(1 << 23)) & (w < (1 << 23)))     # signed 24-bit payloads
    assert np.array_equal(kernels.join_cost_words(w.astype(np.int32)), c)
    f = rng.normal(size=4) * 1e9
    assert np.array_equal(kernels.join_cost_words(kernels.cost_words(f)), f)


def test_every_parameter_is_a_var():
    proc = QuboAnnealer(q=np.triu(np.ones((4, 4))), temperatures=[2.0, 1.0], p_wake=0.5,
                        ref_bits=3)
    assert set(proc.proc_params._parameters) <= {"shape", "name", "log_config"}
    assert proc.wake.init.tolist() == [128] and proc.ref_bits.init.tolist() == [3]
    assert proc.a_out.shape == (1, 2)
    from lava_llm.processes.qubo_annealing.models import PyQuboAnnealerModelFixed as M

    for name in ("x", "ref", "rng", "wake", "ref_bits", "couplings_q", "bias_q", "beta_q",
                 "beta_sat", "field", "cost", "a_out"):
        assert getattr(M, name).precision is not None, name
    assert M.a_out.precision == 24


def _problem(rng, n, lossy):
    q = np.triu(rng.integers(-6, 7, (n, n))).astype(float)
    if lossy:
        q = q * rng.uniform(0.5, 1.5, q.shape) + np.diag(rng.normal(size=n) * 1e-3)
    return from_matrix(q)


@pytest.mark.parametrize("fixed, lossy", [(True, False), (True, True), (False, False)])
def test_parallel_replicas_are_bit_exact_with_sequential(rng, fixed, lossy):
    prob = _problem(rng, 40, lossy)
    temps = temperatures(150, 8.0, 0.2)
    a = engine.anneal(prob, temps, replicas=5, seed=3, mode="fixed" if fixed else "float",
                      p_wake=0.7, parallel=False)
    b = engine.anneal(prob, temps, replicas=5, seed=3, mode="fixed" if fixed else "float",
                      p_wake=0.7, parallel=True)
    for key in ("trace", "model_trace", "best_x", "best_cost", "x"):
        assert np.array_equal(a[key], b[key]), key
    assert len(np.unique(a["trace"])) > 5
    # each replica's trajectory is its own: replica k alone (same PRNG rows) gives the same
    x0, r0 = kernels.initial_state(3, 5, prob.n)
    if fixed:
        K, c, scale = kernels.quantize_qubo(prob.J, prob.d)
        betas = kernels.beta_fixed(temps, scale)
        true = None if kernels.quantization_report(prob.J, prob.d, scale)["exact"] else \
            (prob.J, prob.d)
    else:
        K, c, scale, betas, true = prob.J, prob.d, 1.0, 1.0 / temps, None
    k = 2
    st = kernels.AnnealState(x0[k:k + 1], kernels.initial_field(x0[k:k + 1], K, c),
                             np.zeros((1, prob.n)), r0[k:k + 1])
    kernels.run_steps(st, K, c, betas, kernels.wake_threshold(0.7), 2, fixed=fixed,
                      true=true, unit=1 / scale)
    assert np.array_equal(st.true_trace[:, 0], a["trace"][:, k])
    assert np.array_equal(st.best_x[0], a["best_x"][k])


def test_float_only_process_refuses_the_fixed_model():
    from lava_llm.run import lava_session, run_config

    q = np.array([[0.0, 1e9], [0.0, 1e-9]])
    proc = QuboAnnealer(q=q, temperatures=[1e-12, 1e-13], quantize=False)
    assert proc.quantized.init.tolist() == [0]
    with pytest.raises(ValueError):
        QuboAnnealer(q=q, temperatures=[1e-12, 1e-13])         # fixed-point checks run
    with lava_session(proc, run_config("sim-float")) as s:
        s.run(2)
        assert np.isfinite(proc.best_cost.get()).all()


def _torus(rows, cols, rng, signed=True):
    idx = np.arange(rows * cols).reshape(rows, cols)
    edges = np.r_[np.stack([idx.ravel(), np.roll(idx, -1, 1).ravel()], 1),
                  np.stack([idx.ravel(), np.roll(idx, -1, 0).ravel()], 1)]
    w = rng.choice([-1.0, 1.0], len(edges)) if signed else np.ones(len(edges))
    from lava_llm.models.qubo import maxcut

    return maxcut(rows * cols, edges, w)


@pytest.mark.parametrize("shape", [(4, 6), (5, 5)])
def test_graph_colouring_is_proper(rng, shape):
    prob = _torus(*shape, rng)
    colour = kernels.graph_colouring(prob.J)
    J = prob.J.tocoo()
    assert np.all(colour[J.row] != colour[J.col])
    # even torus: bipartite, 2 colours; odd torus: not bipartite, greedy needs more
    assert (colour.max() + 1 == 2) == (shape[0] % 2 == 0 and shape[1] % 2 == 0)
    dense = from_matrix(np.triu(rng.integers(-3, 4, (20, 20))))
    c2 = kernels.graph_colouring(dense.J)
    D = dense.J.tocoo()
    assert np.all(c2[D.row] != c2[D.col])


def test_chromatic_steps_flip_an_independent_set_only(rng):
    prob = _torus(6, 6, rng)
    colour = kernels.graph_colouring(prob.J)
    temps = temperatures(60, 4.0, 0.3)
    betas = kernels.beta_fixed(temps, 1.0)
    x0, r0 = kernels.initial_state(1, 3, prob.n)
    K, c, _ = kernels.quantize_qubo(prob.J, prob.d)
    st = kernels.AnnealState(x0, kernels.initial_field(x0, K, c), np.zeros_like(x0), r0)
    J = prob.J.tocoo()
    flips = 0
    for t, b in enumerate(betas):
        before = st.x.copy()
        kernels.run_steps(st, K, c, [b], 256, 0, fixed=True, colour=colour, t0=t)
        changed = before != st.x
        flips += int(changed.sum())
        assert np.all(colour[np.nonzero(changed)[1]] == t % 2)      # only this phase moved
        assert not np.any(changed[:, J.row] & changed[:, J.col])    # never two neighbours
        np.testing.assert_array_equal(st.h, kernels.initial_field(st.x, K, c))
    assert flips > 20


def test_default_moves_follow_the_graph(rng):
    from lava_llm.models.qubo import schedule as S

    torus = _torus(10, 10, rng)
    m = S.default_moves(torus)
    assert m["colours"] == 2 and m["colour"] is not None and m["p_wake"] == 1.0
    steps, reps = S.default_budget(torus, m)
    assert steps == S.STEPS_MIN_FRUSTRATED and reps == S.DEFAULT_REPLICAS   # a +-1 torus
    big = _torus(100, 100, rng)
    assert S.default_budget(big)[0] == S.STEPS_MAX
    dense = from_matrix(np.triu(rng.choice([-1.0, 1.0], (60, 60)), 1))
    md = S.default_moves(dense)
    assert md["colour"] is None and md["rule"] == "dense mixed-sign"


def test_chromatic_sim_fixed_equals_engine(rng):
    from lava_llm.models import qubo

    prob = _torus(4, 4, rng, signed=False)
    a = qubo.solve(prob, backend="sim-fixed", steps=40, replicas=2, seed=3)
    b = qubo.solve(prob, backend="engine", steps=40, replicas=2, seed=3)
    assert qubo.schedule.default_moves(prob)["colour"] is not None
    assert np.array_equal(a.cost_trace, b.cost_trace)
    assert np.array_equal(a.replica_states, b.replica_states)
    assert a.cut == prob.cut(a.assignment) == 32          # bipartite torus: every edge cut


def test_parallel_engine_run_then_lava_in_one_process():
    """numba's thread start must not fix the multiprocessing start method Lava sets later."""
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from lava_llm.models import qubo\n"
            "p = qubo.from_matrix(np.triu(np.random.default_rng(0).integers(-3, 4, (60, 60))))\n"
            "a = qubo.solve(p, steps=4000, replicas=4, parallel=True)\n"
            "b = qubo.solve(p, backend='sim-fixed', steps=5, replicas=1)\n"
            "print('ok', a.best_cost <= b.best_cost)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ok True" in out.stdout
