"""Lava Processes of lava-llm, one folder each (``process.py`` + ``models.py`` + ``kernels.py``).

Lava finds a Process's models by importing the modules in the Process's directory, so each
folder holds only importable library modules.

Each folder's ``__init__`` exports its Process classes lazily (PEP 562 module
``__getattr__``, see :func:`lazy_exports`): ``from lava_llm.processes.X import kernels`` (the
Lava-free numeric core) never imports Lava; ``from lava_llm.processes.X import Proc`` does.
"""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package`` that import ``package.<module>`` the first
    time one of its names (``exports``: name -> submodule) is asked for."""

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(exports))

    return __getattr__, __dir__
