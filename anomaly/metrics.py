"""Point-wise, event-wise and ranking metrics for anomaly detection, plus baselines.

Conventions
-----------
* ``y_true``: (n,) binary labels (bool or 0/1), True = anomalous row.
* ``y_pred``: (n,) binary flags; ``scores``: (n,) finite floats, higher = more anomalous.
* Inputs are matched by position (pandas indexes are ignored).
* Every ratio whose denominator is 0 (e.g. precision with no flags) is defined as 0.0.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from anomaly.errors import ConfigError, DataError
from anomaly.events import event_ranges
from anomaly.validation import as_flags, as_scores, check_lengths, check_number

__all__ = ["point_metrics", "auc_roc", "auc_pr", "event_metrics", "evaluate", "baselines",
           "metric_table"]

logger = logging.getLogger(__name__)

DEFAULT_COLUMNS = ("f1", "precision", "recall", "far", "mar", "auc_pr", "auc_roc", "event_f1",
                   "mean_delay")


def _ratio(num: float, den: float) -> float:
    """``num / den``, with 0/0 (or x/0) defined as 0.0."""
    return float(num / den) if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def _labels_and(y_true, other, name: str, convert) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``y_true`` to flags and ``other`` with ``convert``; check equal lengths."""
    truth = as_flags(y_true, "y_true")
    values = convert(other, name)
    check_lengths(y_true=truth, **{name: values})
    return truth, values


def point_metrics(y_true, y_pred) -> dict:
    """Row-wise confusion counts and rates.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    y_pred : array-like of shape (n,)
        Binary flags.

    Returns
    -------
    dict
        ``precision = tp/(tp+fp)``, ``recall = tp/(tp+fn)``, ``f1``,
        ``far = fp/(fp+tn)`` (false alarm rate on normal rows),
        ``mar = fn/(fn+tp)`` (missed alarm rate), and the counts ``tp, fp, fn, tn``
        (int). A ratio with a zero denominator is 0.0.

    Raises
    ------
    DataError
        If inputs are empty, non-binary or of different lengths.
    """
    truth, pred = _labels_and(y_true, y_pred, "y_pred", as_flags)
    tp = int(np.sum(truth & pred))
    fp = int(np.sum(~truth & pred))
    fn = int(np.sum(truth & ~pred))
    tn = int(np.sum(~truth & ~pred))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall),
            "far": _ratio(fp, fp + tn), "mar": _ratio(fn, fn + tp),
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def auc_roc(y_true, scores) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    scores : array-like of shape (n,)
        Finite anomaly scores.

    Returns
    -------
    float
        NaN if only one class is present in ``y_true``.
    """
    truth, values = _labels_and(y_true, scores, "scores", as_scores)
    if truth.all() or not truth.any():
        logger.debug("auc_roc undefined: only one class in y_true")
        return float("nan")
    return float(roc_auc_score(truth, values))


def auc_pr(y_true, scores) -> float:
    """Area under the precision-recall curve as average precision (sklearn).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    scores : array-like of shape (n,)
        Finite anomaly scores.

    Returns
    -------
    float
        NaN if ``y_true`` has no positives.
    """
    truth, values = _labels_and(y_true, scores, "scores", as_scores)
    if not truth.any():
        logger.debug("auc_pr undefined: no positives in y_true")
        return float("nan")
    return float(average_precision_score(truth, values))


def _first_hits(ranges: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Position of the first True of ``flags`` at or after each range start (n if none).

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

    Events are maximal runs of True (see :func:`anomaly.events.event_ranges`). A true
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
    truth, pred = _labels_and(y_true, y_pred, "y_pred", as_flags)
    true_ranges, pred_ranges = event_ranges(truth), event_ranges(pred)
    first_flag = _first_hits(true_ranges, pred)
    detected = first_flag <= true_ranges[:, 1]
    pred_hits = _first_hits(pred_ranges, truth) <= pred_ranges[:, 1]
    precision = _ratio(pred_hits.sum(), len(pred_ranges))
    recall = _ratio(detected.sum(), len(true_ranges))
    delays = first_flag[detected] - true_ranges[detected, 0]
    return {"event_precision": precision, "event_recall": recall,
            "event_f1": _f1(precision, recall),
            "n_true_events": len(true_ranges), "n_pred_events": len(pred_ranges),
            "mean_delay": float(delays.mean()) if len(delays) else float("nan")}


def evaluate(y_true, scores, y_pred) -> dict:
    """All metrics in one flat dict.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    scores : array-like of shape (n,)
        Finite anomaly scores.
    y_pred : array-like of shape (n,)
        Binary flags.

    Returns
    -------
    dict
        Keys of :func:`point_metrics` and :func:`event_metrics`, plus ``auc_roc`` and
        ``auc_pr``.
    """
    truth = as_flags(y_true, "y_true")
    values, pred = as_scores(scores, "scores"), as_flags(y_pred, "y_pred")
    check_lengths(y_true=truth, scores=values, y_pred=pred)
    return {**point_metrics(truth, pred), **event_metrics(truth, pred),
            "auc_roc": auc_roc(truth, values), "auc_pr": auc_pr(truth, values)}


def baselines(y_true, *, seed=0) -> dict[str, dict]:
    """Metrics of trivial detectors, to compare real detectors against.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    seed : int, default 0
        Seed of the random baseline, >= 0.

    Returns
    -------
    dict of str to dict
        ``"random"``: uniform random scores, flagged above the quantile that makes the
        flag rate equal the true anomaly rate; ``"all-anomalous"``: constant scores,
        every row flagged. Values are :func:`evaluate` dicts.
    """
    check_number("seed", seed, low=0, integer=True)
    truth = as_flags(y_true, "y_true")
    random_scores = np.random.default_rng(seed).random(len(truth))
    random_flags = random_scores > np.quantile(random_scores, 1 - truth.mean())
    ones = np.ones(len(truth))
    return {"random": evaluate(truth, random_scores, random_flags),
            "all-anomalous": evaluate(truth, ones, ones.astype(bool))}


def metric_table(results: dict[str, dict], columns=DEFAULT_COLUMNS) -> pd.DataFrame:
    """Tabulate metric dicts for printing.

    Parameters
    ----------
    results : dict of str to dict
        Name (detector, baseline...) -> metrics dict such as from :func:`evaluate`.
    columns : sequence of str
        Metrics to show, in order.

    Returns
    -------
    pandas.DataFrame of shape (len(results), len(columns))
        One row per name (index named ``"name"``); a metric missing for a name is NaN.

    Raises
    ------
    DataError
        If ``results`` is empty.
    ConfigError
        If a column is not a metric of any result.
    """
    if not results:
        raise DataError("results: empty (need at least one name -> metrics dict)")
    table = pd.DataFrame.from_dict(results, orient="index")
    unknown = [c for c in columns if c not in table.columns]
    if unknown:
        raise ConfigError(f"columns {unknown} are unknown: allowed are {list(table.columns)}")
    table = table[list(columns)]
    table.index.name = "name"
    return table
