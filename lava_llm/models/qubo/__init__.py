"""QUBO solving by parallel simulated annealing on Lava (after Pierro et al. 2024).

>>> from lava_llm.models.qubo import maxcut, solve
>>> res = solve(maxcut(4, [(0, 1), (1, 2), (2, 3), (3, 0)]), steps=200)
>>> res.cut
4.0
"""
from lava_llm.models.qubo.problem import (QuboProblem, from_bqm, from_matrix, maxcut, mis,
                                          read_edges, read_gset, read_qubo_npy, to_bqm)
from lava_llm.models.qubo.schedule import default_dynamics, default_range, temperatures
from lava_llm.models.qubo.solver import BACKENDS, SolveResult, solve



def __getattr__(name):
    # dimod and the adapter load on first use (``import lava_llm.models.qubo`` stays light)
    if name == "LavaAnnealingSampler":
        from lava_llm.models.qubo.dimod_sampler import LavaAnnealingSampler

        return LavaAnnealingSampler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LavaAnnealingSampler", "QuboProblem", "from_bqm", "from_matrix", "maxcut", "mis", "read_edges",
           "read_gset", "read_qubo_npy", "to_bqm", "default_dynamics", "default_range",
           "temperatures", "BACKENDS", "SolveResult", "solve"]
