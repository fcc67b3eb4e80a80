"""Shared writer for benchmark results: JSON + a markdown table in benchmarks/results/,
and the same table printed. Every benchmark records the machine it ran on."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import numpy as np

    info = {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d")}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "(no rows)\n"
    columns = columns or list(rows[0])

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_results(name: str, rows: list[dict], *, command: str, notes: str = "",
                  columns: list[str] | None = None, extra: dict | None = None,
                  directory: Path | None = None) -> Path:
    """Write ``results/NAME.json`` and ``results/NAME.md`` (or into ``directory``: smoke runs
    that must not replace the published results) and print the markdown."""
    out_dir = RESULTS if directory is None else Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"name": name, "command": command, "machine": machine(), "rows": rows,
               "notes": notes, **(extra or {})}
    (out_dir / f"{name}.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")
    md = (f"### {name}\n\n`{command}` on {payload['machine']['cpus']} CPUs, "
          f"{payload['machine']['date']}\n\n{markdown_table(rows, columns)}")
    if notes:
        md += f"\n{notes}\n"
    (out_dir / f"{name}.md").write_text(md)
    print(md)
    return out_dir / f"{name}.json"
