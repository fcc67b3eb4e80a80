"""Layering of the package: cli/benchmarks -> models -> processes -> numeric core.

* The numeric core (kernels, fixed point, engines, quantisers, torch training modules) imports
  without Lava: checked in a subprocess whose meta-path makes every ``import lava`` fail.
* The import graph of ``lava_llm`` (every ``import`` statement, also those inside functions)
  has no cycle, and no module imports a module of a higher layer.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "lava_llm"

#: The Lava-free numeric core (plus the Lava-free config/params schemas the engines and torch
#: modules exchange). Every one of these must import with Lava absent.
CORE = [
    "lava_llm.fixed_point", "lava_llm.validation", "lava_llm.audio", "lava_llm.lava_compat",
    "lava_llm.processes.ternary_dense.kernels", "lava_llm.processes.lm_blocks.kernels",
    "lava_llm._fixed_point_numba", "lava_llm._ternary_numba", "lava_llm._ternary_layout",
    "lava_llm._lm_numba",
    "lava_llm.numba_threads", "lava_llm.progress",
    "lava_llm.processes.gated_recurrence.kernels", "lava_llm.processes.ssm_diagonal.kernels",
    "lava_llm.processes.qubo_annealing.kernels",
    "lava_llm.models.lm.config", "lava_llm.models.lm.params", "lava_llm.models.lm.engine",
    "lava_llm.models.lm.export", "lava_llm.models.lm.decode_fast", "lava_llm.models.qubo.engine",
    "lava_llm.models.qubo.problem",
    "lava_llm.models.qubo.schedule", "lava_llm.models.denoiser.config",
    "lava_llm.training.bitlinear", "lava_llm.training.hgrn", "lava_llm.training.s5",
]
#: Modules above the core that must still import without Lava (the engine/torch backends and
#: the command line run without it).
LAVA_FREE_ENTRY_POINTS = [
    "lava_llm", "lava_llm.run", "lava_llm.cli", "lava_llm.models.lm.generate",
    "lava_llm.models.lm.cli", "lava_llm.models.qubo", "lava_llm.models.qubo.cli",
    "lava_llm.models.denoiser.cli", "lava_llm.models.denoiser.network", "lava_llm.models.dense",
    "lava_llm.processes.ternary_dense", "lava_llm.processes.lm_blocks",
]

BLOCKER = textwrap.dedent("""
    import importlib.abc, sys

    class BlockLava(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "lava" or name.startswith("lava."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)

    sys.meta_path.insert(0, BlockLava())
""")


def _run_blocked(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300)


def test_numeric_core_imports_without_lava():
    out = _run_blocked(f"""
        import importlib, json
        failed = {{}}
        for name in {CORE + LAVA_FREE_ENTRY_POINTS!r}:
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed[name] = repr(exc)
        assert not any(m == "lava" or m.startswith("lava.") for m in sys.modules)
        print(json.dumps(failed))
    """)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == {}


def test_blocker_really_blocks_lava():
    """The check above can fail: a Process class does need Lava."""
    out = _run_blocked("from lava_llm.processes.ternary_dense import TernaryDense")
    assert out.returncode != 0 and "No module named 'lava" in out.stderr


# ------------------------------------------------------------------------- import graph
def _modules() -> dict[str, Path]:
    mods = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``lava_llm`` modules it imports, at any depth (function bodies too).
    ``from a.b import c`` counts as importing ``a.b.c`` where that is a module, else ``a.b``."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")[: len(name.split(".")) - node.level + is_pkg]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    deps.add(sub if sub in mods else target)
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layer(module: str) -> int:
    """0 numeric core, 1 processes (Lava Processes/ProcessModels, the run context),
    2 models (networks, generation, solvers), 3 command line and demos."""
    if module in CORE or module in ("lava_llm", "lava_llm.processes", "lava_llm.models",
                                    "lava_llm.training"):
        return 0
    if module.startswith("lava_llm.training."):
        return 0
    if module == "lava_llm.run" or module.startswith("lava_llm.processes."):
        return 1
    if module in ("lava_llm.cli", "lava_llm.demo") or module.endswith((".cli", ".demo")):
        return 3
    return 2


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 40 and "lava_llm.models.lm.export" in graph
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_a_higher_layer():
    graph = import_graph()
    upward = sorted((m, d) for m, deps in graph.items() for d in deps if layer(d) > layer(m))
    assert upward == []


@pytest.mark.parametrize("module", CORE)
def test_core_module_is_classified_and_exists(module):
    assert module in _modules() and layer(module) == 0


def test_training_imports_only_the_schemas_from_models():
    """training/ (the torch side of the core) may read the Lava-free schema modules that
    live beside the networks, and nothing else under models/."""
    schemas = {"lava_llm.models.lm.params", "lava_llm.models.lm.config",
               "lava_llm.models.denoiser.config"}
    graph = import_graph()
    used = {d for m, deps in graph.items() if m.startswith("lava_llm.training")
            for d in deps if d.startswith("lava_llm.models")}
    assert used <= schemas, used - schemas
