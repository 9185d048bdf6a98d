"""Attribution quality: HitRate@P% of per-channel errors against labelled cause channels.

Definition (OmniAnomaly, Su et al., KDD 2019, "Interpretation"): for an anomalous time step
whose ground-truth cause channels are G, rank all channels by their error at that step, take
the top ``k = floor(P% x |G|)`` of them (at most all channels) and score the step
``|top-k ∩ G| / |G|``. P = 100 % asks for exactly |G| channels; P = 150 % allows half as
many again.

What this module computes, exactly:

* **per step**, over **every step of a labelled segment** (rows ``start .. end-1``), whether
  or not a detector flagged it, so the number depends on the error matrix only, not on a
  threshold. (OmniAnomaly scores the detected anomalies; the released InterFusion code takes
  the true-positive steps of the best-F1 threshold, aggregates each segment's scores
  element-wise by their minimum log-probability before ranking, and averages over all those
  steps pooled; ``k`` is capped at the number of channels in both.)
* **ties**: channels tied with the k-th largest error share the remaining places, i.e. the
  step's hit is its expected value under a random order of the tied channels (so a constant
  error matrix scores like a random ranking, not by column order).
* **averaging**: the step values are averaged over the segment's steps, giving the segment's
  HitRate; HitRate@P is the mean over segments (each segment counts once, however long).

Segments are ``(start, end_exclusive, channels)`` in row positions: a 3-tuple or any object
with those attributes, such as :class:`Segment` (whose loader already turns
ASD's inclusive ends into exclusive ones). :func:`datasets.robot_arm.segments_from_faults` converts the
simulated robot arm's :class:`~datasets.robot_arm.FaultEvent` (timestamps, inclusive end).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly.errors import DataError
from anomaly.schema import check_frame
from anomaly.validation import check_number

__all__ = ["Segment", "hit_rate", "hit_rate_report", "random_hit_rate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    """A labelled anomaly segment: rows ``start .. end-1`` (positions) caused by ``channels``."""

    start: int
    end: int
    channels: tuple[str, ...]


def _top_k(p: float, n_truth: int, n_channels: int) -> int:
    """``floor(p * n_truth)`` capped at ``n_channels`` (the tiny epsilon absorbs float error, e.g. 0.29 * 100).

    Parameters
    ----------
    p : float
        P as a fraction.
    n_truth : int
        Number of cause channels |G|.
    n_channels : int
        Number of channels ranked.

    Returns
    -------
    int
    """
    return min(math.floor(p * n_truth + 1e-9), n_channels)


def _parse(segment) -> tuple[int, int, tuple[str, ...]]:
    """``(start, end_exclusive, channels)`` of a 3-tuple or of an object with those attributes.

    Raises
    ------
    DataError
        If ``segment`` is neither.
    """
    if all(hasattr(segment, a) for a in ("start", "end", "channels")):
        start, end, channels = segment.start, segment.end, segment.channels
    else:
        try:
            start, end, channels = segment
        except (TypeError, ValueError):
            raise DataError(f"segment {segment!r}: expected (start, end_exclusive, channels)") from None
    if isinstance(channels, str):
        channels = (channels,)
    return int(start), int(end), tuple(str(c) for c in channels)


def _step_hits(block: np.ndarray, truth: np.ndarray, k: int) -> np.ndarray:
    """Hit of each row of ``block``: expected |top-k ∩ truth| / |truth|, ties shared.

    Parameters
    ----------
    block : numpy.ndarray of shape (rows, n_channels)
        Errors of the segment's steps.
    truth : numpy.ndarray of shape (n_channels,), dtype bool
        Cause channels.
    k : int
        Channels taken per step.

    Returns
    -------
    numpy.ndarray of shape (rows,)
    """
    if k == 0:
        return np.zeros(len(block))
    kth = -np.partition(-block, k - 1, axis=1)[:, k - 1 : k]  # k-th largest error per row, (rows, 1)
    above, tied = block > kth, block == kth
    free = k - above.sum(axis=1)  # places left for the tied channels
    hits = (above & truth).sum(axis=1) + free * (tied & truth).sum(axis=1) / tied.sum(axis=1)
    return hits / truth.sum()


def hit_rate_report(errors: pd.DataFrame, segments, *, p: float = 1.0) -> dict:
    """HitRate@P with a per-segment breakdown.

    Parameters
    ----------
    errors : pandas.DataFrame of shape (n_steps, n_channels)
        Per-step, per-channel error (e.g. ``Detector.errors``), higher = more anomalous;
        rows are addressed by position.
    segments : iterable of (start, end_exclusive, channels)
        Tuples or objects with those attributes (e.g. :class:`Segment`); ``channels``
        names columns of ``errors``. Segments without channels are skipped.
    p : float, default=1.0
        P as a fraction (1.0 = 100 %, 1.5 = 150 %), > 0.

    Returns
    -------
    dict
        ``"p"``; ``"hit_rate"``: mean over the evaluated segments; ``"n_segments"``;
        ``"skipped"``: segments without cause channels; ``"segments"``: one dict per evaluated
        segment with ``start``, ``end`` (exclusive), ``channels``, ``k`` (channels taken per
        step), ``rows`` and ``hit_rate``.

    Raises
    ------
    DataError
        If ``errors`` is not a numeric finite frame, a segment is empty or outside its rows,
        names an unknown channel, or no segment has cause channels.
    ConfigError
        If ``p`` is not > 0.
    """
    check_number("p", p, low=0.0, low_open=True)
    values = check_frame(errors, source="errors")
    columns = [str(c) for c in errors.columns]
    n_rows, n_channels = values.shape
    rows, skipped = [], 0
    for segment in segments:
        start, end, channels = _parse(segment)
        if not channels:
            skipped += 1
            continue
        if not 0 <= start < end <= n_rows:
            raise DataError(f"segment [{start}, {end}): empty or outside the {n_rows} rows of errors")
        unknown = sorted(set(channels) - set(columns))
        if unknown:
            raise DataError(f"segment [{start}, {end}) names channels {unknown} that errors does not have")
        truth = np.isin(columns, channels)
        k = _top_k(p, int(truth.sum()), n_channels)
        rate = float(_step_hits(values[start:end], truth, k).mean())
        rows.append({"start": start, "end": end, "channels": list(channels), "k": k, "rows": end - start,
                     "hit_rate": rate})
    if not rows:
        raise DataError("no segment with cause channels to evaluate")
    if skipped:
        logger.warning("skipped %d segment(s) without cause channels", skipped)
    return {"p": p, "hit_rate": float(np.mean([r["hit_rate"] for r in rows])), "n_segments": len(rows),
            "skipped": skipped, "segments": rows}


def hit_rate(errors: pd.DataFrame, segments, *, p: float = 1.0) -> float:
    """HitRate@P of per-channel errors against cause segments (see :func:`hit_rate_report`).

    Parameters
    ----------
    errors : pandas.DataFrame of shape (n_steps, n_channels)
        Per-step, per-channel error, higher = more anomalous.
    segments : iterable of (start, end_exclusive, channels)
        As for :func:`hit_rate_report`.
    p : float, default=1.0
        P as a fraction, > 0.

    Returns
    -------
    float
        In [0, 1]: the mean over segments of the mean over their steps of
        ``|top-floor(P|G|) ∩ G| / |G|``.
    """
    return hit_rate_report(errors, segments, p=p)["hit_rate"]


def random_hit_rate(n_channels: int, segments, *, p: float = 1.0) -> float:
    """Expected HitRate@P of a uniformly random channel ranking.

    ``k`` random channels out of ``n_channels`` hold on average ``k |G| / n_channels`` of the
    |G| causes, so each step, and each segment, scores ``k / n_channels`` with
    ``k = min(floor(P |G|), n_channels)``; averaged over segments as :func:`hit_rate` does.

    Parameters
    ----------
    n_channels : int
        Number of channels ranked (>= 1).
    segments : iterable of (start, end_exclusive, channels)
        As for :func:`hit_rate_report`; segments without channels are skipped.
    p : float, default=1.0
        P as a fraction, > 0.

    Returns
    -------
    float

    Raises
    ------
    DataError
        If no segment has cause channels.
    ConfigError
        If ``n_channels`` or ``p`` is out of range.
    """
    check_number("n_channels", n_channels, low=1, integer=True)
    check_number("p", p, low=0.0, low_open=True)
    sizes = [len(channels) for _, _, channels in map(_parse, segments) if channels]
    if not sizes:
        raise DataError("no segment with cause channels to evaluate")
    return float(np.mean([_top_k(p, g, n_channels) / n_channels for g in sizes]))
