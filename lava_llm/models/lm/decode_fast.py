"""The integer engine's one-token step (decode) as one compiled call per layer.

:func:`lava_llm.models.lm.engine.int_forward` runs a layer as ~40 numpy and kernel calls;
for one token that is mostly call overhead (~0.3 ms a layer at hidden 1024 against ~0.4 ms of
packed-kernel time). :func:`lava_llm._lm_numba.decode_layer` does
the same integer steps in one pass per layer. They apply to the shipped design only (dynamic
int8 BitLinear inputs, packed trits); any other integer model runs the readable path.
``int_forward`` uses this module for one-token calls and the tests check that both paths
give the same integers (==) over shapes and depths.
"""
from __future__ import annotations

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm.processes.lm_blocks import kernels as lk
from lava_llm.processes.ternary_dense import kernels as td

_LINS = ("i", "f", "g", "o", "gate", "down")
_NORMS = ("attn_norm", "g_norm", "mlp_norm")


def layer_args(layer: dict, hidden: int):
    """The compiled step's arguments for one exported layer, or None when the layer is not
    of the shipped design (then the readable path runs)."""
    for k in _LINS:
        lin = layer[k]
        if (lin.get("act", "static") != "dynamic" or lin.get("act_bits", 8) != 8
                or not isinstance(lin["trits"], td.PackedTernary)):
            return None
    P = lk.GATE_FRAC
    sig = fp.sigmoid_lut(P, P)
    lb = layer.get("lb_q")
    nm = np.array([[layer[k]["ws"], layer[k]["eps_q"]] for k in _NORMS], np.int64)
    lm = np.array([[layer[k][f] for f in ("ws", "eps_q", "mant", "shift")] for k in _LINS],
                  np.int64)
    if (lm[:, 0] < 0).any() or (nm[:, 0] < 0).any():
        return None
    n_in = {"i": hidden, "f": hidden, "g": hidden, "o": hidden, "gate": hidden,
            "down": layer["down"]["trits"].shape[1]}
    consts = np.array([lk.M_MAX, fp.RECIP_FRAC, fp.RECIP_INDEX_BITS, P, sig.x_min,
                       sig.step_shift, int(lb is not None)], np.int64)
    recip = layer["i"].get("recip_lut")
    if any(layer[k].get("recip_lut") is not recip for k in _LINS):
        return None
    return (nm, *[lk.gain_vector(layer[k]["wm"], hidden) for k in _NORMS], lm,
            *[lk.gain_vector(layer[k]["wm"], n_in[k]) for k in _LINS],
            *[layer[k]["trits"].data for k in _LINS], lk._rsqrt_consts(), fp._rsqrt_table(),
            consts, np.ascontiguousarray(fp._recip_table() if recip is None else recip,
                                         dtype=np.int64),
            np.ascontiguousarray(sig.table, np.int64),
            lk.gain_vector(0 if lb is None else lb, hidden))


def prepare(qmodel: dict):
    """The per-layer arguments (cached in ``qmodel["_decode"]``), or None if any layer is not
    of the shipped design."""
    if "_decode" not in qmodel:
        H = qmodel["emb"].shape[1]
        args = [layer_args(layer, H) for layer in qmodel["layers"]]
        qmodel["_decode"] = None if any(a is None for a in args) else args
    return qmodel["_decode"]


_POLICY = td.ThreadPolicies()


def decode_layers(qmodel: dict, x: np.ndarray, state) -> tuple[np.ndarray, list]:
    """Run every layer for one token: ``x`` (H,) int64 residual (updated in a copy), ``state``
    a list of (H,) int64 MLGRU states (not modified). Returns ``(x, new_states)``."""
    nb = lk._lm_nb()              # starts numba's threads the Lava-safe way, then imports
    args = prepare(qmodel)
    x = np.array(x, np.int64)
    H = x.size
    n_trits = sum(args[0][i].size * 4 for i in range(11, 17))   # one layer's (padded) trits
    new = []
    for li, a in enumerate(args):
        h = np.array(state[li], np.int64).reshape(H)
        _POLICY.run(("decode_layer", H), lambda par: nb.decode_layer(par, x, h, *a),
                    trits=n_trits)
        new.append(h)
    return x, new
