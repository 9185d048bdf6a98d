"""Range-AUC and the volume under the range-ROC/PR surfaces (VUS): Paparrizos et al., "Volume
Under the Surface", VLDB 2022.

Computed as the authors' reference implementation in TSB-AD does
(``benchmarks/vus_agreement.py`` compares them). Conventions are those of
:mod:`anomaly.metrics.common`.
"""

from __future__ import annotations

import logging

import numpy as np

from anomaly.decisions import event_ranges
from anomaly.errors import DataError
from anomaly.validation import as_flags, as_scores, check_lengths, check_number

__all__ = ["range_auc", "vus", "VUS_MAX_WINDOW", "VUS_STEPS"]

logger = logging.getLogger(__name__)

#: TSB-AD's defaults (``get_metrics(slidingWindow=100, thre=250)``).
VUS_MAX_WINDOW = 100
VUS_STEPS = 250


def _labels_and_scores(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` as bool and ``scores`` as float arrays of shape (n,), checked for both classes.

    Raises
    ------
    DataError
        If an input is empty, non-binary/non-finite, the lengths differ, or ``y_true`` has
        only one class.
    """
    truth, values = as_flags(y_true, "y_true"), as_scores(scores, "scores")
    check_lengths(y_true=truth, scores=values)
    if not truth.any():
        raise DataError("y_true: no anomalous row; range-AUC/VUS needs at least one labelled range")
    if truth.all():
        raise DataError("y_true: every row is anomalous; range-AUC/VUS needs at least one normal row")
    return truth, values


def _hits(row_scores: np.ndarray, weights: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``sum(weights[row_scores >= cut])`` for every cut.

    Parameters
    ----------
    row_scores : numpy.ndarray of shape (n_rows,)
    weights : numpy.ndarray of shape (n_rows,)
    cuts : numpy.ndarray of shape (n_cuts,)

    Returns
    -------
    numpy.ndarray of shape (n_cuts,)
    """
    order = np.argsort(row_scores, kind="stable")
    prefix = np.concatenate(([0.0], np.cumsum(weights[order])))
    return prefix[-1] - prefix[np.searchsorted(row_scores[order], cuts, side="left")]


def _buffer(ranges: np.ndarray, truth: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Soft labels of the buffer rows around the labelled ranges for buffer size ``window``.

    Rows at distance ``d`` = 1..``window // 2`` before a range's start or after its end get
    ``sqrt(1 - d / window)``, summed where buffers meet and capped at 1; labelled rows are
    not buffer rows.

    Parameters
    ----------
    ranges : numpy.ndarray of shape (n_ranges, 2)
        Inclusive ``(start, end)`` row positions of the labelled ranges.
    truth : numpy.ndarray of shape (n,), dtype bool
    window : int

    Returns
    -------
    rows : numpy.ndarray of shape (n_buffer,), dtype intp
    weights : numpy.ndarray of shape (n_buffer,), float in (0, 1]
    """
    d = np.arange(1, window // 2 + 1)
    rows = np.concatenate(((ranges[:, :1] - d).ravel(), (ranges[:, 1:] + d).ravel()))
    ramp = np.tile(np.sqrt(1.0 - d / window), 2 * len(ranges))  # empty for window 0 or 1
    keep = (rows >= 0) & (rows < len(truth))
    rows, inverse = np.unique(rows[keep], return_inverse=True)
    weights = np.minimum(np.bincount(inverse, weights=ramp[keep], minlength=len(rows)), 1.0)
    normal = ~truth[rows]
    return rows[normal], weights[normal]


def _segment_max(ranges: np.ndarray, values: np.ndarray, half: int) -> np.ndarray:
    """Highest score of each labelled range widened by ``half`` rows per side, widened
    ranges that touch or overlap merged.

    Parameters
    ----------
    ranges : numpy.ndarray of shape (n_ranges, 2)
        Inclusive ``(start, end)`` row positions, sorted and disjoint.
    values : numpy.ndarray of shape (n,)
    half : int

    Returns
    -------
    numpy.ndarray of shape (n_segments,)
    """
    low = np.maximum(ranges[:, 0] - half, 0)
    high = np.minimum(ranges[:, 1] + half, len(values) - 1)
    first = np.concatenate(([True], low[1:] > high[:-1]))
    last = np.concatenate((first[1:], [True]))
    bounds = np.column_stack((low[first], high[last] + 1)).ravel()
    return np.maximum.reduceat(np.append(values, -np.inf), bounds)[::2]


def _range_auc_slices(truth: np.ndarray, values: np.ndarray, windows, steps: int) -> np.ndarray:
    """Range-AUC-ROC and range-AP for each buffer size in ``windows``.

    Parameters
    ----------
    truth : numpy.ndarray of shape (n,), dtype bool
    values : numpy.ndarray of shape (n,)
    windows : sequence of int
    steps : int

    Returns
    -------
    numpy.ndarray of shape (len(windows), 2)
        Columns ROC, PR.
    """
    n = len(values)
    ascending = np.sort(values)
    cuts = ascending[::-1][np.linspace(0, n - 1, steps).astype(int)]
    n_pred = n - np.searchsorted(ascending, cuts, side="left")
    ranges = event_ranges(truth)
    positives = float(truth.sum())
    anomaly_hits = _hits(values[truth], np.ones(int(positives)), cuts)
    out = np.empty((len(windows), 2))
    for k, window in enumerate(windows):
        rows, weights = _buffer(ranges, truth, window)
        buffer_hits = _hits(values[rows], weights, cuts)
        seg_max = np.sort(_segment_max(ranges, values, window // 2))
        existence = (len(seg_max) - np.searchsorted(seg_max, cuts, side="left")) / len(seg_max)
        tp = anomaly_hits + buffer_hits
        p_new = positives + buffer_hits / 2.0
        tpr = np.minimum(tp / p_new, 1.0) * existence
        fpr = (n_pred - tp) / (n - p_new)
        tpr_curve = np.concatenate(([0.0], tpr, [1.0]))
        fpr_curve = np.concatenate(([0.0], fpr, [1.0]))
        out[k, 0] = np.sum(np.diff(fpr_curve) * (tpr_curve[1:] + tpr_curve[:-1]) / 2.0)
        out[k, 1] = np.sum(np.diff(tpr_curve[:-1]) * (tp / n_pred))
    return out


def range_auc(y_true, scores, window: int, *, steps: int = VUS_STEPS) -> dict[str, float]:
    """Range-AUC-ROC and range-AUC-PR for one buffer size (one slice of :func:`vus`).

    Each labelled range gets a soft-label buffer: the ``window // 2`` rows before its start
    and after its end, at distance ``d``, weigh ``sqrt(1 - d / window)`` (summed where
    buffers meet, capped at 1). At each threshold (``steps`` of them: the scores at evenly
    spaced ranks, highest first), with ``B`` the buffer weight flagged:

    * ``TP`` = flagged labelled rows + ``B``; ``P = positives + B / 2``;
    * ``TPR = min(TP / P, 1) * existence``, existence being the share of buffered ranges
      (merged where they meet) holding a flag; ``FPR = (flagged - TP) / (n - P)``;
      precision ``TP / flagged``.

    ROC is the trapezoid area from (0, 0) through the thresholds to (1, 1); PR is
    ``sum (TPR_k - TPR_{k-1}) * precision_k`` from ``TPR_0 = 0``. This follows
    ``RangeAUC_volume_opt`` of the authors' TSB-AD package, which differs from the paper's
    standalone ``RangeAUC`` only in the buffer ending one row later.

    With ``window`` 0 or 1 there is no buffer; for a single labelled range TPR is then the
    ordinary recall, so when ``n <= steps`` (every score is a threshold) the ROC equals
    ``sklearn.metrics.roc_auc_score`` and PR equals ``average_precision_score``. With several
    ranges the existence factor makes both at most those.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, with at least one anomalous and one normal row.
    scores : array-like of shape (n,)
        Finite anomaly scores.
    window : int
        Buffer size ``l`` (>= 0): ``l // 2`` rows on each side.
    steps : int, default 250
        Number of thresholds (>= 2), TSB-AD's default.

    Returns
    -------
    dict
        ``range_auc_roc`` and ``range_auc_pr``, in [0, 1].

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite, of different lengths, or ``y_true``
        has only one class.
    ConfigError
        If ``window`` or ``steps`` is out of range.
    """
    check_number("window", window, low=0, integer=True)
    check_number("steps", steps, low=2, integer=True)
    truth, values = _labels_and_scores(y_true, scores)
    roc, pr = _range_auc_slices(truth, values, [window], steps)[0]
    return {"range_auc_roc": float(roc), "range_auc_pr": float(pr)}


def vus(y_true, scores, *, max_window: int = VUS_MAX_WINDOW, steps: int = VUS_STEPS) -> dict[str, float]:
    """Volume under the range-ROC and range-PR surfaces (Paparrizos et al., VLDB 2022).

    The mean of :func:`range_auc` over the buffer sizes ``0, 1, ..., max_window``.

    Defaults are those of TSB-AD's ``get_metrics`` (``slidingWindow=100``, ``thre=250``).
    TSB-AD's benchmark runner instead passes each series' dominant period as the window;
    pass ``max_window`` yourself (e.g. the detector's window) to do the same.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, with at least one anomalous and one normal row.
    scores : array-like of shape (n,)
        Finite anomaly scores.
    max_window : int, default 100
        Largest buffer size (>= 0).
    steps : int, default 250
        Number of thresholds (>= 2).

    Returns
    -------
    dict
        ``vus_roc`` and ``vus_pr``, in [0, 1]. A perfect score gives 1 and 1. A constant
        score gives ``vus_roc`` about 0.5: exactly 0.5 at buffer size 0, a little more with
        buffers, as ``TP / P`` then exceeds 1 and is capped.

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite, of different lengths, or ``y_true``
        has only one class.
    ConfigError
        If ``max_window`` or ``steps`` is out of range.
    """
    check_number("max_window", max_window, low=0, integer=True)
    check_number("steps", steps, low=2, integer=True)
    truth, values = _labels_and_scores(y_true, scores)
    slices = _range_auc_slices(truth, values, range(max_window + 1), steps)
    logger.debug("vus: %d rows, %d buffer sizes x %d thresholds", len(values), max_window + 1, steps)
    return {"vus_roc": float(slices[:, 0].mean()), "vus_pr": float(slices[:, 1].mean())}
