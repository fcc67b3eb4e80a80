"""``lava-llm solve``: solve a QUBO / Max-Cut problem from a file.

    lava-llm solve --gset G1.txt --steps 2000 --backend engine --json
    lava-llm solve --qubo q.npy --backend sim-fixed --steps 200
    lava-llm solve --maxcut-edges edges.txt --backend sim-float

prints ``{"best_cost", "cut" (Max-Cut only), "assignment", "seconds", "steps"}`` (Lava
backends add ``granularity`` and ``leaf_processes``: 1 fused, 3 fine).
"""
from __future__ import annotations

import sys
import warnings

HELP = "solve a QUBO or Max-Cut problem by parallel simulated annealing"
BACKENDS = ("engine", "sim-float", "sim-fixed", "loihi2")


def add_arguments(parser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--gset", metavar="FILE", help="rudy/Gset Max-Cut file ('n m', then 'i j w')")
    src.add_argument("--qubo", metavar="FILE.npy", help="dense QUBO matrix saved by numpy.save "
                     "(symmetric or upper triangular; minimise x^T Q x)")
    src.add_argument("--maxcut-edges", metavar="FILE",
                     help="Max-Cut edge list, one 'i j [w]' per line, 0-based ids")
    parser.add_argument("--steps", type=int, default=None,
                        help="annealing steps (default: from the problem's size and graph, "
                             "schedule.default_budget)")
    parser.add_argument("--replicas", type=int, default=None,
                        help="replicas annealed in parallel on threads (default 4)")
    parser.add_argument("--schedule", default="geometric", choices=["geometric", "linear"])
    parser.add_argument("--restarts", type=int, default=0, help="re-heats within --steps")
    parser.add_argument("--granularity", choices=("fused", "fine"), default="fused",
                        help="Lava form of the solver: fused (one leaf, default) or fine "
                             "(annealing neurons, coupling synapses, cost readout); Lava "
                             "backends only")
    parser.add_argument("--strict", action="store_true",
                        help="fixed-point backends: refuse (exit 2) a Q whose quantisation "
                             "rounds a non-zero coefficient to 0 or changes one by more than "
                             "--rel-tol of its value (default: run, with a warning on stderr)")
    parser.add_argument("--rel-tol", type=float, default=None,
                        help="relative precision --strict demands of every coefficient "
                             "(default 0.05)")


def run(args) -> dict:
    from lava_llm.models.qubo import problem as P
    from lava_llm.models.qubo.solver import QuantizationWarning, solve

    if args.gset:
        prob = P.read_gset(args.gset)
    elif args.qubo:
        prob = P.read_qubo_npy(args.qubo)
    else:
        prob = P.read_edges(args.maxcut_edges)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuantizationWarning)
        res = solve(prob, backend=args.backend, steps=args.steps, replicas=args.replicas,
                    seed=args.seed, schedule=args.schedule, restarts=args.restarts,
                    progress=args.backend == "engine", strict=args.strict,
                    rel_tol=args.rel_tol, granularity=getattr(args, "granularity", "fused"))
    for w in caught:
        if issubclass(w.category, QuantizationWarning):
            print(f"lava-llm solve: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    out = {"best_cost": res.best_cost}
    if res.cut is not None:
        out["cut"] = res.cut
    out.update(assignment=res.assignment.tolist(), seconds=round(res.seconds, 4),
               steps=res.steps, backend=res.backend, replicas=res.replicas, n=prob.n)
    if res.leaf_processes is not None:
        out.update(granularity=getattr(args, "granularity", "fused"),
                   leaf_processes=int(res.leaf_processes))
    if res.quantization is not None:
        q = res.quantization
        out["quantization"] = {k: q[k] for k in ("scale", "exact", "zeroed", "imprecise",
                                                 "total", "max_rel_error", "rel_tol")}
    return out
