"""The sparse S5 stack split into synapse and neuron populations: the numeric truth of the
fine-grained :class:`~lava_llm.processes.ssm_diagonal.process.SSMDiagonal` (its sub-process
model wires one Lava Process per population).

Populations and their integer dynamics (per time step; ``syn(acc, n) = sat24(shift(acc,
n))``, :func:`kernels.synapse_out`)::

    enc      synapse   a = syn(E f, n_enc)                            (H, from F)
    x        neurons   x = sat16(a + enc_b)
    per layer l:
    b_l      synapse   a = syn([B_re; B_im] x, n_b[row])              (2P, from H)
    state_l  neurons   s = sat24(rshift(Lambda_bar s, 15) + sat24(a + sb))   complex, (2P)
    c_l      synapse   a = syn([C_re, -C_im] [s_re; s_im], n_c)       (H, from 2P)
    d_l      synapse   a = syn(diag(D) x, n_d)                        (H, from H)
    y_l      neurons   y = max(sat16(a_c + a_d + yb), 0)              (two message ports)
    w_l      synapse   a = syn(W y, n_w)                              (H, from H)
    gate_l   neurons   x = sat16(x + shift(rshift(y * LUT_sigmoid(sat16(a + wb)), 12), n_g))
    dec      synapse   a = syn(G x, n_dec)                            (F, from H)
    mask     neurons   m = sat16(a + dec_b)

Every synapse holds 8-bit weights (CSR) and one power-of-two exponent per output row (``n``:
the exponents of weights, input and output folded into one shift, as Loihi's weight exponent
and the dendrite's scaling do); every message is at most 24 bits. Composed they are
:func:`kernels.int_run` exactly (:func:`int_run_fine`, tested with ``==``). The float form is
the same graph with float weights (``C`` doubled: ``2 Re(C s)``) and no shifts.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from lava_llm import fixed_point as fp
from lava_llm.processes.ssm_diagonal import kernels as K

#: Populations of the fine form: 4 + 7 per layer.
LAYER_PROCESSES = ("b", "state", "c", "d", "y", "w", "gate")


def fine_leaves(n_layers: int) -> int:
    """Leaf Processes of the fine-grained denoiser with ``n_layers`` S5 layers."""
    return 4 + len(LAYER_PROCESSES) * int(n_layers)


def _pattern(params: dict, name: str, rows: slice, sign: int = 1) -> sp.csr_matrix:
    """Rows of sparse matrix ``name`` whose data are ``sign * (position + 1)`` in the stored
    arrays (so slicing and stacking keep track of which stored entry each one is)."""
    ptr = np.asarray(params[f"{name}_indptr"], np.int64)
    idx = np.asarray(params[f"{name}_indices"], np.int64)
    pos = np.arange(1, idx.size + 1, dtype=np.int64) * sign
    return sp.csr_matrix((pos, idx, ptr), shape=K.matrix_shape(name, params))[rows]


def _synapse(mat: sp.csr_matrix, q_of, f_of, shift, f_scale: float = 1.0) -> dict:
    """A synapse spec from a position-tagged pattern ``mat``: ``q_of(pos, sign)`` /
    ``f_of(pos, sign)`` give the stored values."""
    mat = sp.csr_matrix(mat)
    mat.sort_indices()
    tag = mat.data.astype(np.int64)
    pos, sign = np.abs(tag) - 1, np.sign(tag)
    rows = mat.shape[0]
    return {"kind": "synapse", "indptr": mat.indptr.astype(np.int64),
            "indices": mat.indices.astype(np.int64), "weights": q_of(pos, sign),
            "weights_f": f_scale * f_of(pos, sign),
            "shift": np.broadcast_to(np.asarray(shift, np.int64), (rows,)).copy(),
            "shape": mat.shape}


def _diag_synapse(q, f, shift) -> dict:
    n = len(q)
    return {"kind": "synapse", "indptr": np.arange(n + 1, dtype=np.int64),
            "indices": np.arange(n, dtype=np.int64), "weights": np.asarray(q, np.int64),
            "weights_f": np.asarray(f, np.float64),
            "shift": np.full(n, int(shift), np.int64), "shape": (n, n)}


def fine_layout(params: dict) -> list[tuple[str, dict]]:
    """The populations of the fine form, in data-flow order: ``[(name, spec)]`` with spec
    ``kind`` ``synapse`` (``indptr``, ``indices``, ``weights`` 8-bit, ``weights_f``,
    ``shift`` per row, ``shape``) or a neuron kind (``bias``, ``state``, ``output``,
    ``gate``) with its parameters (integer and ``*_f`` float)."""
    L, P, H, F = K.dims(params)
    e = {k: np.asarray(params[f"e_{k}"], np.int64).reshape(-1) for k in
         ("in", "x", "m", "s", "y", "b", "c", "d", "w", "enc", "dec")}
    e["b"] = e["b"].reshape(L, P)
    for k in ("in", "x", "m", "enc", "dec"):
        e[k] = int(e[k][0])
    q = lambda k: np.asarray(params[f"q_{k}"], np.int64)      # noqa: E731
    f = lambda k: np.asarray(params[f"f_{k}"], np.float64)    # noqa: E731
    ex = e["x"]
    out = [("enc", _synapse(_pattern(params, "enc", slice(None)),
                            lambda p, s: q("enc")[p], lambda p, s: f("enc")[p],
                            ex - e["enc"] - e["in"])),
           ("x", {"kind": "bias", "bias": q("enc_b"), "bias_f": f("enc_b")})]
    for l in range(L):
        rows_p, rows_h = slice(l * P, (l + 1) * P), slice(l * H, (l + 1) * H)
        pb = _pattern(params, "b", rows_p)
        b_mat = sp.vstack([pb, -pb], format="csr")          # re rows, then im rows

        def b_val(key, conv):
            return lambda p, s: np.where(s > 0, conv(f"{key}_re")[p], conv(f"{key}_im")[p])

        n_b = np.tile(e["s"][l] - e["b"][l] - ex, 2)
        out.append((f"b{l}", _synapse(b_mat, b_val("b", q), b_val("b", f), n_b)))
        out.append((f"state{l}", {"kind": "state", "lam_re": q("lam_re")[l],
                                  "lam_im": q("lam_im")[l], "sb_re": q("sb_re")[l],
                                  "sb_im": q("sb_im")[l], "lam_re_f": f("lam_re")[l],
                                  "lam_im_f": f("lam_im")[l], "sb_re_f": f("sb_re")[l],
                                  "sb_im_f": f("sb_im")[l]}))
        pc = _pattern(params, "c", rows_h)
        c_mat = sp.hstack([pc, -pc], format="csr")          # [C_re, -C_im] on [s_re; s_im]

        def c_val(conv):
            return lambda p, s: np.where(s > 0, conv("c_re")[p], -conv("c_im")[p])

        out.append((f"c{l}", _synapse(c_mat, c_val(q), c_val(f),
                                      e["y"][l] + 1 - e["c"][l] - e["s"][l], f_scale=2.0)))
        out.append((f"d{l}", _diag_synapse(q("d")[l], f("d")[l], e["y"][l] - e["d"][l] - ex)))
        out.append((f"y{l}", {"kind": "output", "bias": q("yb")[l], "bias_f": f("yb")[l]}))
        out.append((f"w{l}", _synapse(_pattern(params, "w", rows_h),
                                      lambda p, s: q("w")[p], lambda p, s: f("w")[p],
                                      K.GATE_FRAC - e["w"][l] - e["y"][l])))
        out.append((f"gate{l}", {"kind": "gate", "bias": q("wb")[l], "bias_f": f("wb")[l],
                                 "out_shift": int(ex - e["y"][l])}))
    out.append(("dec", _synapse(_pattern(params, "dec", slice(None)),
                                lambda p, s: q("dec")[p], lambda p, s: f("dec")[p],
                                e["m"] - e["dec"] - ex)))
    out.append(("mask", {"kind": "bias", "bias": q("dec_b"), "bias_f": f("dec_b")}))
    return out


# --------------------------------------------------------------------------- step functions
def csr_matvec(indptr, indices, weights, x, n_out: int) -> np.ndarray:
    """``W @ x`` for CSR ``W`` (int64 for integer weights and inputs, else float64)."""
    m = sp.csr_matrix((weights, indices, indptr), shape=(n_out, np.size(x)))
    return np.asarray(m @ np.asarray(x))


def synapse_int(indptr, indices, weights, shift, x) -> np.ndarray:
    """``sat24(shift(W @ x, shift[row]))``: the synapse's 24-bit graded messages."""
    acc = csr_matvec(indptr, indices, np.asarray(weights, np.int64),
                     np.asarray(x, np.int64), len(indptr) - 1)
    return K.synapse_out(acc, np.asarray(shift, np.int64))


def synapse_float(indptr, indices, weights_f, x) -> np.ndarray:
    return csr_matvec(indptr, indices, np.asarray(weights_f, np.float64),
                      np.asarray(x, np.float64), len(indptr) - 1)


def bias_int(a, bias) -> np.ndarray:
    """Encoder / mask neurons: ``sat16(a + bias)``."""
    return fp.saturate(np.asarray(a, np.int64) + bias, K.ACT_BITS)


def state_int(a, s_re, s_im, lam_re, lam_im, sb_re, sb_im):
    """S5 diagonal state neurons: ``a = [B_re x; B_im x]`` messages -> new ``(s_re, s_im)``."""
    a = np.asarray(a, np.int64)
    P = len(s_re)
    in_re = fp.saturate(a[:P] + sb_re, K.STATE_BITS)
    in_im = fp.saturate(a[P:] + sb_im, K.STATE_BITS)
    s_re, s_im = np.asarray(s_re, np.int64), np.asarray(s_im, np.int64)
    prod_re = lam_re * s_re - lam_im * s_im
    prod_im = lam_re * s_im + lam_im * s_re
    return (fp.saturate(fp.rshift(prod_re, K.LAM_FRAC) + in_re, K.STATE_BITS),
            fp.saturate(fp.rshift(prod_im, K.LAM_FRAC) + in_im, K.STATE_BITS))


def state_float(a, s, lam, sb):
    """Float state neurons (complex ``s``, ``lam``, ``sb``)."""
    a = np.asarray(a, np.float64)
    P = len(s)
    return lam * s + ((a[:P] + sb.real) + 1j * (a[P:] + sb.imag))


def output_int(a, bias) -> np.ndarray:
    """S5 output neurons: ``max(sat16(a + yb), 0)`` (``a``: the sum of the C and D
    messages)."""
    return np.maximum(fp.saturate(np.asarray(a, np.int64) + bias, K.ACT_BITS), 0)


def lut_apply(table, x_min: int, step_shift: int, x) -> np.ndarray:
    """A uniform look-up table held in Vars: ``table[clip((x - x_min) >> step_shift)]`` (the
    rule of :class:`lava_llm.fixed_point.Lut`)."""
    table = np.asarray(table, np.int64)
    idx = np.clip((np.asarray(x, np.int64) - int(x_min)) >> int(step_shift), 0,
                  table.size - 1)
    return table[idx]


def sigmoid_vars() -> dict:
    """The sigmoid LUT of the gate neurons as Var contents (``sig_table`` 13-bit unsigned,
    ``sig_x_min``, ``sig_step``): :func:`lava_llm.fixed_point.sigmoid_lut` (8 fractional bits
    in, 12 out)."""
    lut = fp.sigmoid_lut(K.GATE_FRAC, K.SIG_FRAC)
    return {"sig_table": lut.table.astype(np.int64), "sig_x_min": int(lut.x_min),
            "sig_step": int(lut.step_shift)}


def gate_int(a, y, x, bias, out_shift: int, table, x_min: int, step_shift: int):
    """Half-GLU gate and residual: ``sat16(x + shift(rshift(y * sig(sat16(a + wb)), 12),
    out_shift))``."""
    g_in = fp.saturate(np.asarray(a, np.int64) + bias, K.ACT_BITS)
    g = lut_apply(table, x_min, step_shift, g_in)
    z = fp.rshift(np.asarray(y, np.int64) * g, K.SIG_FRAC)
    return fp.saturate(np.asarray(x, np.int64) + fp.shift(z, int(out_shift)), K.ACT_BITS)


def gate_float(a, y, x, bias):
    return x + y * K.sigmoid(np.asarray(a, np.float64) + bias)


def int_run_fine(params: dict, feats_q, state: dict | None = None):
    """The fine form's populations composed frame by frame (a Lava-free reference of the
    sub-process model): ``(mask_q (T, F), state)``, equal to :func:`kernels.int_run`."""
    layout = fine_layout(params)
    sig = sigmoid_vars()
    st = state or K.zero_state(params, "q")
    s_re, s_im = st["s_re"].copy(), st["s_im"].copy()
    masks = []
    for frame in fp.saturate(np.asarray(feats_q, np.int64), K.ACT_BITS):
        v: dict = {}
        x = m = None
        for name, spec in layout:
            kind, base = spec["kind"], name.rstrip("0123456789")
            if kind == "synapse":
                src = {"enc": frame, "b": x, "d": x, "c": v.get("s"), "w": v.get("y"),
                       "dec": x}[base]
                v[base] = synapse_int(spec["indptr"], spec["indices"], spec["weights"],
                                      spec["shift"], src)
            elif name == "x":
                x = bias_int(v["enc"], spec["bias"])
            elif name == "mask":
                m = bias_int(v["dec"], spec["bias"])
            elif kind == "state":
                l = int(name[len("state"):])
                s_re[l], s_im[l] = state_int(v["b"], s_re[l], s_im[l], spec["lam_re"],
                                             spec["lam_im"], spec["sb_re"], spec["sb_im"])
                v["s"] = np.concatenate([s_re[l], s_im[l]])
            elif kind == "output":
                v["y"] = output_int(v["c"] + v["d"], spec["bias"])
            elif kind == "gate":
                x = gate_int(v["w"], v["y"], x, spec["bias"], spec["out_shift"],
                             sig["sig_table"], sig["sig_x_min"], sig["sig_step"])
        masks.append(m)
    return np.array(masks, np.int64).reshape(-1, K.dims(params)[3]), {"s_re": s_re,
                                                                       "s_im": s_im}
