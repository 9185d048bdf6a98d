"""Point-wise metrics: row-wise confusion counts and rates, AUC-ROC and AUC-PR.

Conventions are those of :mod:`anomaly.metrics.common`.
"""

from __future__ import annotations

import logging

import numpy as np

from anomaly.metrics.common import f1_of, labels_and, ratio
from anomaly.validation import as_flags, as_scores

__all__ = ["point_metrics", "auc_roc", "auc_pr"]

logger = logging.getLogger(__name__)


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
    truth, pred = labels_and(y_true, y_pred, "y_pred", as_flags)
    tp = int(np.sum(truth & pred))
    fp = int(np.sum(~truth & pred))
    fn = int(np.sum(truth & ~pred))
    tn = int(np.sum(~truth & ~pred))
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {"precision": precision, "recall": recall, "f1": f1_of(precision, recall),
            "far": ratio(fp, fp + tn), "mar": ratio(fn, fn + tp),
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

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite or of different lengths.
    """
    truth, values = labels_and(y_true, scores, "scores", as_scores)
    if truth.all() or not truth.any():
        logger.debug("auc_roc undefined: only one class in y_true")
        return float("nan")
    from sklearn.metrics import roc_auc_score  # scikit-learn loads in about a second: only when asked

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

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite or of different lengths.
    """
    truth, values = labels_and(y_true, scores, "scores", as_scores)
    if not truth.any():
        logger.debug("auc_pr undefined: no positives in y_true")
        return float("nan")
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(truth, values))
