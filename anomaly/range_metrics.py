"""Range-aware metrics: point adjustment, range precision/recall, range-AUC/VUS and NAB.

* :func:`point_adjusted_f1` and :func:`point_adjusted_report`: the popular point adjustment
  (a true range with any flagged row counts as fully detected); the report never gives
  PA-F1 alone but beside unadjusted F1 and the PA-F1 of random flags at the same rate.
* :func:`range_precision_recall`: Tatbul et al., "Precision and Recall for Time Series",
  NeurIPS 2018.
* :func:`range_auc` and :func:`vus`: range-AUC-ROC/PR and their volumes over buffer sizes,
  Paparrizos et al., "Volume Under the Surface", VLDB 2022, computed as the authors'
  reference implementation in TSB-AD does (``benchmarks/vus_agreement.py`` compares them).
* :func:`nab_score` and :func:`nab_scores`: the normalised Numenta Anomaly Benchmark score,
  Lavin & Ahmad 2015, with the scorer and profiles of NAB v1.1.

Conventions are those of :mod:`anomaly.metrics`: ``y_true`` (n,) binary labels, ``y_pred``
(n,) binary flags, ``scores`` (n,) finite floats (higher = more anomalous), all matched by
position; a "range" is a maximal run of True (:func:`anomaly.events.event_ranges`).
"""

from __future__ import annotations

import logging

import numpy as np

from anomaly.errors import ConfigError, DataError
from anomaly.events import event_ranges
from anomaly.metrics import point_metrics
from anomaly.validation import as_flags, as_scores, check_lengths, check_number

__all__ = ["point_adjust", "point_adjusted_f1", "point_adjusted_report", "range_precision_recall",
           "range_auc", "vus", "nab_score", "nab_scores", "range_report", "NAB_PROFILES"]

logger = logging.getLogger(__name__)

BIASES = ("flat", "front", "back", "middle")
CARDINALITIES = ("one", "reciprocal")
#: Weights of NAB's application profiles (``config/profiles.json`` of the NAB repository).
#: A false positive costs up to ``fp``, a missed window ``fn``, a detection earns up to ``tp``.
NAB_PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
#: TSB-AD's defaults (``get_metrics(slidingWindow=100, thre=250)``).
VUS_MAX_WINDOW = 100
VUS_STEPS = 250


def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed: must be one of {list(allowed)}")


def _labels_and_flags(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    truth, pred = as_flags(y_true, "y_true"), as_flags(y_pred, "y_pred")
    check_lengths(y_true=truth, y_pred=pred)
    return truth, pred


def _range_sums(values: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each inclusive ``[start, end]`` row range, shape (n_ranges,)."""
    prefix = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    return prefix[ranges[:, 1] + 1] - prefix[ranges[:, 0]]


# ----------------------------------------------------------------------------
# Point adjustment
# ----------------------------------------------------------------------------


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
    truth, pred = _labels_and_flags(y_true, y_pred)
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
    """
    truth, pred = _labels_and_flags(y_true, y_pred)
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
    truth, pred = _labels_and_flags(y_true, y_pred)
    check_lengths(y_true=truth, scores=as_scores(scores, "scores"))
    noise = np.random.default_rng(seed).random(len(truth))
    random_flags = np.zeros(len(truth), dtype=bool)
    random_flags[np.argsort(noise)[len(truth) - int(pred.sum()):]] = True
    return {"f1": point_metrics(truth, pred)["f1"],
            "pa_f1": point_metrics(truth, point_adjust(truth, pred))["f1"],
            "pa_f1_random": point_metrics(truth, point_adjust(truth, random_flags))["f1"]}


# ----------------------------------------------------------------------------
# Range precision and recall (Tatbul et al. 2018)
# ----------------------------------------------------------------------------


def _positional_bias(lengths: np.ndarray, bias: str) -> np.ndarray:
    """The paper's delta(i, length) for every row of ranges of ``lengths``, concatenated.

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
    _choice("cardinality", cardinality, CARDINALITIES)
    _choice("bias", bias, BIASES)
    truth, pred = _labels_and_flags(y_true, y_pred)
    real, found = event_ranges(truth), event_ranges(pred)
    recall = float(_range_rewards(real, found, pred, alpha, cardinality, bias).mean()) if len(real) else 0.0
    precision = float(_range_rewards(found, real, truth, 0.0, cardinality, bias).mean()) if len(found) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# ----------------------------------------------------------------------------
# Range-AUC and VUS (Paparrizos et al. 2022)
# ----------------------------------------------------------------------------


def _labels_and_scores(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    truth, values = as_flags(y_true, "y_true"), as_scores(scores, "scores")
    check_lengths(y_true=truth, scores=values)
    if not truth.any():
        raise DataError("y_true: no anomalous row; range-AUC/VUS needs at least one labelled range")
    if truth.all():
        raise DataError("y_true: every row is anomalous; range-AUC/VUS needs at least one normal row")
    return truth, values


def _hits(row_scores: np.ndarray, weights: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``sum(weights[row_scores >= cut])`` for every cut, shape (n_cuts,)."""
    order = np.argsort(row_scores, kind="stable")
    prefix = np.concatenate(([0.0], np.cumsum(weights[order])))
    return prefix[-1] - prefix[np.searchsorted(row_scores[order], cuts, side="left")]


def _buffer(ranges: np.ndarray, truth: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Soft labels of the buffer rows around the labelled ranges for buffer size ``window``.

    Rows at distance ``d`` = 1..``window // 2`` before a range's start or after its end get
    ``sqrt(1 - d / window)``, summed where buffers meet and capped at 1; labelled rows are
    not buffer rows.

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
    ranges that touch or overlap merged, shape (n_segments,)."""
    low = np.maximum(ranges[:, 0] - half, 0)
    high = np.minimum(ranges[:, 1] + half, len(values) - 1)
    first = np.concatenate(([True], low[1:] > high[:-1]))
    last = np.concatenate((first[1:], [True]))
    bounds = np.column_stack((low[first], high[last] + 1)).ravel()
    return np.maximum.reduceat(np.append(values, -np.inf), bounds)[::2]


def _range_auc_slices(truth: np.ndarray, values: np.ndarray, windows, steps: int) -> np.ndarray:
    """Range-AUC-ROC and range-AP for each buffer size in ``windows``.

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


# ----------------------------------------------------------------------------
# NAB score (Lavin & Ahmad 2015)
# ----------------------------------------------------------------------------


def _scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    """NAB's ``2 * sigmoid(-5 * y) - 1``, and -1 from ``y >= 3`` on (its ``scaledSigmoid``)."""
    position = np.asarray(position, dtype=np.float64)
    return np.where(position >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * np.minimum(position, 3.0))) - 1.0)


def _alarm_positions(alarms, truth: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Increasing alarm rows from flags or positions (see :func:`nab_score`)."""
    n = len(truth)
    arr = np.asarray(alarms)
    if arr.dtype == bool or (arr.shape == (n,) and arr.dtype.kind in "iuf" and np.isin(arr, (0, 1)).all()):
        flags = as_flags(arr, "y_pred")
        check_lengths(y_true=truth, y_pred=flags)
        edge = np.zeros(n + 1, dtype=bool)
        edge[np.concatenate(([0], windows[:, 0], windows[:, 1] + 1))] = True  # runs are cut at window edges
        return np.flatnonzero(flags & (edge[:-1] | ~np.concatenate(([False], flags[:-1]))))
    if arr.size == 0:
        return np.zeros(0, dtype=np.intp)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise DataError(f"alarms: expected ({n},) binary flags or a 1-D integer array of positions, "
                        f"got shape {arr.shape} and dtype {arr.dtype}")
    if arr[0] < 0 or arr[-1] >= n or (np.diff(arr) <= 0).any():
        raise DataError(f"alarms: positions must increase strictly within [0, {n - 1}] "
                        f"(or give ({n},) binary flags), got {arr[:5].tolist()}...")
    return arr.astype(np.intp)


def nab_score(y_true, y_pred_or_alarm_positions, *, profile: str = "standard") -> float:
    """Normalised NAB score: 0 = detects nothing, 100 = detects every window at its start.

    Follows NAB v1.1's scorer (``nab/sweeper.py``), per series and at the given flags (NAB
    also tunes the threshold per profile and ignores a 15 % probationary start; we do
    neither). Anomaly windows are the labelled ranges themselves, not NAB's windows of 10 %
    of the series centred on point labels: our labels already span the anomaly.

    * The first alarm in a window of width ``W`` ending at ``e`` scores
      ``A_TP * S(-(e - t + 1) / W) / S(-1)``, ``S`` the scaled sigmoid
      ``2 / (1 + exp(5 y)) - 1`` (-1 for ``y >= 3``): ``A_TP`` at the window's first row,
      falling towards 0 at its end. Later alarms in the window count nothing.
    * An alarm outside windows scores ``A_FP * S((t - e) / (W - 1))`` for the last window
      before it (``-A_FP`` after a one-row window or before any window).
    * Every window without an alarm scores ``-A_FN``.

    The sum ``S_raw`` is normalised as ``100 (S_raw - S_null) / (S_perfect - S_null)`` with
    ``S_null = -A_FN * n_windows`` and ``S_perfect = A_TP * n_windows``; false alarms can make
    it negative.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, with at least one anomalous row.
    y_pred_or_alarm_positions : array-like
        Either (n,) binary flags (bool, or 0/1 of length n) or a strictly increasing 1-D
        integer array of alarm rows (an array of 0/1 of length n is read as flags).
        Flags alarm at the first row of each run, runs cut at window edges: a run held into
        a window detects it at the window's first row, and one held past a window's end
        alarms once more just after it. Pass ``np.flatnonzero(flags)`` for NAB's own
        counting, where every flagged row is an alarm.
    profile : {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}, default "standard"
        Weights ``A_TP, A_FP, A_FN`` from :data:`NAB_PROFILES`.

    Returns
    -------
    float
        At most 100.

    Raises
    ------
    DataError
        If inputs are empty, non-binary, of different lengths, positions are out of range,
        or ``y_true`` has no anomalous row.
    ConfigError
        If ``profile`` is unknown.
    """
    _choice("profile", profile, NAB_PROFILES)
    weights = NAB_PROFILES[profile]
    truth = as_flags(y_true, "y_true")
    windows = event_ranges(truth)
    if not len(windows):
        raise DataError("y_true: no anomalous row; the NAB score needs at least one labelled window")
    alarms = _alarm_positions(y_pred_or_alarm_positions, truth, windows)
    starts, ends = windows[:, 0], windows[:, 1]
    widths = (ends - starts + 1).astype(np.float64)
    k = np.searchsorted(starts, alarms, side="right") - 1  # last window starting at or before
    inside = (k >= 0) & (alarms <= ends[np.maximum(k, 0)])
    hit, first = np.unique(k[inside], return_index=True)
    position = -(ends[hit] - alarms[inside][first] + 1) / widths[hit]
    tp = weights["tp"] * _scaled_sigmoid(position) / _scaled_sigmoid(-1.0)
    after, prev = alarms[~inside], k[~inside]
    past = np.full(len(after), 3.0)
    seen = prev >= 0
    with np.errstate(divide="ignore"):  # after a one-row window: +inf, i.e. -A_FP
        past[seen] = (after[seen] - ends[prev[seen]]) / (widths[prev[seen]] - 1.0)
    fp = weights["fp"] * _scaled_sigmoid(past)
    raw = tp.sum() + fp.sum() - weights["fn"] * (len(windows) - len(hit))
    null, perfect = -weights["fn"] * len(windows), weights["tp"] * len(windows)
    logger.debug("nab %s: %d alarms, %d/%d windows detected, %d false", profile, len(alarms), len(hit),
                 len(windows), len(after))
    return float(100.0 * (raw - null) / (perfect - null))


def nab_scores(y_true, y_pred_or_alarm_positions) -> dict[str, float]:
    """:func:`nab_score` under each profile of :data:`NAB_PROFILES`.

    Returns
    -------
    dict
        Profile name -> normalised score.
    """
    return {profile: nab_score(y_true, y_pred_or_alarm_positions, profile=profile) for profile in NAB_PROFILES}


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------


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
        Seed of the random baseline of :func:`point_adjusted_report`.

    Returns
    -------
    dict
        ``vus_pr``, ``vus_roc`` (defaults of :func:`vus`), ``range_precision``,
        ``range_recall``, ``range_f1`` (flat bias, alpha 0, cardinality one),
        ``nab_standard``, and ``pa_f1`` always beside ``pa_f1_random``. All NaN if
        ``y_true`` has no anomalous row; ``vus_*`` NaN if it has no normal row.
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
