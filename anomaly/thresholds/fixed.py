"""Fixed thresholds: one number computed from the normal scores, compared with every score."""

from __future__ import annotations

import numpy as np

from anomaly.decisions.rules import DEFAULT_RULES, severe_level, share_level
from anomaly.decisions.runs import decide_runs
from anomaly.errors import DataError
from anomaly.thresholds.base import Threshold
from anomaly.validation import check_number

__all__ = ["KSigma", "Percentile", "SkabUCL", "Sustained"]


class Percentile(Threshold):
    """``threshold_ = np.percentile(scores, q)`` (linear interpolation).

    Parameters
    ----------
    q : float, default 99.0
        Percentile in (0, 100].
    """

    def __init__(self, q=99.0):
        self.q = q

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)

    def _compute(self, scores: np.ndarray) -> float:
        return np.percentile(scores, self.q)


class KSigma(Threshold):
    """``threshold_ = mean(scores) + k * std(scores)`` (population std, ddof=0).

    Parameters
    ----------
    k : float, default 3.0
        Number of standard deviations, >= 0.
    """

    def __init__(self, k=3.0):
        self.k = k

    def _check_params(self) -> None:
        check_number("k", self.k, low=0)

    def _compute(self, scores: np.ndarray) -> float:
        return scores.mean() + self.k * scores.std()


class SkabUCL(Threshold):
    """SKAB notebooks' upper control limit: ``factor * np.percentile(scores, q)``.

    Meant for non-negative scores such as absolute or squared residuals.

    Parameters
    ----------
    q : float, default 99.0
        Percentile of the training residuals, in (0, 100].
    factor : float, default 1.5
        Multiplier, > 0.
    """

    def __init__(self, q=99.0, *, factor=1.5):
        self.q = q
        self.factor = factor

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)
        check_number("factor", self.factor, low=0, low_open=True)

    def _compute(self, scores: np.ndarray) -> float:
        return self.factor * np.percentile(scores, self.q)


class Sustained(Threshold):
    """The lowest level at which the alert rules raise no alarm on the normal scores, times ``factor``.

    Fitted on normal scores, ``threshold_`` is the smallest score level ``t`` for which
    :func:`anomaly.decisions.runs.decide_runs` (enter above ``t``, hold above ``exit_ratio x t``,
    the given minimum duration and merge gap) finds no event, multiplied by ``factor``. It
    targets the alarm rate a user sees rather than a share of flagged rows: ``Percentile(99)``
    flags 1 % of normal rows, which the alert rules turn into hundreds of short events per hour
    on the simulated arm.

    Parameters
    ----------
    min_duration, merge_gap : int or None, default None
        Alert rules in rows. None: those of the ``rules`` given to :meth:`fit` (a detector
        gives its default rules at its sampling rate, so 0.25 s and 1 s at any rate), else
        :data:`anomaly.decisions.DEFAULT_RULES`' (25 and 100 rows).
    exit_ratio : float
        Hold level as a fraction of the threshold (default: ``DEFAULT_RULES.exit_ratio``).
    severe_ratio : float or None, default None
        Count a run above this multiple of the level as an alarm however short, as the
        default alert rules do (``DEFAULT_RULES.severe_ratio``), so that the level is also at
        least the largest normal score divided by it. None (default): only runs of
        ``min_duration`` count, because a few unlabelled spikes in "normal" training data (SMD,
        ASD) would otherwise set the level alone: measured, that costs SMD's point F1 0.49 ->
        0.32 and changes nothing on the simulated arm or ALFA.
    factor : float, default 1.0
        Margin on that level (> 0).
    """

    def __init__(self, min_duration=None, merge_gap=None, exit_ratio=DEFAULT_RULES.exit_ratio, severe_ratio=None, factor=1.0):
        self.min_duration = min_duration
        self.merge_gap = merge_gap
        self.exit_ratio = exit_ratio
        self.severe_ratio = severe_ratio
        self.factor = factor

    def _check_params(self) -> None:
        if self.min_duration is not None:
            check_number("min_duration", self.min_duration, low=1, integer=True)
        if self.merge_gap is not None:
            check_number("merge_gap", self.merge_gap, low=0, integer=True)
        check_number("exit_ratio", self.exit_ratio, low=0, high=1, low_open=True)
        if self.severe_ratio is not None:
            check_number("severe_ratio", self.severe_ratio, low=1)
        check_number("factor", self.factor, low=0, low_open=True)

    def fit(self, scores, *, rules=None, lengths=None) -> Sustained:
        rules = DEFAULT_RULES if rules is None else rules
        self._counts = (int(rules.min_duration if self.min_duration is None else self.min_duration),
                        int(rules.merge_gap if self.merge_gap is None else self.merge_gap))
        return super().fit(scores, lengths=lengths)

    def _quiet(self, scores: np.ndarray, level: float) -> bool:
        above = severe_level(level, self.severe_ratio)
        severe = None if above is None else scores > above
        min_duration, merge_gap = self._counts
        runs = decide_runs(scores > level, scores > self.exit_ratio * level, min_duration=min_duration, merge_gap=merge_gap,
                           severe=severe)
        return len(runs) == 0

    def _compute(self, scores: np.ndarray) -> float:
        levels = np.unique(scores)  # the answer is one of the scores (or the largest, always quiet)
        lo, hi = 0, len(levels) - 1
        while lo < hi:  # quietness only grows with the level: bisect for the first quiet one
            mid = (lo + hi) // 2
            if self._quiet(scores, float(levels[mid])):
                hi = mid
            else:
                lo = mid + 1
        return self.factor * float(levels[lo])


class QuietLogs(Sustained):
    """The larger of a percentile of the normal scores and the level at which the alert rules
    stay quiet on most training logs: the default threshold.

    Per training log (a file, a session: ``lengths`` given to :meth:`fit`), the lowest level
    at which the alert rules raise no alarm on its scores (:class:`Sustained` on that log);
    ``threshold_`` is the larger of the ``q``-th percentile of all scores and the level that
    keeps logs holding at least ``share`` of the scores quiet (with the default 0.5 and logs of
    one length, the median log's; a short log counts for its length, so a 15 s test log beside
    hours of production logs cannot pull the level down). With one log it is the larger of the
    percentile and that log's quiet level.

    Why: ``Percentile(99)`` flags 1 % of normal rows however they fall, and on the simulated
    arm its held-out training scores already held short alarms (12 false alarms an hour on
    fresh normal runs, 24 after a warm-up session). :class:`Sustained` keeps every training
    log quiet, so one odd log sets the level: on ALFA's 9 normal flights one flight's quiet
    level is 7.8, the median's 1.9, the 99th percentile 4.2, and ALFA's detected flights
    fell from 42 % to 5 % (16 % with PCA's channel limits). The median log's level leaves an
    odd log out, the percentile bounds it from below (``benchmarks/conditions.py``).

    Parameters
    ----------
    q : float, default 99.0
        Percentile of the scores (0-100) the threshold is at least.
    share : float, default 0.5
        Share of the training scores (0-1], counted by the logs that hold them, on which the
        alert rules must stay quiet.
    min_duration, merge_gap, exit_ratio, severe_ratio, factor
        As :class:`Sustained` (the factor multiplies the logs' quiet level).
    """

    def __init__(self, q=99.0, share=0.5, min_duration=None, merge_gap=None, exit_ratio=DEFAULT_RULES.exit_ratio,
                 severe_ratio=None, factor=1.0):
        super().__init__(min_duration=min_duration, merge_gap=merge_gap, exit_ratio=exit_ratio, severe_ratio=severe_ratio,
                         factor=factor)
        self.q = q
        self.share = share

    def _check_params(self) -> None:
        super()._check_params()
        check_number("q", self.q, low=0, high=100)
        check_number("share", self.share, low=0, high=1, low_open=True)

    def fit(self, scores, *, rules=None, lengths=None) -> QuietLogs:
        self._lengths = None if lengths is None else [int(n) for n in lengths]
        return super().fit(scores, rules=rules, lengths=lengths)

    def _compute(self, scores: np.ndarray) -> float:
        lengths = self._lengths if self._lengths is not None else [len(scores)]
        if sum(lengths) != len(scores) or min(lengths) < 1:
            raise DataError(f"log lengths {lengths} do not split {len(scores)} scores")
        quiet = [super(QuietLogs, self)._compute(log) for log in np.split(scores, np.cumsum(lengths)[:-1])]
        level = share_level(quiet, lengths, self.share)  # quiet on at least `share` of the time
        return max(float(np.percentile(scores, self.q)), level)
