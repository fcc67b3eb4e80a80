"""A Lava-free Loihi 2 cost model: maps a network's fine-grained form (synapse and neuron
Processes) onto Loihi 2 cores and chips and counts its operations per time step.

* :mod:`.hardware`: the limits (:class:`Loihi2Limits`, every number a parameter with its
  source in ``docs/loihi2_mapping.md``) and Intel's systems;
* :mod:`.graph`: :class:`Node` (one Process as a chip sees it) and :func:`map_network` (the
  report: per Process and in total neurons, synapses, synaptic memory, cores, chips, synaptic
  and neuron operations per step, message bits, the N-DNS power proxy, and every limit a
  Process breaks);
* :mod:`.lm`, :mod:`.denoiser`, :mod:`.qubo`: the networks as nodes;
* :mod:`.cli`: ``lava-llm resources``.

Everything here is an estimate; it imports neither Lava nor a network's Lava builder (tested).
"""
from lava_llm.loihi2.graph import Node, map_network, summary, synapse_node
from lava_llm.loihi2.hardware import SYSTEMS, Loihi2Limits, systems_for

__all__ = ["Loihi2Limits", "Node", "SYSTEMS", "map_network", "summary", "synapse_node",
           "systems_for"]
