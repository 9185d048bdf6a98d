"""Template for Keras detectors that reconstruct sliding windows.

:class:`KerasWindowDetector` holds everything a windowed Keras model shares: windowing,
a time-ordered validation split, early stopping with the best weights restored, seeding,
batched inference with fold-back to time steps, and ``model.keras`` persistence loaded with
``safe_mode=True``. A subclass writes only :meth:`_build_model`.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path

import numpy as np

from anomaly.base import ENGINES, Detector
from anomaly.errors import ConfigError, DataError, ModelFileError
from anomaly.files import atomic_write
from anomaly.nn.backend import import_keras, load_keras_file, native_stderr_silenced, predict_padded
from anomaly.progress import epoch_observer
from anomaly.windows import FoldBack, iter_windows, sliding_windows

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
ONNX_FILE = "model.onnx"
INFERENCE_BATCH = 4096  # windows per Keras call: large batches amortise its per-call overhead
ONNX_BATCH = 128  # ONNX Runtime is fastest on cache-sized batches (measured in benchmarks/speed_deep.py)


class KerasWindowDetector(Detector):
    """Base for window-reconstruction Keras detectors (not used directly).

    Shared parameters (set by subclasses' constructors): ``window``, ``stride`` (scoring
    stride; None = ``window``, non-overlapping), ``epochs``, ``batch_size``,
    ``learning_rate``, ``validation_fraction`` (last part of the normal data, in time order),
    ``patience`` (early stopping), ``random_state``, ``verbose`` (0 = silent).

    A subclass writes :meth:`_build_model`; one whose training differs from "reconstruct the
    window with MSE" also overrides :meth:`_training_pairs`, :meth:`_callbacks` or
    :meth:`_train`.

    Attributes
    ----------
    model_ : keras.Model
        The inference model, (batch, window, n_channels) -> (batch, window, n_channels): what
        scoring, saving and ONNX export use (for a VAE: the deterministic mean path).
    history_ : dict[str, list[float]]
        Per-epoch ``loss`` and ``val_loss``.
    """

    @abstractmethod
    def _build_model(self, n_channels: int):
        """Return ``(training_model, inference_model)``, uncompiled (may be the same model)."""

    def _training_pairs(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets from windows (n, window, c); default: reconstruct the window."""
        return windows, windows

    def _callbacks(self) -> list:
        """Extra Keras callbacks for training (e.g. a KL warm-up)."""
        return []

    def _span(self) -> int:
        """Rows per training window (a forecaster adds its targets)."""
        return self.window

    def _validation_cut(self, n: int) -> int | None:
        """First row of the time-ordered validation part, or None when there is none."""
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction={self.validation_fraction!r} must be in [0, 1)")
        n_val = int(round(n * self.validation_fraction))
        if n_val < max(self._span(), 100) or n - n_val < self._span():
            if self.validation_fraction > 0:
                log.warning("too little data for a validation split (%d rows); training without one", n)
            return None
        return n - n_val

    def _split(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Time-ordered train/validation windows (validation windows never overlap training rows)."""
        span = self._span()
        cut = self._validation_cut(Z.shape[0])
        if cut is None:
            return np.ascontiguousarray(sliding_windows(Z, span, 1)), None
        train = np.ascontiguousarray(sliding_windows(Z[:cut], span, 1))
        val = np.ascontiguousarray(sliding_windows(Z[cut:], span, 1))
        return train, val

    def _progress_callbacks(self) -> list:
        keras = import_keras()
        observer = epoch_observer.get()
        if observer is None:
            return []
        return [keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: observer(epoch + 1, self.epochs, logs or {}))]

    def _train(self, model, train: np.ndarray, val: np.ndarray | None) -> dict:
        """Compile and fit ``model`` on training windows; return the per-epoch history."""
        keras = import_keras()
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="mse")
        monitor = "val_loss" if val is not None else "loss"
        stop = keras.callbacks.EarlyStopping(monitor=monitor, patience=self.patience, restore_best_weights=True)
        history = model.fit(
            *self._training_pairs(train),
            validation_data=self._training_pairs(val) if val is not None else None,
            epochs=self.epochs,
            batch_size=self.batch_size,
            shuffle=True,
            callbacks=[stop, *self._callbacks(), *self._progress_callbacks()],
            verbose=self.verbose,
        )
        return history.history

    def _fit(self, Z: np.ndarray) -> None:
        keras = import_keras()
        if Z.shape[0] < self._span():
            raise DataError(f"input has {Z.shape[0]} rows, fewer than one window of {self._span()} rows")
        keras.utils.set_random_seed(int(self.random_state))
        train, val = self._split(Z)
        training_model, self.model_ = self._build_model(Z.shape[1])
        history = self._train(training_model, train, val)
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.items()}

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        """Run the inference model on one batch of windows (n, window, c), through ONNX Runtime
        when that engine is active, else Keras."""
        session = getattr(self, "onnx_session_", None)
        if session is not None:
            return session.run(None, {session.get_inputs()[0].name: batch})[0]
        return predict_padded(self.model_, batch)

    def export_onnx(self, path: str | Path) -> float:
        """Write the inference model as ONNX to ``path`` (atomically) and check it.

        Returns
        -------
        float
            Largest absolute difference between ONNX Runtime and Keras outputs on a batch of
            random windows (the export is refused when it exceeds 1e-4).
        """
        self._check_fitted()
        try:
            import onnxruntime
        except ImportError:
            raise ConfigError("ONNX export needs the onnx extra: pip install 'robot-anomaly[onnx]'") from None
        probe = np.random.default_rng(0).standard_normal((8, self.window, len(self.schema_.channels))).astype(np.float32)
        expected = np.asarray(self.model_.predict_on_batch(probe))  # also makes sure the model has been called
        path = Path(path)
        with native_stderr_silenced():
            atomic_write(path, lambda tmp: self.model_.export(str(tmp), format="onnx", verbose=False))
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: probe})[0]
        diff = float(np.abs(got - expected).max())
        if diff > 1e-4:
            path.unlink()
            raise ModelFileError(f"{path}: ONNX output differs from Keras by {diff:.2e} (> 1e-4); export refused")
        return diff

    def _set_engine(self, directory: Path, engine: str) -> None:
        path = directory / ONNX_FILE
        if engine not in ENGINES:
            raise ConfigError(f"engine={engine!r} is not one of {list(ENGINES)}")
        self.engine_, self.onnx_session_ = "keras", None
        if engine == "keras" or (engine == "auto" and not path.exists()):
            return
        if not path.exists():
            raise ModelFileError(f"{directory}: no {ONNX_FILE}; run `anomaly export {directory} --format onnx` first")
        try:
            import onnxruntime
        except ImportError:
            if engine == "onnx":
                raise ConfigError("engine='onnx' needs onnxruntime: pip install 'robot-anomaly[onnx]'") from None
            log.info("onnxruntime is not installed; scoring %s through Keras", directory)
            return
        try:
            self.onnx_session_ = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # a truncated or foreign file
            raise ModelFileError(f"{path}: cannot load ONNX model ({exc.__class__.__name__})") from None
        self.engine_, self._onnx_file = "onnx", path

    def set_inference_threads(self, threads: int) -> None:
        """Run ONNX Runtime on ``threads`` intra-op threads (0: its default, one per core).

        One thread suits single windows (streaming) on a busy machine: an op split over two
        threads waits for the slower one, which a loaded machine may not schedule for
        milliseconds. No effect on the Keras engine.
        """
        if getattr(self, "onnx_session_", None) is None:
            return
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.onnx_session_ = onnxruntime.InferenceSession(str(self._onnx_file), options, providers=["CPUExecutionProvider"])

    def _threshold_scores(self, scores: np.ndarray) -> np.ndarray:
        """Scores of the held-out validation rows: training rows' scores are optimistic."""
        cut = self._validation_cut(len(scores))
        return scores if cut is None else scores[cut:]

    def _inference_batch(self) -> int:
        """Windows per inference call for the active engine."""
        return ONNX_BATCH if getattr(self, "onnx_session_", None) is not None else INFERENCE_BATCH

    def _chunk_scores(self, chunks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Reconstruct the last window of each chunk; errors and scores of its newest ``n`` rows."""
        if n > self.window:
            raise ConfigError(f"hop={n} must be <= window={self.window}, or rows older than the last window get no error")
        windows = np.ascontiguousarray(chunks[:, -self.window :])
        errors = np.square(self._predict(windows) - windows)[:, -n:]
        return errors, errors.mean(axis=2)  # the default score: mean error over channels

    def _errors(self, Z: np.ndarray) -> np.ndarray:
        stride = self.stride or self.window
        acc = FoldBack(Z.shape[0], Z.shape[1])
        for starts, windows in iter_windows(Z, self.window, stride, self._inference_batch()):
            batch = np.ascontiguousarray(windows)
            acc.add(starts, np.square(self._predict(batch) - batch))
        return acc.result()

    def _save_artifacts(self, directory: Path) -> None:
        self.model_.save(directory / MODEL_FILE)

    def _load_artifacts(self, directory: Path) -> None:
        self.model_ = load_keras_file(directory / MODEL_FILE)
