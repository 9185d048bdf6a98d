"""Inputs several commands read: the 0/1 label column of a table, a saved model and the file it scores."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anomaly import DataError, load
from pipelines.sources import read_table


def anomaly_labels(labels: pd.DataFrame, name: str | None, *, required: bool) -> pd.Series | None:
    """The label column ``name`` (default: is_anomaly, anomaly, label or labels) as booleans.

    None when there is none and it is not ``required``; :class:`DataError` when a named or
    required column is missing or holds values other than 0/1.
    """
    if name is not None:
        if name not in labels.columns:
            raise DataError(f"label column {name!r} not found among {list(labels.columns)}")
        column = labels[name]
    else:
        candidates = [c for c in labels.columns if c.lower() in ("is_anomaly", "anomaly", "label", "labels")]
        if not candidates:
            if required:
                raise DataError("no label column (is_anomaly, anomaly or label); pass --label-column")
            return None
        column = labels[candidates[0]]
    values = pd.to_numeric(column, errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        raise DataError(f"label column {column.name!r} must hold only 0/1 values")
    return values.astype(bool)


def load_and_score(data: Path, model: Path, timestamp: str | None, engine: str, *, step, topics=(), rate_hz=None):
    """Load ``model``, read ``data`` whole and score it: ``(det, table, errors, scores, flags)``."""
    step(f"loading model {model}")
    det = load(model, engine=engine)
    step(f"reading {data}")
    table = read_table(data, timestamp=timestamp, topics=topics, rate_hz=rate_hz)
    step(f"scoring {len(table.frame)} rows")
    errors, scores, flags = det.evaluate_frame(table.frame, source=str(data))
    return det, table, errors, scores, flags
