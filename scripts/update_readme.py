"""Copy the benchmark tables from benchmarks/results/*.md into README.md.

    python scripts/update_readme.py

Rewrites the part of README.md between ``<!-- bench:NAME -->`` and ``<!-- /bench -->`` with
benchmarks/results/NAME.md, so that the README shows exactly what the benchmark scripts wrote.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- bench:(?P<name>[\w.-]+) -->\n)(.*?)(<!-- /bench -->)", re.S)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text()
    missing = []

    def fill(m):
        path = ROOT / "benchmarks" / "results" / f"{m.group('name')}.md"
        if not path.exists():
            missing.append(path.name)
            return m.group(0)
        body = path.read_text().strip()
        body = re.sub(r"^### .*\n\n", "", body)  # the README gives its own heading
        return f"{m.group(1)}{body}\n{m.group(4)}"

    readme.write_text(BLOCK.sub(fill, text))
    if missing:
        print("no results for:", ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
