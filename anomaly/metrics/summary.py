"""One detector output's metrics as flat dicts, for tables: the point, event and ranking
metrics (:func:`evaluate`) and the range-aware ones (:func:`range_report`).

Conventions are those of :mod:`anomaly.metrics.common`.
"""

from __future__ import annotations

from anomaly.metrics.adjust import point_adjusted_report
from anomaly.metrics.events import event_metrics
from anomaly.metrics.nab import nab_score
from anomaly.metrics.point import auc_pr, auc_roc, point_metrics
from anomaly.metrics.tatbul import range_precision_recall
from anomaly.metrics.volume import vus
from anomaly.validation import as_flags, as_scores, check_lengths

__all__ = ["evaluate", "range_report"]


def evaluate(y_true, scores, y_pred) -> dict:
    """All point, event and ranking metrics in one flat dict.

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
        Keys of :func:`~anomaly.metrics.point.point_metrics` and
        :func:`~anomaly.metrics.events.event_metrics`, plus ``auc_roc`` and ``auc_pr``.

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite or of different lengths.
    """
    truth = as_flags(y_true, "y_true")
    values, pred = as_scores(scores, "scores"), as_flags(y_pred, "y_pred")
    check_lengths(y_true=truth, scores=values, y_pred=pred)
    return {**point_metrics(truth, pred), **event_metrics(truth, pred),
            "auc_roc": auc_roc(truth, values), "auc_pr": auc_pr(truth, values)}


def range_report(y_true, scores, y_pred, *, seed: int = 0) -> dict[str, float]:
    """The range-aware metrics of one detector's output, for tables.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    scores : array-like of shape (n,)
        Finite anomaly scores.
    y_pred : array-like of shape (n,)
        Binary flags.
    seed : int, default 0
        Seed of the random baseline of
        :func:`~anomaly.metrics.adjust.point_adjusted_report`.

    Returns
    -------
    dict
        ``vus_pr``, ``vus_roc`` (defaults of :func:`~anomaly.metrics.volume.vus`),
        ``range_precision``, ``range_recall``, ``range_f1`` (flat bias, alpha 0, cardinality
        one), ``nab_standard``, and ``pa_f1`` always beside ``pa_f1_random``. All NaN if
        ``y_true`` has no anomalous row; ``vus_*`` NaN if it has no normal row.

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite or of different lengths.
    """
    truth = as_flags(y_true, "y_true")
    if not truth.any():
        keys = ("vus_pr", "vus_roc", "range_precision", "range_recall", "range_f1", "nab_standard", "pa_f1",
                "pa_f1_random")
        return dict.fromkeys(keys, float("nan"))
    ranged = range_precision_recall(truth, y_pred)
    adjusted = point_adjusted_report(truth, scores, y_pred, seed=seed)
    volume = vus(truth, scores) if not truth.all() else {"vus_roc": float("nan"), "vus_pr": float("nan")}
    return {**volume,
            "range_precision": ranged["precision"], "range_recall": ranged["recall"], "range_f1": ranged["f1"],
            "nab_standard": nab_score(truth, y_pred),
            "pa_f1": adjusted["pa_f1"], "pa_f1_random": adjusted["pa_f1_random"]}
