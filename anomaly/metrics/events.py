"""Event-wise metrics: precision/recall over labelled and flagged events, and detection delay.

Events are maximal runs of True (:func:`anomaly.decisions.event_ranges`); other conventions are
those of :mod:`anomaly.metrics.common`.
"""

from __future__ import annotations

import numpy as np

from anomaly.decisions import event_ranges
from anomaly.metrics.common import f1_of, labels_and, ratio
from anomaly.validation import as_flags

__all__ = ["event_metrics"]


def _first_hits(ranges: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Position of the first True of ``flags`` at or after each range start (n if none).

    Parameters
    ----------
    ranges : numpy.ndarray of shape (n_ranges, 2)
        Inclusive ``(start, end)`` row positions.
    flags : numpy.ndarray of shape (n,), dtype bool

    Returns
    -------
    numpy.ndarray of shape (n_ranges,)
        A range contains a flag iff its value is ``<= end_pos``.
    """
    n = len(flags)
    next_flag = np.minimum.accumulate(np.where(flags, np.arange(n), n)[::-1])[::-1]
    return next_flag[ranges[:, 0]]


def event_metrics(y_true, y_pred) -> dict:
    """Event-wise precision/recall and detection delay.

    Events are maximal runs of True (see :func:`anomaly.decisions.event_ranges`). A true
    event is detected if any flagged row falls inside it; a predicted event is a true
    positive if it overlaps any true event.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    y_pred : array-like of shape (n,)
        Binary flags.

    Returns
    -------
    dict
        ``event_precision`` (true-positive predicted events / predicted events),
        ``event_recall`` (detected true events / true events), ``event_f1``,
        ``n_true_events``, ``n_pred_events`` (int) and ``mean_delay``: mean over
        detected true events of the rows from the event's start to its first flagged
        row (NaN if none detected). Ratios with a zero denominator are 0.0.

    Raises
    ------
    DataError
        If inputs are empty, non-binary or of different lengths.
    """
    truth, pred = labels_and(y_true, y_pred, "y_pred", as_flags)
    true_ranges, pred_ranges = event_ranges(truth), event_ranges(pred)
    first_flag = _first_hits(true_ranges, pred)
    detected = first_flag <= true_ranges[:, 1]
    pred_hits = _first_hits(pred_ranges, truth) <= pred_ranges[:, 1]
    precision = ratio(pred_hits.sum(), len(pred_ranges))
    recall = ratio(detected.sum(), len(true_ranges))
    delays = first_flag[detected] - true_ranges[detected, 0]
    return {"event_precision": precision, "event_recall": recall,
            "event_f1": f1_of(precision, recall),
            "n_true_events": len(true_ranges), "n_pred_events": len(pred_ranges),
            "mean_delay": float(delays.mean()) if len(delays) else float("nan")}
