"""LM blocks: integer RMSNorm / BitLinear / GLU kernels vs naive references and float,
samplers, and the RMSNorm + GLU Processes on Lava (fixed == kernels)."""
import numpy as np
import pytest
from conftest import run_open_loop
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source

from lava_llm import fixed_point as fp
from lava_llm.models.lm.params import TernaryLinear
from lava_llm.processes.lm_blocks import GLU, LMHead, ResidualAdd, RMSNorm, TokenEmbedding
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.processes.ternary_dense import kernels as td
from lava_llm.run import lava_session, run_config


@pytest.mark.parametrize("rows,n_in,n_out", [(1, 1, 1), (3, 17, 5), (8, 64, 40)])
def test_linear_acc_equals_ternary_matvec(rows, n_in, n_out):
    rng = np.random.default_rng(rows + n_in)
    q = rng.integers(-128, 128, (rows, n_in))
    w = rng.integers(-1, 2, (n_out, n_in)).astype(np.int8)
    np.testing.assert_array_equal(lk.int_linear_acc(q, w), td.ternary_matvec(q, w))


def naive_rsqrt(v):
    """Python-int rsqrt_norm: normalise to u in [1, 4), the shared 16-bit LUT, two Newton
    steps in 23-bit fixed point."""
    v = max(int(v), 1)
    e = v.bit_length() - 1
    k2 = e - (e & 1)
    un = v << (23 - k2) if k2 <= 23 else rs(v, k2 - 23)
    idx = min(max((un >> (23 - fp.RSQRT_INDEX_BITS)) - (1 << fp.RSQRT_INDEX_BITS), 0),
              (3 << fp.RSQRT_INDEX_BITS) - 1)
    r = int(fp._rsqrt_table()[idx]) << (23 - fp.RSQRT_TABLE_FRAC)
    for _ in range(2):
        t = (un * ((r * r) >> 23)) >> 23
        r = (r * ((3 << 23) - t)) >> 24
    return r, k2 // 2


def rs(x, n):
    if n <= 0:
        return x << -n
    return int(np.sign(x)) * ((abs(x) + (1 << (n - 1))) >> n)


def naive_norm(x, x_frac, wm, ws, eps_q):
    """Row by row with Python ints."""
    ss = sum(int(v) * int(v) for v in x) + eps_q
    r, k = naive_rsqrt(ss)
    return np.array([rs(rs(int(v) * r, 23 + k - lk.NORM_T) * int(m), ws)
                     for v, m in zip(x, wm)])


def test_rsqrt_norm_error_bound_and_naive():
    rng = np.random.default_rng(0)
    v = np.concatenate([np.arange(1, 3000), rng.integers(1, 1 << 40, 3000),
                        rng.integers(1 << 40, 1 << 62, 3000), [0, -5, (1 << 62) + 12345]])
    r, k = lk.rsqrt_norm(v)
    vv = np.maximum(v, 1).astype(np.float64)
    rel = np.abs(r * 2.0 ** -(lk.RSQRT_FRAC + k) * np.sqrt(vv) - 1)
    assert rel.max() <= lk.RSQRT_NORM_MAX_REL_ERR
    assert np.all((r > 1 << 22) & (r <= 1 << 23))
    for i in range(0, v.size, 97):
        assert (int(r[i]), int(k[i])) == naive_rsqrt(v[i])


@pytest.mark.parametrize("n,x_frac,scale", [(1, 12, 1.0), (9, 16, 0.01), (9, 8, 1.0), (64, 12, 30.0),
                                            (128, 16, 2.0)])
def test_int_rms_norm_matches_naive_and_float(n, x_frac, scale):
    rng = np.random.default_rng(n)
    x = rng.normal(0, scale, (4, n))
    g = 1 + 0.3 * rng.normal(size=n)
    norm = lk.make_int_norm(g, in_frac=x_frac, out_frac=16)
    xq = np.round(x * 2.0 ** x_frac).astype(np.int64)
    y = lk.int_norm(xq, norm)
    for r in range(4):
        np.testing.assert_array_equal(
            y[r], naive_norm(xq[r], x_frac, norm["wm"], norm["ws"], norm["eps_q"]))
    ref = lk.rms_norm(xq / 2.0 ** x_frac, g)
    assert np.max(np.abs(y / 65536 - ref)) < 1e-4 * max(1, np.abs(ref).max())


def test_int_bitlinear_close_to_float():
    rng = np.random.default_rng(1)
    n, m = 64, 32
    w = rng.normal(size=(m, n))
    t, a = fp.ternary_absmean(w)
    lin = TernaryLinear(t.astype(np.int8), float(a), 1 + 0.1 * rng.normal(size=n))
    x = rng.normal(size=(50, n))
    normed = lk.rms_norm(x, lin.norm_weight)
    q = lk.make_int_linear(lin, in_frac=12, out_frac=12, amax=np.abs(normed).max())
    yq = lk.int_bitlinear(np.round(x * 4096).astype(np.int64), q) / 4096
    yf = lk.bitlinear(x, lin)
    assert np.corrcoef(yq.ravel(), yf.ravel())[0, 1] > 0.995


def test_int_glu_matches_naive():
    P = lk.GATE_FRAC
    rng = np.random.default_rng(2)
    z = rng.integers(-8 << P, 8 << P, (3, 10))
    out = lk.int_glu(z)
    for r in range(3):
        for k in range(5):
            s = int(lk.silu_int(int(z[r, k]), P, P))
            assert s == rs(int(z[r, k]) * int(lk.sigmoid_int(int(z[r, k]), P, P)), P)
            assert out[r, k] == rs(s * int(z[r, k + 5]), P)
    zf = z / float(1 << P)
    assert np.max(np.abs(out / float(1 << P) - lk.glu(zf))) < 2e-3


def test_samplers():
    from lava_llm import fixed_point as fp

    logits = np.array([0.1, 2.0, 1.9, -3.0])
    assert lk.sample_float(logits, 5) == (1, 5)                      # greedy: no draw
    assert lk.sample_int(np.round(logits * 4096), 5) == (1, 5)
    draws = [lk.sample_float(logits, int(fp.prng_states(s, (1,))[0]), 1.0, 2)[0]
             for s in range(200)]
    assert set(draws) == {1, 2}
    # one xorshift32 stream carried from draw to draw, as the LMHead Process does
    state, draws_q = 12345, []
    for _ in range(2000):
        tok, state = lk.sample_int(np.round(logits * 4096).astype(int), state, 1.0, 0)
        draws_q.append(tok)
    freq = np.bincount(draws_q, minlength=4) / len(draws_q)
    p = np.exp(logits) / np.exp(logits).sum()
    assert np.max(np.abs(freq - p)) < 0.03
    a = [lk.sample_int(np.arange(4) * 100, 7, 0.7, 3) for _ in range(3)]
    assert len(set(a)) == 1 and a[0][1] == fp.xorshift32(7)  # reproducible, one draw


def test_draw_below_is_a_multiply_and_shift():
    from lava_llm import fixed_point as fp

    state, counts = 99, np.zeros(6)
    for _ in range(6000):
        u, state = fp.draw_below(state, 6)
        counts[u] += 1
    assert counts.min() > 850 and counts.max() < 1150           # uniform over [0, 6)
    assert fp.draw_below(1, 1 << 32) == (fp.xorshift32(1), fp.xorshift32(1))
    with pytest.raises(ValueError, match=r"n must be in \[1, 2\*\*32\]"):
        fp.draw_below(1, 0)


    with pytest.raises(ValueError, match="temperature"):
        lk.check_sampling(-1.0, 0, 4)
    with pytest.raises(ValueError, match="top_k"):
        lk.check_sampling(1.0, 5, 4)


def test_norm_and_glu_processes_on_lava():
    rng = np.random.default_rng(3)
    n, T = 8, 4
    g = 1 + 0.2 * rng.normal(size=2 * n)
    data = rng.integers(-(3 << 12), 3 << 12, (2 * n, T))
    outs = {}
    for backend in ("sim-fixed", "sim-float"):
        chain = [RMSNorm(weight=g, in_frac=12, out_frac=12), GLU(n=n)]
        outs[backend], _ = run_open_loop(
            chain, data if backend == "sim-fixed" else data / 4096.0, backend)
    ref = lk.int_glu(lk.int_norm(data.T, lk.make_int_norm(g, in_frac=12, out_frac=12)))
    np.testing.assert_array_equal(outs["sim-fixed"].T, ref)
    ref_f = lk.glu(lk.rms_norm(data.T / 4096.0, g))
    np.testing.assert_allclose(outs["sim-float"].T, ref_f, rtol=1e-10, atol=1e-12)


def test_residual_add_saturates_on_lava():
    rng = np.random.default_rng(4)
    n, T = 5, 3
    skip = rng.integers(-(1 << 23), 1 << 23, (n, T))
    skip[0] = (1 << 23) - 10
    branch = rng.integers(-(1 << 22), 1 << 22, (n, T))
    branch[0] = 100
    add = ResidualAdd(n=n)
    src_s, src_a = Source(data=skip), Source(data=branch)
    sink = Sink(shape=(n,), buffer=T)
    src_s.s_out.connect(add.s_in)
    src_a.s_out.connect(add.a_in)
    add.s_out.connect(sink.a_in)
    with lava_session(add, run_config("sim-fixed")) as s:
        s.run(T)
        out = sink.data.get()
    np.testing.assert_array_equal(out, np.clip(skip + branch, -(1 << 23), (1 << 23) - 1))
    assert np.all(out[0] == (1 << 23) - 1)


def test_process_bad_inputs():
    table = np.zeros((5, 3))
    with pytest.raises(ValueError, match="prompt"):
        TokenEmbedding(table=table, prompt=[1, 7])
    with pytest.raises(ValueError, match="prompt"):
        TokenEmbedding(table=table, prompt=[])
    with pytest.raises(ValueError, match="weight"):
        RMSNorm(weight=np.ones((2, 2)))
    head = {"norm": np.ones(3), "lm_head": TernaryLinear(np.zeros((5, 3), np.int8), 1.0,
                                                         np.ones(3))}
    with pytest.raises(ValueError, match="top_k"):
        LMHead(head_float=head, n_prompt=1, n_steps=2, temperature=1.0, top_k=9)
    with pytest.raises(ValueError, match="n_steps"):
        LMHead(head_float=head, n_prompt=3, n_steps=2)
