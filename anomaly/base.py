"""The detector contract shared by every model.

A detector is fitted on normal data and then maps any frame of the same channels to a
per-step, per-channel **reconstruction-error vector** (:meth:`Detector.errors`), a per-step
score (:meth:`Detector.score`, higher = more anomalous) and flags (:meth:`Detector.predict`).

The base class does the work every detector shares (input validation, NaN policy, schema,
scaling fitted on normal data, threshold fitted on the training scores, fingerprint,
persistence); a subclass writes only ``_fit(Z)`` and ``_errors(Z)`` on scaled float32 arrays.
Constructors only store their arguments (scikit-learn's ``BaseEstimator`` then gives
``get_params``/``set_params``/``clone``); fitted attributes end in ``_``.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from anomaly import bundle
from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds import Percentile
from anomaly.scaling import Scaler, fill_missing
from anomaly.schema import Schema, check_frame
from anomaly.windows import sliding_windows


#: Inference engines a loaded detector can use (see :func:`anomaly.registry.load`).
ENGINES = ("auto", "keras", "onnx")


def store_params(detector, arguments: dict) -> None:
    """Store constructor arguments as same-named attributes (all a constructor may do).

    Call as ``store_params(self, locals())`` first thing in ``__init__``.
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(detector, name, value)


def fingerprint(values: np.ndarray, channels: tuple[str, ...]) -> str:
    """Short SHA-256 of the training values and channel names, stored with the model."""
    digest = hashlib.sha256("\x1f".join(channels).encode())
    digest.update(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


class Detector(BaseEstimator, ABC):
    """Base class of all detectors. Not used directly.

    Subclass parameters shared by every detector:

    scaling : {"standard", "robust", "minmax", "none"}
        Per-channel scaling fitted on the normal training data.
    nan_policy : {"raise", "ffill", "interpolate"}
        What to do with NaN/inf cells (see :mod:`pipelines.preprocess`).
    threshold : Threshold or None
        Unfitted threshold rule fitted on training scores (on the held-out validation part
        for neural detectors); None means ``Percentile(99)``.

    Fitted attributes (all detectors)
    ---------------------------------
    schema_ : Schema
        Channel names and sampling rate seen in ``fit``.
    scaler_ : Scaler
    thresholder_ : Threshold
        The fitted threshold rule.
    threshold_ : float
        Its value on the score scale.
    decision_scores_ : ndarray of shape (n_train_steps,)
        Scores of the training rows.
    fingerprint_ : str
        Hash of the training data.
    """

    @abstractmethod
    def _fit(self, Z: np.ndarray) -> None:
        """Learn the model from scaled normal data of shape (n_steps, n_channels)."""

    @abstractmethod
    def _errors(self, Z: np.ndarray) -> np.ndarray:
        """Per-step, per-channel error, shape (n_steps, n_channels) float32, from scaled data."""

    def _scores(self, Z: np.ndarray, E: np.ndarray) -> np.ndarray:
        """Per-step score from scaled data and its error matrix; default: mean error over channels."""
        return E.mean(axis=1)

    def _threshold_scores(self, scores: np.ndarray) -> np.ndarray:
        """Training scores the threshold is fitted on; default: all of them."""
        return scores

    # -- shared machinery -------------------------------------------------
    def _prepare(self, X: pd.DataFrame, source: str) -> tuple[pd.DataFrame, np.ndarray]:
        if not isinstance(X, pd.DataFrame):
            raise DataError(f"{source}: expected a pandas DataFrame, got {type(X).__name__}")
        if hasattr(self, "schema_"):
            X = self.schema_.align(X, source=source)
        X = fill_missing(X, getattr(self, "nan_policy", "raise"), source=source)
        return X, check_frame(X, source=source)

    def _check_fitted(self) -> None:
        if not hasattr(self, "schema_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(normal_frame) first")

    def fit(self, X: pd.DataFrame, y=None, *, source: str = "input") -> "Detector":
        """Fit on normal data.

        Parameters
        ----------
        X : pandas.DataFrame of shape (n_steps, n_channels)
            Normal operation only; one numeric column per channel.
        y : ignored
        source : str
            Name used in error messages (e.g. the file path).

        Returns
        -------
        self
        """
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("_"):
                delattr(self, name)  # refit starts from scratch, including the schema check
        X, values = self._prepare(X, source)
        schema = Schema.from_frame(X)
        self.scaler_ = Scaler(self.scaling).fit(values)
        Z = self.scaler_.transform(values)
        self._fit(Z)
        scores = self._scores(Z, self._errors(Z))
        rule = self.threshold if self.threshold is not None else Percentile(99.0)
        self.thresholder_ = type(rule)(**rule.get_params()).fit(self._threshold_scores(scores))
        self.threshold_ = float(self.thresholder_.threshold_)
        self.decision_scores_ = scores
        self.fingerprint_ = fingerprint(values, schema.channels)
        self.schema_ = schema  # last: its presence marks the detector as fitted
        return self

    def _errors_and_scores(self, X: pd.DataFrame, source: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        self._check_fitted()
        X, values = self._prepare(X, source)
        Z = self.scaler_.transform(values)
        E = self._errors(Z)
        return X, E, self._scores(Z, E)

    def errors(self, X: pd.DataFrame, *, source: str = "input") -> pd.DataFrame:
        """Per-step, per-channel reconstruction error.

        Parameters
        ----------
        X : pandas.DataFrame of shape (n_steps, n_channels)
            Channels are matched to the fitted schema by name.

        Returns
        -------
        pandas.DataFrame of shape (n_steps, n_channels), float32
            Aligned to ``X.index``; columns in schema order. Units: squared error in scaled units.
        """
        X, E, _ = self._errors_and_scores(X, source)
        return pd.DataFrame(E, index=X.index, columns=list(self.schema_.channels))

    def score(self, X: pd.DataFrame, *, source: str = "input") -> pd.Series:
        """Anomaly score per step, shape (n_steps,), higher = more anomalous, aligned to ``X.index``."""
        X, _, scores = self._errors_and_scores(X, source)
        return pd.Series(scores, index=X.index, name="score")

    def predict(self, X: pd.DataFrame, *, source: str = "input") -> pd.Series:
        """Boolean flag per step, shape (n_steps,): score above the fitted threshold."""
        scores = self.score(X, source=source)
        return pd.Series(self.thresholder_.apply(scores.to_numpy()), index=scores.index, name="flag")

    def evaluate_frame(self, X: pd.DataFrame, *, source: str = "input") -> tuple[pd.DataFrame, pd.Series, pd.Series]:
        """Errors, scores and flags of one frame in a single pass (what the CLI writes).

        Returns
        -------
        errors : DataFrame (n_steps, n_channels); scores : Series (n_steps,); flags : Series[bool] (n_steps,)
        """
        X, E, scores = self._errors_and_scores(X, source)
        errors = pd.DataFrame(E, index=X.index, columns=list(self.schema_.channels))
        return errors, pd.Series(scores, index=X.index, name="score"), pd.Series(
            self.thresholder_.apply(scores), index=X.index, name="flag"
        )

    # -- streaming: scores that use no row after their hop group ------------------
    def _span(self) -> int:
        """Rows one error row is computed from, ending at that row (1: point-wise)."""
        return 1

    def _inference_batch(self) -> int:
        """Chunks per call when :meth:`score_stream` scores a whole frame."""
        return 4096

    def _chunk_scores(self, chunks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Errors (k, n, c) and scores (k, n) of the newest ``n`` rows of each scaled chunk
        (k, span - 1 + n, c), each from its own chunk only. Default: point-wise detectors."""
        k, _, c = chunks.shape
        rows = np.ascontiguousarray(chunks[:, -n:]).reshape(k * n, c)
        E = self._errors(rows)
        return E.reshape(k, n, c), self._scores(rows, E).reshape(k, n)

    def set_inference_threads(self, threads: int) -> None:
        """Threads of the inference engine (ONNX Runtime for neural detectors); no effect here."""

    def stream_rows(self, hop: int = 1) -> int:
        """Rows a streaming step reads to score its ``hop`` newest rows: ``span - 1 + hop``.

        ``span`` is 1 for point-wise detectors (PCA), ``window`` for window autoencoders,
        ``window + 1`` for the forecaster.
        """
        if isinstance(hop, bool) or not isinstance(hop, (int, np.integer)) or hop < 1:
            raise ConfigError(f"hop={hop!r} must be an integer >= 1")
        return self._span() - 1 + int(hop)

    def score_newest(self, values: np.ndarray, n: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Errors and scores of the newest ``n`` rows, computed from ``values`` alone (causal).

        Parameters
        ----------
        values : ndarray of shape (m, n_channels)
            Raw (unscaled) finite rows in schema order, oldest first, with
            ``m >= stream_rows(n)``; only the last ``stream_rows(n)`` rows are read.
        n : int, default=1
            Rows to score. Window autoencoders need ``n <= window``.

        Returns
        -------
        errors : ndarray of shape (n, n_channels), float32
        scores : ndarray of shape (n,)
            Equal (to float rounding) to the last ``n`` values of ``score`` on a frame of the
            last ``stream_rows(n)`` rows (window autoencoders: of the last ``window`` rows).
        """
        self._check_fitted()
        rows = self.stream_rows(n)
        if values.ndim != 2 or values.shape[0] < rows or values.shape[1] != len(self.schema_.channels):
            raise DataError(f"expected at least {rows} rows x {len(self.schema_.channels)} channels, got shape {values.shape}")
        Z = self.scaler_.transform(values[-rows:])
        errors, scores = self._chunk_scores(Z[None], n)
        return errors[0], scores[0]

    def score_stream(self, X: pd.DataFrame, *, hop: int = 1, source: str = "input") -> pd.Series:
        """The scores a stream with this ``hop`` emits for ``X``, computed in one batch pass.

        The stream skips the first ``span - 1`` rows (warm-up), then scores rows in groups of
        ``hop`` once a group's last row has arrived, each group from the ``stream_rows(hop)``
        rows ending there (:meth:`score_newest`). With ``hop=1`` a row's score uses no later
        row. PCA scores each row alone, so this equals :meth:`score`.

        Returns
        -------
        pandas.Series of shape (n_steps,)
            Aligned to ``X.index``; NaN for the warm-up rows and the rows of an incomplete
            last group, which a stream does not score.
        """
        self._check_fitted()
        rows = self.stream_rows(hop)
        X, values = self._prepare(X, source)
        Z = self.scaler_.transform(values)
        scores = np.full(len(Z), np.nan)
        if len(Z) >= rows:
            chunks = sliding_windows(Z, rows, hop)  # chunk j ends at the last row of group j
            first, step = self._span() - 1, self._inference_batch()
            for lo in range(0, len(chunks), step):
                _, part = self._chunk_scores(np.ascontiguousarray(chunks[lo : lo + step]), hop)
                scores[first + lo * hop : first + (lo + len(part)) * hop] = part.ravel()
        return pd.Series(scores, index=X.index, name="score")

    # -- persistence --------------------------------------------------------
    @abstractmethod
    def _save_artifacts(self, directory: Path) -> None:
        """Write the learnt model (arrays or a Keras file) into ``directory``."""

    @abstractmethod
    def _load_artifacts(self, directory: Path) -> None:
        """Inverse of :meth:`_save_artifacts`."""

    def _set_engine(self, directory: Path, engine: str) -> None:
        """Choose the inference engine after loading; array-based detectors have only their own."""
        if engine not in ENGINES:
            raise ConfigError(f"engine={engine!r} is not one of {list(ENGINES)}")
        if engine == "onnx":
            raise ConfigError(f"{type(self).__name__} has no ONNX engine (it is not a neural detector)")

    def save(self, path: str | Path) -> Path:
        """Save the fitted detector as a directory (JSON, NumPy arrays and a Keras file; nothing executable); see :func:`anomaly.bundle.save`."""
        return bundle.save(self, path)

