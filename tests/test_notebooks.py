"""Every notebook in notebooks/ runs top to bottom (small settings) in a fresh kernel."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "datasets"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NEEDS_SHARED_DATA = {"skab_detectors.ipynb"}
SLOW = {"cnn_and_kernels.ipynb", "generative_models.ipynb", "skab_detectors.ipynb"}  # 24-31 s each on 2 cores


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in NOTEBOOKS]
)
def test_notebook_runs_top_to_bottom(path: Path, monkeypatch):
    if path.name in NEEDS_SHARED_DATA and not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    monkeypatch.setenv("ANOMALY_DATA_DIR", str(SHARED_DATA))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit notebooks without outputs"
    start = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
