"""Which fault: a scikit-learn classifier on reconstruction-error vectors and raw-signal features.

An event (a labelled fault segment, or a detected alert) is summarised by
:func:`segment_features`: per channel, the mean and peak reconstruction error over the
event's rows, the channel's share of the event's error, and the mean and spread of the
scaled raw signal; plus the event's length. :class:`ErrorClassifier` maps those features to a
fault type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier

from anomaly.errors import DataError, NotFittedError

STATISTICS = ("error_mean", "error_peak", "error_share", "signal_mean", "signal_std")


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


def detector_views(detector, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fitted detector's error matrix of ``frame`` and ``frame`` scaled by its scaler.

    Returns
    -------
    errors, scaled : DataFrames of shape (n_steps, n_channels), schema order, ``frame``'s index
    """
    errors = detector.errors(frame)
    scaled = pd.DataFrame(
        detector.scaler_.transform(frame[list(detector.schema_.channels)].to_numpy(np.float32)),
        index=frame.index, columns=errors.columns,
    )
    return errors, scaled


def detector_features(detector, frame: pd.DataFrame, segments, *, ranked: int | None = None) -> pd.DataFrame:
    """:func:`segment_features` of ``frame`` as seen by a fitted detector."""
    return segment_features(*detector_views(detector, frame), segments, ranked=ranked)


class ErrorClassifier(ClassifierMixin, BaseEstimator):
    """Fault-type classifier on event features (see :func:`segment_features`).

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
