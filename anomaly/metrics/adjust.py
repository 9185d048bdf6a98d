"""Point adjustment: a true range with any flagged row counts as fully detected.

:func:`point_adjusted_report` never gives PA-F1 alone but beside unadjusted F1 and the PA-F1
of random flags at the same rate. Conventions are those of :mod:`anomaly.metrics.common`.
"""

from __future__ import annotations

import numpy as np

from anomaly.decisions import event_ranges
from anomaly.metrics.common import labels_and_flags
from anomaly.metrics.point import point_metrics
from anomaly.validation import as_scores, check_lengths, check_number

__all__ = ["point_adjust", "point_adjusted_f1", "point_adjusted_report"]


def _range_sums(values: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each inclusive ``[start, end]`` row range.

    Parameters
    ----------
    values : numpy.ndarray of shape (n,)
    ranges : numpy.ndarray of shape (n_ranges, 2)
        Inclusive ``(start, end)`` row positions.

    Returns
    -------
    numpy.ndarray of shape (n_ranges,), float64
    """
    prefix = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    return prefix[ranges[:, 1] + 1] - prefix[ranges[:, 0]]


def point_adjust(y_true, y_pred) -> np.ndarray:
    """Flags after point adjustment.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    y_pred : array-like of shape (n,)
        Binary flags.

    Returns
    -------
    numpy.ndarray of shape (n,), dtype bool
        ``y_pred`` with every true range that holds at least one flag flagged in full.

    Raises
    ------
    DataError
        If inputs are empty, non-binary or of different lengths.
    """
    truth, pred = labels_and_flags(y_true, y_pred)
    ranges = event_ranges(truth)
    hit = ranges[_range_sums(pred, ranges) > 0]
    step = np.zeros(len(pred) + 1, dtype=np.int64)
    step[hit[:, 0]] += 1
    step[hit[:, 1] + 1] -= 1
    return pred | (np.cumsum(step[:-1]) > 0)


def point_adjusted_f1(y_true, y_pred) -> float:
    """F1 of the point-adjusted flags (see :func:`point_adjust`).

    Point adjustment inflates F1: one flag per true range earns full recall there, so even
    random flags can score high. Prefer :func:`point_adjusted_report`, which shows that.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    y_pred : array-like of shape (n,)
        Binary flags.

    Returns
    -------
    float
        In [0, 1]; 0.0 if there are no labels or no flags.

    Raises
    ------
    DataError
        If inputs are empty, non-binary or of different lengths.
    """
    truth, pred = labels_and_flags(y_true, y_pred)
    return point_metrics(truth, point_adjust(truth, pred))["f1"]


def point_adjusted_report(y_true, scores, y_pred, *, seed: int = 0) -> dict[str, float]:
    """Point-adjusted F1, never alone: beside unadjusted F1 and random flags' PA-F1.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    scores : array-like of shape (n,)
        The detector's finite scores; only checked, so that the call matches
        :func:`anomaly.metrics.evaluate`.
    y_pred : array-like of shape (n,)
        Binary flags.
    seed : int, default 0
        Seed of the random scores, >= 0.

    Returns
    -------
    dict
        ``f1`` (unadjusted), ``pa_f1`` (adjusted) and ``pa_f1_random``: the adjusted F1 of
        uniform random scores whose ``y_pred.sum()`` highest rows are flagged, i.e. of random
        flags at exactly ``y_pred``'s flag rate. A ``pa_f1`` near ``pa_f1_random`` shows
        the adjustment, not the detector, earned it.

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite or of different lengths.
    ConfigError
        If ``seed`` is not an integer >= 0.
    """
    check_number("seed", seed, low=0, integer=True)
    truth, pred = labels_and_flags(y_true, y_pred)
    check_lengths(y_true=truth, scores=as_scores(scores, "scores"))
    noise = np.random.default_rng(seed).random(len(truth))
    random_flags = np.zeros(len(truth), dtype=bool)
    random_flags[np.argsort(noise)[len(truth) - int(pred.sum()):]] = True
    return {"f1": point_metrics(truth, pred)["f1"],
            "pa_f1": point_metrics(truth, point_adjust(truth, pred))["f1"],
            "pa_f1_random": point_metrics(truth, point_adjust(truth, random_flags))["f1"]}
