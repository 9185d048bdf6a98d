"""Which fault, from the shape of an event: a 1-D CNN over its per-channel error matrix.

:class:`~anomaly.classify.ErrorClassifier` sees an event as a row of summary statistics;
:class:`CNNClassifier` sees it as a short multichannel sequence, so it can learn *when* and
in *which order* channels go wrong. :func:`segment_sequences` turns each event (a row range of
a detector's error matrix and the scaled signals) into a fixed-length sequence; the classifier
has the same ``fit(X, y)`` / ``predict`` / ``predict_proba`` / ``classes_`` interface as
``ErrorClassifier`` (only ``X`` differs: sequences instead of a feature table), so the two are
interchangeable in an evaluation loop.

The network is the fully convolutional baseline of Wang, Yan & Oates, "Time series
classification from scratch with deep neural networks: a strong baseline" (IJCNN 2017):
convolution -> batch norm -> ReLU blocks, global average pooling, softmax; narrower by default
(32-64-32 filters instead of 128-256-128) because labelled faults are few. Optional data
augmentation (:mod:`anomaly.augment`) multiplies the training events.

Saved as a directory without pickle: ``classifier.json`` (format version, parameters,
classes, input shape, standardisation statistics) and ``model.keras`` (loaded with
``safe_mode=True``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from anomaly.augment import METHODS, expand
from anomaly.classify import detector_views
from anomaly.errors import ConfigError, DataError, ModelFileError, NotFittedError
from anomaly.files import atomic_directory, read_saved
from anomaly.nn.backend import import_keras, load_keras_file, predict_padded
from anomaly.validation import check_number

FORMAT_VERSION = 1
META_FILE = "classifier.json"
MODEL_FILE = "model.keras"


def _bin_means(block: np.ndarray, length: int) -> np.ndarray:
    """Resample rows (m, k) to (length, k): the mean of each of ``length`` equal spans of
    rows; a segment shorter than ``length`` repeats rows (nearest neighbour)."""
    m = len(block)
    edges = np.linspace(0.0, m, length + 1)
    lo = np.floor(edges[:-1]).astype(np.intp)
    hi = np.maximum(lo + 1, np.ceil(edges[1:]).astype(np.intp))
    sums = np.concatenate([np.zeros((1, block.shape[1])), np.cumsum(block, axis=0)])
    return (sums[hi] - sums[lo]) / (hi - lo)[:, None]


def segment_sequences(errors: pd.DataFrame, scaled: pd.DataFrame, segments, *, length: int = 64,
                      signals: bool = True) -> np.ndarray:
    """One fixed-length multichannel sequence per segment.

    Parameters
    ----------
    errors : DataFrame of shape (n_steps, n_channels)
        Per-step, per-channel error from ``Detector.errors``.
    scaled : DataFrame of shape (n_steps, n_channels)
        The same rows' signals, scaled with the detector's scaler.
    segments : iterable of (start, end_exclusive) row positions
    length : int, default=64
        Steps per sequence: a segment is cut into ``length`` equal spans and each span
        averaged (shorter segments repeat rows).
    signals : bool, default=True
        Include the scaled signals (False: errors only).

    Returns
    -------
    ndarray of shape (n_segments, length, n_features), float32
        Features in order: ``log1p(error)`` per channel (squared errors are heavy-tailed),
        then the scaled signal per channel if ``signals``, then ``log10(segment rows)``
        (constant over the sequence; resampling would otherwise hide the event's duration).
        ``n_features = n_channels * (2 if signals else 1) + 1``.
    """
    check_number("length", length, low=2, integer=True)
    if not errors.index.equals(scaled.index) or list(errors.columns) != list(scaled.columns):
        raise DataError("errors and scaled signals must share index and channels")
    values = np.log1p(np.maximum(errors.to_numpy(np.float64), 0.0))
    if signals:
        values = np.concatenate([values, scaled.to_numpy(np.float64)], axis=1)
    out = []
    for start, end in segments:
        if not 0 <= start < end <= len(values):
            raise DataError(f"segment [{start}, {end}) is outside the {len(values)} rows")
        seq = _bin_means(values[start:end], length)
        out.append(np.concatenate([seq, np.full((length, 1), np.log10(end - start))], axis=1))
    if not out:
        raise DataError("no segments given")
    return np.stack(out).astype(np.float32)


def detector_sequences(detector, frame: pd.DataFrame, segments, *, length: int = 64, signals: bool = True) -> np.ndarray:
    """:func:`segment_sequences` of ``frame`` as seen by a fitted detector."""
    return segment_sequences(*detector_views(detector, frame), segments, length=length, signals=signals)


def _as_sequences(X) -> np.ndarray:
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"expected numeric sequences, got dtype {arr.dtype}")
    if arr.ndim != 3 or 0 in arr.shape:
        raise DataError(f"expected sequences of shape (n_events, length, n_features), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError(f"sequences hold {int((~np.isfinite(arr)).sum())} NaN/inf values")
    return arr.astype(np.float32)


class CNNClassifier(ClassifierMixin, BaseEstimator):
    """Fault-type classifier: a fully convolutional network over event sequences.

    Parameters
    ----------
    filters : tuple of int, default=(32, 64, 32)
        Filters of each convolution block.
    kernel_sizes : tuple of int, default=(8, 5, 3)
        Kernel width of each block (same length as ``filters``).
    dropout : float in [0, 1), default=0.2
        Dropout before the softmax layer (training only).
    epochs : int, default=150
        Upper bound; training stops when the training loss has not improved for 20 epochs
        (best weights restored). There is no validation split: labelled faults are few.
    batch_size : int, default=16
    learning_rate : float, default=1e-3
        Adam's step size.
    augment : tuple of str, default=()
        Names from :data:`anomaly.augment.METHODS`; empty means no augmentation. Otherwise
        the standardised training events get ``augment_copies`` extra copies, each event
        transformed by one method drawn at random (:func:`anomaly.augment.expand`).
    augment_copies : int, default=4
    random_state : int, default=0
        Seeds Keras and the augmentation.
    verbose : int, default=0

    Attributes
    ----------
    model_ : keras.Model, (batch, length, n_features) -> (batch, n_classes) probabilities
    classes_ : ndarray of str, shape (n_classes,)
    center_, scale_ : ndarray of shape (n_features,), float32
        Per-feature standardisation fitted on the training events.
    input_shape_ : tuple (length, n_features)
    history_ : dict of per-epoch training loss and accuracy

    Examples
    --------
    >>> X = detector_sequences(det, run.frame, segments)          # doctest: +SKIP
    >>> clf = CNNClassifier(augment=("time_warp", "jitter")).fit(X, kinds)  # doctest: +SKIP
    >>> clf.predict(X_new); clf.save("models/faults")             # doctest: +SKIP
    """

    def __init__(self, filters=(32, 64, 32), kernel_sizes=(8, 5, 3), *, dropout=0.2, epochs=150, batch_size=16,
                 learning_rate=1e-3, augment=(), augment_copies=4, random_state=0, verbose=0):
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.augment = augment
        self.augment_copies = augment_copies
        self.random_state = random_state
        self.verbose = verbose

    def _layers(self) -> list[tuple[int, int]]:
        """(filters, kernel size) per convolution block, checked."""
        filters, kernels = self.filters, self.kernel_sizes
        if not isinstance(filters, (tuple, list)) or not isinstance(kernels, (tuple, list)) or not filters \
                or len(filters) != len(kernels):
            raise ConfigError(f"filters={filters!r} and kernel_sizes={kernels!r} must be non-empty sequences of equal length")
        return [(check_number("filters", f, low=1, integer=True), check_number("kernel_sizes", k, low=1, integer=True))
                for f, k in zip(filters, kernels)]

    def _methods(self) -> tuple[str, ...]:
        """Augmentation method names, checked."""
        names = (self.augment,) if isinstance(self.augment, str) else tuple(self.augment)
        unknown = [m for m in names if m not in METHODS]
        if unknown:
            raise ConfigError(f"augment={self.augment!r}: unknown {unknown}; choose from {sorted(METHODS)}")
        return names

    def _check_params(self) -> None:
        self._layers()
        self._methods()
        check_number("dropout", self.dropout, low=0.0, high=0.99)
        check_number("epochs", self.epochs, low=1, integer=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_number("augment_copies", self.augment_copies, low=0, integer=True)
        check_number("random_state", self.random_state, low=0, integer=True)

    def _build(self, input_shape: tuple[int, int], n_classes: int):
        keras = import_keras()
        from anomaly.nn import primitives as P  # imports Keras: only when a model is built

        inputs = keras.Input(input_shape)
        x = inputs
        for f, k in self._layers():
            x = P.conv_bn(x, f, k)
        x = P.global_avg_pool(x)
        if self.dropout:
            x = P.dropout(x, float(self.dropout))
        return keras.Model(inputs, P.dense(x, n_classes, activation="softmax"), name="fcn_classifier")

    def fit(self, X, y) -> CNNClassifier:
        """Fit on sequences ``X`` (n_events, length, n_features) and fault types ``y`` (n_events,)."""
        self._check_params()
        values = _as_sequences(X)
        labels = np.asarray(y, dtype=str)
        if labels.ndim != 1 or len(labels) != len(values):
            raise DataError(f"need one label per sequence (got {len(values)} sequences, {labels.size} labels)")
        classes, codes = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise DataError("need at least two fault types to learn a classifier")
        keras = import_keras()
        center = values.mean(axis=(0, 1))
        scale = values.std(axis=(0, 1))
        scale = np.where(scale > 1e-12, scale, 1.0).astype(np.float32)
        Z = (values - center) / scale
        if self._methods():
            Z, codes = expand(Z, codes, methods=self._methods(), copies=self.augment_copies, rng=self.random_state)
        keras.utils.set_random_seed(int(self.random_state))
        model = self._build(values.shape[1:], len(classes))
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        stop = keras.callbacks.EarlyStopping(monitor="loss", patience=20, restore_best_weights=True)
        history = model.fit(Z.astype(np.float32), codes, epochs=self.epochs, batch_size=self.batch_size, shuffle=True,
                            callbacks=[stop], verbose=self.verbose)
        self.model_, self.classes_ = model, classes
        self.center_, self.scale_ = center.astype(np.float32), scale
        self.input_shape_ = tuple(int(v) for v in values.shape[1:])
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        return self

    def _standardised(self, X) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("this CNNClassifier is not fitted yet; call fit(sequences, fault_types) first")
        values = _as_sequences(X)
        if values.shape[1:] != self.input_shape_:
            raise DataError(f"sequences have shape (length, n_features) = {values.shape[1:]}, "
                            f"the classifier was fitted on {self.input_shape_} (same length, detector and channels?)")
        return (values - self.center_) / self.scale_

    def predict_proba(self, X) -> np.ndarray:
        """Probability per fault type, shape (n_events, n_classes) in ``classes_`` order."""
        Z = self._standardised(X).astype(np.float32)
        return predict_padded(self.model_, Z)

    def predict(self, X) -> np.ndarray:
        """Fault type per event, shape (n_events,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # -- persistence ------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save as a directory (``classifier.json`` + ``model.keras``), atomically; returns the path."""
        if not hasattr(self, "model_"):
            raise NotFittedError("cannot save an unfitted CNNClassifier")
        params = {k: list(v) if isinstance(v, (tuple, list)) else v for k, v in self.get_params().items()}
        meta = {
            "format_version": FORMAT_VERSION,
            "class": type(self).__name__,
            "params": params,
            "classes": self.classes_.tolist(),
            "input_shape": list(self.input_shape_),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
        }

        def write(tmp: Path) -> None:
            self.model_.save(tmp / MODEL_FILE)
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2))

        return atomic_directory(path, write, marker=META_FILE)

    @classmethod
    def load(cls, path: str | Path) -> CNNClassifier:
        """Load a classifier saved by :meth:`save`; a missing or damaged file raises ``ModelFileError``."""
        path = Path(path)
        meta = read_saved(path, META_FILE, directory="classifier", saved=cls.__name__, format_version=FORMAT_VERSION)
        try:
            params = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["params"].items()}
            clf = cls(**params)
            clf.classes_ = np.asarray(meta["classes"], dtype=str)
            clf.input_shape_ = tuple(int(v) for v in meta["input_shape"])
            clf.center_ = np.asarray(meta["center"], dtype=np.float32)
            clf.scale_ = np.asarray(meta["scale"], dtype=np.float32)
            if clf.center_.shape != clf.scale_.shape or clf.center_.shape != (clf.input_shape_[1],):
                raise ValueError("standardisation statistics do not match the input shape")
        except Exception as exc:  # any malformed field is a bad model file, not a crash
            raise ModelFileError(f"{path / META_FILE}: malformed ({exc.__class__.__name__}: {exc})") from None
        clf.model_ = load_keras_file(path / MODEL_FILE)
        if tuple(clf.model_.input_shape[1:]) != clf.input_shape_ or clf.model_.output_shape[-1] != len(clf.classes_):
            raise ModelFileError(f"{path}: {MODEL_FILE} does not match {META_FILE} (input or class count)")
        return clf
