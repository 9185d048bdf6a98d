"""Helpers shared by the benchmark scripts: data location, environment record, JSON output,
best-of timing, the synthetic multi-channel log the speed benchmarks score, and the default
decision's alarms against a session's faults."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict
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


def best_seconds(fn, repeats: int) -> float:
    """Shortest wall time of ``repeats`` calls of ``fn()``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def sine_frame(rows: int, channels: int, seed: int, freq: str):
    """A smooth synthetic log: per channel a sine of random frequency and phase plus 10 % noise.

    Returns a float32 DataFrame of shape (rows, channels), columns ``c0..``, a DatetimeIndex named
    ``timestamp`` at ``freq`` (e.g. ``"10ms"``).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(rows)[:, None] / 50.0
    values = np.sin(t * rng.uniform(0.5, 2.0, channels) + rng.uniform(0, 6, channels)) + 0.1 * rng.standard_normal((rows, channels))
    index = pd.date_range("2026-01-01", periods=rows, freq=freq, name="timestamp")
    return pd.DataFrame(values.astype(np.float32), index=index, columns=[f"c{i}" for i in range(channels)])


def fault_alarms(det, frame, faults) -> tuple[list, list[list], list, list[str]]:
    """The default decision's alarms on ``frame`` (a fitted detector's own threshold, the alert
    rules at its rate) against ``faults``, ``(name, first row, end row)`` each.

    Returns
    -------
    raised : list of anomaly.decisions.Event
    inside : list of list of Event
        Per fault, the alarms that overlap it.
    extra : list of Event
        The alarms that overlap no fault (false alarms).
    blamed : list of str
        Per false alarm, the channel with the largest error over it.
    """
    from anomaly.decisions import events, model_rules  # here: the toolkit imports once ROOT is on the path

    errors, scores, flags = det.evaluate_frame(frame)
    raised = events(flags, errors, scores, threshold=det.threshold_, **asdict(model_rules(det)))
    index = frame.index
    inside = [[e for e in raised if e.start <= index[b - 1] and e.end >= index[a]] for _, a, b in faults]
    extra = [e for e in raised if not any(e in hits for hits in inside)]
    return raised, inside, extra, [str(errors.loc[e.start:e.end].max().idxmax()) for e in extra]


def rows_in_alarm(index, raised) -> int:
    """Rows of ``index`` (a frame's timestamps) inside any of the alarms ``raised`` (Events)."""
    return sum(int(((index >= e.start) & (index <= e.end)).sum()) for e in raised)
