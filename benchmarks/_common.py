"""Helpers shared by the benchmark scripts: data location, environment record, JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_DATA = ROOT.parent / "shared" / "datasets"

sys.path.insert(0, str(ROOT))


def data_root() -> Path:
    """``$ANOMALY_DATA_DIR`` or ``../shared/datasets`` beside the project."""
    return Path(os.environ.get("ANOMALY_DATA_DIR", DEFAULT_DATA))


def environment() -> dict:
    """What the numbers were measured on."""
    import numpy
    import sklearn

    from anomaly import __version__

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "anomaly": __version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }


def write_result(name: str, result: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` (with the environment) and return its path."""
    from pipelines.sinks import write_text

    path = RESULTS / f"{name}.json"
    write_text(path, json.dumps({"environment": environment(), **result}, indent=2, default=float))
    return path
