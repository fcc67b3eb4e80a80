"""Processes as a chip sees them (:class:`Node`) and their mapping onto Loihi 2 cores and chips
(:func:`map_network`). Lava-free: the nodes are built from parameters and shapes.

Mapping rules (an estimate; ``docs/loihi2_mapping.md``):

* every on-chip Process gets its own cores: ``cores = max(ceil(neurons / neurons_per_core),
  ceil(synaptic_memory_bytes / synaptic_memory_bytes_per_core))``; a population larger than a
  core is spread over several cores by output neurons (each neuron keeps all its synapses on
  its core);
* ``synaptic_memory_bytes = min(dense, sparse)``: dense ``n_out * n_in * weight_bits / 8``,
  sparse ``synapses * (weight_bits + index_bits) / 8``;
* a Process that cannot be placed that way is a *violation* (reported with the Process and the
  limit, never split further): a neuron with more inputs than ``max_fan_in``, one neuron's
  synapses larger than a core's synaptic memory, a payload wider than ``max_payload_bits``;
* with ``pack=True`` (``lava-llm resources --pack``) Processes that each need less than one
  core share cores: first-fit decreasing by their larger share of a core's neurons or
  synaptic memory, a core taking Processes while both sums stay within its limits; each such
  row then reports its fractional ``cores`` and the ``core_group`` it shares. Whether a
  Loihi 2 compiler co-locates populations of different Processes this way is an assumption
  (lava-loihi is not public); the default (``pack=False``) gives every Process at least one
  core, an upper bound;
* ``chips = ceil(total cores / cores_per_chip)``; per Process, ``chips`` is its share
  ``cores / cores_per_chip``;
* ``host`` Processes (token lookup, sampling) run on the host or the chip's embedded x86
  cores: listed, not counted in cores;
* ``power_proxy_per_step = synops + 10 * neuron_ops`` (Intel N-DNS challenge), and
  ``power_proxy_per_s`` = that / ``dt_s`` where a time step has a duration.
"""
from __future__ import annotations

import dataclasses
import math

from lava_llm.loihi2.hardware import Loihi2Limits, systems_for

ESTIMATE_NOTE = ("estimate: an analytic mapping of the fine-grained network onto Loihi 2 "
                 "limits (docs/loihi2_mapping.md), not the output of Intel's compiler")


@dataclasses.dataclass
class Node:
    """One Process of the fine-grained network.

    ``neurons``: compartments (a synapse Process's post-synaptic rescale neurons);
    ``synapses``: non-zero weights; ``fan_in``: inputs per neuron; ``dense_weights``: ``n_out
    * n_in`` of a synapse matrix; ``payload_bits``: graded-spike width of its output;
    ``synops_per_step``: weight x non-zero-input products per step; ``neuron_ops_per_step``:
    neuron updates per step; ``messages_per_step``: graded spikes sent per step (non-zero
    outputs); ``kind``: ``synapse``, ``neuron`` or ``host``."""

    name: str
    process: str
    kind: str
    neurons: int
    synapses: int = 0
    fan_in: int = 0
    dense_weights: int = 0
    payload_bits: int = 24
    synops_per_step: float = 0.0
    neuron_ops_per_step: float = 0.0
    messages_per_step: float = 0.0
    host_bytes: int = 0


def synaptic_memory_bytes(node: Node, limits: Loihi2Limits) -> int:
    if node.synapses == 0:
        return 0
    dense = node.dense_weights * limits.weight_bits
    sparse = node.synapses * (limits.weight_bits + limits.index_bits)
    return int(math.ceil(min(dense, sparse) / 8))


def _pack(rows, limits: Loihi2Limits) -> int:
    """First-fit decreasing of the on-chip rows that fit one core; sets their fractional
    ``cores`` and ``core_group``; returns how many shared cores they take."""
    small = [r for r in rows if r["location"] == "neurocores" and r["cores"] <= 1]
    npc, mpc = limits.neurons_per_core, limits.synaptic_memory_bytes_per_core
    for r in small:
        r["cores"] = max(r["neurons"] / npc, r["synaptic_memory_bytes"] / mpc)
    bins: list = []   # [neurons, bytes]
    for r in sorted(small, key=lambda r: -r["cores"]):
        for k, b in enumerate(bins):
            if b[0] + r["neurons"] <= npc and b[1] + r["synaptic_memory_bytes"] <= mpc:
                b[0] += r["neurons"]
                b[1] += r["synaptic_memory_bytes"]
                r["core_group"] = k
                break
        else:
            bins.append([r["neurons"], r["synaptic_memory_bytes"]])
            r["core_group"] = len(bins) - 1
    for r in small:
        r["chips"] = r["cores"] / limits.cores_per_chip
    return len(bins)


def map_network(nodes, limits: Loihi2Limits | None = None, *, dt_s: float | None = None,
                network: str = "", activity: str = "", pack: bool = False) -> dict:
    """The resource report of ``nodes`` on Loihi 2 (see the module docstring)."""
    limits = limits or Loihi2Limits()
    procs, violations = [], []
    keys = ("neurons", "synapses", "synaptic_memory_bytes", "cores", "synops_per_step",
            "neuron_ops_per_step", "message_bits")
    total = dict.fromkeys(keys, 0)
    for n in nodes:
        mem = synaptic_memory_bytes(n, limits)
        on_chip = n.kind != "host"
        cores = 0
        if on_chip:
            cores = max(math.ceil(n.neurons / limits.neurons_per_core),
                        math.ceil(mem / limits.synaptic_memory_bytes_per_core), 1)
            if n.fan_in > limits.max_fan_in:
                violations.append({"process": n.name, "limit": "max_fan_in",
                                   "value": n.fan_in, "allowed": limits.max_fan_in})
            per_neuron = math.ceil(n.fan_in * limits.weight_bits / 8)
            if n.synapses and per_neuron > limits.synaptic_memory_bytes_per_core:
                violations.append({"process": n.name,
                                   "limit": "synaptic_memory_bytes_per_core (one neuron)",
                                   "value": per_neuron,
                                   "allowed": limits.synaptic_memory_bytes_per_core})
            if n.payload_bits > limits.max_payload_bits:
                violations.append({"process": n.name, "limit": "max_payload_bits",
                                   "value": n.payload_bits,
                                   "allowed": limits.max_payload_bits})
        row = {"name": n.name, "process": n.process, "kind": n.kind,
               "location": "neurocores" if on_chip else "host / embedded x86",
               "neurons": int(n.neurons) if on_chip else 0,
               "synapses": int(n.synapses) if on_chip else 0,
               "synaptic_memory_bytes": mem if on_chip else 0,
               "cores": int(cores), "chips": cores / limits.cores_per_chip,
               "synops_per_step": float(n.synops_per_step) if on_chip else 0.0,
               "neuron_ops_per_step": float(n.neuron_ops_per_step) if on_chip else 0.0,
               "payload_bits": int(n.payload_bits),
               "message_bits": float(n.messages_per_step * n.payload_bits)}
        if not on_chip:
            row["host_bytes"] = int(n.host_bytes)
        for k in keys:
            total[k] += row[k]
        procs.append(row)
    if pack:
        shared = _pack(procs, limits)
        total["cores"] = sum(r["cores"] for r in procs if "core_group" not in r) + shared
        total["shared_cores"] = shared
    chips = math.ceil(total["cores"] / limits.cores_per_chip)
    total["chips"] = chips
    total["processes"] = len(procs)
    total["power_proxy_per_step"] = total["synops_per_step"] + 10.0 * total["neuron_ops_per_step"]
    total["power_proxy_per_s"] = (total["power_proxy_per_step"] / dt_s) if dt_s else None
    total["dt_s"] = dt_s
    return {"estimate": True, "note": ESTIMATE_NOTE, "network": network, "activity": activity,
            "packed": bool(pack),
            "limits": dataclasses.asdict(limits), "processes": procs, "total": total,
            "fits": not violations, "violations": violations, **systems_for(chips)}


def synapse_node(name: str, weights, inputs=None) -> Node:
    """A TernaryDense-like synapse Process (its rescale neurons included) for ``weights``
    (out, in); ``inputs`` (steps, in) measures the synaptic operations (else every input
    counts)."""
    import numpy as np

    w = np.asarray(weights)
    col = (w != 0).sum(axis=0)
    nnz = int(col.sum())
    syn = float(nnz) if inputs is None else float(
        ((np.asarray(inputs) != 0) @ col).sum() / max(np.shape(inputs)[0], 1))
    return Node(name, "TernaryDense", "synapse", w.shape[0], synapses=nnz, fan_in=w.shape[1],
                dense_weights=w.size, synops_per_step=syn, neuron_ops_per_step=w.shape[0],
                messages_per_step=w.shape[0])


def summary(report: dict, top: int = 5) -> str:
    """A few lines of text for a report of :func:`map_network`."""
    t = report["total"]
    per_s = t.get("power_proxy_per_s")
    lines = [f"{report['network'] or 'network'}: {t['processes']} Processes "
             f"({report['note']})",
             f"  neurons {t['neurons']:,}, synapses {t['synapses']:,}, synaptic memory "
             f"{t['synaptic_memory_bytes']:,} B, cores {t['cores']:,}, chips {t['chips']} "
             f"(smallest system: {report['smallest_system']})",
             f"  per step: {t['synops_per_step']:,.0f} synops, {t['neuron_ops_per_step']:,.0f} "
             f"neuron ops, power proxy {t['power_proxy_per_step']:,.0f}"
             + (f" ({per_s:,.0f} per s)" if per_s else "")]
    if report["violations"]:
        lines.append(f"  does NOT fit: {report['violations'][:3]}")
    big = sorted(report["processes"], key=lambda r: -r["cores"])[:top]
    lines.append("  most cores: " + ", ".join(f"{r['name']} {r['cores']:.3g}" for r in big)
                 + (f" ({t['shared_cores']} shared)" if report.get("packed") else ""))
    return "\n".join(lines)
