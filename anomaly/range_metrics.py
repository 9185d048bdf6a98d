"""Range-aware metrics: point-adjusted F1 (with its honest companions), range-based
precision/recall (Tatbul et al., NeurIPS 2018), the NAB score (Lavin & Ahmad, 2015) and the
volume under the range-ROC/PR surfaces, VUS-ROC/VUS-PR (Paparrizos et al., VLDB 2022).

All take ``y_true`` (n,) binary labels and ``y_pred`` (n,) binary flags, matched by position.
"""

from __future__ import annotations

import numpy as np

from anomaly.errors import ConfigError
from anomaly.events import event_ranges
from anomaly.metrics import point_metrics
from anomaly.validation import as_flags, as_scores, check_lengths, check_number

BIASES = ("flat", "front", "back", "middle")
CARDINALITIES = ("one", "reciprocal")
#: NAB profiles (config/profiles.json of the NAB repository): weights of TP, FP and FN.
NAB_PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    truth, pred = as_flags(y_true, "y_true"), as_flags(y_pred, "y_pred")
    check_lengths(y_true=truth, y_pred=pred)
    return truth, pred


def point_adjust(y_true, y_pred) -> np.ndarray:
    """Flags after point adjustment: a true segment with any flagged row counts as fully flagged."""
    truth, pred = _pair(y_true, y_pred)
    adjusted = pred.copy()
    for start, end in event_ranges(truth):
        if pred[start : end + 1].any():
            adjusted[start : end + 1] = True
    return adjusted


def point_adjusted_report(y_true, scores, y_pred, *, seed: int = 0) -> dict:
    """Point-adjusted F1, never alone: beside unadjusted F1 and the PA-F1 of random scores.

    The random scores are flagged at the same rate as ``y_pred``, so ``pa_f1_random`` shows
    how much of ``pa_f1`` point adjustment gives away for free.

    Returns
    -------
    dict with ``f1``, ``pa_f1``, ``pa_f1_random``
    """
    truth, pred = _pair(y_true, y_pred)
    as_scores(scores)
    rate = pred.mean()
    noise = np.random.default_rng(seed).random(len(truth))
    random_flags = noise > np.quantile(noise, 1.0 - rate) if rate > 0 else np.zeros(len(truth), bool)
    return {
        "f1": point_metrics(truth, pred)["f1"],
        "pa_f1": point_metrics(truth, point_adjust(truth, pred))["f1"],
        "pa_f1_random": point_metrics(truth, point_adjust(truth, random_flags))["f1"],
    }


def _delta(length: int, bias: str) -> np.ndarray:
    """Positional weights of a range of ``length`` rows (1-based position i)."""
    i = np.arange(1, length + 1, dtype=np.float64)
    if bias == "flat":
        return np.ones(length)
    if bias == "front":
        return length - i + 1
    if bias == "back":
        return i
    return np.where(i <= length / 2, i, length - i + 1)


def _range_scores(ranges: np.ndarray, other: np.ndarray, alpha: float, cardinality: str, bias: str) -> list[float]:
    """Tatbul et al.'s per-range score of each range in ``ranges`` against the ranges in ``other``."""
    out = []
    for start, end in ranges:
        weights = _delta(end - start + 1, bias)
        overlaps = [(max(start, s), min(end, e)) for s, e in other if s <= end and e >= start]
        existence = 1.0 if overlaps else 0.0
        covered = sum(weights[lo - start : hi - start + 1].sum() for lo, hi in overlaps) / weights.sum()
        factor = 1.0 if len(overlaps) <= 1 or cardinality == "one" else 1.0 / len(overlaps)
        out.append(alpha * existence + (1.0 - alpha) * factor * covered)
    return out


def range_precision_recall(y_true, y_pred, *, alpha: float = 0.0, cardinality: str = "one", bias: str = "flat") -> dict:
    """Range-based precision, recall and F1 (Tatbul et al., NeurIPS 2018).

    Recall averages, over true ranges, ``alpha * existence + (1 - alpha) * cardinality *
    overlap``, where overlap is the positionally weighted share of the range covered by
    predicted ranges; precision does the same over predicted ranges with alpha = 0, as in the
    paper. ``cardinality="reciprocal"`` divides by the number of ranges overlapped (1/x).

    Parameters
    ----------
    alpha : float in [0, 1], default=0.0
    cardinality : {"one", "reciprocal"}
    bias : {"flat", "front", "back", "middle"}
    """
    check_number("alpha", alpha, low=0.0, high=1.0)
    if cardinality not in CARDINALITIES:
        raise ConfigError(f"cardinality={cardinality!r} is not one of {list(CARDINALITIES)}")
    if bias not in BIASES:
        raise ConfigError(f"bias={bias!r} is not one of {list(BIASES)}")
    truth, pred = _pair(y_true, y_pred)
    real, found = event_ranges(truth), event_ranges(pred)
    recall = float(np.mean(_range_scores(real, found, alpha, cardinality, bias))) if len(real) else 0.0
    precision = float(np.mean(_range_scores(found, real, 0.0, cardinality, bias))) if len(found) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _sigmoid(y: float) -> float:
    """NAB's scaled sigmoid: +0.987 at a window's start, 0 at its end, -> -1 long after."""
    return 2.0 / (1.0 + np.exp(5.0 * y)) - 1.0


def nab_score(y_true, y_pred, *, profile: str = "standard") -> float:
    """Normalised NAB score, 0 = detects nothing, 100 = detects every window at its start.

    Windows are the labelled ranges; detections are alarm onsets (rows where ``y_pred`` turns
    True). In a window only the first detection counts, scored ``A_TP * sigmoid(y)`` with
    ``y`` in [-1, 0] its relative position; a detection outside windows scores ``-A_FP`` times
    the sigmoid of its distance after the previous window (in window lengths; a full -A_FP
    before any window); every missed window costs ``A_FN``.
    """
    if profile not in NAB_PROFILES:
        raise ConfigError(f"profile={profile!r} is not one of {list(NAB_PROFILES)}")
    weights = NAB_PROFILES[profile]
    truth, pred = _pair(y_true, y_pred)
    windows = event_ranges(truth)
    if len(windows) == 0:
        raise ConfigError("NAB needs at least one labelled anomaly window")
    onsets = np.flatnonzero(pred & ~np.concatenate(([False], pred[:-1])))
    score, detected = 0.0, np.zeros(len(windows), bool)
    for t in onsets:
        inside = np.flatnonzero((windows[:, 0] <= t) & (t <= windows[:, 1]))
        if len(inside):
            k = inside[0]
            if not detected[k]:
                start, end = windows[k]
                y = -1.0 + (t - start) / max(end - start, 1)  # -1 at the start, 0 at the end
                score += weights["tp"] * _sigmoid(y)
                detected[k] = True
            continue
        before = np.flatnonzero(windows[:, 1] < t)
        if len(before):
            start, end = windows[before[-1]]
            score += weights["fp"] * _sigmoid((t - end) / max(end - start + 1, 1))
        else:
            score -= weights["fp"]
    score -= weights["fn"] * (~detected).sum()
    null, perfect = -weights["fn"] * len(windows), weights["tp"] * _sigmoid(-1.0) * len(windows)
    return float(100.0 * (score - null) / (perfect - null))


def nab_scores(y_true, y_pred) -> dict[str, float]:
    """:func:`nab_score` under all three profiles."""
    return {profile: nab_score(y_true, y_pred, profile=profile) for profile in NAB_PROFILES}


def _buffer_segments(ranges: np.ndarray, half: int, n: int) -> list[tuple[int, int]]:
    """Labelled ranges widened by ``half`` rows each side, merged where the widenings meet."""
    merged: list[list[int]] = []
    for start, end in ranges:
        lo, hi = max(int(start) - half, 0), min(int(end) + half, n - 1)
        if merged and merged[-1][1] >= lo:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def _buffer_weights(ranges: np.ndarray, window: int, n: int) -> np.ndarray:
    """Soft labels of the buffers only: ``sqrt(1 - d / window)`` at distance d (1..window//2)
    outside each range, capped so label + buffer <= 1 and zero on labelled rows."""
    weights = np.zeros(n)
    half = window // 2
    for start, end in ranges:
        right = np.arange(end + 1, min(end + half + 1, n))
        weights[right] += np.sqrt(1 - (right - end) / window)
        left = np.arange(max(start - half, 0), start)
        weights[left] += np.sqrt(1 - (start - left) / window)
    return np.minimum(weights, 1.0)


def _range_curves(truth: np.ndarray, scores: np.ndarray, window: int, cuts: np.ndarray, order: np.ndarray,
                  n_pred: np.ndarray) -> tuple[float, float]:
    """Range-AUC-ROC and range-AP for one buffer size (the surfaces' slices)."""
    n = len(truth)
    ranges = event_ranges(truth)
    buffers = _buffer_weights(ranges, window, n)
    buffers[truth] = 0.0
    # rows sorted by score, high first: cumulative sums give every threshold's sums at once
    anomaly_hits = np.concatenate(([0.0], np.cumsum(truth[order])))[n_pred]
    buffer_hits = np.concatenate(([0.0], np.cumsum(buffers[order])))[n_pred]
    segments = _buffer_segments(ranges, window // 2, n)
    seg_max = np.array([scores[lo : hi + 1].max() for lo, hi in segments])
    existence = (seg_max[None, :] >= cuts[:, None]).mean(axis=1)
    positives = truth.sum()
    p_new = positives + buffer_hits / 2.0
    tp = anomaly_hits + buffer_hits
    tpr = np.minimum(tp / p_new, 1.0) * existence
    fpr = (n_pred - tp) / (n - p_new)
    precision = tp / n_pred
    tpr_curve, fpr_curve = np.concatenate(([0.0], tpr, [1.0])), np.concatenate(([0.0], fpr, [1.0]))
    roc = float(np.sum(np.diff(fpr_curve) * (tpr_curve[1:] + tpr_curve[:-1]) / 2))
    pr = float(np.sum(np.diff(np.concatenate(([0.0], tpr))) * precision))
    return roc, pr


def vus(y_true, scores, *, sliding_window: int = 100, thresholds: int = 250) -> dict[str, float]:
    """VUS-ROC and VUS-PR: range-ROC-AUC and range-AP averaged over buffer sizes 0..``sliding_window``.

    For buffer size ``w`` every labelled range gets soft labels ``sqrt(1 - d / w)`` for the
    ``w // 2`` rows on each side; a threshold's range recall counts predicted buffer mass,
    the positive count grows by half the predicted buffer mass, and the true positive rate is
    scaled by the share of (buffered) ranges the threshold touches at all. Thresholds are
    ``thresholds`` scores spread evenly over the sorted scores. These choices follow the
    reference implementation of the authors' TSB-AD package (its ``RangeAUC_volume_opt``),
    whose defaults (window 100, 250 thresholds) are ours; ``benchmarks/vus_agreement.py``
    compares the two on the same inputs.

    Parameters
    ----------
    y_true : array-like of shape (n,), binary, with at least one anomaly
    scores : array-like of shape (n,), higher = more anomalous

    Returns
    -------
    dict with ``vus_roc`` and ``vus_pr``
    """
    truth, values = as_flags(y_true, "y_true"), as_scores(scores)
    check_lengths(y_true=truth, scores=values)
    check_number("sliding_window", sliding_window, low=0, integer=True)
    check_number("thresholds", thresholds, low=2, integer=True)
    if not truth.any():
        raise ConfigError("VUS needs at least one labelled anomaly")
    order = np.argsort(-values, kind="stable")
    cuts = values[order][np.linspace(0, len(values) - 1, thresholds).astype(int)]
    n_pred = (values[None, :] >= cuts[:, None]).sum(axis=1) if len(values) * thresholds <= 5e7 else np.array(
        [(values >= c).sum() for c in cuts])
    slices = np.array([_range_curves(truth, values, w, cuts, order, n_pred) for w in range(sliding_window + 1)])
    return {"vus_roc": float(slices[:, 0].mean()), "vus_pr": float(slices[:, 1].mean())}


def range_report(y_true, scores, y_pred, *, seed: int = 0) -> dict[str, float]:
    """The range-aware metrics of one detector's output, for tables.

    Keys: ``vus_pr``, ``vus_roc``, ``range_precision``, ``range_recall``, ``range_f1``
    (flat bias, alpha 0), ``nab_standard``, and ``pa_f1`` always beside ``pa_f1_random``.
    Series without any labelled anomaly give NaN for the range metrics.
    """
    truth = as_flags(y_true, "y_true")
    if not truth.any():
        keys = ("vus_pr", "vus_roc", "range_precision", "range_recall", "range_f1", "nab_standard", "pa_f1", "pa_f1_random")
        return dict.fromkeys(keys, float("nan"))
    ranged = range_precision_recall(truth, y_pred)
    adjusted = point_adjusted_report(truth, scores, y_pred, seed=seed)
    return {
        **vus(truth, scores),
        "range_precision": ranged["precision"], "range_recall": ranged["recall"], "range_f1": ranged["f1"],
        "nab_standard": nab_score(truth, y_pred),
        "pa_f1": adjusted["pa_f1"], "pa_f1_random": adjusted["pa_f1_random"],
    }
