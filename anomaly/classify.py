"""Which fault: a scikit-learn classifier on event features from errors and raw signals.

An event (a labelled fault segment, or a detected alert) becomes one feature row.
:func:`event_features` (the default choice) describes it the way the supervised head
(:mod:`anomaly.supervised`) sees rows: each channel's calibrated error and the causal window
features of its scaled signal (level, slope, range, fast std), summarised over the event (mean,
peak, last) and as a change against the rows just before the event starts (a fault is a change
from its own baseline, which carries across operating conditions); channels can be pooled into
groups (e.g. all joint temperatures), so that a fault on another joint gives the same features.
:func:`segment_features` is the earlier, simpler table (mean and peak error, error share, mean
and spread of the signal per channel). :class:`ErrorClassifier` maps either table to a fault type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier

from anomaly.errors import DataError, NotFittedError
from anomaly.supervised import window_features
from anomaly.validation import check_number

STATISTICS = ("error_mean", "error_peak", "error_share", "signal_mean", "signal_std")

#: Per-channel statistics of :func:`event_features`: ``True`` for signed ones (pooled by max and
#: min over a group), ``False`` for non-negative ones (pooled by max).
EVENT_STATISTICS = {
    "error_mean": False,  # calibrated error over the event
    "error_peak": False,
    "error_last": False,  # over the event's last ``window`` rows
    "error_change": True,  # error_mean minus the mean error of the ``before`` rows before the start
    "error_trend": True,  # least-squares change of the error from the event's first to its last row
    "error_history_mean": False,  # calibrated error over the ``history`` rows before the start
    "error_history_peak": False,
    "level_change": True,  # window level (rolling mean) over the event minus the mean signal before it
    "level_last_change": True,  # window level at the event's last row minus the mean signal before it
    "slope_mean": True,  # window slope over the event
    "slope_last": True,
    "range_mean": False,  # window range (max - min) over the event
    "range_peak": False,
    "fast_mean": False,  # window std of the first difference over the event
    "fast_peak": False,
    "fast_ratio": True,  # log of the first difference's std in the event over the one before it
    "range_ratio": True,  # log of the mean window range in the event over the one before it
    "trend": True,  # least-squares change of the signal from the event's first to its last row
}
#: Added to both sides of the log ratios (scaled units), so that flat signals give finite values.
_RATIO_FLOOR = 1e-3


def segment_features(errors: pd.DataFrame, scaled: pd.DataFrame, segments, *, ranked: int | None = None) -> pd.DataFrame:
    """Feature table, one row per segment.

    Parameters
    ----------
    errors : DataFrame of shape (n_steps, n_channels)
        Per-step, per-channel error from ``Detector.errors``.
    scaled : DataFrame of shape (n_steps, n_channels)
        The same rows' signals, scaled with the detector's scaler (so features are in units
        of normal variation and comparable between runs).
    segments : iterable of (start, end_exclusive) row positions
    ranked : int or None, default=None
        None: one column per statistic and channel (the classifier learns *which* channel).
        k: the statistics of the k channels with the largest error share, in rank order
        (``<statistic>:rank<i>``): the same fault on another joint or sensor gives the same
        features, which generalises with few examples per fault type.

    Returns
    -------
    DataFrame of shape (n_segments, 5 * n_columns + 1)
        Columns ``<statistic>:<channel or rank>`` for the statistics in :data:`STATISTICS`,
        and ``length``.
    """
    if not errors.index.equals(scaled.index) or list(errors.columns) != list(scaled.columns):
        raise DataError("errors and scaled signals must share index and channels")
    e, x = errors.to_numpy(np.float64), scaled.to_numpy(np.float64)
    rows = []
    for start, end in segments:
        if not 0 <= start < end <= len(e):
            raise DataError(f"segment [{start}, {end}) is outside the {len(e)} rows")
        block = e[start:end]
        total = block.sum()
        stats = np.stack([
            block.mean(axis=0), block.max(axis=0), block.sum(axis=0) / total if total > 0 else np.zeros(e.shape[1]),
            x[start:end].mean(axis=0), x[start:end].std(axis=0),
        ])  # (5, n_channels)
        if ranked is not None:
            stats = stats[:, np.argsort(-stats[2], kind="stable")[:ranked]]
        rows.append(np.concatenate([stats.ravel(), [end - start]]))
    names = list(errors.columns) if ranked is None else [f"rank{i + 1}" for i in range(min(ranked, e.shape[1]))]
    columns = [f"{stat}:{c}" for stat in STATISTICS for c in names] + ["length"]
    return pd.DataFrame(np.array(rows).reshape(len(rows), len(columns)), columns=columns)


def _trend(block: np.ndarray) -> np.ndarray:
    """Least-squares change (c,) of each column of ``block`` (m, c) from its first to its last row; 0 for one row."""
    if len(block) < 2:
        return np.zeros(block.shape[1])
    t = np.arange(len(block)) - (len(block) - 1) / 2
    return t @ (block - block.mean(axis=0)) / (t @ t) * (len(block) - 1)


def _diff_std(block: np.ndarray) -> np.ndarray:
    """Standard deviation (c,) of the first difference of ``block`` (m, c); 0 below 3 rows."""
    return np.diff(block, axis=0).std(axis=0) if len(block) > 2 else np.zeros(block.shape[1])


def _event_statistics(E: np.ndarray, Z: np.ndarray, W: np.ndarray, start: int, end: int, window: int, before: int,
                      history: int) -> np.ndarray:
    """The :data:`EVENT_STATISTICS` (c, n_statistics) of rows [start, end) of one series.

    ``E`` (n, c) calibrated errors, ``Z`` (n, c) scaled signals, ``W`` (n, 4 c) their window
    features. The reference rows are the ``before`` rows before ``start`` (the event's first row
    when it starts the series); the history rows the ``history`` rows before ``start`` (or the
    reference rows).
    """
    c = Z.shape[1]
    level, slope, spread, fast = W[:, :c], W[:, c:2 * c], W[:, 2 * c:3 * c], W[:, 3 * c:]
    event, last = slice(start, end), slice(max(start, end - window), end)
    ref = slice(max(0, start - before), start) if start > 0 else slice(start, start + 1)
    past = slice(max(0, start - history), start) if start > 0 else ref
    baseline, error = Z[ref].mean(axis=0), E[event].mean(axis=0)
    return np.stack([
        error, E[event].max(axis=0), E[last].mean(axis=0), error - E[ref].mean(axis=0), _trend(E[event]),
        E[past].mean(axis=0), E[past].max(axis=0),
        level[event].mean(axis=0) - baseline, level[end - 1] - baseline,
        slope[event].mean(axis=0), slope[end - 1],
        spread[event].mean(axis=0), spread[event].max(axis=0),
        fast[event].mean(axis=0), fast[event].max(axis=0),
        np.log((_diff_std(Z[event]) + _RATIO_FLOOR) / (_diff_std(Z[ref]) + _RATIO_FLOOR)),
        np.log((spread[event].mean(axis=0) + _RATIO_FLOOR) / (spread[ref].mean(axis=0) + _RATIO_FLOOR)),
        _trend(Z[event]),
    ], axis=1)


def _pool(stats: np.ndarray, channels: list, groups) -> tuple[np.ndarray, list[str]]:
    """Per-channel statistics (n_events, c, n_statistics) as feature columns, per channel or pooled by group."""
    names = list(EVENT_STATISTICS)
    if groups is None:
        return stats.transpose(0, 2, 1).reshape(len(stats), len(names) * len(channels)), [f"{s}:{ch}" for s in names for ch in channels]
    missing = [ch for ch in channels if ch not in groups]
    if missing:
        raise DataError(f"groups has no group for channels {missing}")
    if "all" in groups.values():
        raise DataError("'all' is the pool of every channel; name the groups otherwise")
    label = np.array([groups[ch] for ch in channels])
    blocks, columns = [], []
    for group in [*dict.fromkeys(label), "all"]:
        part = stats[:, label == group] if group != "all" else stats
        for i, (name, signed) in enumerate(EVENT_STATISTICS.items()):
            blocks.append(part[:, :, i].max(axis=1))
            columns.append(f"{name}:max:{group}")
            if signed:
                blocks.append(part[:, :, i].min(axis=1))
                columns.append(f"{name}:min:{group}")
        blocks.append((part[:, :, names.index("error_mean")] > 1.0).sum(axis=1))
        columns.append(f"active:{group}")
    return np.stack(blocks, axis=1).reshape(len(stats), len(columns)), columns


def event_features(calibrated: pd.DataFrame, scaled: pd.DataFrame, segments, *, window: int = 20, before: int = 300,
                   history: int = 6000, groups: dict | None = None) -> pd.DataFrame:
    """Feature table of events from calibrated errors and window features, one row per segment.

    Per channel, the statistics of :data:`EVENT_STATISTICS`: the calibrated error over the
    event (mean, peak, over the last ``window`` rows, its change against the ``before`` rows
    before the start, its least-squares trend) and over the ``history`` rows before the start
    (the cause of an after-effect, e.g. heat, may lie there); the causal window features of
    the scaled signal (:func:`anomaly.supervised.window_features` over ``window`` rows: level and
    its change against the rows before the start, slope, range, fast std), summarised over the
    event; the log ratios of fast std and range in the event to those before it; the signal's
    least-squares trend over the event.

    Parameters
    ----------
    calibrated : DataFrame of shape (n_steps, n_channels)
        Per-step, per-channel error in units of each channel's normal level, e.g.
        ``det.head_.calibrated(det.errors(frame).to_numpy())`` of a detector with
        ``aggregate="calibrated"`` (1 = the channel's 99th percentile on normal data).
    scaled : DataFrame of shape (n_steps, n_channels)
        The same rows' signals scaled with the detector's scaler; the rows before each event
        are its baseline, so pass the whole series, not only the events.
    segments : iterable of (start, end_exclusive) row positions
    window : int, default=20
        Rows of the window features and of the ``*_last`` statistics.
    before : int, default=300
        Rows before an event's start that are its baseline.
    history : int, default=6000
        Rows before an event's start for ``error_history_*``.
    groups : dict or None, default=None
        None: one column per statistic and channel, ``<statistic>:<channel>`` (the classifier
        learns *which* channel). A mapping channel -> group name (e.g. every joint temperature
        to ``"temp"``): per group and for all channels together (``"all"``), the maximum of every
        statistic and the minimum of the signed ones (``<statistic>:max:<group>``,
        ``<statistic>:min:<group>``) and ``active:<group>``, the number of channels whose mean
        calibrated error exceeds 1. The same fault on another channel of a group gives the same
        features, which generalises with few examples per fault type.

    Returns
    -------
    DataFrame of shape (n_segments, n_features)
        The columns above and ``length`` (rows).

    Raises
    ------
    DataError
        If the two frames differ in index or channels, a segment lies outside the rows, or
        ``groups`` misses a channel.
    ConfigError
        If ``window``, ``before`` or ``history`` is not a positive integer.
    """
    if not calibrated.index.equals(scaled.index) or list(calibrated.columns) != list(scaled.columns):
        raise DataError("calibrated errors and scaled signals must share index and channels")
    for name, value in (("window", window), ("before", before), ("history", history)):
        check_number(name, value, low=1, integer=True)
    E, Z = calibrated.to_numpy(np.float64), scaled.to_numpy(np.float64)
    W = window_features(Z, window).astype(np.float64)
    stats, lengths = [], []
    for start, end in segments:
        if not 0 <= start < end <= len(E):
            raise DataError(f"segment [{start}, {end}) is outside the {len(E)} rows")
        stats.append(_event_statistics(E, Z, W, int(start), int(end), window, before, history))
        lengths.append(end - start)
    values, columns = _pool(np.array(stats).reshape(len(stats), E.shape[1], len(EVENT_STATISTICS)),
                            list(calibrated.columns), groups)
    return pd.DataFrame(np.column_stack([values, lengths]), columns=[*columns, "length"])


def detector_views(detector, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fitted detector's error matrix of ``frame`` and ``frame`` scaled by its scaler (counters at 0).

    Returns
    -------
    errors, scaled : DataFrames of shape (n_steps, n_channels), schema order, ``frame``'s index
    """
    errors = detector.errors(frame)
    scaled = pd.DataFrame(  # counters at 0: their level says when, not what
        detector.scaler_.transform(frame[list(detector.schema_.channels)].to_numpy(np.float32)) * detector.conditions_.keep,
        index=frame.index, columns=errors.columns,
    )
    return errors, scaled


def detector_features(detector, frame: pd.DataFrame, segments, *, ranked: int | None = None) -> pd.DataFrame:
    """:func:`segment_features` of ``frame`` as seen by a fitted detector."""
    return segment_features(*detector_views(detector, frame), segments, ranked=ranked)


def detector_event_features(detector, frame: pd.DataFrame, segments, **options) -> pd.DataFrame:
    """:func:`event_features` of ``frame`` as seen by a fitted detector.

    Its errors are calibrated by its head (``aggregate="calibrated"``; with ``"mean"`` they stay
    raw); ``options`` are those of :func:`event_features`.
    """
    errors, scaled = detector_views(detector, frame)
    calibrated = pd.DataFrame(detector.head_.calibrated(errors.to_numpy()), index=errors.index, columns=errors.columns)
    return event_features(calibrated, scaled, segments, **options)


class ErrorClassifier(ClassifierMixin, BaseEstimator):
    """Fault-type classifier on event features (:func:`event_features` or :func:`segment_features`).

    Parameters
    ----------
    estimator : scikit-learn classifier or None, default=None
        None means ``HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1)``.
    random_state : int, default=0

    Attributes
    ----------
    estimator_ : fitted classifier
    classes_ : ndarray of str, the fault types seen in ``fit``
    feature_names_ : list of str

    Examples
    --------
    >>> clf = ErrorClassifier().fit(train_features, train_kinds)   # doctest: +SKIP
    >>> clf.predict(test_features)                                   # doctest: +SKIP
    """

    def __init__(self, estimator=None, *, random_state=0):
        self.estimator = estimator
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y) -> ErrorClassifier:
        """Fit on features (n_events, n_features) and fault types (n_events,)."""
        labels = np.asarray(y, dtype=str)
        if len(X) == 0 or len(X) != len(labels):
            raise DataError(f"need as many labels as feature rows (got {len(X)} rows, {len(labels)} labels)")
        if len(set(labels)) < 2:
            raise DataError("need at least two fault types to learn a classifier")
        base = self.estimator if self.estimator is not None else HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.1, random_state=self.random_state
        )
        self.estimator_ = clone(base).fit(np.asarray(X, dtype=np.float64), labels)
        self.classes_ = self.estimator_.classes_
        self.feature_names_ = list(getattr(X, "columns", range(np.asarray(X).shape[1])))
        return self

    def _check(self, X) -> np.ndarray:
        if not hasattr(self, "estimator_"):
            raise NotFittedError("this ErrorClassifier is not fitted yet; call fit(features, fault_types) first")
        if hasattr(X, "columns") and list(X.columns) != self.feature_names_:
            raise DataError("feature columns differ from the ones seen in fit (same detector and channels?)")
        return np.asarray(X, dtype=np.float64)

    def predict(self, X) -> np.ndarray:
        """Fault type per event, shape (n_events,)."""
        values = self._check(X)
        return self.estimator_.predict(values)

    def predict_proba(self, X) -> np.ndarray:
        """Probability per fault type, shape (n_events, n_classes) in ``classes_`` order."""
        values = self._check(X)
        return self.estimator_.predict_proba(values)
