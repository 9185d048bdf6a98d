"""Scoring passes: the state that runs from the first to the last row of one file or stream.

Two optional parts of the decision head carry state from row to row, so a file scored whole,
block by block or as a stream (hop 1) gets the same scores only if that state travels with
the rows:

* baseline adaptation (``adapt``, :mod:`anomaly.adaptation`): each channel's slow error baseline;
* the set-point channels' reference (:class:`anomaly.conditions.PassReference`): each one's
  mean over the first rows of the pass, which the pass's rows are measured against;
* score smoothing (``smooth``): the score of a row is the mean of the raw row scores of the
  last ``smooth`` rows of the pass (fewer at its start), a causal moving average. Normal
  scores of a moving arm are spiky; a fault that lasts keeps the average up, a spike does not.

A pass starts at :meth:`anomaly.head.ScoreHead.start` (``Detector.start_pass``); every
``score`` call, every file and every stream is a pass of its own, and so is every training log
when the threshold is fitted. A **pause** starts a new pass too: a step between two
timestamped rows of at least :data:`PAUSE_S` seconds and :data:`PAUSE_PERIODS` sampling
periods of the model (:func:`pause_length`). A robot that stopped for a while (a break, a
cool-down, a restart) starts again at other temperatures and levels; its second session is
measured against its own start, as it would be in a file of its own, and windows do not
reach across the pause. Without timestamps (or a sampling rate) nothing is a pause;
numbers are timestamps as :func:`anomaly.schema.time_ns` reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from numbers import Real

import numpy as np
import pandas as pd

from anomaly.adaptation import Baseline, adapt_errors
from anomaly.conditions import PassReference
from anomaly.schema import time_ns, unit_of_times
from anomaly.validation import check_number

__all__ = ["PAUSE_PERIODS", "PAUSE_S", "MovingAverage", "ScoringPass", "check_smooth", "is_pause", "pass_slices",
           "pause_length"]

#: A step of at least this many seconds between two rows is a pause (a new pass) ...
PAUSE_S = 60.0
#: ... if it is also at least this many sampling periods of the model (a 1 Hz log: 100 s).
PAUSE_PERIODS = 100


def pause_length(rate_hz: float | None) -> pd.Timedelta | None:
    """The shortest step that is a pause for a model sampled at ``rate_hz``; None without a rate."""
    if rate_hz is None or not rate_hz > 0:
        return None
    return pd.Timedelta(seconds=max(PAUSE_S, PAUSE_PERIODS / float(rate_hz)))


def pass_slices(index: pd.Index, rate_hz: float | None) -> list[slice]:
    """The passes of consecutive rows: slices of ``index`` (n,) split at every pause.

    Without timestamps (:func:`anomaly.schema.time_ns`) or a rate: one slice of every row. (Whether a pause lies before
    ``index[0]``, in a stream or a file read in blocks, is :func:`is_pause`'s question.)

    Returns
    -------
    list of slice
        Covering ``0 .. n`` in order; ``[slice(0, n)]`` without pauses.
    """
    pause = pause_length(rate_hz)
    stamps = time_ns(index) if pause is not None and len(index) >= 2 else None
    if stamps is None:
        return [slice(0, len(index))]
    steps = np.diff(stamps)
    cuts = (np.flatnonzero(steps >= pause.value) + 1).tolist()
    bounds = [0, *cuts, len(index)]
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


def is_pause(before, after, pause: pd.Timedelta | None) -> bool:
    """True when the step from timestamp ``before`` to ``after`` is at least ``pause``
    (:func:`pause_length`): two datetimes, or two numbers that are times
    (:func:`anomaly.schema.ns_per_unit`); False for anything else. About a microsecond."""
    if pause is None or before is None:
        return False
    if isinstance(after, pd.Timestamp) and isinstance(before, pd.Timestamp):  # a stream's usual case, 10x faster
        return after.value - before.value >= pause.value
    if isinstance(before, datetime) and isinstance(after, datetime):
        return after - before >= pause.to_pytimedelta()  # timedelta against timedelta: 20x faster than pandas
    if isinstance(before, Real) and isinstance(after, Real) and math.isfinite(before) and math.isfinite(after):
        unit = unit_of_times(max(abs(before), abs(after)), float(before).is_integer() and float(after).is_integer())
        return unit is not None and (after - before) * unit >= pause.value
    return False


def check_smooth(rows) -> int | None:
    """``smooth`` (rows, an integer >= 1) or None; raises ConfigError otherwise."""
    if rows is None:
        return None
    return int(check_number("smooth", rows, low=1, integer=True))


class MovingAverage:
    """Causal moving average over the last ``rows`` values of a pass, fed in consecutive pieces.

    Parameters
    ----------
    rows : int
        Window length (>= 1); the first ``rows - 1`` values average over the values so far.
    """

    def __init__(self, rows: int):
        self.rows = int(rows)
        self._tail = np.zeros(0, dtype=np.float64)

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Smoothed scores (n,) of the next raw scores (n,) of the pass."""
        scores = np.asarray(scores, dtype=np.float64)
        values = np.concatenate([self._tail, scores])
        sums = np.concatenate([[0.0], np.cumsum(values)])
        end = np.arange(len(self._tail) + 1, len(values) + 1)
        start = np.maximum(end - self.rows, 0)
        smoothed = (sums[end] - sums[start]) / (end - start)
        self._tail = values[max(len(values) - self.rows + 1, 0):] if self.rows > 1 else values[:0]
        return smoothed


@dataclass
class ScoringPass:
    """The state of one pass: the adaptation baseline, the smoother and the set-point channels'
    reference, each None when off (the reference is applied to the pass's rows by
    :meth:`anomaly.base.Detector.pass_rows`, before the detector sees them)."""

    baseline: Baseline | None = None
    smoother: MovingAverage | None = None
    reference: PassReference | None = None

    def scores(self, errors: np.ndarray, extra: np.ndarray | None, row_scores: Callable) -> tuple[np.ndarray, np.ndarray]:
        """Errors (n, c) and scores (n,) of the next rows' raw errors (n, c) and extra (n,) or None.

        ``row_scores(errors, extra) -> (n,)`` is the detector's score of a row's errors.
        """
        score = row_scores if self.smoother is None else (lambda e, x: self.smoother(row_scores(e, x)))
        if self.baseline is None:
            return errors, np.asarray(score(errors, extra))
        return adapt_errors(errors, extra, score, self.baseline)
