"""The S5 stack kernels against a naive, readable reference (dense matrices, per-element
Python integer arithmetic), over several shapes."""
import numpy as np
import pytest

from lava_llm import fixed_point as fp
from lava_llm.processes.ssm_diagonal import kernels
from ssm_fixtures import random_params


def dense(params, name, kind, suffix=""):
    return kernels.csr(params, name, f"{kind}_{name}{suffix}",
                       np.float64 if kind == "f" else np.int64).toarray()


# ---- naive reference: one python int at a time
def rs(v: int, n: int) -> int:
    """Round half away from zero, right shift by n >= 0."""
    if n == 0:
        return v
    mag = (abs(v) + (1 << (n - 1))) >> n
    return -mag if v < 0 else mag


def sh(v: int, n: int) -> int:
    return v << n if n >= 0 else rs(v, -n)


def sat(v: int, bits: int) -> int:
    hi = (1 << (bits - 1)) - 1
    return max(-hi - 1, min(hi, v))


def syn(v: int, n: int) -> int:
    """A synapse's output: the shifted weighted sum as a 24-bit saturated message."""
    return sat(sh(v, n), 24)


def naive_int(params, feats_q):
    L, P, H, F = kernels.dims(params)
    e = {k: np.asarray(params[f"e_{k}"]) for k in
         ("in", "x", "m", "s", "y", "b", "c", "d", "w", "enc", "dec")}
    E, G = dense(params, "enc", "q"), dense(params, "dec", "q")
    Br, Bi = dense(params, "b", "q", "_re"), dense(params, "b", "q", "_im")
    Cr, Ci = dense(params, "c", "q", "_re"), dense(params, "c", "q", "_im")
    W = dense(params, "w", "q")
    q = {k: np.asarray(params[f"q_{k}"]) for k in
         ("lam_re", "lam_im", "sb_re", "sb_im", "d", "yb", "wb", "enc_b", "dec_b")}
    s_re = [[0] * P for _ in range(L)]
    s_im = [[0] * P for _ in range(L)]
    out = []
    for f in feats_q:
        f = [sat(int(v), 16) for v in f]
        x = [sat(syn(sum(int(E[h, j]) * f[j] for j in range(F)),
                     int(e["x"] - e["enc"] - e["in"])) + int(q["enc_b"][h]), 16)
             for h in range(H)]
        for l in range(L):
            new_re, new_im = [], []
            for p in range(P):
                r = l * P + p
                n = int(e["s"][l] - e["b"][l, p] - e["x"])
                in_re = sat(syn(sum(int(Br[r, h]) * x[h] for h in range(H)), n)
                            + int(q["sb_re"][l, p]), 24)
                in_im = sat(syn(sum(int(Bi[r, h]) * x[h] for h in range(H)), n)
                            + int(q["sb_im"][l, p]), 24)
                lr, li = int(q["lam_re"][l, p]), int(q["lam_im"][l, p])
                new_re.append(sat(rs(lr * s_re[l][p] - li * s_im[l][p], 15) + in_re, 24))
                new_im.append(sat(rs(lr * s_im[l][p] + li * s_re[l][p], 15) + in_im, 24))
            s_re[l], s_im[l] = new_re, new_im
            y = []
            for h in range(H):
                r = l * H + h
                cs = sum(int(Cr[r, p]) * s_re[l][p] - int(Ci[r, p]) * s_im[l][p]
                         for p in range(P))
                y.append(sat(syn(cs, int(e["y"][l] + 1 - e["c"][l] - e["s"][l]))
                             + syn(int(q["d"][l, h]) * x[h],
                                   int(e["y"][l] - e["d"][l] - e["x"]))
                             + int(q["yb"][l, h]), 16))
            a = [max(v, 0) for v in y]
            for h in range(H):
                g_in = sat(syn(sum(int(W[l * H + h, k]) * a[k] for k in range(H)),
                               int(8 - e["w"][l] - e["y"][l])) + int(q["wb"][l, h]), 16)
                g = int(fp.sigmoid_fixed(g_in))
                z = rs(a[h] * g, 12)
                x[h] = sat(x[h] + sh(z, int(e["x"] - e["y"][l])), 16)
        out.append([sat(syn(sum(int(G[k, h]) * x[h] for h in range(H)),
                            int(e["m"] - e["dec"] - e["x"])) + int(q["dec_b"][k]), 16)
                    for k in range(F)])
    return np.array(out, dtype=np.int64)


def naive_float(params, feats):
    L, P, H, F = kernels.dims(params)
    E, G = dense(params, "enc", "f"), dense(params, "dec", "f")
    B = dense(params, "b", "f", "_re") + 1j * dense(params, "b", "f", "_im")
    C = dense(params, "c", "f", "_re") + 1j * dense(params, "c", "f", "_im")
    W = dense(params, "w", "f")
    g = {k: np.asarray(params[f"f_{k}"]) for k in
         ("lam_re", "lam_im", "sb_re", "sb_im", "d", "yb", "wb", "enc_b", "dec_b")}
    s = np.zeros((L, P), complex)
    out = []
    for f in feats:
        x = E @ f + g["enc_b"]
        for l in range(L):
            lam = g["lam_re"][l] + 1j * g["lam_im"][l]
            s[l] = lam * s[l] + B[l * P:(l + 1) * P] @ x + g["sb_re"][l] + 1j * g["sb_im"][l]
            y = 2 * (C[l * H:(l + 1) * H] @ s[l]).real + g["d"][l] * x + g["yb"][l]
            a = np.maximum(y, 0)
            x = x + a / (1 + np.exp(-(W[l * H:(l + 1) * H] @ a + g["wb"][l])))
        out.append(G @ x + g["dec_b"])
    return np.array(out)


SHAPES = [(1, 2, 3, 2), (2, 4, 6, 5), (3, 5, 4, 7)]


@pytest.mark.parametrize("L,P,H,F", SHAPES)
@pytest.mark.parametrize("density", [0.3, 1.0])
def test_int_run_matches_naive(L, P, H, F, density):
    params, feats = random_params(L, P, H, F, density, seed=L * 10 + P)
    fq = kernels.quantize_input(feats, int(params["e_in"]))
    got, _ = kernels.int_run(kernels.Net(params, "q"), fq)
    assert np.array_equal(got, naive_int(params, fq))


@pytest.mark.parametrize("L,P,H,F", SHAPES)
def test_float_run_matches_naive(L, P, H, F):
    params, feats = random_params(L, P, H, F, 0.5, seed=L + P)
    got, _ = kernels.float_run(kernels.Net(params, "f"), feats)
    np.testing.assert_allclose(got, naive_float(params, feats), rtol=1e-10, atol=1e-10)


def test_fixed_tracks_float():
    params, feats = random_params(2, 8, 8, 6, 0.6, seed=3, calib_T=60)
    mf, _ = kernels.float_run(kernels.Net(params, "f"), feats)
    mq, _ = kernels.int_run(kernels.Net(params, "q"),
                            kernels.quantize_input(feats, int(params["e_in"])))
    err = np.abs(kernels.dequantize_mask(mq, int(params["e_m"])) - mf).max()
    assert err < 0.05 * np.abs(mf).max()


@pytest.mark.parametrize("kind", ["f", "q"])
def test_frame_by_frame_equals_whole_clip(kind):
    params, feats = random_params(2, 4, 6, 5, 0.5, seed=7)
    net = kernels.Net(params, kind)
    x = feats if kind == "f" else kernels.quantize_input(feats, int(params["e_in"]))
    run = kernels.float_run if kind == "f" else kernels.int_run
    whole, st_whole = run(net, x)
    st, parts = None, []
    for t in range(len(x)):
        m, st = run(net, x[t:t + 1], st)
        parts.append(m)
    if kind == "q":
        assert np.array_equal(np.concatenate(parts), whole)
        assert np.array_equal(st["s_re"], st_whole["s_re"])
    else:
        np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12, atol=1e-12)


def test_state_saturates_not_wraps():
    params, _ = random_params(1, 3, 4, 3, 1.0, seed=5)
    params["q_lam_re"] = np.full_like(params["q_lam_re"], 32000)  # slow decay
    params["q_lam_im"] = np.zeros_like(params["q_lam_im"])
    params["q_sb_re"] = np.full_like(params["q_sb_re"], (1 << 23) - 1)  # huge input
    net = kernels.Net(params, "q")
    _, st = kernels.int_run(net, np.zeros((50, 3), np.int64))
    assert st["s_re"].max() == (1 << 23) - 1 and st["s_re"].min() >= 0


def test_lambda_quantised_inside_unit_circle():
    params, _ = random_params(1, 4, 3, 3, 1.0, seed=2)
    lr, li = params["q_lam_re"], params["q_lam_im"]
    assert np.all(lr * lr + li * li < 1 << 30)
    np.testing.assert_allclose(lr / 2 ** 15, params["f_lam_re"], atol=2 ** -15)


def test_storage_is_proportional_to_nonzeros():
    dense_p, _ = random_params(2, 6, 8, 5, 1.0, seed=1)
    sparse_p, _ = random_params(2, 6, 8, 5, 0.2, seed=1)
    assert sum(kernels.nnz(sparse_p).values()) < 0.35 * sum(kernels.nnz(dense_p).values())
    assert sparse_p["q_w"].size == kernels.nnz(sparse_p)["w"]


def test_op_counts():
    params, feats = random_params(2, 4, 6, 5, 0.5, seed=9)
    net = kernels.Net(params, "q")
    fq = kernels.quantize_input(feats, int(params["e_in"]))
    c = kernels.op_counts(net, fq)
    nz = {k: int(np.count_nonzero(params[f"q_{k}"])) for k in
          ("enc", "b_re", "b_im", "c_re", "c_im", "w", "dec", "d")}
    assert c["synops_dense_input"] == sum(nz.values())
    assert 0 < c["synops"] <= c["synops_dense_input"]
    # the encoder sees every non-zero input feature: count it by hand
    E = dense(params, "enc", "q")
    want = sum(np.count_nonzero(E[:, fq[t] != 0]) for t in range(len(fq))) / len(fq)
    assert c["synops_by_matrix"]["enc"] == pytest.approx(want)
    L, P, H, F = kernels.dims(params)
    assert c["neuron_ops"] == H + L * (2 * P + 3 * H) + F
    assert c["power_proxy"] == pytest.approx(c["synops"] + 10 * c["neuron_ops"])
