"""Scoring passes: the state that runs from the first to the last row of one file or stream.

Optional parts of the decision head carry state from row to row, so a file scored whole,
block by block or as a stream (hop 1) gets the same scores only if that state travels with
the rows:

* baseline adaptation (``adapt``, :mod:`anomaly.adaptation`): each channel's slow error baseline;
* the set-point channels' reference (:class:`anomaly.conditions.PassReference`): each one's
  mean over the first rows of the pass, which the pass's rows are measured against;
* re-centring (:class:`anomaly.recentring.Recentring`): the shift of each channel whose level
  left the training envelope over the pass's last complete window;
* the sensor checks: how long each channel has held its value (:mod:`anomaly.stuck`) and how
  rough its last rows were (:mod:`anomaly.noise`);
* score smoothing (``smooth``): the score of a row is the mean of the raw row scores of the
  last ``smooth`` rows of the pass (fewer at its start), a causal moving average. Normal
  scores of a moving arm are spiky; a fault that lasts keeps the average up, a spike does not.

A pass starts at :meth:`anomaly.head.ScoreHead.start` (``Detector.start_pass``); every
``score`` call, every file and every stream is a pass of its own, and so is every training log
when the threshold is fitted. A **pause** in the timestamps starts a new pass too
(:mod:`anomaly.pauses`): a session after it is measured against its own start, as it would
be in a file of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from anomaly.adaptation import Baseline, adapt_errors
from anomaly.conditions import PassReference
from anomaly.noise import NoiseLevels
from anomaly.oscillation import Swings
from anomaly.recentring import Recentring
from anomaly.stuck import RunLengths
from anomaly.twins import TwinGaps
from anomaly.validation import check_number

__all__ = ["MovingAverage", "ScoringPass", "check_smooth"]

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
    """The state of one pass: the adaptation baseline, the smoother, the set-point channels'
    reference, re-centring and the sensor checks (:class:`anomaly.stuck.RunLengths`,
    :class:`anomaly.noise.NoiseLevels`, :class:`anomaly.twins.TwinGaps`,
    :class:`anomaly.oscillation.Swings`), each None when off (the reference and the checks follow
    the pass's rows in :meth:`anomaly.base.Detector.pass_rows`, before the detector sees them;
    the checks reach the scores in :meth:`anomaly.base.Detector.scores_of_errors`)."""

    baseline: Baseline | None = None
    smoother: MovingAverage | None = None
    reference: PassReference | None = None
    stuck: RunLengths | None = None
    noise: NoiseLevels | None = None
    twin: TwinGaps | None = None
    oscillation: Swings | None = None
    recentring: Recentring | None = None

    def sensor_checks(self) -> list:
        """The pass's sensor checks that are on (stuck, noisy and oscillating channels, twins that part)."""
        return [check for check in (self.stuck, self.noise, self.twin, self.oscillation) if check is not None]

    def scores(self, errors: np.ndarray, extra: np.ndarray | None, row_scores: Callable) -> tuple[np.ndarray, np.ndarray]:
        """Errors (n, c) and scores (n,) of the next rows' raw errors (n, c) and extra (n,) or None.

        ``row_scores(errors, extra) -> (n,)`` is the detector's score of a row's errors.
        """
        score = row_scores if self.smoother is None else (lambda e, x: self.smoother(row_scores(e, x)))
        if self.baseline is None:
            return errors, np.asarray(score(errors, extra))
        return adapt_errors(errors, extra, score, self.baseline)
