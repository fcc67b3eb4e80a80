"""Loihi 2 hardware limits and Intel systems: the parameters of the cost model.

Every number is a parameter of :class:`Loihi2Limits` (override any of them); the defaults and
their sources are listed in ``docs/loihi2_mapping.md``. Numbers marked *uncertain* there are
inferred from published totals, not read from a data sheet: Intel has published no per-core
memory map of Loihi 2.
"""
from __future__ import annotations

import dataclasses

from lava_llm import validation as V


@dataclasses.dataclass(frozen=True)
class Loihi2Limits:
    """Per-chip and per-core limits of Loihi 2 used by the estimate.

    Attributes
    ----------
    cores_per_chip : int
        Neuromorphic cores per chip (128: Intel Loihi 2 technology brief, 2021).
    neurons_per_core : int
        Neurons per core (8192 = 1M neurons per chip / 128 cores, brief; fewer for neuron
        models with more state: an upper bound).
    synaptic_memory_bytes_per_core : int
        Synaptic memory per core (128 KiB; *uncertain*: Loihi 1's published 16 MB / 128 cores,
        consistent with Loihi 2's 120M synapses per chip at 1 bit each).
    max_fan_in : int
        Distinct inputs one neuron may receive from (4096: Loihi 1's axon limit per core,
        Davies et al. 2018; *uncertain* for Loihi 2).
    weight_bits : int
        Bits per stored synaptic weight (8: the library's Loihi-style 8-bit mantissa).
    index_bits : int
        Bits of a sparse synapse's index (16) when sparse storage is smaller than dense.
    max_payload_bits : int
        Widest graded-spike payload the library uses (24; Loihi 2 supports up to 32-bit
        graded spikes, brief).
    """

    cores_per_chip: int = 128
    neurons_per_core: int = 8192
    synaptic_memory_bytes_per_core: int = 128 * 1024
    max_fan_in: int = 4096
    weight_bits: int = 8
    index_bits: int = 16
    max_payload_bits: int = 24

    def __post_init__(self):
        for f in dataclasses.fields(self):
            V.check_int(f.name, getattr(self, f.name), 1)
        V.check_int("weight_bits", self.weight_bits, 1, 32)
        V.check_int("max_payload_bits", self.max_payload_bits, 1, 32)


#: Intel Loihi 2 systems (name, chips), smallest first: Oheo Gulch (one chip, Intel
#: Neuromorphic Research Community), Kapoho Point (8 chips, Intel 2022 announcement),
#: Hala Point (1152 chips, Intel / Sandia 2024 announcement).
SYSTEMS = (("Oheo Gulch", 1), ("Kapoho Point", 8), ("Hala Point", 1152))


def systems_for(chips: int) -> dict:
    """The smallest listed Intel system that holds ``chips`` chips, and how many of each
    system it would take (``None`` when even the largest does not hold it)."""
    chips = int(chips)
    smallest = next((name for name, n in SYSTEMS if chips <= n), None)
    return {"smallest_system": smallest,
            "units_needed": {name: -(-chips // n) for name, n in SYSTEMS}}
