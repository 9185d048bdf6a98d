"""Template for Keras detectors that reconstruct sliding windows.

:class:`KerasWindowDetector` holds everything a windowed Keras model shares: windowing,
a time-ordered validation split, early stopping with the best weights restored, seeding,
batched inference with fold-back to time steps, and ``model.keras`` persistence loaded with
``safe_mode=True``. A subclass writes only :meth:`_build_model`.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from anomaly.base import Detector
from anomaly.errors import ConfigError, DataError, ModelFileError
from anomaly.progress import epoch_observer
from pipelines.windows import FoldBack, iter_windows, sliding_windows

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
INFERENCE_BATCH = 4096


@contextmanager
def _native_stderr_silenced():
    """Hide what native code writes to fd 2 (TensorFlow's start-up banner); replay it on error."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            os.write(2, sink.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _keras():
    """Import Keras (TensorFlow backend by default) without TensorFlow's native log lines."""
    if "keras" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _native_stderr_silenced():
            import keras

            keras.ops.zeros(1)  # first op initialises devices (and logs about missing GPUs) here
    return sys.modules["keras"]


class KerasWindowDetector(Detector):
    """Base for window-reconstruction Keras detectors (not used directly).

    Shared parameters (set by subclasses' constructors): ``window``, ``stride`` (scoring
    stride; None = ``window``, non-overlapping), ``epochs``, ``batch_size``,
    ``learning_rate``, ``validation_fraction`` (last part of the normal data, in time order),
    ``patience`` (early stopping), ``random_state``, ``verbose`` (0 = silent).

    Attributes
    ----------
    model_ : keras.Model
        Maps windows (batch, window, n_channels) to reconstructions of the same shape.
    history_ : dict[str, list[float]]
        Per-epoch ``loss`` and ``val_loss``.
    """

    def _build_model(self, n_channels: int):  # pragma: no cover - abstract
        """Return an uncompiled keras.Model mapping (batch, window, n_channels) to the same shape."""
        raise NotImplementedError

    def _validation_cut(self, n: int) -> int | None:
        """First row of the time-ordered validation part, or None when there is none."""
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction={self.validation_fraction!r} must be in [0, 1)")
        n_val = int(round(n * self.validation_fraction))
        if n_val < max(self.window, 100) or n - n_val < self.window:
            if self.validation_fraction > 0:
                log.warning("too little data for a validation split (%d rows); training without one", n)
            return None
        return n - n_val

    def _split(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Time-ordered train/validation windows (validation windows never overlap training rows)."""
        cut = self._validation_cut(Z.shape[0])
        if cut is None:
            return np.ascontiguousarray(sliding_windows(Z, self.window, 1)), None
        train = np.ascontiguousarray(sliding_windows(Z[:cut], self.window, 1))
        val = np.ascontiguousarray(sliding_windows(Z[cut:], self.window, 1))
        return train, val

    def _fit(self, Z: np.ndarray) -> None:
        keras = _keras()
        if Z.shape[0] < self.window:
            raise DataError(f"input has {Z.shape[0]} rows, fewer than one window of {self.window} rows")
        keras.utils.set_random_seed(int(self.random_state))
        train, val = self._split(Z)
        model = self._build_model(Z.shape[1])
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="mse")
        monitor = "val_loss" if val is not None else "loss"
        callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=self.patience, restore_best_weights=True)]
        observer = epoch_observer.get()
        if observer is not None:
            callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: observer(epoch + 1, self.epochs, logs or {})))
        history = model.fit(
            train,
            train,
            validation_data=(val, val) if val is not None else None,
            epochs=self.epochs,
            batch_size=self.batch_size,
            shuffle=True,
            callbacks=callbacks,
            verbose=self.verbose,
        )
        self.model_ = model
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}

    def _threshold_scores(self, scores: np.ndarray) -> np.ndarray:
        """Scores of the held-out validation rows: training rows' scores are optimistic."""
        cut = self._validation_cut(len(scores))
        return scores if cut is None else scores[cut:]

    def _errors(self, Z: np.ndarray) -> np.ndarray:
        stride = self.stride or self.window
        acc = FoldBack(Z.shape[0], Z.shape[1])
        for starts, windows in iter_windows(Z, self.window, stride, INFERENCE_BATCH):
            batch = np.ascontiguousarray(windows)
            recon = np.asarray(self.model_.predict_on_batch(batch))
            acc.add(starts, np.square(recon - batch))
        return acc.result()

    def _save_artifacts(self, directory: Path) -> None:
        self.model_.save(directory / MODEL_FILE)

    def _load_artifacts(self, directory: Path) -> None:
        keras = _keras()
        path = directory / MODEL_FILE
        if not path.exists():
            raise ModelFileError(f"{directory}: {MODEL_FILE} is missing")
        try:
            self.model_ = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # a truncated zip, a foreign file or unsafe content
            raise ModelFileError(f"{path}: cannot load Keras model ({exc.__class__.__name__}: {str(exc).splitlines()[0][:200]})") from None
