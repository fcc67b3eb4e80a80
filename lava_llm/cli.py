"""``lava-llm``: the command line.

Run-type subcommands (``generate``, ``denoise``, ``solve``) live in their network's package and
are registered in :data:`COMMANDS` as ``name -> module``. Such a module provides

* ``HELP``: one line;
* ``BACKENDS``: the backend names it supports (subset of :data:`lava_llm.run.ALL_BACKENDS`);
* ``add_arguments(parser)``: its own options (``--backend``, ``--seed``, ``--json`` are added
  here, the same for every command);
* ``run(args) -> dict``: does the work and returns the JSON-able result. Progress goes to
  stderr (tqdm); the result is printed as one JSON object with ``--json``, else as
  ``key: value`` lines.

Modules are imported only when their subcommand runs, so ``lava-llm --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import typing as ty

COMMANDS: dict[str, str] = {
    "dense": "lava_llm.models.dense",
    "solve": "lava_llm.models.qubo.cli",
    "denoise": "lava_llm.models.denoiser.cli",
    "generate": "lava_llm.models.lm.cli",
    "resources": "lava_llm.loihi2.cli",
    "eval": "lava_llm.models.lm.eval_cli",
    "import-hf": "lava_llm.models.lm.import_cli",
}
#: Help line and backends of each command, kept here so that building the parser imports
#: nothing heavy. tests/test_cli.py checks that they agree with the modules.
COMMAND_INFO: dict[str, tuple[str, tuple[str, ...]]] = {
    "dense": ("run one TernaryDense layer on a backend and compare it with the integer engine",
              ("sim-float", "sim-fixed", "loihi2", "engine", "torch")),
    "solve": ("solve a QUBO or Max-Cut problem by parallel simulated annealing",
              ("engine", "sim-float", "sim-fixed", "loihi2")),
    "denoise": ("denoise a mono wav with the sparse fixed-point S5 denoiser",
                ("engine", "sim-float", "sim-fixed", "loihi2", "torch")),
    "generate": ("generate text with the MatMul-free LM (MLGRU + GLU) from a prompt",
                 ("sim-fixed", "sim-float", "loihi2", "engine", "torch")),
    "resources": ("estimate the Loihi 2 resources (cores, chips, ops) of a network's "
                  "fine-grained form", ("engine",)),
    "eval": ("score a text file with the MatMul-free LM: bits per token and per byte",
             ("engine", "torch", "sim-float", "sim-fixed")),
    "import-hf": ("convert an HF HGRNBitForCausalLM folder into a lava-llm LM checkpoint",
                  ("engine",)),
}


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


class UsageExit(SystemExit):
    """Exit with status 2 after a usage error was printed; ``str()`` is the message."""

    def __init__(self, message: str, argument: str | None = None, status: int = 2):
        super().__init__(status)
        self.message, self.argument = message, argument

    def __str__(self) -> str:
        return self.message


_JSON_ERRORS = False  # set by main() when the command line asks for --json


def _print_json_error(message: str, argument: str | None) -> None:
    if _JSON_ERRORS:
        print(json.dumps({"error": message, "argument": argument}), flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse, plus the ``--json`` error object on stdout for usage errors too."""

    def error(self, message):
        m = re.match(r"argument ([^:]+): ", message) or re.search(
            r"arguments are required: ([^\s,]+)", message)
        _print_json_error(message, m.group(1).split("/")[0] if m else None)
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lava-llm", description="Lava Processes for sequence models and QUBO on Loihi 2.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_, backends) in COMMAND_INFO.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--backend", default=backends[0], choices=backends,
                       help=f"where to run (default {backends[0]})")
        p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.set_defaults(_module=COMMANDS[name])
    b = sub.add_parser("bench", help="run a benchmark script from benchmarks/ (repo checkout)")
    b.add_argument("name", help="benchmark name, e.g. ternary_dense (benchmarks/NAME.py)")
    b.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to the script")
    c = sub.add_parser("compat", help="install Lava (lava-nc, lava-dl) and its Python 3.11 "
                       "import fix; status; uninstall the fix")
    c.add_argument("action", choices=["status", "install", "uninstall"])
    return parser


def _add_module_arguments(parser: argparse.ArgumentParser, argv: ty.Sequence[str]):
    """Let the chosen command's module add its own options before parsing (so that
    ``lava-llm solve --help`` lists them too). The command is the first bare word."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in COMMANDS:
        return None
    mod = importlib.import_module(COMMANDS[command])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    mod.add_arguments(sub.choices[command])
    return mod


_BENCH_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _bench(name: str, rest: list[str]) -> int:
    import runpy
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "benchmarks"
    known = sorted(p.stem for p in root.glob("*.py") if not p.stem.startswith("_"))
    if not _BENCH_NAME.fullmatch(name):
        _usage_error("bench", f"benchmark name {name!r} must be a plain name such as "
                     f"ternary_dense (a script benchmarks/NAME.py; known: "
                     f"{', '.join(known) or 'none'})", "name")
    script = root / f"{name}.py"
    if not script.is_file():
        _usage_error("bench", f"no benchmark {name!r} in {root} "
                     f"(known: {', '.join(known) or 'none; run from a repo checkout'})", "name")
    sys.argv = [str(script), *rest]
    sys.path.insert(0, str(root.parent))  # the repo root, so that `import benchmarks` works
    runpy.run_module(f"benchmarks.{name}", run_name="__main__", alter_sys=True)
    return 0


def _usage_error(command: str, message: str, argument: str | None):
    print(f"lava-llm {command}: error: {message}", file=sys.stderr)
    _print_json_error(message, argument)
    raise UsageExit(f"lava-llm {command}: {message}", argument)


def _option_name(parser: argparse.ArgumentParser | None, argument: str | None) -> str | None:
    """The command-line spelling of a library argument name (``top_k`` -> ``--top-k``)."""
    if not argument or argument.startswith("-") or parser is None:
        return argument
    for action in parser._actions:
        if action.dest == argument.replace("-", "_"):
            return max(action.option_strings, key=len) if action.option_strings else argument
    return None


def _lava_missing(exc: BaseException) -> bool:
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ModuleNotFoundError) and name.split(".")[0] == "lava"


def main(argv: ty.Sequence[str] | None = None) -> int:
    from lava_llm.run import LavaInterrupted, check_interrupted, stop_on_signals

    # SIGINT / SIGTERM / SIGHUP unwind the command (and any Lava session in it, which kills
    # its runtime and frees its shared memory); the exit status is then 128 + signal.
    with stop_on_signals():
        try:
            status = _main(argv)
            check_interrupted()
            return status
        except LavaInterrupted as exc:
            try:
                print(f"lava-llm: {exc}; stopped", file=sys.stderr)
                _print_json_error(str(exc), None)
            except OSError:  # the terminal or pipe went away with the signal (SIGHUP)
                pass
            return exc.exit_status


def _main(argv: ty.Sequence[str] | None = None) -> int:
    global _JSON_ERRORS
    argv = list(sys.argv[1:] if argv is None else argv)
    _JSON_ERRORS = "--json" in argv
    parser = build_parser()
    mod = _add_module_arguments(parser, argv)
    args = parser.parse_args(argv)
    if args.command == "bench":
        return _bench(args.name, args.rest)
    if args.command == "compat":
        from lava_llm import lava_compat as c

        if args.action == "install":
            try:
                for req in c.install_lava():
                    print(f"installed {req} (--no-deps --ignore-requires-python)")
            except RuntimeError as exc:
                return _fail(args, None, exc, 1)
            print(f"wrote {c.write_pth()}")
        elif args.action == "uninstall":
            c.remove_pth()
            print(f"removed {c.pth_path()}")
        print(json.dumps(c.status()))
        return 0
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    try:
        result = mod.run(args)
    except ModuleNotFoundError as exc:
        if not _lava_missing(exc):
            raise
        return _fail(args, None, RuntimeError(
            f"backend {args.backend!r} needs Lava (lava-nc, lava-dl), which is not installed "
            f"({exc}). Install it with: pip install -e \".[lava]\" && lava-llm compat install "
            "(see README, 'Installing without make'); the engine and torch backends work "
            "without it."), 1)
    except (ValueError, FileNotFoundError, TypeError) as exc:
        # Bad input: one clear line, exit status 2, no traceback.
        return _fail(args, sub.choices[args.command], exc, 2)
    except (RuntimeError, TimeoutError) as exc:  # e.g. Loihi2UnavailableError, LavaRunTimeout
        return _fail(args, None, exc, 1)
    result = _jsonable(result)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


def _fail(args, parser, exc: BaseException, status: int) -> int:
    """One clear line on stderr naming the argument (or file); with ``--json`` also
    ``{"error": ..., "argument": ...}`` on stdout."""
    message = str(exc)
    name = getattr(exc, "argument", None)
    option = _option_name(parser, name)
    prefix = f"argument {option}: " if option and option not in message else ""
    argument = option or name
    if argument is None and isinstance(exc, FileNotFoundError) and exc.filename:
        argument = str(exc.filename)
    print(f"lava-llm {args.command}: error: {prefix}{message}", file=sys.stderr)
    _print_json_error(prefix + message, argument)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
