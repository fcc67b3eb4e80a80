"""QuboAnnealer: PRNG, problem checks, quantisation ranges, and Lava == engine trajectories."""
import numpy as np
import pytest
import scipy.sparse as sp

from lava_llm import fixed_point as fp
from lava_llm.models.qubo import engine, from_matrix, temperatures
from lava_llm.processes.qubo_annealing import QuboAnnealer, kernels
from lava_llm.run import lava_session, run_config


def _xorshift_ref(v: int) -> int:
    v ^= (v << 13) & 0xFFFFFFFF
    v ^= v >> 17
    v ^= (v << 5) & 0xFFFFFFFF
    return v


def test_xorshift32_matches_scalar_reference():
    """The compiled copy of fixed_point.xorshift32 that the annealing kernel runs."""
    r0 = fp.prng_states(7, (5,))
    r = [int(v) for v in r0]
    ref = [int(v) for v in r0]
    for _ in range(50):
        r = [int(kernels._xs(v)) for v in r]
        ref = [_xorshift_ref(v) for v in ref]
        assert r == ref
        assert np.all(np.array(r) != 0)


def test_split_qubo_conventions(rng):
    a = rng.integers(-5, 6, (6, 6)).astype(float)
    upper = np.triu(a)
    sym = np.triu(a, 1) / 2 + np.triu(a, 1).T / 2 + np.diag(np.diag(a))
    J1, d1 = kernels.split_qubo(upper)
    J2, d2 = kernels.split_qubo(sym)
    J3, d3 = kernels.split_qubo(sp.csr_matrix(sym))
    for J, d in ((J2, d2), (J3, d3)):
        np.testing.assert_allclose(J.toarray(), J1.toarray())
        np.testing.assert_allclose(d, d1)
    x = rng.integers(0, 2, 6).astype(float)
    assert x @ upper @ x == pytest.approx(d1 @ x + 0.5 * x @ J1.toarray() @ x)


@pytest.mark.parametrize("q, match", [
    (np.ones((2, 3)), "square"),
    (np.zeros((0, 0)), "empty"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "finite"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), "finite"),
    (np.array([[1.0, 2.0], [3.0, 1.0]]), "symmetric or upper triangular"),
    (np.array([[1.0, 0.0], [3.0, 1.0]]), "lower triangular"),
    (np.array([["a", "b"], ["c", "d"]]), "numeric"),
])
def test_bad_qubo_is_a_clear_error(q, match):
    with pytest.raises((ValueError, TypeError), match=match):
        kernels.split_qubo(q)


def test_quantize_ranges():
    J, d = kernels.split_qubo(np.array([[3.0, 10.0], [10.0, -4.0]]))
    K, c, s = kernels.quantize_qubo(J, d)
    assert s == 1.0 and K.toarray()[0, 1] == 20 and c.tolist() == [3, -4]
    # too wide for 8-bit weights: scaled by a power of two, then fits
    J, d = kernels.split_qubo(np.array([[0.0, 500.0], [0.0, 16.0]]))
    K, c, s = kernels.quantize_qubo(J, d)
    assert s == 0.25 and K.toarray()[0, 1] == 125 and c.tolist() == [0, 4]
    # dynamic range beyond 8 bits: a non-zero coupling would round to 0 -> error
    J, d = kernels.split_qubo(np.array([[0.0, 1000.0, 0.0], [0, 0, 0.01], [0, 0, 0]]))
    with pytest.raises(ValueError, match="round to 0"):
        kernels.quantize_qubo(J, d, strict=True)
    K, c, s = kernels.quantize_qubo(J, d)  # non-strict: rounded, at most half a unit off
    assert np.max(np.abs(K.toarray() / s - J.toarray())) <= 0.5 / s
    # explicit scale that overflows the weights / the 24-bit field -> error, never a wrap
    J, d = kernels.split_qubo(np.array([[0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="8-bit weight range"):
        kernels.quantize_qubo(J, d, scale=1000)
    J, d = kernels.split_qubo(np.diag([2.0**23, 1.0]))
    with pytest.raises(ValueError, match="24-bit field"):
        kernels.quantize_qubo(J, d, scale=1.0)
    K, c, s = kernels.quantize_qubo(J, d)  # no couplings: biases on the 8-bit scale
    assert s == 2.0**-17 and c.tolist() == [64, 0]
    with pytest.raises(ValueError, match="round to 0"):
        kernels.quantize_qubo(J, d, strict=True)
    # a weak coupling beside a strong bias: the scale keeps every field within 24 bits
    J, d = kernels.split_qubo(np.array([[1.0, 1e-6], [0.0, -1.0]]))
    K, c, s = kernels.quantize_qubo(J, d)
    assert s == 2.0**22 and K.toarray()[0, 1] == 4 and c.tolist() == [2**22, -2**22]


def test_beta_fixed_range_errors():
    assert kernels.beta_fixed([1.0, 0.5], 1.0).tolist() == [65536, 131072]
    with pytest.raises(ValueError, match="24-bit range"):
        kernels.beta_fixed([1e-4], 1.0)
    with pytest.raises(ValueError, match="24-bit range"):
        kernels.beta_fixed([1e6], 1.0)
    with pytest.raises(ValueError, match="> 0"):
        kernels.beta_fixed([1.0, 0.0], 1.0)


def test_fixed_acceptance_tracks_exp():
    delta = np.arange(-3, 200)
    for temp in (0.7, 3.0, 25.0):
        beta = int(kernels.beta_fixed([temp], 1.0)[0])
        p = kernels.accept_prob_fixed(delta, beta) / kernels.P_ONE
        ref = np.exp(-np.maximum(delta, 0) / temp)
        assert np.all(np.abs(p - ref) <= 0.01 * ref + 2.0**-16 + 1e-3 * (ref > 0.5))
        assert np.all(p[delta <= 0] == 1.0)


def test_saturation_threshold_replaces_the_wide_multiply(rng):
    """The step tests ``delta >= sat`` before multiplying; that gives exactly the saturated
    lookup of the full product, and every product it does form is below 2**20."""
    betas = np.r_[1, 2, 3, 255, 256, 4097, rng.integers(1, 1 << 24, 40), (1 << 24) - 1]
    sats = kernels.saturation_delta(betas)
    delta = np.r_[np.arange(-2, 70), rng.integers(1, 1 << 23, 200), (1 << 23) - 1]
    for beta, sat in zip(betas, sats):
        a = np.minimum((np.maximum(delta, 0) * int(beta)) >> 8, kernels.A_MAX)  # int64, wide
        naive = np.where(delta <= 0, kernels.P_ONE, kernels.exp_table()[a])
        assert np.array_equal(kernels.accept_prob_fixed(delta, int(beta)), naive)
        assert (int(sat) - 1) * int(beta) < 1 << 20 <= int(sat) * int(beta)
    with pytest.raises(ValueError, match="beta must be >= 1"):
        kernels.saturation_delta([0])


def _reference_steps(x, h, ref, r, J, d, betas, wake, ref_bits, fixed):
    """The step of the kernels' docstring written out again in plain vectorised numpy (dense
    couplings, whole arrays): an independent check of the compiled kernel."""
    x, ref, r = x.astype(np.int64), ref.astype(np.int64), r.astype(np.uint64)
    h = h.astype(np.int64 if fixed else np.float64)
    costs = []
    for beta in betas:
        r ^= (r << np.uint64(13)) & np.uint64(0xFFFFFFFF)
        r ^= r >> np.uint64(17)
        r ^= (r << np.uint64(5)) & np.uint64(0xFFFFFFFF)
        ri = r.astype(np.int64)
        u_acc, u_wake, u_ref = ri & 0xFFFF, (ri >> 16) & 0xFF, (ri >> 24) & ((1 << ref_bits) - 1)
        sign = 1 - 2 * x
        delta = sign * h
        if fixed:
            a = np.minimum((np.maximum(delta, 0) * int(beta)) >> 8, kernels.A_MAX)
            p = np.where(delta <= 0, kernels.P_ONE, kernels.exp_table()[a])
        else:
            p = np.exp(-np.maximum(delta, 0.0) * beta) * kernels.P_ONE
        flip = (ref == 0) & (u_wake < wake) & (u_acc < p)
        ref = np.where(flip, u_ref, np.maximum(ref - 1, 0))
        s = sign * flip
        x = x + s
        h = h + s @ J
        costs.append((x * (h + d)).sum(axis=1) // 2 if fixed else 0.5 * (x * (h + d)).sum(1))
    return x, h, np.array(costs)


@pytest.mark.parametrize("fixed", [True, False])
def test_compiled_step_matches_numpy_reference(rng, fixed):
    prob = _problem(rng, n=30)
    temps = temperatures(80, 8.0, 0.3)
    if fixed:
        J, d, scale = kernels.quantize_qubo(prob.J, prob.d)
        betas = kernels.beta_fixed(temps, scale)
    else:
        J, d, betas = prob.J, prob.d, 1.0 / temps
    x0, r0 = kernels.initial_state(4, 3, prob.n)
    wake, ref_bits = kernels.wake_threshold(0.6), 2
    st = kernels.AnnealState(x0, kernels.initial_field(x0, J, d), np.zeros_like(x0), r0)
    trace = kernels.run_steps(st, J, d, betas, wake, ref_bits, fixed=fixed)
    x, h, costs = _reference_steps(x0, kernels.initial_field(x0, J, d), np.zeros_like(x0),
                                   r0, J.toarray(), d, betas, wake, ref_bits, fixed)
    if fixed:
        assert trace.dtype == np.int64 and np.array_equal(trace, costs)
        assert np.array_equal(st.h, h)
    else:
        np.testing.assert_allclose(trace, costs, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(st.h, h, rtol=1e-12, atol=1e-9)
    assert np.array_equal(st.x, x)
    assert len(np.unique(trace)) > 5                      # it moved
    # the best state is the state at the lowest cost of the trace, per replica
    np.testing.assert_allclose(st.best_cost, trace.min(axis=0))


def _problem(rng, n=12):
    return from_matrix(np.triu(rng.integers(-6, 7, (n, n))))


def _lava_run(prob, temps, backend, replicas, seed):
    from lava.proc.io.sink import RingBuffer

    proc = QuboAnnealer(q=prob.q, temperatures=temps, replicas=replicas, seed=seed)
    sink = RingBuffer(shape=(replicas, 2), buffer=len(temps))
    proc.a_out.connect(sink.a_in)
    with lava_session(proc, run_config(backend)) as s:
        s.run(len(temps))
        words = np.moveaxis(sink.data.get(), -1, 0)            # (steps, replicas, 2)
        if backend == "sim-fixed":                              # 24-bit message words
            assert np.all(np.abs(words) < 1 << 23)
            words = words.astype(np.int64)
        out = {"trace": kernels.join_cost_words(words), "x": proc.x.get().copy(),
               "best_x": proc.best_x.get().copy(), "best_cost": proc.best_cost.get().copy(),
               "cost": proc.cost.get().copy(), "field": proc.field.get().copy()}
    return out, proc


def test_sim_fixed_trajectory_equals_engine(rng):
    prob = _problem(rng)
    temps = temperatures(40, 6.0, 0.3)
    lava, proc = _lava_run(prob, temps, "sim-fixed", replicas=3, seed=5)
    eng = engine.anneal(prob, temps, replicas=3, seed=5, mode="fixed")
    assert np.array_equal(lava["trace"], eng["trace"])          # every step, every replica
    assert np.array_equal(lava["x"], eng["x"])
    assert np.array_equal(lava["best_x"], eng["best_x"])
    assert np.array_equal(lava["best_cost"], eng["best_cost"])
    # the cost readout is x^T Q x of the state (scale 1 for this integer Q)
    assert proc.scale == 1.0
    np.testing.assert_array_equal(lava["cost"], prob.energy(lava["x"].astype(float)))
    # and the trajectory moved: not a frozen state
    assert len(np.unique(lava["trace"])) > 3


def test_sim_float_follows_float_engine(rng):
    prob = from_matrix(np.triu(rng.normal(size=(10, 10))))
    temps = temperatures(30, 2.0, 0.1)
    lava, _ = _lava_run(prob, temps, "sim-float", replicas=2, seed=2)
    eng = engine.anneal(prob, temps, replicas=2, seed=2, mode="float")
    np.testing.assert_allclose(lava["trace"], eng["trace"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(lava["best_cost"], prob.energy(lava["best_x"].astype(float)),
                               rtol=1e-9, atol=1e-9)


def test_process_validates_before_running(rng):
    q = np.triu(rng.integers(-3, 4, (4, 4)))
    with pytest.raises(ValueError, match="symmetric or upper"):
        QuboAnnealer(q=q + np.tril(np.ones((4, 4)), -1), temperatures=[1.0])
    with pytest.raises(ValueError, match="finite"):
        QuboAnnealer(q=q, temperatures=[1.0, np.nan])
    with pytest.raises(ValueError, match="24-bit range"):
        QuboAnnealer(q=q, temperatures=[1e-6])
    with pytest.raises(ValueError, match="p_wake"):
        QuboAnnealer(q=q, temperatures=[1.0], p_wake=0.0)
    with pytest.raises(ValueError, match="x0"):
        QuboAnnealer(q=q, temperatures=[1.0], x0=np.full((1, 4), 2))


@pytest.mark.parametrize("granularity", ["fused", "fine"])
def test_fixed_models_read_their_exp_table_var(rng, granularity):
    from lava.proc.io.sink import RingBuffer

    prob = _problem(rng)
    temps = temperatures(40, 6.0, 0.3)
    table = kernels.exp_table().astype(np.int64) // 4     # uphill moves 4x less likely
    table[0] = kernels.P_ONE
    proc = QuboAnnealer(q=prob.q, temperatures=temps, replicas=3, seed=5, exp_table=table)
    sink = RingBuffer(shape=(3, 2), buffer=len(temps))
    proc.a_out.connect(sink.a_in)
    with lava_session(proc, run_config("sim-fixed", granularity=granularity)) as s:
        s.run(len(temps))
        trace = kernels.join_cost_words(np.moveaxis(sink.data.get(), -1, 0).astype(np.int64))
        x = proc.x.get().copy()
        assert np.array_equal(proc.exp_table.get(), table)
    # the same steps through the one step function, given that table
    K, c, scale = kernels.quantize_qubo(prob.J, prob.d)
    x0, r0 = kernels.initial_state(5, 3, prob.n)
    st = kernels.AnnealState(x0, kernels.initial_field(x0, K, c), np.zeros_like(x0), r0)
    ref = kernels.run_steps(st, K, c, kernels.beta_fixed(temps, scale),
                            kernels.wake_threshold(0.35), 2, fixed=True, table=table)
    assert np.array_equal(trace, ref) and np.array_equal(x, st.x)
    # and the table mattered: the default one gives another trajectory
    default = engine.anneal(prob, temps, replicas=3, seed=5, mode="fixed")
    assert not np.array_equal(trace, default["model_trace"])


@pytest.mark.parametrize("table, match", [
    (np.zeros(3), r"exp_table.*shape"),
    (np.full(kernels.A_MAX + 1, kernels.P_ONE + 1), r"exp_table.*\[0, 65536\]")])
def test_exp_table_is_checked(table, match):
    with pytest.raises(ValueError, match=match):
        QuboAnnealer(q=np.triu(np.ones((3, 3))), temperatures=[1.0], exp_table=table)
