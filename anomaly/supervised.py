"""A supervised head on error vectors: learn from the labels a user already has.

:class:`SupervisedDetector` fits an unsupervised detector on the normal rows of labelled logs,
then a gradient-boosted classifier (scikit-learn's histogram gradient boosting) on per-row
features:

* the detector's calibrated per-channel errors (n, c): how unusual each channel is for the model;
* causal window features of the scaled signals over the last ``window`` rows, per channel:
  mean (level), slope, range and the standard deviation of the first difference (fast energy).

Its probability threshold is chosen without test labels: on out-of-fold probabilities
(the logs split into ``folds`` groups, each scored by a classifier fitted on the others), the
lowest level whose alert events (:data:`anomaly.decisions.DEFAULT_RULES`) on the labelled-normal
time stay within ``target_fa_per_hour``.

:meth:`SupervisedDetector.save` writes a directory without pickle: ``supervised.json``
(parameters, threshold, validation), ``detector/`` (the detector's own model directory) and
``classifier/`` (the boosted trees as arrays, :class:`anomaly.trees.TreeEnsemble`);
:func:`load_supervised` reads it back and predicts with NumPy alone (no scikit-learn).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.decisions.rules import DEFAULT_RULES
from anomaly.decisions.runs import decide_runs
from anomaly.detectors.pca import PCADetector
from anomaly.errors import ConfigError, DataError, ModelFileError, NotFittedError
from anomaly.files import atomic_directory, decode_param, encode_param, read_saved
from anomaly.params import Params
from anomaly.registry import detector_class, load
from anomaly.schema import sampling_rate
from anomaly.trees import TreeEnsemble

__all__ = ["SupervisedDetector", "load_supervised", "window_features"]

META_FILE = "supervised.json"
FORMAT_VERSION = 1

#: Probability levels tried for the threshold (quantiles of the out-of-fold probabilities).
LEVELS = 400


def window_features(Z: np.ndarray, rows: int) -> np.ndarray:
    """Causal features (n, 4 c) of scaled rows ``Z`` (n, c) over the last ``rows`` rows (fewer at the start).

    Per channel: mean, slope ``(z[t] - z[t - rows + 1]) / rows``, range (max - min) and the
    standard deviation of the first difference.
    """
    frame = pd.DataFrame(Z)
    rolling = frame.rolling(rows, min_periods=1)
    slope = (frame - frame.shift(rows - 1).bfill()) / rows
    fast = frame.diff().fillna(0.0).rolling(rows, min_periods=2).std().fillna(0.0)
    return np.hstack([rolling.mean(), slope, rolling.max() - rolling.min(), fast]).astype(np.float32)


def normal_segments(frame: pd.DataFrame, labels: np.ndarray, min_rows: int) -> list[pd.DataFrame]:
    """The runs of unlabelled-normal rows of one log that have at least ``min_rows`` rows."""
    edges = np.flatnonzero(np.diff(np.concatenate([[1], labels.astype(np.int8), [1]])))
    return [frame.iloc[a:b] for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_rows]


def false_alarms(flags: np.ndarray, labels: np.ndarray) -> int:
    """Alert events of ``flags`` (n,) raised on a labelled-normal row (the default rules)."""
    runs = decide_runs(flags, flags, min_duration=DEFAULT_RULES.min_duration, merge_gap=DEFAULT_RULES.merge_gap,
                       cooldown=DEFAULT_RULES.cooldown)
    return sum(1 for start, _ in runs if not labels[start])


class SupervisedDetector(Params):
    """A classifier on a detector's calibrated errors and raw window features.

    Parameters
    ----------
    detector : Detector
        Unfitted unsupervised detector, fitted on the labelled-normal rows.
    window : int, default=20
        Rows of the window features.
    target_fa_per_hour : float, default=2.0
        False alarms (events) per hour of labelled-normal time the threshold allows.
    rate_hz : float or None, default=None
        Rows per second, to turn rows into hours; None: from the logs' timestamps.
    folds : int, default=3
        Groups of logs for the out-of-fold probabilities (>= 2, <= the number of logs).
    train_stride : int, default=1
        The classifiers learn from every ``train_stride``-th row (neighbouring rows of a fast
        log say nearly the same; every row is still scored and used for the threshold).
    max_iter, learning_rate, random_state
        Of the gradient-boosted classifier.

    Attributes
    ----------
    detector_ : Detector
        The fitted detector.
    classifier_ : TreeEnsemble
        The boosted trees fitted on every training log, as arrays (scored without scikit-learn).
    threshold_ : float
        Probability level of a flag.
    validation_ : dict
        Out-of-fold false alarms per hour and event recall at ``threshold_``.
    """

    def __init__(self, detector=None, *, window=20, target_fa_per_hour=2.0, rate_hz=None, folds=3, train_stride=1,
                 max_iter=200, learning_rate=0.1, random_state=0):
        self.detector = detector
        self.window = window
        self.target_fa_per_hour = target_fa_per_hour
        self.rate_hz = rate_hz
        self.folds = folds
        self.train_stride = train_stride
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _classifier(self):
        from sklearn.ensemble import HistGradientBoostingClassifier  # training only

        return HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                              random_state=self.random_state, class_weight="balanced")

    def scaled(self, frame: pd.DataFrame) -> np.ndarray:
        """The detector's scaled rows (n, c) of one log, channels in schema order."""
        det = self.detector_
        return det.scaler_.transform(frame[list(det.schema_.channels)].to_numpy(np.float32))

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        """Features (n, 5 c) of one log: calibrated errors (n, c) and window features (n, 4 c)."""
        calibrated = np.asarray(self.detector_.head_.calibrated(self.detector_.errors(frame).to_numpy()), dtype=np.float32)
        return np.hstack([calibrated, window_features(self.scaled(frame), self.window)])

    def fit(self, logs: list[pd.DataFrame], labels: list) -> SupervisedDetector:
        """Fit on labelled logs.

        Parameters
        ----------
        logs : list of DataFrame (n_i, c)
            Logs with the same channels.
        labels : list of array-like of bool (n_i,)
            True where a fault is active.

        Returns
        -------
        self
        """
        if len(logs) != len(labels) or not logs:
            raise DataError(f"{len(logs)} logs but {len(labels)} label series")
        ys = [np.asarray(y, dtype=bool) for y in labels]
        if any(len(y) != len(f) for f, y in zip(logs, ys)):
            raise DataError("every label series must have one value per row of its log")
        y_all = np.concatenate(ys)
        if y_all.all() or not y_all.any():
            raise DataError("the labels hold one class only: a supervised head needs normal and faulty rows")
        if not 2 <= self.folds <= len(logs):
            raise ConfigError(f"folds={self.folds!r} must be in [2, {len(logs)}] (the number of logs)")
        base = self.detector if self.detector is not None else PCADetector(aggregate="calibrated", statistic="spe")
        segments = [s for f, y in zip(logs, ys) for s in normal_segments(f, y, 2 * self.window)]
        self.detector_ = type(base)(**base.get_params(deep=False)).fit(segments)
        X = [self.features(f) for f in logs]
        step = int(self.train_stride)
        group = np.arange(len(logs)) % self.folds
        oof = [np.zeros(len(f)) for f in logs]
        for k in range(self.folds):
            train = [i for i in range(len(logs)) if group[i] != k]
            y_train = np.concatenate([ys[i][::step] for i in train])
            if y_train.all() or not y_train.any():
                raise DataError(f"fold {k} of {self.folds} trains on one class only: give more labelled logs or fewer folds")
            clf = self._classifier().fit(np.vstack([X[i][::step] for i in train]), y_train)
            for i in np.flatnonzero(group == k):
                oof[i] = clf.predict_proba(X[i])[:, 1]
        self.threshold_, self.validation_ = self._choose_threshold(logs, oof, ys)
        final = self._classifier().fit(np.vstack([x[::step] for x in X]), np.concatenate([y[::step] for y in ys]))
        self.classifier_ = TreeEnsemble.from_sklearn(final)
        return self

    def _rate(self, frame: pd.DataFrame) -> float:
        rate = self.rate_hz if self.rate_hz is not None else sampling_rate(frame.index)
        if rate is None:
            raise ConfigError("rate_hz is needed for logs without timestamps")
        return float(rate)

    def _choose_threshold(self, logs, probabilities, ys) -> tuple[float, dict]:
        """The lowest level whose out-of-fold false alarms per hour stay within the target."""
        hours = sum(int((~y).sum()) / self._rate(f) / 3600 for f, y in zip(logs, ys))
        levels = np.unique(np.quantile(np.concatenate(probabilities), np.linspace(0.5, 1.0, LEVELS)))
        for level in levels:  # false alarms only fall as the level rises: the first that fits is the lowest
            alarms = sum(false_alarms(p > level, y) for p, y in zip(probabilities, ys))
            if alarms / hours <= self.target_fa_per_hour:
                break
        faults = [(p, y) for p, y in zip(probabilities, ys) if y.any()]
        found = sum(bool((p[y] > level).any()) for p, y in faults)
        return float(level), {"false_alarms_per_hour": alarms / hours, "logs_with_faults_flagged": found / max(len(faults), 1)}

    def check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise NotFittedError("this SupervisedDetector is not fitted")

    def predict_proba(self, frame: pd.DataFrame) -> pd.Series:
        """Probability of a fault per row, shape (n,), aligned to ``frame.index``."""
        self.check_fitted()
        return pd.Series(self.classifier_.predict_proba(self.features(frame))[:, 1], index=frame.index, name="probability")

    def predict(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean flag per row, shape (n,): probability above ``threshold_``."""
        return (self.predict_proba(frame) > self.threshold_).rename("flag")

    def save(self, path: str | Path) -> Path:
        """Write the fitted head as a directory (JSON, the detector's directory, tree arrays), atomically."""
        self.check_fitted()
        params = {k: encode_param(v) for k, v in self.get_params(deep=False).items() if k != "detector"}
        base = self.detector if self.detector is not None else self.detector_
        meta = {"format_version": FORMAT_VERSION, "class": type(self).__name__, "params": params,
                "detector": {"class": type(base).__name__, "params": {k: encode_param(v) for k, v in base.get_params(deep=False).items()}},
                "threshold": self.threshold_, "validation": self.validation_}

        def write(tmp: Path) -> None:
            self.detector_.save(tmp / "detector")
            self.classifier_.save(tmp / "classifier")
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2))

        return atomic_directory(path, write, marker=META_FILE)


def load_supervised(path: str | Path) -> SupervisedDetector:
    """Load a :class:`SupervisedDetector` saved by :meth:`SupervisedDetector.save`.

    Raises
    ------
    ModelFileError
        If a file is missing, corrupted or of a newer format.
    """
    path = Path(path)
    meta = read_saved(path, META_FILE, directory="supervised model", saved=SupervisedDetector.__name__, format_version=FORMAT_VERSION)
    try:
        spec = meta["detector"]
        base = detector_class(spec["class"])(**{k: decode_param(v) for k, v in spec["params"].items()})
        head = SupervisedDetector(base, **{k: decode_param(v) for k, v in meta["params"].items()})
        head.threshold_, head.validation_ = float(meta["threshold"]), dict(meta["validation"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path / META_FILE}: malformed ({exc.__class__.__name__}: {exc})") from None
    head.detector_ = load(path / "detector")
    head.classifier_ = TreeEnsemble.load(path / "classifier")
    if head.classifier_.n_features != 5 * len(head.detector_.schema_.channels):
        raise ModelFileError(f"{path}: the classifier's {head.classifier_.n_features} features do not match the detector's channels")
    return head
