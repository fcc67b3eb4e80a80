"""A QUBO annealing network (:class:`lava_llm.processes.qubo_annealing.QuboAnnealer`) as
cost-model nodes, one per Process of its fine-grained form (the sub-process model's
``neurons``, ``synapses``, ``readout``): per replica ``N`` annealing neurons (binary state,
24-bit field, 32-bit PRNG state), the coupling synapses ``K`` (8-bit weights, off-diagonal
non-zeros of ``Q + Q^T``) that carry the signed flip spikes, and one cost-integrator neuron
per replica (its ``sum_i x_i (h_i + c_i)`` reduction is counted as ``N`` unit-weight synapses
per replica).

Activity is not measured here: ``synops_per_step`` is the upper bound where every neuron
flips in a step (each flip costs its row's non-zeros); annealing flips a small share of the
neurons per step, so the real count is far lower. There is no fixed step duration.
"""
from __future__ import annotations

import numpy as np

from lava_llm.loihi2.graph import Node


def qubo_nodes(problem, replicas: int = 1) -> list:
    """Nodes of ``problem`` (:class:`lava_llm.models.qubo.problem.QuboProblem`)."""
    from lava_llm import validation as V

    replicas = V.check_int("replicas", replicas, 1)
    J = problem.J.tocsr()
    J.eliminate_zeros()
    n = problem.n
    nnz = int(J.nnz)
    degree = int(np.diff(J.indptr).max(initial=0))
    return [
        Node("neurons", "AnnealingNeurons", "neuron", n * replicas,
             payload_bits=2, neuron_ops_per_step=n * replicas,
             messages_per_step=float(n * replicas)),
        Node("synapses", "CouplingSynapses", "synapse", 0,
             synapses=nnz * replicas, fan_in=degree, dense_weights=n * n * replicas,
             payload_bits=24, synops_per_step=float(nnz * replicas),
             messages_per_step=float(n * replicas)),
        Node("readout", "CostReadout", "neuron", replicas, synapses=n * replicas, fan_in=n,
             dense_weights=n * replicas, payload_bits=24,
             synops_per_step=float(n * replicas), neuron_ops_per_step=replicas,
             messages_per_step=2.0 * replicas),
    ]
