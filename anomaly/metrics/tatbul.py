"""Range-based precision and recall: Tatbul et al., "Precision and Recall for Time Series",
NeurIPS 2018.

Conventions are those of :mod:`anomaly.metrics.common`.
"""

from __future__ import annotations

import numpy as np

from anomaly.decisions import event_ranges
from anomaly.metrics.common import check_choice, labels_and_flags
from anomaly.validation import check_number

__all__ = ["range_precision_recall"]

#: Positional biases ``delta`` of the paper.
BIASES = ("flat", "front", "back", "middle")
#: Cardinality factors ``gamma`` of the paper.
CARDINALITIES = ("one", "reciprocal")


def _positional_bias(lengths: np.ndarray, bias: str) -> np.ndarray:
    """The paper's delta(i, length) for every row of ranges of ``lengths``, concatenated.

    Parameters
    ----------
    lengths : numpy.ndarray of shape (n_ranges,), int
    bias : {"flat", "front", "back", "middle"}

    Returns
    -------
    numpy.ndarray of shape (lengths.sum(),)
        ``i`` runs 1..length within each range: flat 1, front ``length - i + 1``, back
        ``i``, middle ``i`` up to ``length / 2`` then ``length - i + 1``.
    """
    offsets = np.cumsum(lengths) - lengths
    i = np.arange(lengths.sum()) - np.repeat(offsets, lengths) + 1.0
    length = np.repeat(lengths, lengths)
    if bias == "flat":
        return np.ones_like(i)
    if bias == "front":
        return length - i + 1
    if bias == "back":
        return i
    return np.where(i <= length / 2, i, length - i + 1)


def _range_rewards(ranges: np.ndarray, other: np.ndarray, other_flags: np.ndarray, alpha: float,
                   cardinality: str, bias: str) -> np.ndarray:
    """Per-range ``alpha * existence + (1 - alpha) * cardinality factor * overlap`` of ``ranges``
    against the ranges ``other`` (whose rows are ``other_flags``).

    Parameters
    ----------
    ranges : numpy.ndarray of shape (n_ranges, 2)
        Inclusive ``(start, end)`` row positions, sorted and disjoint.
    other : numpy.ndarray of shape (n_other, 2)
        Likewise.
    other_flags : numpy.ndarray of shape (n,), dtype bool
        The rows of ``other``.
    alpha : float
    cardinality : {"one", "reciprocal"}
    bias : {"flat", "front", "back", "middle"}

    Returns
    -------
    numpy.ndarray of shape (n_ranges,)
    """
    lengths = ranges[:, 1] - ranges[:, 0] + 1
    offsets = np.cumsum(lengths) - lengths
    weights = _positional_bias(lengths, bias)
    rows = np.repeat(ranges[:, 0] - offsets, lengths) + np.arange(lengths.sum())
    overlap = np.add.reduceat(weights * other_flags[rows], offsets) / np.add.reduceat(weights, offsets)
    # ranges of ``other`` overlapping each range: those starting before its end, minus those
    # ending before its start (both sorted, disjoint)
    count = (np.searchsorted(other[:, 0], ranges[:, 1], side="right")
             - np.searchsorted(other[:, 1], ranges[:, 0], side="left"))
    factor = 1.0 / np.maximum(count, 1) if cardinality == "reciprocal" else 1.0
    return alpha * (count > 0) + (1.0 - alpha) * factor * overlap


def range_precision_recall(y_true, y_pred, *, alpha: float = 0.0, cardinality: str = "one",
                           bias: str = "flat") -> dict[str, float]:
    """Range-based precision, recall and F1 (Tatbul et al., NeurIPS 2018).

    Recall averages over true ranges ``R_i``::

        alpha * existence(R_i) + (1 - alpha) * gamma * sum_j omega(R_i, R_i & P_j, delta)

    where existence is 1 if any predicted range ``P_j`` overlaps ``R_i``, ``omega`` is the
    share of ``R_i``'s positional weight ``delta`` on overlapped rows, and ``gamma`` is 1 when
    ``R_i`` overlaps at most one predicted range, else 1 (``"one"``) or ``1/x`` for ``x``
    overlapped ranges (``"reciprocal"``). Precision averages the same over predicted ranges
    with alpha = 0, as in the paper. The same ``cardinality`` and ``bias`` serve both.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    y_pred : array-like of shape (n,)
        Binary flags.
    alpha : float in [0, 1], default 0.0
        Weight of the existence reward in recall.
    cardinality : {"one", "reciprocal"}, default "one"
    bias : {"flat", "front", "back", "middle"}, default "flat"
        Positional weight ``delta(i, length)`` of row ``i`` (1-based) of a range: 1,
        ``length - i + 1``, ``i``, or rising to the middle then falling.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``; 0.0 where there is no true (recall) or
        predicted (precision) range.

    Raises
    ------
    DataError
        If inputs are empty, non-binary or of different lengths.
    ConfigError
        If ``alpha``, ``cardinality`` or ``bias`` is not allowed.
    """
    check_number("alpha", alpha, low=0.0, high=1.0)
    check_choice("cardinality", cardinality, CARDINALITIES)
    check_choice("bias", bias, BIASES)
    truth, pred = labels_and_flags(y_true, y_pred)
    real, found = event_ranges(truth), event_ranges(pred)
    recall = float(_range_rewards(real, found, pred, alpha, cardinality, bias).mean()) if len(real) else 0.0
    precision = float(_range_rewards(found, real, truth, 0.0, cardinality, bias).mean()) if len(found) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
