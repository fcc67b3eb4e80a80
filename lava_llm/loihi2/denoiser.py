"""The sparse S5 denoiser as cost-model nodes: one node per Process of its fine-grained form
(:class:`~lava_llm.processes.ssm_diagonal.SSMDiagonal`'s sub-process model, populations from
:func:`lava_llm.processes.ssm_diagonal.fine_kernels.fine_layout`), with the same names::

    enc (SparseSynapse) -> x (BiasNeuron)
    per layer l: b{l} (SparseSynapse, B re/im) -> state{l} (S5StateNeuron, 2P compartments)
                 -> c{l} (SparseSynapse, [C_re, -C_im]) and d{l} (SparseSynapse, diagonal D)
                 -> y{l} (S5OutputNeuron) -> w{l} (SparseSynapse) -> gate{l} (S5GateNeuron)
    dec (SparseSynapse) -> mask (BiasNeuron)

Synaptic operations per step are those of
:func:`lava_llm.processes.ssm_diagonal.kernels.op_counts` on the same frames (each weight
product of the integer engine, split by layer), so the totals equal that function's ``synops``
and ``neuron_ops``. A synapse Process holds no neurons of its own here (its messages go to the
next neuron Process's dendrites). One time step is one STFT hop
(:data:`lava_llm.audio.HOP_SECONDS`).
"""
from __future__ import annotations

import numpy as np

from lava_llm.loihi2.graph import Node
from lava_llm.processes.ssm_diagonal import kernels as sk

_PROCESS = {"synapse": "SparseSynapse", "bias": "BiasNeuron", "state": "S5StateNeuron",
            "output": "S5OutputNeuron", "gate": "S5GateNeuron"}


def _synops_by_process(net: sk.Net, feats_q) -> dict:
    """Mean non-zero-input synaptic operations per step of each fine synapse Process, from
    the integer engine's own trace of its weight products (layer by layer, in order)."""
    trace: list = []
    sk.int_run(net, feats_q, trace=trace)
    T = max(len(feats_q), 1)
    out: dict = {}
    layer = -1
    for name, mat, inp in trace:
        if name == "b_re":
            layer += 1
        mat = mat.tocsc(copy=True)
        mat.eliminate_zeros()
        n = float(((np.asarray(inp) != 0) @ np.diff(mat.indptr)).sum()) / T
        key = name if name in ("enc", "dec") else f"{name.split('_')[0]}{layer}"
        out[key] = out.get(key, 0.0) + n
    return out


def denoiser_nodes(params: dict, feats_q) -> tuple[list, dict]:
    """``(nodes, op_counts)`` of the denoiser ``params`` on 16-bit frames ``feats_q``."""
    from lava_llm.processes.ssm_diagonal import fine_kernels as fk

    net = sk.Net(params, "q")
    ops = sk.op_counts(net, feats_q)
    syn = _synops_by_process(net, feats_q)
    nodes = []
    for name, spec in fk.fine_layout(params):
        kind = spec["kind"]
        if kind == "synapse":
            n_out, n_in = spec["shape"]
            w = np.asarray(spec["weights"])
            nnz = int(np.count_nonzero(w))
            fan_in = int(np.diff(spec["indptr"]).max(initial=0))
            nodes.append(Node(name, _PROCESS[kind], "synapse", 0, synapses=nnz,
                              fan_in=fan_in, dense_weights=n_out * n_in,
                              payload_bits=sk.MSG_BITS, synops_per_step=syn.get(name, 0.0),
                              messages_per_step=n_out))
        else:
            # compartments: 2 per complex state; 2 per gate channel (sigmoid gate, product
            # and residual), as in kernels.neuron_ops
            n = (2 * np.size(spec["lam_re"]) if kind == "state" else
                 (2 if kind == "gate" else 1) * np.size(spec["bias"]))
            bits = sk.STATE_BITS if kind == "state" else sk.ACT_BITS
            nodes.append(Node(name, _PROCESS[kind], "neuron", int(n), payload_bits=bits,
                              neuron_ops_per_step=float(n), messages_per_step=float(n)))
    return nodes, dict(ops, frames=max(len(feats_q), 1))
