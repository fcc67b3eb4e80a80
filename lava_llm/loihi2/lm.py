"""The MatMul-free LM's fine-grained network as cost-model nodes.

The node list mirrors the sub-process models (``SubMLGRUBlockModel``: 13 Processes per token
mixer, ``SubGLUBlockModel``: 7 per channel mixer, ``SubLMHeadModel``: 4, same names; a
TernaryDense / TokenScaledDense is one node, its rescale neurons included; an RMSNorm node
includes its reduction synapses into the sum-of-squares accumulator, ``n`` synapses and ``n``
synops per step, an AbsmaxRMSNorm also those into its max neuron, ``2 n``) plus the
embedding::

    embedding (host lookup) -> [mlgru{l}.* -> glu{l}.*] x L
        -> head.norm -> head.lm_head_norm -> head.lm_head_syn -> head.readout (host)

Two ways to fill in the numbers:

* :func:`lm_nodes` from an integer model (``LanguageModel.int_model``) and token ids: the
  synapse counts are the real non-zero trits, and the per-step activity (non-zero inputs of
  every synapse, non-zero outputs of every Process) is measured by :func:`trace`, which runs
  the integer kernels exactly as the engine does (its logits equal
  :func:`lava_llm.models.lm.engine.int_forward`'s: tested);
* :func:`lm_nodes_from_config` from shapes alone (e.g. the 370M configuration): non-zero
  weights = ``density * n_out * n_in`` (default 0.69, the share that absmean ternarisation of
  Gaussian weights keeps) and every input non-zero (``synops`` an upper bound).

Per-token dynamic int8 BitLinear inputs (the shipped design) add, per BitLinear and token: one
neuron in the front-end norm (``AbsmaxRMSNorm``: the max reduction and the reciprocal), its
24-bit message ``m`` to the synapse Process (``TokenScaledDense``; counted as
:data:`SCALE_MESSAGES` 8-bit payloads) and one more input per rescale neuron (``n_out``
synaptic operations). Static scales (``export_int(..., {"act": "static"})``) add none.
"""
from __future__ import annotations

import numpy as np

from lava_llm import fixed_point as fp
from lava_llm.loihi2.graph import Node
from lava_llm.processes.gated_recurrence import kernels as gk
from lava_llm.processes.lm_blocks import kernels as lk

#: Share of non-zero trits when Gaussian weights are ternarised by absmean:
#: P(|z| >= 0.5 * E|z|) = P(|z| >= 0.399) for z ~ N(0, 1).
TERNARY_DENSITY = 0.690

MIXER = ("attn_norm", "i_norm", "i_syn", "f_norm", "f_syn", "g_norm_in", "g_syn", "cell",
         "g_norm", "gate", "o_norm", "o_syn", "residual")
CHANNEL = ("mlp_norm", "gate_norm", "gate_syn", "glu", "down_norm", "down_syn", "residual")


def _bitlinear_int(x, lin):
    """``(q, y)``: the int8 input the synapse receives and its 24-bit output (the kernel of
    the engine, :func:`lava_llm.processes.lm_blocks.kernels.int_bitlinear_parts`)."""
    q, _, y = lk.int_bitlinear_parts(x, lin)
    return q, y


def trace(qmodel: dict, ids) -> tuple[np.ndarray, dict]:
    """Run the integer model on one token sequence ``ids`` (T,) node by node.

    Returns ``(logits (T, V), values)`` where ``values[name]`` holds the node's output
    ``(T, n)`` (for synapses also ``values[name + ":in"]``, the int8 input)."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    x = qmodel["emb"][ids].astype(np.int64)
    v: dict = {"embedding": x}
    for li, layer in enumerate(qmodel["layers"]):
        m, c = f"mlgru{li}.", f"glu{li}."
        a = lk.int_norm(x, layer["attn_norm"])
        v[m + "attn_norm"] = a
        ys = {}
        for k, norm_name in (("i", "i_norm"), ("f", "f_norm"), ("g", "g_norm_in")):
            q, ys[k] = _bitlinear_int(a, layer[k])
            v[m + norm_name] = v[m + f"{k}_syn:in"] = q
            v[m + f"{k}_syn"] = ys[k]
        h = gk.mlgru_int(ys["i"], ys["f"], np.zeros(x.shape[-1], np.int64), layer["lb_q"])
        v[m + "cell"] = h
        gn = lk.int_norm(ys["g"], layer["g_norm"])
        v[m + "g_norm"] = gn
        o = lk.int_glu(np.concatenate([h, gn], axis=-1))
        v[m + "gate"] = o
        q, y = _bitlinear_int(o, layer["o"])
        v[m + "o_norm"] = v[m + "o_syn:in"] = q
        v[m + "o_syn"] = y
        x = fp.saturate(x + y, fp.MSG_BITS)
        v[m + "residual"] = x
        mm = lk.int_norm(x, layer["mlp_norm"])
        v[c + "mlp_norm"] = mm
        q, z = _bitlinear_int(mm, layer["gate"])
        v[c + "gate_norm"] = v[c + "gate_syn:in"] = q
        v[c + "gate_syn"] = z
        u = lk.int_glu(z)
        v[c + "glu"] = u
        q, y = _bitlinear_int(u, layer["down"])
        v[c + "down_norm"] = v[c + "down_syn:in"] = q
        v[c + "down_syn"] = y
        x = fp.saturate(x + y, fp.MSG_BITS)
        v[c + "residual"] = x
    n = lk.int_norm(x, qmodel["head"]["norm"])
    v["head.norm"] = n
    q, logits = _bitlinear_int(n, qmodel["head"]["lm_head"])
    v["head.lm_head_norm"] = v["head.lm_head_syn:in"] = q
    v["head.lm_head_syn"] = logits
    return logits, v


def synops(trits, inputs) -> float:
    """Mean per step of ``sum over non-zero inputs of the non-zero weights in their column``."""
    col = (np.asarray(trits) != 0).sum(axis=0)
    active = np.asarray(inputs) != 0
    return float((active @ col).sum() / max(active.shape[0], 1))


def _mean_nonzero(values) -> float:
    values = np.asarray(values)
    return float((values != 0).sum() / max(values.shape[0], 1))


def _norm(name, n, payload, out=None) -> Node:
    # n channel neurons + 1 accumulator for sum(x**2) and its integer 1/sqrt. The reduction
    # is n synapses into the accumulator (and its 1/sqrt back to the n channels: a broadcast,
    # one message per step): counted as n synapses and n synops per step (the residual stream
    # that feeds a norm is dense, so every input counts)
    msgs = n if out is None else _mean_nonzero(out)
    return Node(name, "RMSNorm", "neuron", n + 1, synapses=n, fan_in=n, dense_weights=n,
                payload_bits=payload, synops_per_step=float(n), neuron_ops_per_step=n + 1,
                messages_per_step=msgs)


#: 8-bit payloads that carry the per-token max ``m`` (24 bits) of a dynamic BitLinear input.
SCALE_MESSAGES = fp.MSG_BITS // fp.ACT_BITS


def _absmax_norm(name, n, out=None) -> Node:
    # + 1 neuron for the max reduction and the reciprocal (LUT + Newton step); it sends the
    # token's max m (24 bits, counted as SCALE_MESSAGES 8-bit payloads) to the rescale
    msgs = (n if out is None else _mean_nonzero(out)) + SCALE_MESSAGES
    # its two reductions (sum of squares, max) count n synapses and n synops per step each
    return Node(name, "AbsmaxRMSNorm", "neuron", n + 2, synapses=2 * n, fan_in=n,
                dense_weights=2 * n, payload_bits=fp.ACT_BITS, synops_per_step=2.0 * n,
                neuron_ops_per_step=n + 2, messages_per_step=msgs)


def _neuron(name, process, n, out=None) -> Node:
    msgs = n if out is None else _mean_nonzero(out)
    return Node(name, process, "neuron", n, neuron_ops_per_step=n, messages_per_step=msgs)


def _synapse(name, shape, nnz, syn, out=None, dynamic=False) -> Node:
    """A ternary synapse Process with its rescale neurons; ``dynamic``: a TokenScaledDense,
    whose rescale neurons also receive the token's max (one more input each: ``fan_in + 1``
    and ``n_out`` more synaptic operations per step)."""
    n_out, n_in = shape
    msgs = n_out if out is None else _mean_nonzero(out)
    return Node(name, "TokenScaledDense" if dynamic else "TernaryDense", "synapse", n_out,
                synapses=int(nnz), fan_in=n_in + int(dynamic), dense_weights=n_out * n_in,
                payload_bits=fp.MSG_BITS, synops_per_step=syn + (n_out if dynamic else 0),
                neuron_ops_per_step=n_out, messages_per_step=msgs)


def _nodes(V, H, I, L, weights, values, dynamic=True):
    """Shared builder: ``weights(name) -> (shape, nnz, synops)``; ``values`` or None;
    ``dynamic``: per-token dynamic int8 BitLinear inputs (the shipped design) or static."""
    out = (lambda k: None) if values is None else values.get  # noqa: E731

    def qnorm(full, n):
        return _absmax_norm(full, n, out(full)) if dynamic else _norm(full, n, fp.ACT_BITS,
                                                                        out(full))

    def syn(full):
        return _synapse(full, *weights(full), out(full), dynamic=dynamic)

    nodes = [Node("embedding", "TokenEmbedding", "host", 0, payload_bits=fp.MSG_BITS,
                  host_bytes=V * H * 3)]
    for li in range(L):
        m, c = f"mlgru{li}.", f"glu{li}."
        for name in MIXER:
            full = m + name
            if name.endswith("_syn"):
                nodes.append(syn(full))
            elif name in ("i_norm", "f_norm", "g_norm_in", "o_norm"):
                nodes.append(qnorm(full, H))
            elif name in ("attn_norm", "g_norm"):
                nodes.append(_norm(full, H, fp.MSG_BITS, out(full)))
            else:
                proc = {"cell": "MLGRUCell", "gate": "SiLUGate", "residual": "ResidualAdd"}
                nodes.append(_neuron(full, proc[name], H, out(full)))
        for name in CHANNEL:
            full = c + name
            if name.endswith("_syn"):
                nodes.append(syn(full))
            elif name == "gate_norm":
                nodes.append(qnorm(full, H))
            elif name == "down_norm":
                nodes.append(qnorm(full, I))
            elif name == "mlp_norm":
                nodes.append(_norm(full, H, fp.MSG_BITS, out(full)))
            else:
                proc, n = {"glu": ("GLU", I), "residual": ("ResidualAdd", H)}[name]
                nodes.append(_neuron(full, proc, n, out(full)))
    nodes.append(_norm("head.norm", H, fp.MSG_BITS, out("head.norm")))
    nodes.append(qnorm("head.lm_head_norm", H))
    nodes.append(syn("head.lm_head_syn"))
    nodes.append(Node("head.readout", "Readout", "host", 0, payload_bits=fp.MSG_BITS,
                      host_bytes=V * 4, messages_per_step=1))
    return nodes


def _trits_by_node(qmodel: dict) -> dict:
    t = {}
    for li, layer in enumerate(qmodel["layers"]):
        for k in "ifgo":
            t[f"mlgru{li}.{k}_syn"] = layer[k]["trits"]
        t[f"glu{li}.gate_syn"] = layer["gate"]["trits"]
        t[f"glu{li}.down_syn"] = layer["down"]["trits"]
    t["head.lm_head_syn"] = qmodel["head"]["lm_head"]["trits"]
    return t


def lm_nodes(qmodel: dict, ids=None) -> list:
    """Nodes of the fine-grained LM for integer model ``qmodel``; with token ids ``ids``
    the activity is measured on them (:func:`trace`), else every input counts (upper bound)."""
    cfg = qmodel["config"]
    trits = _trits_by_node(qmodel)
    values = None if ids is None else trace(qmodel, ids)[1]

    def weights(name):
        w = np.asarray(trits[name])
        nnz = int(np.count_nonzero(w))
        if values is None:
            return w.shape, nnz, float(nnz)
        return w.shape, nnz, synops(w, values[name + ":in"])

    acts = {lin.get("act", "static") for layer in qmodel["layers"] for k, lin in layer.items()
            if isinstance(lin, dict) and "trits" in lin} | {qmodel["head"]["lm_head"].get(
                "act", "static")}
    if not acts <= {"static", "dynamic"} or len(acts) != 1:
        raise ValueError(f"lm_nodes maps the dynamic or the static int8 design, got input "
                         f"quantisers {sorted(acts)}")
    return _nodes(cfg.vocab_size, cfg.hidden_size, cfg.intermediate_size, cfg.num_layers,
                  weights, values, dynamic=acts == {"dynamic"})


def lm_nodes_from_config(cfg, density: float = TERNARY_DENSITY, dynamic: bool = True) -> list:
    """Nodes from shapes only: ``density`` of the weights non-zero, every input non-zero;
    ``dynamic``: the shipped per-token dynamic int8 inputs (else static scales)."""
    from lava_llm import validation as V

    density = V.check_positive("density", density)
    if density > 1:
        raise ValueError(f"density must be in (0, 1], got {density}")
    shapes = {}
    H, I = cfg.hidden_size, cfg.intermediate_size
    for li in range(cfg.num_layers):
        for k in "ifgo":
            shapes[f"mlgru{li}.{k}_syn"] = (H, H)
        shapes[f"glu{li}.gate_syn"] = (2 * I, H)
        shapes[f"glu{li}.down_syn"] = (H, I)
    shapes["head.lm_head_syn"] = (cfg.vocab_size, H)

    def weights(name):
        shp = shapes[name]
        nnz = int(round(density * shp[0] * shp[1]))
        return shp, nnz, float(nnz)

    return _nodes(cfg.vocab_size, H, I, cfg.num_layers, weights, None, dynamic=dynamic)
