"""QUBO annealing on every Gset Max-Cut instance against dwave-samplers SA and Tabu and
simulated-bifurcation, parallel-replica speed-up, Lava sim-fixed time per step, and Maximum
Independent Set against greedy and exact references.

Tables (``benchmarks/results/qubo_*.{json,md}``):

``qubo_gset``
    One row per instance: its class (read off the graph: toroidal = every degree 4,
    planar = max degree > 8 x mean, else random; +1 or +-1 weights), what the engine's
    **default call** ``solve(problem, seed=s)`` (default budget: ``schedule.default_budget``)
    reaches (median cut over ``--seeds`` seeds, as % of the best known, and its CPU seconds),
    the time to 99.5% of the best known for the engine (1 replica) and dwave
    ``SimulatedAnnealingSampler`` (``num_reads=1``), Tabu's and simulated bifurcation's cuts.
    *Time to reach* 99.5%: each solver climbs a ladder of budgets (engine steps, SA sweeps,
    Tabu timeout) with ``--seeds`` seeds each; the time is the median CPU time of the
    smallest budget whose median cut reaches it (``-``: never within the ladder). It covers
    the solver call on a pre-built problem (our ``QuboProblem``, dimod's BQM), including each
    library's own conversion. Simulated bifurcation (``simulated_bifurcation.minimize``, dense
    torch matrix, 8 agents, 1000 steps, one call) runs on instances up to ``--sb-max-n``
    vertices (its dense N x N matrix makes larger ones slow).
``qubo_gset_classes``
    The same rows summarised per class.
``qubo_gset_targets``
    The issue's two targets: default call >= 99.5% on every instance, and faster than SA to
    99.5% on at least 80% of them.
``qubo_replicas``
    8 replicas on numba threads against the same 8 sequentially: wall and CPU time, and
    whether the results are identical.
``qubo_lava``
    Lava ``sim-fixed`` (one fused leaf) on an 800-node Gset graph: cut, compile/start time,
    time per step, and whether its best state equals the engine's.
``qubo_mis``
    Maximum Independent Set on G(n, p) random graphs: feasibility rate of the annealer's
    best state (no repair), mean set size against a min-degree greedy and the exact maximum.

Run: ``python -m benchmarks.qubo_gset`` (quick subset, a few minutes) or ``--full`` (all
instances in ``../shared/data/gset``; ``--workers N`` spreads them over N processes of the one run;
the 5000-10000-node graphs take most of the time: with ``--workers 2`` on the 2-core
machine a complete run took 25 minutes, 2874 CPU s). Needs the data.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # single thread, like dwave-samplers

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GSET = Path(os.environ.get("LAVA_LLM_DATA", ROOT.parent / "shared" / "data")) / "gset"
QUICK = ("G1", "G6", "G11", "G14", "G18", "G48")
ENGINE_LADDER = (250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 65536, 131072, 262144)
SA_LADDER = (50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 102400)
#: a ladder stops before a rung expected (2x the last rung's median CPU) to cost more than this
#: many CPU seconds per call; the same rule for every solver (bounds the run on the largest
#: instances, where a solver that does not reach 99.5% would climb every rung)
RUNG_CPU_MAX = 20.0
#: dwave's TabuSampler takes far longer than its timeout on the largest graphs (one G70
#: instance, 10000 nodes, cost a worker minutes of CPU across the three 20-500 ms rungs, for a
#: 52% cut), so Tabu runs up to this many vertices, like simulated bifurcation
TABU_MAX_N = 3000
TABU_LADDER_MS = (20, 100, 500)
TARGETS = (0.99, 0.995)
CLASSES = [(c, s) for c in ("random", "planar", "toroidal") for s in ("+1", "+-1")]


def best_known() -> dict:
    with open(GSET / "best_known.csv") as f:
        return {r["instance"]: int(r["best_known_cut"]) for r in csv.DictReader(f)}


def all_instances() -> tuple:
    return tuple(n for n in best_known() if (GSET / f"{n}.txt").is_file())


def graph_class(prob) -> tuple[str, str]:
    """(structure, weights) read off the graph: ``toroidal`` when every degree is 4,
    ``planar`` when the largest degree exceeds 8x the mean (the Gset planar generator's hubs),
    else ``random``; ``+1`` when every weight is positive, else ``+-1``."""
    deg = np.bincount(prob.edges.ravel(), minlength=prob.n)
    if deg.min() == deg.max() == 4:
        struct = "toroidal"
    elif deg.max() > 8 * deg.mean():
        struct = "planar"
    else:
        struct = "random"
    return struct, "+1" if np.all(prob.weights > 0) else "+-1"


def timed(fn):
    """``(fn(), cpu seconds, wall seconds)`` of this process (the solvers are single-threaded,
    so CPU time is what they cost, and it is far less disturbed by other jobs than wall time)."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def ladder(run, budgets, seeds, target_cuts, rung_cpu_max=RUNG_CPU_MAX):
    """Run ``run(budget, seed) -> (cut, cpu seconds, wall seconds)`` up the ladder until every
    target's median is reached, or the next rung would cost more than ``rung_cpu_max`` CPU
    seconds per call (twice the last rung's median). Returns best cut, {target: (median CPU
    seconds, budget) or None}, runs."""
    reached = {t: None for t in target_cuts}
    best, runs = -np.inf, []
    for b in budgets:
        if runs and 2 * float(np.median(runs[-1]["cpu_seconds"])) > rung_cpu_max:
            break
        out = []
        for s in range(seeds):
            out.append(run(b, s))
            if _decided([c for c, _, _ in out], seeds, [thr for t, thr in
                                                        target_cuts.items() if reached[t] is None]):
                break
        cuts, secs, walls = zip(*out)
        runs.append({"budget": b, "cuts": list(cuts), "cpu_seconds": list(secs),
                     "wall_seconds": list(walls)})
        best = max(best, max(cuts))
        med = float(np.median(cuts))
        for t, thr in target_cuts.items():
            if reached[t] is None and med >= thr:
                reached[t] = (float(np.median(secs)), b)
        if all(v is not None for v in reached.values()):
            break
    return best, reached, runs


def _decided(cuts, seeds, thresholds):
    """Whether the median of ``seeds`` cuts is already decided, for every threshold, by the
    ``cuts`` run so far (odd ``seeds``: once ``seeds // 2 + 1`` of them lie on one side of each
    threshold, the rest cannot move the median across it), so the ladder skips the remaining
    seeds of this rung."""
    if len(cuts) >= seeds:
        return True
    if seeds % 2 == 0:
        return False
    need = seeds // 2 + 1
    return all(sum(c >= thr for c in cuts) >= need or sum(c < thr for c in cuts) >= need
               for thr in thresholds)


def _instance(name, seeds, use_tabu, sb_max_n, rung_cpu_max):
    """One instance's row (a worker's task; spawned workers import this module fresh)."""
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(v, "1")
    rows, detail = gset_rows([name], seeds, use_tabu, sb_max_n, rung_cpu_max)
    return rows[0], detail


def gset_rows_parallel(names, seeds, use_tabu, sb_max_n, rung_cpu_max, workers):
    """:func:`gset_rows` over ``workers`` processes of this one run, largest instances first
    (each call's CPU time is measured inside its own process); rows in instance order."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    sizes = {r["instance"]: int(r["n"]) * 10**6 + int(r["m"])
             for r in csv.DictReader(open(GSET / "best_known.csv"))}
    order = sorted(names, key=lambda n: -sizes.get(n, 0))
    rows, detail = {}, {}
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as ex:
        futs = [ex.submit(_instance, n, seeds, use_tabu, sb_max_n, rung_cpu_max)
                for n in order]
        for f in as_completed(futs):
            row, det = f.result()
            rows[row["instance"]] = row
            detail.update(det)
            print(row, flush=True)
    return [rows[n] for n in names], detail


def sb_cut(prob, seed):
    """simulated-bifurcation on the dense Max-Cut Ising matrix (minimise s^T W s)."""
    import simulated_bifurcation as sb
    import torch

    torch.manual_seed(seed)
    w = np.zeros((prob.n, prob.n), dtype=np.float32)
    w[prob.edges[:, 0], prob.edges[:, 1]] = prob.weights
    w += w.T
    spins, _ = sb.minimize(torch.from_numpy(w), domain="spin", agents=8, max_steps=1000,
                           verbose=False, best_only=True)
    return prob.cut((spins.numpy() > 0).astype(np.int8))


def gset_rows(names, seeds, use_tabu, sb_max_n, rung_cpu_max=RUNG_CPU_MAX,
              tabu_max_n=TABU_MAX_N):
    import warnings

    import torch
    from dwave.samplers import SimulatedAnnealingSampler, TabuSampler

    from lava_llm.models import qubo

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", module="simulated_bifurcation")
    bk = best_known()
    sa, tabu = SimulatedAnnealingSampler(), TabuSampler()
    rows, detail = [], {}
    # warm-up, untimed: load each solver's compiled code once (numba's cached kernels, the
    # colouring, dwave's extension modules), as a long-running user process would have
    warm = qubo.read_gset(GSET / f"{names[0]}.txt")
    qubo.solve(warm, steps=10, replicas=1)
    qubo.solve(qubo.read_gset(GSET / "G11.txt") if (GSET / "G11.txt").is_file() else warm,
               steps=10, replicas=2)
    sa.sample(qubo.to_bqm(warm), num_reads=1, num_sweeps=10)
    tabu.sample(qubo.to_bqm(warm), num_reads=1, timeout=10)
    for name in names:
        c_inst = time.process_time()
        prob = qubo.read_gset(GSET / f"{name}.txt")
        bqm = qubo.to_bqm(prob)
        struct, signs = graph_class(prob)
        target_cuts = {t: t * bk[name] for t in TARGETS}
        moves = qubo.schedule.default_moves(prob)
        d_steps, d_reps = qubo.schedule.default_budget(prob, moves)

        def as_x(ss):
            # the lowest-energy row of the record, in variable order (not ``ss.first.sample[i]``
            # per variable: ``first`` re-packs the whole sample set on every access, O(N^2) per
            # call, which cost minutes per call on the 10000-node graphs, outside the timing)
            row = ss.record.sample[int(np.argmin(ss.record.energy))]
            return row[[ss.variables.index(i) for i in range(prob.n)]]

        def run_default(seed):
            res, cpu, wall = timed(lambda: qubo.solve(prob, seed=seed))
            return res.cut, cpu, wall

        def run_engine(steps, seed):
            res, cpu, wall = timed(lambda: qubo.solve(prob, steps=steps, replicas=1,
                                                      seed=seed))
            return res.cut, cpu, wall

        def run_sa(sweeps, seed):
            ss, cpu, wall = timed(lambda: sa.sample(bqm, num_reads=1, num_sweeps=sweeps,
                                                    seed=seed + 1))
            return prob.cut(as_x(ss)), cpu, wall

        def run_tabu(ms, seed):
            ss, cpu, wall = timed(lambda: tabu.sample(bqm, num_reads=1, timeout=ms,
                                                      seed=seed + 1))
            return prob.cut(as_x(ss)), cpu, wall

        d_cuts, d_cpu, d_wall = zip(*(run_default(s) for s in range(seeds)))
        row = {"instance": name, "class": f"{struct} {signs}", "n": prob.n,
               "best_known": bk[name], "moves": moves["rule"],
               "default budget": f"{d_steps}x{d_reps}",
               "default median %": round(100 * float(np.median(d_cuts)) / bk[name], 2),
               "default cpu_s": round(float(np.median(d_cpu)), 3)}
        detail[f"{name}/default"] = {"cuts": list(d_cuts), "cpu_seconds": list(d_cpu),
                                     "wall_seconds": list(d_wall)}
        solvers = [("engine", run_engine, ENGINE_LADDER, "steps"),
                   ("SA", run_sa, SA_LADDER, "sweeps")]
        if use_tabu and prob.n <= tabu_max_n:
            solvers.append(("Tabu", run_tabu, TABU_LADDER_MS, "ms"))
        else:
            row["Tabu t99.5% cpu_s"] = row["Tabu best %"] = "-"
        for label, fn, budgets, unit in solvers:
            best, reached, runs = ladder(fn, budgets, seeds, target_cuts, rung_cpu_max)
            r = reached[0.995]
            row[f"{label} t99.5% cpu_s"] = round(r[0], 3) if r else "-"
            if label != "engine":
                row[f"{label} best %"] = round(100 * best / bk[name], 2)
            detail[f"{name}/{label}"] = {"runs": runs, "reached": {
                str(t): (None if v is None else {"cpu_seconds": v[0], f"budget_{unit}": v[1]})
                for t, v in reached.items()}}
        te, ts = row["engine t99.5% cpu_s"], row["SA t99.5% cpu_s"]
        row["engine faster than SA"] = "yes" if te != "-" and (ts == "-" or te < ts) else "no"
        if prob.n <= sb_max_n:
            cut, cpu, wall = timed(lambda: sb_cut(prob, 0))
            row["SB %"] = round(100 * cut / bk[name], 2)
            row["SB cpu_s"] = round(cpu, 3)
        else:
            row["SB %"] = row["SB cpu_s"] = "-"
        detail[f"{name}/benchmark_cpu_seconds"] = time.process_time() - c_inst
        rows.append(row)
        print(row, flush=True)
    return rows, detail


def class_rows(rows):
    """Per-class summary of the ``qubo_gset`` rows."""
    out = []
    for struct, signs in CLASSES:
        rs = [r for r in rows if r["class"] == f"{struct} {signs}"]
        if not rs:
            continue
        med = [r["default median %"] for r in rs]
        sbs = [r["SB %"] for r in rs if r["SB %"] != "-"]
        tabus = [r["Tabu best %"] for r in rs if r.get("Tabu best %", "-") != "-"]
        out.append({
            "class": f"{struct} {signs}", "instances": len(rs),
            "default >= 99.5%": sum(m >= 99.5 for m in med),
            "default median % (min / median)": f"{min(med):.2f} / {np.median(med):.2f}",
            "engine reaches 99.5%": sum(r["engine t99.5% cpu_s"] != "-" for r in rs),
            "SA reaches 99.5%": sum(r["SA t99.5% cpu_s"] != "-" for r in rs),
            "engine faster than SA": sum(r["engine faster than SA"] == "yes" for r in rs),
            "SA best % (median)": round(float(np.median([r["SA best %"] for r in rs])), 2),
            "Tabu best % (median)": (round(float(np.median(tabus)), 2) if tabus else "-"),
            "SB % (median)": round(float(np.median(sbs)), 2) if sbs else "-"})
    return out


def target_rows(rows):
    n = len(rows)
    ok = [r for r in rows if r["default median %"] >= 99.5]
    fast = [r for r in rows if r["engine faster than SA"] == "yes"]
    miss = ", ".join(f"{r['instance']} {r['default median %']}%" for r in rows
                     if r["default median %"] < 99.5) or "none"
    slow = ", ".join(r["instance"] for r in rows if r["engine faster than SA"] != "yes") or "none"
    done = {r["instance"] for r in rows}
    missing = [m for m in all_instances() if m not in done]
    return [{"target": "instances measured (of those in the data)",
             "result": f"{n} of {n + len(missing)}", "met": "yes" if not missing else "no",
             "where not": ", ".join(missing) or "none"},
            {"target": "default call median >= 99.5% of best known on every instance",
             "result": f"{len(ok)} of {n}", "met": "yes" if len(ok) == n else "no",
             "where not": miss},
            {"target": "reaches 99.5% in less CPU time than dwave SA on >= 80%",
             "result": f"{len(fast)} of {n} ({100 * len(fast) / max(n, 1):.0f}%)",
             "met": "yes" if len(fast) >= 0.8 * n else "no", "where not": slow}]


def replica_rows(names, steps, replicas):
    """Wall and CPU time of ``replicas`` replicas on threads vs sequentially (same result)."""
    from lava_llm.models import qubo

    out = []
    for name in names:
        prob = qubo.read_gset(GSET / f"{name}.txt")
        res = {}
        for par in (False, True, False, True):     # interleaved, the second pair is kept
            res[par] = timed(lambda: qubo.solve(prob, steps=steps, replicas=replicas, seed=0,
                                                parallel=par))
        (a, ca, wa), (b, cb, wb) = res[False], res[True]
        same = bool(np.array_equal(a.replica_states, b.replica_states)
                    and np.array_equal(a.cost_trace, b.cost_trace))
        out.append({"instance": name, "n": prob.n, "steps": steps, "replicas": replicas,
                    "threads": _threads(), "sequential wall_s": round(wa, 3),
                    "parallel wall_s": round(wb, 3), "speed-up (wall)": round(wa / wb, 2),
                    "sequential cpu_s": round(ca, 3), "parallel cpu_s": round(cb, 3),
                    "identical results": same})
        print(out[-1], flush=True)
    return out


def merge_parts(parts):
    """Rows (and ladders) from ``--rows-out`` files or from the rows a run printed, in
    instance order, each instance once."""
    import ast

    rows, detail = {}, {}
    for part in parts:
        text = Path(part).read_text()
        if part.endswith(".json"):
            data = json.loads(text)
            rows.update({r["instance"]: r for r in data["rows"]})
            detail.update(data["ladders"])
        else:
            for line in text.splitlines():
                if line.startswith("{'instance'"):
                    r = ast.literal_eval(line)
                    rows[r["instance"]] = r
    order = {n: k for k, n in enumerate(best_known())}
    return sorted(rows.values(), key=lambda r: order[r["instance"]]), detail


def _threads():
    import numba

    return numba.get_num_threads()


def lava_rows(name, steps, replicas):
    from lava.proc.io.sink import RingBuffer

    from lava_llm.models import qubo
    from lava_llm.processes.qubo_annealing import QuboAnnealer
    from lava_llm.run import lava_session, run_config

    bk = best_known()
    prob = qubo.read_gset(GSET / f"{name}.txt")
    hot, cold = qubo.default_range(prob)
    temps = qubo.temperatures(steps, hot, cold)
    t0 = time.perf_counter()
    moves = qubo.schedule.default_moves(prob)
    proc = QuboAnnealer(q=prob.q, temperatures=temps, replicas=replicas, seed=0,
                        p_wake=moves["p_wake"], ref_bits=moves["ref_bits"],
                        colour=moves["colour"])
    sink = RingBuffer(shape=(replicas, 2), buffer=steps)      # two 24-bit cost words
    proc.a_out.connect(sink.a_in)
    with lava_session(proc, run_config("sim-fixed")) as s:
        s.run(1)
        t_start = time.perf_counter() - t0
        t1 = time.perf_counter()
        s.run(steps - 1)
        t_run = time.perf_counter() - t1
        best_x = proc.best_x.get().astype(np.int8)
    energies = prob.energy(best_x.astype(float))
    cut = prob.cut(best_x[int(np.argmin(energies))])
    eng = qubo.solve(prob, steps=steps, replicas=replicas, seed=0, schedule=temps)
    row = {"instance": name, "n": prob.n, "moves": moves["rule"], "backend": "sim-fixed",
           "steps": steps,
           "replicas": replicas, "cut": int(cut), "%_of_best": round(100 * cut / bk[name], 3),
           "compile+first step_s": round(t_start, 3),
           "ms_per_step": round(1000 * t_run / (steps - 1), 3),
           "engine_ms_per_step": round(1000 * eng.seconds / steps, 3),
           "same best as engine": bool(eng.cut == cut)}
    print(row, flush=True)
    return [row]


def greedy_mis(n, edges):
    adj = [set() for _ in range(n)]
    for i, j in edges:
        adj[i].add(j)
        adj[j].add(i)
    alive, size = set(range(n)), 0
    while alive:
        v = min(alive, key=lambda u: (len(adj[u] & alive), u))
        size += 1
        alive -= adj[v] | {v}
    return size


def exact_mis(n, edges):
    import networkx as nx

    g = nx.empty_graph(n)
    g.add_edges_from(map(tuple, edges))
    g = nx.complement(g)
    return len(nx.algorithms.clique.max_weight_clique(g, weight=None)[0])


def mis_rows(configs, graphs, steps, replicas):
    from lava_llm.models import qubo

    rows = []
    for n, p in configs:
        feas, ours, greedy, exact, hit = [], [], [], [], []
        t_ours = t_exact = 0.0
        for g in range(graphs):
            rng = np.random.default_rng(1000 * n + g)
            iu = np.triu_indices(n, 1)
            mask = rng.random(len(iu[0])) < p
            edges = np.stack([iu[0][mask], iu[1][mask]], 1)
            prob = qubo.mis(n, edges)
            res = qubo.solve(prob, steps=steps, replicas=replicas, seed=g)
            t_ours += res.seconds
            size = int(res.assignment.sum())
            feas.append(bool(res.feasible))
            ours.append(size if res.feasible else 0)
            greedy.append(greedy_mis(n, edges))
            t0 = time.perf_counter()
            exact.append(exact_mis(n, edges))
            t_exact += time.perf_counter() - t0
            hit.append(res.feasible and size == exact[-1])
        rows.append({"n": n, "p": p, "graphs": graphs, "steps": steps, "replicas": replicas,
                     "feasible_rate": float(np.mean(feas)),
                     "mean_size_ours": float(np.mean(ours)),
                     "mean_size_greedy": float(np.mean(greedy)),
                     "mean_size_exact": float(np.mean(exact)),
                     "optimal_rate": float(np.mean(hit)),
                     "s_per_graph_ours": round(t_ours / graphs, 4),
                     "s_per_graph_exact": round(t_exact / graphs, 4)})
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="every Gset instance in the data "
                    "(default: quick subset)")
    ap.add_argument("--instances", nargs="*", help="explicit instance names, e.g. G1 G2")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-tabu", action="store_true")
    ap.add_argument("--sb-max-n", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1,
                    help="instances run in this many processes of the one run (each call's "
                         "CPU time is measured in its own process)")
    ap.add_argument("--rung-cpu-max", type=float, default=RUNG_CPU_MAX,
                    help="stop a ladder before a rung expected to cost more CPU seconds per "
                         "call than this (same for every solver)")
    ap.add_argument("--lava-steps", type=int, default=1000)
    ap.add_argument("--lava-instance", default="G1")
    ap.add_argument("--mis-graphs", type=int, default=10)
    ap.add_argument("--skip", nargs="*", default=[],
                    choices=["gset", "replicas", "lava", "mis"])
    ap.add_argument("--rows-out", metavar="FILE.json",
                    help="write the Gset rows (and ladders) of this part of a run to FILE "
                         "instead of the tables (several parts may run at once)")
    ap.add_argument("--merge", nargs="*", metavar="PART",
                    help="write the Gset tables from parts: --rows-out JSON files or the "
                         "printed rows of a run's log")
    args = ap.parse_args(argv)
    if not (GSET / "best_known.csv").is_file():
        raise SystemExit(f"needs the Gset data at {GSET} (set LAVA_LLM_DATA)")
    names = tuple(args.instances) if args.instances else (all_instances() if args.full
                                                          else QUICK)
    cmd = "python -m benchmarks.qubo_gset " + " ".join(sys.argv[1:] if argv is None else argv)
    machine_note = ("Times are CPU seconds of this process (all its threads) unless named "
                    "wall; on a shared machine wall times are inflated by other jobs. Solvers "
                    "are interleaved per instance.")
    run_note = ""
    if args.merge:
        rows, detail = merge_parts(args.merge)
        cmd += f" (rows merged from {len(args.merge)} logs)"
    elif "gset" not in args.skip:
        load0, c0, w0 = os.getloadavg(), time.process_time(), time.perf_counter()
        if args.workers > 1:
            rows, detail = gset_rows_parallel(names, args.seeds, not args.no_tabu,
                                              args.sb_max_n, args.rung_cpu_max, args.workers)
        else:
            rows, detail = gset_rows(names, args.seeds, not args.no_tabu, args.sb_max_n,
                                     args.rung_cpu_max)
        cpu_total = sum(v for k, v in detail.items() if k.endswith("benchmark_cpu_seconds"))
        run_note = (f" The whole Gset part took {cpu_total:.0f} CPU s "
                    f"({time.perf_counter() - w0:.0f} s wall) in this one run "
                    f"({args.workers} worker process(es)); load average "
                    f"{load0[1]:.1f} at its start and {os.getloadavg()[1]:.1f} at its end "
                    "(5-minute averages, over the machine's other jobs too).")
        if args.rows_out:
            Path(args.rows_out).write_text(json.dumps({"rows": rows, "ladders": detail},
                                                      default=float))
            return
    if args.merge or "gset" not in args.skip:
        write_results("qubo_gset", rows, command=cmd, extra={"ladders": detail},
                      notes=f"Median over {args.seeds} seeds. `default`: `solve(problem, "
                            "seed=s)` with the default budget (steps x replicas; replicas on "
                            "numba threads, CPU time counts all threads). `t99.5%`: time "
                            "to 99.5% of the best known at the smallest ladder budget whose "
                            "median reaches it (engine: 1 replica; SA/Tabu: num_reads=1; "
                            "`-`: not within the ladder; a rung stops after 2 of 3 seeds when "
                            "they already decide its median). `best %`: best cut seen on the "
                            f"ladder. SB: simulated-bifurcation 1.2.1, one call, 8 agents, "
                            f"1000 steps (n <= {args.sb_max_n}). {machine_note}{run_note}")
        write_results("qubo_gset_classes", class_rows(rows), command=cmd,
                      notes="Counts of instances per class from the qubo_gset table of the "
                            "same run.")
        write_results("qubo_gset_targets", target_rows(rows), command=cmd,
                      notes="From the qubo_gset table of the same run.")
    if "replicas" not in args.skip:
        rows = replica_rows(["G22", "G62"] if args.full else ["G22"], 2000, 8)
        write_results("qubo_replicas", rows, command=cmd, notes=machine_note +
                      " The machine's other jobs share its cores, so the wall speed-up is a "
                      "lower bound of what idle cores give.")
    if "lava" not in args.skip:
        rows = lava_rows(args.lava_instance, args.lava_steps, 1)
        write_results("qubo_lava", rows, command=cmd, notes=machine_note)
    if "mis" not in args.skip:
        rows = mis_rows([(50, 0.1), (100, 0.05), (100, 0.1)], args.mis_graphs,
                        1000, 4)
        write_results("qubo_mis", rows, command=cmd, notes=machine_note)


if __name__ == "__main__":
    main()
