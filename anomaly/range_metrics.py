"""Range-aware metrics: point-adjusted F1 (with its honest companions), range-based
precision/recall (Tatbul et al., NeurIPS 2018) and the NAB score (Lavin & Ahmad, 2015).

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
