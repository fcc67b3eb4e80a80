"""A ``dimod.Sampler`` over :func:`lava_llm.models.qubo.solve`.

>>> import dimod
>>> from lava_llm.models.qubo import LavaAnnealingSampler
>>> bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {("a", "b"): -2.0}, 0.0, "SPIN")
>>> ss = LavaAnnealingSampler().sample(bqm, num_reads=4, num_sweeps=200, seed=1)
>>> ss.first.energy
-3.0
"""
from __future__ import annotations

import typing as ty

import dimod
import numpy as np

from lava_llm.models.qubo.solver import BACKENDS, solve


class LavaAnnealingSampler(dimod.Sampler):
    """Parallel simulated annealing of lava-llm's ``QuboAnnealer`` as a dimod sampler.

    ``sample(bqm, num_reads=10, num_sweeps=None, seed=None, backend="engine", **kwargs)``
    anneals ``num_reads`` replicas together (one :func:`solve` call; replicas run on numba's
    threads on the engine) and returns each replica's best state as one read, in the BQM's
    own vartype (SPIN models get -1/+1), with energies computed by dimod from the BQM.
    ``num_sweeps`` is the number of time steps (each step every variable may flip; default:
    :func:`solve`'s budget for the problem). Other keyword arguments go to :func:`solve`
    (``schedule``, ``t_start``, ``t_end``, ``restarts``, ``p_wake``, ``ref_bits``, ``strict``,
    ...). ``info`` holds the backend, steps, seconds, the fixed-point scale and the
    quantisation report.
    """

    parameters = {"num_reads": [], "num_sweeps": [], "seed": [], "backend": [],
                  "schedule": [], "t_start": [], "t_end": [], "restarts": [], "p_wake": [],
                  "ref_bits": [], "strict": [], "rel_tol": []}
    properties = {"backends": BACKENDS, "max_num_reads": 4096,
                  "description": "parallel simulated annealing (lava-llm QuboAnnealer)"}

    def __init__(self):
        # dimod expects the two attributes per instance; copy so callers cannot alter the class
        self.parameters = {k: list(v) for k, v in type(self).parameters.items()}
        self.properties = dict(type(self).properties)

    def sample(self, bqm, num_reads: int = 10, num_sweeps: ty.Optional[int] = None,
               seed: ty.Optional[int] = None, backend: str = "engine",
               **kwargs) -> dimod.SampleSet:
        if not isinstance(bqm, dimod.BinaryQuadraticModel):
            raise TypeError(f"bqm must be a dimod.BinaryQuadraticModel, got "
                            f"{type(bqm).__name__}")
        if isinstance(num_reads, bool) or not isinstance(num_reads, (int, np.integer)) or \
                not 1 <= num_reads <= 4096:
            raise ValueError(f"num_reads must be an integer in [1, 4096], got {num_reads!r}")
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**31))
        labels = list(bqm.variables)
        if not labels:  # nothing to anneal: num_reads empty samples at the offset
            return dimod.SampleSet.from_samples_bqm(
                (np.empty((num_reads, 0), dtype=np.int8), []), bqm,
                info={"backend": backend, "steps": 0})
        opts = dict(kwargs)
        if num_sweeps is not None:
            opts["steps"] = num_sweeps
        res = solve(bqm, backend=backend, replicas=int(num_reads), seed=seed, **opts)
        states = res.replica_states
        if bqm.vartype is dimod.SPIN:
            states = 2 * states.astype(np.int8) - 1
        info = {"backend": res.backend, "steps": res.steps, "seconds": res.seconds,
                "scale": res.scale, "seed": seed, "quantization": res.quantization}
        return dimod.SampleSet.from_samples_bqm((states, res.labels), bqm, info=info)
