"""The normalised Numenta Anomaly Benchmark (NAB) score: Lavin & Ahmad 2015, with the scorer
and application profiles of NAB v1.1.

Conventions are those of :mod:`anomaly.metrics.common`; NAB's anomaly windows are the
labelled ranges.
"""

from __future__ import annotations

import logging

import numpy as np

from anomaly.decisions import event_ranges
from anomaly.errors import DataError
from anomaly.metrics.common import check_choice
from anomaly.validation import as_flags, check_lengths

__all__ = ["nab_score", "nab_scores", "NAB_PROFILES"]

logger = logging.getLogger(__name__)

#: Weights of NAB's application profiles (``config/profiles.json`` of the NAB repository).
#: A false positive costs up to ``fp``, a missed window ``fn``, a detection earns up to ``tp``.
NAB_PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}


def _scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    """NAB's ``2 * sigmoid(-5 * y) - 1``, and -1 from ``y >= 3`` on (its ``scaledSigmoid``).

    Parameters
    ----------
    position : array-like of shape (m,) or scalar

    Returns
    -------
    numpy.ndarray of the shape of ``position``
    """
    position = np.asarray(position, dtype=np.float64)
    return np.where(position >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * np.minimum(position, 3.0))) - 1.0)


def _alarm_positions(alarms, truth: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Increasing alarm rows from flags or positions (see :func:`nab_score`).

    Parameters
    ----------
    alarms : array-like of shape (n,) or (n_alarms,)
        Binary flags, or strictly increasing integer positions.
    truth : numpy.ndarray of shape (n,), dtype bool
    windows : numpy.ndarray of shape (n_windows, 2)
        Inclusive ``(start, end)`` rows of the labelled windows.

    Returns
    -------
    numpy.ndarray of shape (n_alarms,), dtype intp

    Raises
    ------
    DataError
        If flags have the wrong length or positions are out of range or not increasing.
    """
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
    check_choice("profile", profile, NAB_PROFILES)
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
