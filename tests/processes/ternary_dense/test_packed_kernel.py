"""The compiled packed-ternary kernel: bit-exact (``==``) with a plain loop and with the
readable reference ``ternary_matvec_naive`` over shapes (odd sizes, block and flush
boundaries), extreme and random int8 inputs, serial and threaded variants."""
import pickle

import numpy as np
import pytest

from lava_llm import fixed_point as fp
from lava_llm.processes.ternary_dense import kernels as td


def plain_loop(x, w):
    """``sum_j w[r, j] * x[t, j]`` with Python integers."""
    x2 = np.atleast_2d(x)
    out = [[sum(int(a) * int(b) for a, b in zip(xr, wr)) for wr in w] for xr in x2]
    return np.array(out, np.int64).reshape(np.shape(x)[:-1] + (len(w),))


SHAPES = [(1, 1), (3, 5), (2, 63), (7, 255), (9, 256), (5, 257), (4, 1000), (11, 767),
          (3, 4096 + 3), (2, 33 * 256)]


@pytest.mark.parametrize("rows,n_in", SHAPES, ids=lambda v: str(v))
@pytest.mark.parametrize("tokens", [1, 3, td.TOKEN_TILE + 2], ids=lambda v: f"N{v}")
@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "threads"])
def test_packed_kernel_equals_reference(rows, n_in, tokens, parallel):
    rng = np.random.default_rng(rows * 1000 + n_in + tokens)
    w = rng.integers(-1, 2, (rows, n_in)).astype(np.int8)
    x = rng.integers(-128, 128, (tokens, n_in))
    p = td.PackedTernary.from_trits(w)
    got = td.packed_matvec(x, p, parallel=parallel)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, td.ternary_matvec_naive(x, w))
    if rows * n_in * tokens <= 40_000:
        np.testing.assert_array_equal(got, plain_loop(x, w))


@pytest.mark.parametrize("n_in", [256, 16 * 256, 16 * 256 + 1, 40 * 256 + 5])
@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "threads"])
def test_extreme_inputs_do_not_overflow_the_16_bit_lanes(n_in, parallel):
    """All-(+1)/all-(-1)/alternating rows against x = -128 or 127 everywhere: the largest
    lane sums the layout can produce (flushed every FLUSH_BLOCKS blocks)."""
    w = np.stack([np.ones(n_in), -np.ones(n_in), np.resize([1, -1], n_in),
                  np.zeros(n_in)]).astype(np.int8)
    x = np.stack([np.full(n_in, -128), np.full(n_in, 127), np.resize([-128, 127], n_in)])
    got = td.packed_matvec(x, td.PackedTernary.from_trits(w), parallel=parallel)
    np.testing.assert_array_equal(got, x.astype(np.int64) @ w.T.astype(np.int64))
    assert got[0, 0] == -128 * n_in


def test_leading_axes_and_ternary_matvec_dispatch():
    rng = np.random.default_rng(3)
    w = rng.integers(-1, 2, (6, 300)).astype(np.int8)
    p = td.PackedTernary.from_trits(w)
    x = rng.integers(-128, 128, (2, 3, 300))
    np.testing.assert_array_equal(td.ternary_matvec(x, p), td.ternary_matvec_naive(x, w))
    # float arrays of int8 values (the float path's q) take the kernel too
    np.testing.assert_array_equal(td.ternary_matvec(x.astype(np.float64), p),
                                  td.ternary_matvec_naive(x, w))
    # inputs beyond int8 fall back to the exact reference
    big = rng.integers(-(1 << 40), 1 << 40, (4, 300))
    np.testing.assert_array_equal(td.ternary_matvec(big, p), plain_loop(big, w))
    with pytest.raises(ValueError, match="int8-valued"):
        td.packed_matvec(big, p)
    with pytest.raises(ValueError, match="inputs"):
        td.packed_matvec(x[..., :299], p)
    with pytest.raises(ValueError, match="int8-valued"):   # not silently truncated
        td.packed_matvec(x + 0.5, p)
    # int8 rows of a whole number of blocks go to the kernel without a copy
    w2 = rng.integers(-1, 2, (5, 512)).astype(np.int8)
    x8 = rng.integers(-128, 128, (3, 512)).astype(np.int8)
    np.testing.assert_array_equal(td.packed_matvec(x8, td.PackedTernary.from_trits(w2)),
                                  plain_loop(x8, w2))


@pytest.mark.parametrize("rows,n_in", [(1, 1), (5, 3), (7, 257), (13, 1001)])
def test_layout_round_trips(rows, n_in):
    rng = np.random.default_rng(rows + n_in)
    w = rng.integers(-1, 2, (rows, n_in)).astype(np.int8)
    p = td.PackedTernary.from_trits(w)
    assert p.shape == (rows, n_in) and p.size == w.size
    assert p.nbytes == rows * td.padded_inputs(n_in) // 4
    np.testing.assert_array_equal(p.to_trits(), w)
    np.testing.assert_array_equal(np.asarray(p), w)
    assert np.shape(p) == w.shape
    # from the checkpoint storage format, converted in chunks of rows
    q = td.PackedTernary.from_packed(fp.pack_trits(w), w.shape, rows_per_chunk=4)
    np.testing.assert_array_equal(q.data, p.data)
    r = pickle.loads(pickle.dumps(p))
    np.testing.assert_array_equal(r.data, p.data)
    assert r.shape == p.shape
    assert td.pack_ternary(p) is p


def test_layout_errors_are_named():
    with pytest.raises(ValueError, match=r"\{-1, 0, 1\}"):
        td.PackedTernary.from_trits(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="2-D"):
        td.PackedTernary.from_trits(np.zeros(3))
    with pytest.raises(ValueError, match="invalid code"):
        td.PackedTernary.from_packed(np.array([0xFF], np.uint8), (1, 4))
    with pytest.raises(ValueError, match="needs"):
        td.PackedTernary.from_packed(np.zeros(3, np.uint8), (2, 8))


def test_thread_policy_follows_measured_speed():
    pol = td.ThreadPolicy(explore=4, window=3)
    cost = {True: 5.0, False: 1.0}           # the second core busy: threads 5x slower

    def step():
        mode = pol.choose()
        pol.record(mode, cost[mode])
        return mode

    assert [step() for _ in range(6)] == [True, False, True, False, True, False]
    picks = [step() for _ in range(60)]
    tries = [i for i, m in enumerate(picks) if m]
    assert 3 <= len(tries) <= 5                      # re-tried ever less often
    gaps = np.diff(tries)
    assert np.all(gaps[1:] > gaps[:-1])
    cost[True] = 0.5                                 # the second core is free again
    picks = [step() for _ in range(120)]
    assert all(picks[-20:])                          # threads again, for good
    cost[True] = 100.0                               # one slow call does not flip it
    pol.record(True, 100.0)
    assert pol.choose() is True


def test_default_mode_is_exact_whatever_the_policy_picks(monkeypatch):
    rng = np.random.default_rng(5)
    w = rng.integers(-1, 2, (1024, 1100)).astype(np.int8)
    p = td.PackedTernary.from_trits(w)
    x = rng.integers(-128, 128, (2, 1100))
    want = td.ternary_matvec_naive(x, w)
    monkeypatch.setattr(td, "POLICY", td.ThreadPolicies(explore=2, window=2))
    for _ in range(5):
        np.testing.assert_array_equal(td.packed_matvec(x[:1], p), want[:1])
        np.testing.assert_array_equal(td.packed_matvec(x, p), want)
    assert td.POLICY.calls > 0 or td._compiled()["numba"].get_num_threads() == 1
