"""A supervised head on error vectors: learn from the labels a user already has.

:class:`SupervisedDetector` fits an unsupervised detector on the normal rows of labelled logs,
then a gradient-boosted classifier (scikit-learn's histogram gradient boosting) on per-row
features:

* the detector's calibrated per-channel errors (n, c): how unusual each channel is for the model,
  and three channel-free summaries (n, 3): the detector's own score, the mean and the largest
  calibrated error (a fault on a channel the labels never showed still moves them);
* causal window features of the scaled signals over the last ``window`` rows, per channel:
  mean (level), slope, range and the standard deviation of the first difference (fast energy).

Labels, one per row of each log: ``True``/``False`` (fault/normal), or text — :data:`NORMAL`,
a fault label (``"bearing"``), or ``None`` for an unlabelled row, which is left out of training
and of the threshold's false-alarm count. With two fault labels or more, a second classifier
learns the fault type (:meth:`SupervisedDetector.predict_type`).

Its probability threshold is chosen without test labels: on out-of-fold probabilities (the
logs split into ``folds`` groups, or with fewer logs than folds each log into ``folds``
time-ordered blocks, each scored by a classifier fitted on the others), the lowest level whose
alert events (:data:`anomaly.decisions.DEFAULT_RULES` at the logs' rate, :func:`~anomaly.decisions.rules_at`) on the labelled-normal time stay within
``target_fa_per_hour``.

**Novelty path** (``novelty=True``, the default): boosted trees only know the faults the labels
showed, and a fault of a new kind (or on a channel no labelled fault moved) can leave their
probability at zero. The head therefore also alarms when the detector's own score passes a
level chosen on the labelled-normal rows with :data:`NOVELTY_SHARE` of the false-alarm budget;
the probability threshold is then chosen for the two together within the whole budget. The
head's score is ``max(probability, detector score / novelty_scale_)``, with
``novelty_scale_ = novelty level / threshold_``: a row is flagged when the probability passes
``threshold_`` or the detector's score passes its level, and a feedback round that raises
``threshold_`` raises both in proportion. Measured on SMD (labels of the first 30 % of each
test period): point F1 0.003 without the path, 0.46 with it (``benchmarks/supervised.py``).

The head scores like a detector: :meth:`~SupervisedDetector.evaluate_frame` (errors,
the head's score, flags) for ``anomaly score``, and :meth:`~SupervisedDetector.score_newest`
/ :meth:`~SupervisedDetector.stream_rows` for :class:`pipelines.stream.StreamScorer`.

:meth:`SupervisedDetector.save` writes a directory without pickle: ``supervised.json``
(parameters, threshold, validation), ``detector/`` (the detector's own model directory),
``classifier/`` and ``types/`` (the boosted trees as arrays, :class:`anomaly.trees.TreeEnsemble`)
and ``training/`` (the training rows' features and labels, which ``anomaly feedback`` refits
on); :func:`load_supervised` reads it back and predicts with NumPy alone (no scikit-learn).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.bundle import load_arrays, save_arrays
from anomaly.decisions.alerts import AlertLogic
from anomaly.decisions.rules import DEFAULT_RULES, DecisionRules, rules_at
from anomaly.decisions.runs import event_ranges
from anomaly.detectors.pca import PCADetector
from anomaly.errors import ConfigError, DataError, ModelFileError, NotFittedError
from anomaly.files import atomic_directory, decode_param, encode_param, read_saved
from anomaly.params import Params
from anomaly.passes import ScoringPass
from anomaly.pauses import pass_slices
from anomaly.registry import detector_class, load
from anomaly.schema import sampling_rate
from anomaly.trees import TreeEnsemble, fit_balanced

__all__ = ["FAULT", "NORMAL", "SupervisedDetector", "label_array", "load_supervised", "window_features"]

META_FILE = "supervised.json"
FORMAT_VERSION = 3
#: The label of a normal row, and of a fault without a type (a True in a boolean label series).
NORMAL, FAULT = "normal", "fault"
#: Probability levels tried for the threshold (quantiles of the out-of-fold probabilities).
LEVELS = 400
#: Labelled rows the classifiers learn from at most, with ``train_stride=None``.
TRAIN_ROWS = 20_000
#: Share of the false-alarm budget (``target_fa_per_hour`` and ``max_flag_rate``) given to the novelty path's level.
NOVELTY_SHARE = 0.5
#: Arrays of the saved training rows (``training/arrays.npz``).
TRAINING_ARRAYS = ("X", "labels")


def window_features(Z: np.ndarray, rows: int, newest: int | None = None) -> np.ndarray:
    """Causal features (n, 4 c) of scaled rows ``Z`` (n, c) over the last ``rows`` (>= 2) rows (fewer at the start);
    with ``newest``, those of the last ``newest`` rows only (newest, 4 c).

    Per channel: mean, slope ``(z[t] - z[t - rows + 1]) / rows``, range (max - min) and the
    standard deviation of the first difference.

    A stream step asks for its few newest rows with ``rows`` more before them: those are computed
    on their windows directly (:func:`_newest_window_features`; pandas' rolling windows, set up
    afresh for so few rows, were half of a streamed row's time), the same values to float rounding.
    """
    if newest is not None and len(Z) >= rows + newest and newest * rows <= NEWEST_CELLS:
        return _newest_window_features(Z, rows, newest)
    features = _rolling_window_features(Z, rows)
    return features if newest is None else features[len(features) - newest:]


#: ``window_features(..., newest)`` computes its windows directly up to this many rows x window rows.
NEWEST_CELLS = 4096


def _newest_window_features(Z: np.ndarray, rows: int, newest: int) -> np.ndarray:
    """:func:`window_features` of the last ``newest`` rows of ``Z`` (n >= rows + newest, c): every
    window and first difference they need lies inside ``Z``."""
    Z = np.asarray(Z, dtype=np.float64)  # as pandas computes
    windows = np.lib.stride_tricks.sliding_window_view(Z[len(Z) - newest - rows + 1:], rows, axis=0)  # (newest, c, rows)
    steps = np.lib.stride_tricks.sliding_window_view(np.diff(Z[len(Z) - newest - rows:], axis=0), rows, axis=0)
    fast = steps.std(axis=2, ddof=1)
    slope = (windows[:, :, -1] - windows[:, :, 0]) / rows
    return np.hstack([windows.mean(axis=2), slope, windows.max(axis=2) - windows.min(axis=2), fast]).astype(np.float32)


def _rolling_window_features(Z: np.ndarray, rows: int) -> np.ndarray:
    """:func:`window_features` of every row of ``Z`` (n, c), with pandas' rolling windows."""
    frame = pd.DataFrame(Z)
    rolling = frame.rolling(rows, min_periods=1)
    slope = (frame - frame.shift(rows - 1).bfill()) / rows
    fast = frame.diff().fillna(0.0).rolling(rows, min_periods=2).std().fillna(0.0)
    return np.hstack([rolling.mean(), slope, rolling.max() - rolling.min(), fast]).astype(np.float32)


def label_array(labels) -> np.ndarray:
    """Labels (n,) as an object array of :data:`NORMAL`, a fault label (str) or None (unlabelled).

    Booleans: True is :data:`FAULT`. Numbers: 0 is normal, NaN unlabelled, others :data:`FAULT`.
    Anything else is taken as text, with None/NaN unlabelled.
    """
    values = np.asarray(labels)
    if values.ndim != 1:
        raise DataError(f"a label series must be one-dimensional, got shape {values.shape}")
    out = np.full(len(values), None, dtype=object)
    if values.dtype.kind == "b":
        out[:] = np.where(values, FAULT, NORMAL)
    elif values.dtype.kind in "iuf":
        known = ~np.isnan(values.astype(float))
        out[known] = np.where(values[known] == 0, NORMAL, FAULT)
    else:
        known = ~pd.isna(values)
        out[known] = [str(v) for v in values[known]]
    return out


def n_features(channels: int) -> int:
    """Features per row of a head over ``channels`` channels: 5 per channel and 3 summaries."""
    return 5 * channels + 3


def known_mask(labels: np.ndarray) -> np.ndarray:
    """True (n,) where a label array (:func:`label_array`) has a label."""
    return ~pd.isna(labels)


def normal_segments(frame: pd.DataFrame, normal: np.ndarray, min_rows: int) -> list[pd.DataFrame]:
    """The runs of labelled-normal rows (``normal``, (n,) bool) of one log with at least ``min_rows`` rows."""
    return [frame.iloc[a:b + 1] for a, b in event_ranges(normal) if b + 1 - a >= min_rows]


def false_alarms(probabilities: np.ndarray, level: float, normal: np.ndarray, rules: DecisionRules = DEFAULT_RULES,
                 passes: list[slice] | None = None) -> int:
    """Alerts the stream would raise on ``probabilities`` (n,) at ``level`` (the default rules:
    hysteresis, minimum duration, severe level, merge gap, cooldown; ``rules`` gives the row
    counts at the log's rate, :func:`~anomaly.decisions.rules_at`; ``passes`` the log's
    sessions, :func:`~anomaly.pauses.pass_slices`) that start on a labelled-normal row
    (``normal``, (n,) bool)."""
    alerts = AlertLogic.at_level(level, rules.severe_ratio, **rules.counts()).alerts(probabilities, passes=passes)
    return sum(1 for start, _, _ in alerts if normal[start])


def fold_pieces(lengths: list[int], folds: int) -> list[tuple[int, int, int, int]]:
    """``(log, start, end, group)`` pieces of the out-of-fold split: whole logs in ``i % folds``
    groups, or with fewer logs than folds each log cut into ``folds`` time-ordered blocks."""
    if len(lengths) >= folds:
        return [(i, 0, n, i % folds) for i, n in enumerate(lengths)]
    return [(i, n * k // folds, n * (k + 1) // folds, k) for i, n in enumerate(lengths) for k in range(folds)]


class SupervisedDetector(Params):
    """A classifier on a detector's calibrated errors and raw window features.

    Parameters
    ----------
    detector : Detector
        Unfitted unsupervised detector, fitted on the labelled-normal rows (default: a PCA with
        calibrated per-channel errors and the SPE statistic).
    window : int, default=20
        Rows of the window features.
    target_fa_per_hour : float, default=2.0
        False alarms (events) per hour of labelled-normal time the threshold allows.
    max_flag_rate : float, default=0.01
        Share of labelled-normal rows the threshold may flag (out of fold) besides: alert
        events are counted in rows, so on slow logs (one row a minute) a handful of long
        events can cover most of the normal time.
    rate_hz : float or None, default=None
        Rows per second, to turn rows into hours; None: from the logs' timestamps.
    folds : int, default=3
        Groups for the out-of-fold probabilities (>= 2): logs, or time-ordered blocks of each
        log when there are fewer logs than folds.
    train_stride : int or None, default=None
        The classifiers learn from every ``train_stride``-th row (neighbouring rows of a fast
        log say nearly the same; every row is still scored and used for the threshold). None:
        the smallest stride that leaves at most :data:`TRAIN_ROWS` labelled rows.
    label_column : str or None, default=None
        The training data's label column (recorded so that scoring drops it from its inputs).
    novelty : bool, default=True
        Also alarm on the detector's own score (a fault of a kind the labels never showed);
        see the module docstring.
    max_iter, learning_rate, random_state
        Of the gradient-boosted classifiers.

    Attributes
    ----------
    detector_ : Detector
        The fitted detector.
    classifier_ : TreeEnsemble
        Fault or not: boosted trees fitted on every training log, as arrays (scored without scikit-learn).
    types_ : TreeEnsemble or None
        Which fault, fitted on the faulty rows when they carry two labels or more.
    threshold_ : float
        Level of a flag on the head's score (a probability level without the novelty path).
    novelty_scale_ : float or None
        The detector's score is divided by this before it joins the probability in the head's
        score (its novelty level over ``threshold_`` at fit time); None without the novelty path.
    validation_ : dict
        Out-of-fold false alarms per hour and the share of faulty logs flagged at ``threshold_``.
    training_ : dict
        ``{"X": (m, 5 c + 3) float32, "labels": (m,) str}``: the labelled training rows the
        classifiers learnt from (every ``train_stride``-th), kept for feedback rounds.
    alert_min_duration_ : int or None
        The alert on-delay (rows) a feedback round set (:mod:`anomaly.feedback`); None: the
        default rules' (:func:`~anomaly.decisions.model_rules`).
    """

    def __init__(self, detector=None, *, window=20, target_fa_per_hour=2.0, max_flag_rate=0.01, rate_hz=None, folds=3, train_stride=None,
                 label_column=None, novelty=True, max_iter=200, learning_rate=0.1, random_state=0):
        self.detector = detector
        self.window = window
        self.target_fa_per_hour = target_fa_per_hour
        self.max_flag_rate = max_flag_rate
        self.rate_hz = rate_hz
        self.folds = folds
        self.train_stride = train_stride
        self.label_column = label_column
        self.novelty = novelty
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _classifier(self, X: np.ndarray, y: np.ndarray) -> TreeEnsemble:
        """Boosted trees (class-balanced, :func:`anomaly.trees.fit_balanced`) fitted on features ``X`` (n, f) and labels ``y`` (n,)."""
        return fit_balanced(X, y, max_iter=self.max_iter, learning_rate=self.learning_rate, random_state=self.random_state)

    # -- features --------------------------------------------------------------
    def scaled(self, frame: pd.DataFrame, *, source: str = "input") -> np.ndarray:
        """The detector's scaled rows (n, c) of one log: channels matched by name, its NaN policy applied."""
        det = self.detector_
        _, values = det.prepare(self._channels_only(frame), source)
        return det.scaler_.transform(values)

    def _channels_only(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.label_column is not None and self.label_column in frame.columns:
            return frame.drop(columns=[self.label_column])
        return frame

    def errors_and_features(self, frame: pd.DataFrame, *, source: str = "input") -> tuple[np.ndarray, np.ndarray]:
        """Raw errors (n, c) and features (n, 5 c + 3) of one log: calibrated errors (n, c), their
        summaries (n, 3: the detector's score, mean, max) and window features (n, 4 c), each
        session after a pause (:mod:`anomaly.pauses`) from its own rows, as a stream has them."""
        det = self.detector_
        Z, parts = self.scaled(frame, source=source), []
        for rows in pass_slices(frame.index, det.schema_.sampling_rate):
            errors, scores = det.errors_and_scores_scaled(det.conditions_.relative(Z[rows]))
            parts.append((errors, self._features(errors, scores, Z[rows])))
        return np.concatenate([e for e, _ in parts]), np.concatenate([f for _, f in parts])

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        """Features (n, 5 c + 3) of one log (see :meth:`errors_and_features`)."""
        return self.errors_and_features(frame)[1]

    @property
    def score_column(self) -> int:
        """Column of the detector's score in the features (after the c calibrated errors)."""
        return len(self.detector_.schema_.channels)

    def head_scores(self, X: np.ndarray) -> np.ndarray:
        """The head's scores (n,) of features ``X`` (n, 5 c + 3): the classifier's probability,
        or with the novelty path ``max(probability, detector score / novelty_scale_)``."""
        probability = self.classifier_.predict_proba(X)[:, 1]
        if self.novelty_scale_ is None:
            return probability
        return np.maximum(probability, X[:, self.score_column] / self.novelty_scale_)

    def _features(self, errors: np.ndarray, scores: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """Features (n, 5 c + 3) of errors (n, c), scores (n,) and the scaled rows ``Z`` (m >= n, c)
        they end with (the window features of counters are 0: their level is no feature)."""
        calibrated = np.asarray(self.detector_.head_.calibrated(errors), dtype=np.float32)
        summary = np.column_stack([scores, calibrated.mean(axis=1), calibrated.max(axis=1)]).astype(np.float32)
        Z = Z * self.detector_.conditions_.keep
        return np.hstack([calibrated, summary, window_features(Z, self.window, newest=len(errors))])

    # -- fitting ---------------------------------------------------------------
    def fit(self, logs: list[pd.DataFrame], labels: list) -> SupervisedDetector:
        """Fit on labelled logs.

        Parameters
        ----------
        logs : list of DataFrame (n_i, c)
            Logs with the same channels.
        labels : list of array-like (n_i,)
            Per row: bool (True: fault), or text (:data:`NORMAL`, a fault label, None when unlabelled);
            see :func:`label_array`.

        Returns
        -------
        self

        Raises
        ------
        DataError
            Label series of the wrong length, labels covering no row, one class only (overall
            or in a training fold).
        """
        if len(logs) != len(labels) or not logs:
            raise DataError(f"{len(logs)} logs but {len(labels)} label series")
        ys = [label_array(y) for y in labels]
        if any(len(y) != len(f) for f, y in zip(logs, ys)):
            raise DataError("every label series must have one value per row of its log")
        if isinstance(self.folds, bool) or not isinstance(self.folds, (int, np.integer)) or self.folds < 2:
            raise ConfigError(f"folds={self.folds!r} must be an integer >= 2")
        if isinstance(self.window, bool) or not isinstance(self.window, (int, np.integer)) or self.window < 2:
            raise ConfigError(f"window={self.window!r} must be an integer >= 2 (rows of the window features)")
        y_all = np.concatenate(ys)
        known = known_mask(y_all)
        if not known.any():
            raise DataError("the labels cover no row")
        if (y_all[known] == NORMAL).all() or (y_all[known] != NORMAL).all():
            raise DataError("the labels hold one class only: a supervised head needs normal and faulty rows")
        base = self.detector if self.detector is not None else PCADetector(aggregate="calibrated", statistic="spe")
        segments = [s for f, y in zip(logs, ys) for s in normal_segments(f, y == NORMAL, 2 * self.window)]
        if not segments:
            raise DataError(f"no stretch of {2 * self.window} labelled-normal rows to fit the detector on")
        self.detector_ = type(base)(**base.get_params(deep=False)).fit(segments)
        X = [self.features(f) for f in logs]
        step = self.stride(int(known.sum()))
        oof = self._out_of_fold(X, ys, step)
        self.novelty_scale_ = None
        if self.novelty:
            detector_scores = [x[:, self.score_column] for x in X]
            novelty_level, _ = self._choose_threshold(logs, detector_scores, ys, share=NOVELTY_SHARE)
            self.threshold_, self.validation_ = self._choose_threshold(logs, oof, ys, novelty=(detector_scores, novelty_level))
            self.novelty_scale_ = novelty_level / max(self.threshold_, 1e-12)
        else:
            self.threshold_, self.validation_ = self._choose_threshold(logs, oof, ys)
        self.alert_min_duration_ = None  # the default rules' on-delay until a feedback round sets one (rows)
        rows = [known_mask(y[::step]) for y in ys]
        self.training_ = {"X": np.vstack([x[::step][r] for x, r in zip(X, rows)]),
                          "labels": np.concatenate([y[::step][r] for y, r in zip(ys, rows)]).astype(str)}
        return self.fit_classifiers()

    def stride(self, labelled: int) -> int:
        """The row stride of the classifiers' training rows, for ``labelled`` labelled rows."""
        if self.train_stride is None:
            return max(1, -(-labelled // TRAIN_ROWS))
        return int(self.train_stride)

    def _out_of_fold(self, X: list[np.ndarray], ys: list[np.ndarray], step: int) -> list[np.ndarray]:
        """Probabilities (n_i,) of each log's rows from classifiers that learnt from every ``step``-th row of the others."""
        pieces = fold_pieces([len(x) for x in X], int(self.folds))
        oof = [np.zeros(len(x)) for x in X]
        for k in range(int(self.folds)):
            train = [(X[i][a:b:step], ys[i][a:b:step]) for i, a, b, g in pieces if g != k]
            x_train = np.vstack([x[known_mask(y)] for x, y in train])
            y_train = np.concatenate([y[known_mask(y)] for _, y in train]) != NORMAL
            if y_train.all() or not y_train.any():
                raise DataError(f"fold {k + 1} of {self.folds} trains on one class only: give more labelled data or fewer folds")
            clf = self._classifier(x_train, y_train)
            for i, a, b, g in pieces:
                if g == k:
                    oof[i][a:b] = clf.predict_proba(X[i][a:b])[:, 1]
        return oof

    def fit_classifiers(self) -> SupervisedDetector:
        """Fit ``classifier_`` (fault or not) and ``types_`` (which fault) on ``training_``; returns self."""
        X, labels = self.training_["X"], self.training_["labels"]
        faulty = labels != NORMAL
        self.classifier_ = self._classifier(X, faulty)
        kinds = np.unique(labels[faulty])
        self.types_ = self._classifier(X[faulty], labels[faulty]) if len(kinds) > 1 else None
        return self

    def rate(self, frame: pd.DataFrame) -> float:
        """Rows per second of a log: ``rate_hz``, else from its timestamps."""
        rate = self.rate_hz if self.rate_hz is not None else sampling_rate(frame.index)
        if rate is None:
            raise ConfigError("logs without timestamps: give them a timestamp column, or rate_hz (false alarms are counted per hour)")
        return float(rate)

    def _choose_threshold(self, logs, probabilities, ys, *, share: float = 1.0, novelty=None) -> tuple[float, dict]:
        """The lowest level whose out-of-fold false alarms per hour, and share of flagged normal
        rows, stay within ``share`` of the bounds.

        ``probabilities``: per log, (n_i,). ``novelty``: ``(detector scores per log, novelty
        level)``: at level ``L`` the rows scored are ``max(p, L * score / novelty level)``, so a
        row is flagged when ``p > L`` or its detector score passes the novelty level.
        """
        normal = [y == NORMAL for y in ys]
        hours = max(sum(int(n.sum()) / self.rate(f) / 3600 for f, n in zip(logs, normal)), 1e-12)
        rows = max(sum(int(n.sum()) for n in normal), 1)
        rules = [rules_at(self.rate(f)) for f in logs]
        sessions = [pass_slices(f.index, self.rate(f)) for f in logs]  # an alert ends at a pause

        def scored(level: float) -> list[np.ndarray]:
            if novelty is None:
                return probabilities
            scores, novelty_level = novelty
            return [np.maximum(p, level * s / max(novelty_level, 1e-12)) for p, s in zip(probabilities, scores)]

        def rates(level: float) -> tuple[float, float]:
            values = scored(level)
            alarms = sum(false_alarms(p, level, n, r, c) for p, n, r, c in zip(values, normal, rules, sessions))
            return alarms / hours, sum(int((p[n] > level).sum()) for p, n in zip(values, normal)) / rows

        def fits(level: float) -> bool:
            per_hour, flagged = rates(level)
            return per_hour <= share * self.target_fa_per_hour and flagged <= share * self.max_flag_rate

        levels = np.unique(np.quantile(np.concatenate(probabilities), np.linspace(0.5, 1.0, LEVELS)))
        lo, hi = 0, len(levels) - 1  # both only fall as the level rises: a binary search finds the lowest that fits
        while lo < hi:
            mid = (lo + hi) // 2
            if fits(levels[mid]):
                hi = mid
            else:
                lo = mid + 1
        level = float(levels[lo])
        per_hour, flagged = rates(level)
        faults = [(p, known_mask(y) & (y != NORMAL)) for p, y in zip(scored(level), ys)]
        faults = [(p, f) for p, f in faults if f.any()]
        found = sum(bool((p[f] > level).any()) for p, f in faults)
        return level, {"false_alarms_per_hour": per_hour, "normal_rows_flagged": flagged, "normal_hours": hours,
                       "logs_with_faults_flagged": found / max(len(faults), 1), "target_met": fits(level)}

    # -- scoring: the detector surface the CLI and the stream use ----------------
    def check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise NotFittedError("this SupervisedDetector is not fitted")

    @property
    def schema_(self):
        """The detector's channel schema."""
        return self.detector_.schema_

    @property
    def head_(self):
        """The detector's score head (its calibration ranks the channels named in alerts)."""
        return self.detector_.head_

    @property
    def envelope_(self):
        """The detector's training envelope (the validity guard)."""
        return self.detector_.envelope_

    @property
    def recentre_rows_(self) -> int:
        """The detector's re-centring window in rows (:mod:`anomaly.recentring`; 0: off)."""
        return self.detector_.recentre_rows_

    def level_channels(self):
        """The detector's channels modelled at their level (:meth:`anomaly.base.Detector.level_channels`)."""
        return self.detector_.level_channels()

    def setpoint_channels(self):
        """The detector's set-point channels (:meth:`anomaly.base.Detector.setpoint_channels`)."""
        return self.detector_.setpoint_channels()

    def declared_conditions(self) -> list[str]:
        """The detector's declared condition channels (:meth:`anomaly.base.Detector.declared_conditions`)."""
        return self.detector_.declared_conditions()

    @property
    def engine_(self):
        """The detector's inference engine."""
        return self.detector_.engine_

    @property
    def nan_policy(self) -> str:
        """The detector's NaN policy."""
        return self.detector_.nan_policy

    @property
    def thresholder_(self) -> SupervisedDetector:
        """The head is its own threshold rule: a flag is a probability above ``threshold_``."""
        return self

    def predict_proba(self, frame: pd.DataFrame) -> pd.Series:
        """Probability of a fault per row, shape (n,), aligned to ``frame.index``."""
        self.check_fitted()
        return pd.Series(self.classifier_.predict_proba(self.features(frame))[:, 1], index=frame.index, name="probability")

    def predict(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean flag per row, shape (n,): the head's score (:meth:`head_scores`) above ``threshold_``."""
        self.check_fitted()
        return pd.Series(self.head_scores(self.features(frame)) > self.threshold_, index=frame.index, name="flag")

    def predict_type(self, frame: pd.DataFrame) -> pd.Series:
        """The most likely fault label per row, shape (n,) (meaningful on flagged rows).

        Raises
        ------
        ConfigError
            If the training labels named one kind of fault only.
        """
        self.check_fitted()
        if self.types_ is None:
            raise ConfigError("this head learnt one kind of fault only; label faults by type to diagnose them")
        return pd.Series(self.types_.predict(self.features(frame)), index=frame.index, name="fault_type")

    def evaluate_frame(self, X: pd.DataFrame, *, source: str = "input") -> tuple[pd.DataFrame, pd.Series, pd.Series]:
        """Errors (n, c), scores (the head's, :meth:`head_scores`, (n,)) and flags (n,) of one frame, as a detector's."""
        self.check_fitted()
        errors, features = self.errors_and_features(X, source=source)
        scores = self.head_scores(features)
        return (pd.DataFrame(errors, index=X.index, columns=list(self.schema_.channels)),
                pd.Series(scores, index=X.index, name="score"),
                pd.Series(scores > self.threshold_, index=X.index, name="flag"))

    def apply(self, scores):
        """Flags of probabilities (n,): ``scores > threshold_``."""
        return np.asarray(scores) > self.threshold_

    def check_envelope(self, X: pd.DataFrame, *, source: str = "input"):
        """The detector's validity guard on ``X`` (:meth:`anomaly.base.Detector.check_envelope`)."""
        return self.detector_.check_envelope(self._channels_only(X), source=source)

    def relation_drifts(self, X: pd.DataFrame, *, source: str = "input") -> list:
        """None (an empty list): a head scores its detector without re-centring (``anomaly fit --labels``), so no
        channel is followed (:meth:`anomaly.base.Detector.relation_drifts`)."""
        return []

    def stream_rows(self, hop: int = 1) -> int:
        """Rows a streaming step reads to score its ``hop`` newest rows."""
        return max(self.detector_.stream_rows(hop), int(self.window) + int(hop))  # + 1 row: the first difference

    def start_pass(self) -> ScoringPass | None:
        """A stream's state: the detector's set-point reference only (its adaptation and
        smoothing are not used), None without set-point channels."""
        reference = self.detector_.conditions_.start_reference()
        return None if reference is None else ScoringPass(reference=reference)

    def set_inference_threads(self, threads: int) -> None:
        """Threads of the detector's inference engine."""
        self.detector_.set_inference_threads(threads)

    def score_newest(self, values: np.ndarray, n: int = 1, state=None, *, groups: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Errors (groups * n, c) and the head's scores (groups * n,) of the newest ``groups``
        hop groups of ``n`` rows of raw rows ``values`` (m, c), causal (see
        :meth:`anomaly.base.Detector.score_newest`).

        ``m >= stream_rows(n) + (groups - 1) * n``; for a point-wise detector (PCA) they equal
        the batch values of those rows.
        """
        self.check_fitted()
        values = np.asarray(values, dtype=np.float32)[-(self.stream_rows(n) + (groups - 1) * n):]
        errors, scores = self.detector_.score_newest(values, n, state, groups=groups)
        Z = self.detector_.scaler_.transform(values[-(int(self.window) + n * groups):])
        return errors, self.head_scores(self._features(errors, scores, Z))

    # -- files -------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted head as a directory (JSON, the detector's directory, tree arrays), atomically."""
        self.check_fitted()

        def write(tmp: Path) -> None:
            self.detector_.save(tmp / "detector")
            self.save_head(tmp)

        return atomic_directory(path, write, marker=META_FILE)

    def save_head(self, directory: Path) -> None:
        """Write what the head learnt into a model directory beside its ``detector/``: the
        classifiers, the training rows and ``supervised.json`` (replacing earlier ones)."""
        params = {k: encode_param(v) for k, v in self.get_params(deep=False).items() if k != "detector"}
        base = self.detector if self.detector is not None else self.detector_
        meta = {"format_version": FORMAT_VERSION, "class": type(self).__name__, "params": params,
                "detector": {"class": type(base).__name__, "params": {k: encode_param(v) for k, v in base.get_params(deep=False).items()}},
                "threshold": self.threshold_, "novelty_scale": self.novelty_scale_,
                "alert_min_duration": self.alert_min_duration_, "validation": self.validation_}
        self.classifier_.save(directory / "classifier")
        if self.types_ is not None:
            self.types_.save(directory / "types")
        elif (directory / "types").exists():
            shutil.rmtree(directory / "types")
        (directory / "training").mkdir(exist_ok=True)
        save_arrays(directory / "training", {"X": self.training_["X"], "labels": self.training_["labels"].astype(str)})
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))


def is_supervised(path: str | Path) -> bool:
    """True when ``path`` is a model directory written by :meth:`SupervisedDetector.save`."""
    return (Path(path) / META_FILE).is_file()


def load_supervised(path: str | Path, *, engine: str = "auto") -> SupervisedDetector:
    """Load a :class:`SupervisedDetector` saved by :meth:`SupervisedDetector.save` (``engine``: of its detector).

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
        scale = meta.get("novelty_scale")  # format 2: no novelty path
        head.novelty_scale_ = None if scale is None else float(scale)
        head.novelty = head.novelty and scale is not None
        delay = meta.get("alert_min_duration")  # a feedback round's on-delay (rows)
        head.alert_min_duration_ = None if delay is None else int(delay)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path / META_FILE}: malformed ({exc.__class__.__name__}: {exc})") from None
    head.detector_ = load(path / "detector", engine=engine)
    head.classifier_ = TreeEnsemble.load(path / "classifier")
    head.types_ = TreeEnsemble.load(path / "types") if (path / "types").exists() else None
    head.training_ = load_arrays(path / "training", TRAINING_ARRAYS)
    features = n_features(len(head.detector_.schema_.channels))
    for name, trees in (("classifier", head.classifier_), ("types", head.types_)):
        if trees is not None and trees.n_features != features:
            raise ModelFileError(f"{path}: the {name}'s {trees.n_features} features do not match the detector's channels")
    if head.training_["X"].ndim != 2 or head.training_["X"].shape[1] != features or len(head.training_["labels"]) != len(head.training_["X"]):
        raise ModelFileError(f"{path / 'training'}: training rows do not match the detector's channels")
    return head
