"""README's benchmark tables are exactly what the benchmark scripts wrote."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"<!-- bench:([\w.-]+) -->\n(.*?)<!-- /bench -->", README, re.S)


def test_readme_shows_the_two_commands():
    assert "make demo" in README and "make test" in README


@pytest.mark.parametrize("name,body", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_table_matches_results_file(name, body):
    path = ROOT / "benchmarks" / "results" / f"{name}.md"
    assert path.exists(), f"README shows {name} but {path} is missing"
    expected = re.sub(r"^### .*\n\n", "", path.read_text().strip())
    assert body.strip() == expected, "run: python scripts/update_readme.py"


def test_every_results_table_is_in_the_readme():
    shown = {name for name, _ in BLOCKS}
    written = {p.stem for p in (ROOT / "benchmarks" / "results").glob("*.md")}
    assert written <= shown, f"not in README: {sorted(written - shown)}"
