"""The notebooks in ``notebooks/`` run from top to bottom (nbclient) and match their generator."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: Each notebook must run well under a minute (they use TFC-W1A1 and small inputs).
BUDGET_SECONDS = 60


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


@pytest.mark.parametrize("name", sorted(GENERATOR.NOTEBOOKS))
def test_notebook_matches_its_generator(name):
    stored = (NOTEBOOKS / name).read_text()
    assert stored == GENERATOR.render(GENERATOR.NOTEBOOKS[name]), (
        f"{name} differs from notebooks/make_notebooks.py: run .venv/bin/python notebooks/make_notebooks.py"
    )


@pytest.mark.parametrize("name", sorted(GENERATOR.NOTEBOOKS))
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("QNNCC_NOTEBOOK_OUT", str(tmp_path / "builds"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=BUDGET_SECONDS, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert seconds < BUDGET_SECONDS, f"{name} took {seconds:.1f} s"
