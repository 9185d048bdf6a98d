"""Attribution quality: HitRate@P% of per-channel errors against labelled cause channels.

Definition (OmniAnomaly, Su et al. KDD 2019, Sec. 5.5; InterFusion uses the same): for an
anomalous time step with ground-truth channel set G, rank all channels by their error at that
step and take the top ``floor(P% x |G|)``; the step's hit rate is ``|top ∩ G| / |G|``. It is
averaged over the steps of each segment, then over segments. P = 100 % asks for exactly |G|
channels; P = 150 % allows half as many again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly.errors import DataError
from anomaly.validation import check_number


@dataclass(frozen=True)
class CauseSegment:
    """Rows ``start .. end-1`` (exclusive end) whose anomaly was caused by ``channels``."""

    start: int
    end: int
    channels: tuple[str, ...]


def segments_from_faults(run) -> list[CauseSegment]:
    """Cause segments of a simulated run (FaultEvents have timestamps and inclusive ends)."""
    index = run.frame.index
    return [CauseSegment(index.get_loc(f.start), index.get_loc(f.end) + 1, tuple(f.channels)) for f in run.faults]


def _segment_hits(values: np.ndarray, columns: list[str], segment, p: float) -> float:
    truth = [columns.index(c) for c in segment.channels if c in columns]
    if len(truth) != len(segment.channels):
        missing = sorted(set(segment.channels) - set(columns))
        raise DataError(f"segment [{segment.start}, {segment.end}) names channels {missing} that the errors do not have")
    if not 0 <= segment.start < segment.end <= len(values):
        raise DataError(f"segment [{segment.start}, {segment.end}) is outside the {len(values)} rows")
    k = max(1, math.floor(p * len(truth) + 1e-9))
    block = values[segment.start : segment.end]
    top = np.argsort(-block, axis=1, kind="stable")[:, :k]  # (rows, k)
    return float(np.isin(top, truth).sum(axis=1).mean() / len(truth))


def hit_rate_report(errors: pd.DataFrame, segments, *, p: float = 1.0) -> dict:
    """HitRate@P and the per-segment values.

    Parameters
    ----------
    errors : DataFrame of shape (n_steps, n_channels)
        Per-step, per-channel error (``Detector.errors``), rows aligned with the segments.
    segments : iterable of objects with ``start``, ``end`` (exclusive) and ``channels``
        E.g. :class:`CauseSegment` or ``datasets.smd.Segment``.
    p : float, default=1.0
        P as a fraction (1.0 = 100 %, 1.5 = 150 %).

    Returns
    -------
    dict
        ``"hit_rate"`` (mean over segments) and ``"segments"`` (one value each).
    """
    check_number("p", p, low=0.0, low_open=True)
    values = errors.to_numpy(np.float64)
    columns = [str(c) for c in errors.columns]
    per_segment = [_segment_hits(values, columns, s, p) for s in segments if s.channels]
    if not per_segment:
        raise DataError("no segment with cause channels to evaluate")
    return {"hit_rate": float(np.mean(per_segment)), "segments": per_segment}


def hit_rate(errors: pd.DataFrame, segments, *, p: float = 1.0) -> float:
    """HitRate@P (see :func:`hit_rate_report`)."""
    return hit_rate_report(errors, segments, p=p)["hit_rate"]


def random_hit_rate(n_channels: int, segments, *, p: float = 1.0) -> float:
    """Expected HitRate@P of a random channel ranking: ``min(k, c) / c`` per segment, k = floor(P|G|)."""
    rates = [min(max(1, math.floor(p * len(s.channels) + 1e-9)), n_channels) / n_channels for s in segments if s.channels]
    return float(np.mean(rates))
