"""The sparse S5 denoiser as cost-model nodes.

The denoiser runs as one Lava leaf today (no fine-grained form yet); the nodes are the
synapse and neuron populations its fixed-point dynamics
(:mod:`lava_llm.processes.ssm_diagonal.kernels`) would occupy on a chip, all layers of one
kind together::

    encoder (E, synapses) -> x neurons (H)
    per layer: B re/im (synapses) -> state neurons (2P) -> C re/im (synapses) and D (diagonal)
               -> y neurons (H, ReLU) -> W (synapses) -> gate neurons (2H: sigmoid gate,
               residual x)
    decoder (G, synapses) -> mask neurons (F)

Synaptic operations and neuron updates per step are those of
:func:`lava_llm.processes.ssm_diagonal.kernels.op_counts` on the same frames (per matrix:
``synops_by_matrix``), so the totals equal that function's ``synops`` and ``neuron_ops``.
One time step is one STFT hop (:data:`lava_llm.audio.HOP_SECONDS`).
"""
from __future__ import annotations

import numpy as np

from lava_llm.loihi2.graph import Node
from lava_llm.processes.ssm_diagonal import kernels as sk


def denoiser_nodes(params: dict, feats_q) -> tuple[list, dict]:
    """``(nodes, op_counts)`` of the denoiser ``params`` on 16-bit frames ``feats_q``."""
    net = sk.Net(params, "q")
    ops = sk.op_counts(net, feats_q)
    per = ops["synops_by_matrix"]
    L, P, H, F = net.L, net.P, net.H, net.F
    nnz = sk.nnz(params)
    T = max(len(feats_q), 1)
    act, state_bits = sk.ACT_BITS, sk.STATE_BITS
    nodes = [
        Node("encoder", "SparseSynapse", "synapse", 0, synapses=nnz["enc"], fan_in=F,
             dense_weights=H * F, payload_bits=act, synops_per_step=per.get("enc", 0.0)),
        Node("x", "neuron (encoder output)", "neuron", H, payload_bits=act,
             neuron_ops_per_step=H, messages_per_step=H),
        Node("b", "SparseSynapse (re, im)", "synapse", 0, synapses=2 * nnz["b"], fan_in=H,
             dense_weights=2 * L * P * H, payload_bits=state_bits,
             synops_per_step=per.get("b_re", 0.0) + per.get("b_im", 0.0)),
        Node("state", "S5 diagonal state neurons (re, im)", "neuron", 2 * L * P,
             payload_bits=state_bits, neuron_ops_per_step=2 * L * P,
             messages_per_step=2 * L * P),
        Node("c", "SparseSynapse (re, im)", "synapse", 0, synapses=2 * nnz["c"], fan_in=P,
             dense_weights=2 * L * H * P, payload_bits=act,
             synops_per_step=per.get("c_re", 0.0) + per.get("c_im", 0.0)),
        Node("d", "diagonal synapse", "synapse", 0,
             synapses=int(np.count_nonzero(np.asarray(params["q_d"]))), fan_in=1,
             dense_weights=L * H, payload_bits=act, synops_per_step=per.get("d", 0.0)),
        Node("y", "neuron (S5 output, ReLU)", "neuron", L * H, payload_bits=act,
             neuron_ops_per_step=L * H, messages_per_step=L * H),
        Node("w", "SparseSynapse", "synapse", 0, synapses=nnz["w"], fan_in=H,
             dense_weights=L * H * H, payload_bits=act, synops_per_step=per.get("w", 0.0)),
        Node("gate", "neuron (sigmoid gate, residual)", "neuron", 2 * L * H,
             payload_bits=act, neuron_ops_per_step=2 * L * H, messages_per_step=L * H),
        Node("decoder", "SparseSynapse", "synapse", 0, synapses=nnz["dec"], fan_in=H,
             dense_weights=F * H, payload_bits=act, synops_per_step=per.get("dec", 0.0)),
        Node("mask", "neuron (mask output)", "neuron", F, payload_bits=act,
             neuron_ops_per_step=F, messages_per_step=F),
    ]
    ops = dict(ops, frames=T)
    return nodes, ops
