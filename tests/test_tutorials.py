"""Execute every notebook in tutorials/ top to bottom (in this interpreter's environment)."""
import json
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

TUTORIALS = sorted((Path(__file__).resolve().parent.parent / "tutorials").glob("*.ipynb"))


#: Appended to each notebook before it runs: a JSON summary of every matplotlib figure still
#: open (Agg backend: plt.show() keeps them), so the test can check each one has data.
FIGURE_PROBE = """
import json as _json, sys as _sys
_figs = []
if "matplotlib.pyplot" in _sys.modules:
    import numpy as _np
    import matplotlib.pyplot as _plt
    for _n in _plt.get_fignums():
        _axes = []
        for _ax in _plt.figure(_n).axes:
            _pts = 0
            for _l in _ax.lines:
                _pts += int(_np.isfinite(_np.asarray(_l.get_ydata(), float)).sum())
            for _c in _ax.collections:
                _pts += int(_np.isfinite(_np.asarray(_c.get_offsets(), float)).all(-1).sum())
            for _im in _ax.images:
                _a = _np.ma.masked_invalid(_np.ma.asarray(_im.get_array(), float))
                _pts += int(_a.count()) if _a.size and float(_a.max() - _a.min()) > 0 else 0
            _pts += len(_ax.patches)
            _axes.append({"label": _ax.get_title() or _ax.get_ylabel(), "points": _pts,
                          "colorbar": _ax.get_label() == "<colorbar>"})
        _figs.append(_axes)
print("FIGURES" + _json.dumps(_figs))
"""


def figure_summary(nb) -> list:
    """The probe cell's summary: one list of ``{label, points, colorbar}`` per open figure."""
    for out in nb.cells[-1].get("outputs", []):
        text = out.get("text", "")
        if "FIGURES" in text:
            return json.loads(text.split("FIGURES", 1)[1].strip())
    raise AssertionError("the figure probe cell printed nothing")


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    plots = any("plt." in c.source for c in nb.cells if c.cell_type == "code")
    nb.cells.append(nbformat.v4.new_code_cell(FIGURE_PROBE))
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}})
    # The kernel must be this venv's Python (ipykernel's native spec uses sys.executable).
    env_before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        client.execute()
    finally:
        if env_before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_before
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    # every figure a notebook draws exists and every panel has data (not an empty axes)
    figs = figure_summary(nb)
    if plots:
        assert figs, f"{path.name} calls plt but leaves no figure"
    for k, axes in enumerate(figs):
        for ax in axes:
            if not ax["colorbar"]:
                assert ax["points"] > 0, f"{path.name} figure {k + 1} panel {ax['label']!r} " \
                                         "has no data"
