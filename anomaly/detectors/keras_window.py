"""Template for Keras detectors that reconstruct sliding windows.

:class:`KerasWindowDetector` holds everything a windowed Keras model shares: windowing,
a time-ordered validation split, early stopping with the best weights restored, seeding,
the forward computation (reconstruct each window; squared error), its engines (Keras, ONNX
Runtime) and ``model.keras`` persistence loaded with ``safe_mode=True``. A subclass writes
only :meth:`_build_model`.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path

import numpy as np

from anomaly import bundle
from anomaly.base import Detector, ScoringContext, join_arrays
from anomaly.engine import ENGINE_CHOICES, Engine, KerasEngine, OnnxEngine, import_onnxruntime, onnx_path
from anomaly.errors import ConfigError, DataError, ModelFileError
from anomaly.files import atomic_write
from anomaly.nn.backend import import_keras, load_keras_file, native_stderr_silenced
from anomaly.progress import epoch_observer
from anomaly.windows import sliding_windows

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
#: Layer names that end a model's encoder: the code layer of the autoencoders, or the
#: encoder sub-model of the VAEs.
ENCODER_ENDS = ("latent", "encoder")


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

    #: Trained on two or more logs, the threshold is fitted on each log's scores from a network
    #: trained on the other logs, dealt to at most 3 folds (up to 3 more trainings, each on 2/3 of
    #: the logs): the end of a log the network trained on scores lower than a new session, and a
    #: short log (an ALFA flight) has no held-out end at all. Fitted on ALFA's 9 normal flights,
    #: dense-ae raised 74 false alarms an hour before the 19 faulty flights' onsets (31 % of the
    #: flights "detected" by chance), 25 with 3 folds (13 %); 16, 10 and 16 with 2, 4 and 9: the
    #: fold count moves it by about as much as the networks' noise (``benchmarks/conditions.py``).
    CROSS_FIT_FOLDS = 3

    @abstractmethod
    def _build_model(self, n_channels: int):
        """Return ``(training_model, inference_model)``, uncompiled (may be the same model)."""

    def _training_pairs(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets from windows (n, window, c); default: reconstruct the window."""
        return windows, windows

    def _callbacks(self) -> list:
        """Extra Keras callbacks for training (e.g. a KL warm-up)."""
        return []

    def _window_context(self) -> ScoringContext:
        """Spans of ``window`` rows, every row of a span gets an error, batch stride ``stride`` (default ``window``)."""
        return ScoringContext(self.window, self.window, self.stride or self.window)

    def _span(self) -> int:
        """Rows per training window (a forecaster adds its targets)."""
        return self._window_context().span

    RUNTIME = "keras"  # "onnxruntime" once exported (see export_onnx)
    #: Network name -> its file in a model directory; the fitted network is the attribute ``<name>_``.
    NETWORK_FILES = {"model": MODEL_FILE}

    def networks(self) -> dict:
        """The detector's Keras networks by name, as engines run and export them.

        A detector loaded for ONNX Runtime has not read its Keras files (scoring then needs no
        Keras): they are read here, on first use (export, fine-tuning, the Keras engine).
        """
        saved_in = getattr(self, "_saved_in", None)
        for name, file in self.NETWORK_FILES.items():
            if not hasattr(self, name + "_") and saved_in is not None:
                setattr(self, name + "_", load_keras_file(saved_in / file))
        return {name: getattr(self, name + "_") for name in self.NETWORK_FILES}

    def _make_engine(self) -> Engine:
        return KerasEngine(self.networks())

    def _validation_cut(self, n: int) -> int | None:
        """First row of the time-ordered validation part, or None when there is none."""
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction={self.validation_fraction!r} must be in [0, 1)")
        n_val = int(round(n * self.validation_fraction))
        if n_val < max(self._span(), 100) or n - n_val < self._span():
            return None
        return n - n_val

    def _split(self, parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Time-ordered train/validation windows of every log (the last ``validation_fraction``
        of each log validates; no window crosses logs or overlaps training rows)."""
        span = self._span()
        train, val, unsplit = [], [], []
        for Z in parts:
            if Z.shape[0] < span:
                log.warning("a training log of %d rows is shorter than one window of %d rows; skipped", Z.shape[0], span)
                continue
            cut = self._validation_cut(Z.shape[0])
            if cut is None:
                train.append(np.ascontiguousarray(sliding_windows(Z, span, 1)))
                unsplit.append(Z.shape[0])
                continue
            train.append(np.ascontiguousarray(sliding_windows(Z[:cut], span, 1)))
            val.append(np.ascontiguousarray(sliding_windows(Z[cut:], span, 1)))
        if not train:
            raise DataError(f"every training log is shorter than one window of {span} rows")
        if unsplit and self.validation_fraction > 0:
            log.warning("too little data for a validation split in %d of %d logs (%d rows at most); training on all of "
                        "their rows", len(unsplit), len(train), max(unsplit))
        return join_arrays(train), (join_arrays(val) if val else None)

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

    def _fit(self, parts: list[np.ndarray], *, initial_weights: list | None = None, freeze_encoder: bool = False) -> None:
        """Train on scaled logs, each of shape (n_i, c).

        ``initial_weights`` (the inference model's ``get_weights()`` of a fitted detector of the
        same architecture) warm-starts the network instead of a random initialisation;
        ``freeze_encoder`` then trains only the layers after the code layer (see
        :func:`encoder_layers`).
        """
        keras = import_keras()
        if len(parts) == 1 and parts[0].shape[0] < self._span():
            raise DataError(f"input has {parts[0].shape[0]} rows, fewer than one window of {self._span()} rows")
        keras.utils.set_random_seed(int(self.random_state))
        train, val = self._split(parts)
        n_channels = parts[0].shape[1]
        training_model, self.model_ = self._build_model(n_channels)
        frozen = [] if initial_weights is None else self._start_from(initial_weights, freeze_encoder, n_channels)
        try:
            history = self._train(training_model, train, val)
        finally:
            for layer in frozen:
                layer.trainable = True  # frozen for this training only; a saved model is plain
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.items()}

    def _start_from(self, weights: list, freeze_encoder: bool, n_channels: int) -> list:
        """Set the fresh inference model's weights (shared with the training model); return the layers frozen."""
        shapes = [tuple(w.shape) for w in self.model_.get_weights()]
        if shapes != [tuple(w.shape) for w in weights]:
            raise ConfigError(f"the pretrained network does not fit a {type(self).__name__} on {n_channels} channels "
                              "(different architecture parameters or channel count)")
        self.model_.set_weights(weights)
        frozen = [layer for layer in encoder_layers(self.model_) if layer.trainable] if freeze_encoder else []
        for layer in frozen:
            layer.trainable = False
        return frozen

    def forward(self, spans, engine: Engine):
        """Reconstruct each window; squared error per row and channel, shape (k, window, c)."""
        return engine.ops.square(engine.run("model", spans) - spans), None

    def export_onnx(self, path: str | Path) -> float:
        """Write every network as ONNX (the inference model to ``path``, others beside it as
        ``<network>.onnx``), atomically, and check each against Keras. In a saved model's
        directory, ``detector.json`` then records the ``onnxruntime`` runtime.

        Returns
        -------
        float
            Largest absolute difference between ONNX Runtime and Keras outputs on a batch of
            random windows (the export is refused when it exceeds 1e-4).
        """
        self.check_fitted()
        path = Path(path)
        probe = np.random.default_rng(0).standard_normal((8, self.window, len(self.schema_.channels))).astype(np.float32)
        worst = 0.0
        for network, model in self.networks().items():
            target = path if network == "model" else path.with_name(onnx_path(path.parent, network).name)
            worst = max(worst, export_network(model, target, probe))
        if (path.parent / bundle.META_FILE).exists():
            bundle.record_runtime(path.parent, "onnxruntime")
        return worst

    def _load_engine(self, directory: Path, engine: str) -> Engine:
        """ONNX Runtime when every network has an ``.onnx`` file (``auto``) or when asked; else Keras."""
        if engine not in ENGINE_CHOICES:
            raise ConfigError(f"engine={engine!r} is not one of {list(ENGINE_CHOICES)}")
        paths = {network: onnx_path(directory, network) for network in self.NETWORK_FILES}
        missing = [path.name for path in paths.values() if not path.exists()]
        if engine == "keras" or (engine == "auto" and missing):
            if engine == "auto" and len(missing) < len(paths):
                log.info("%s: %s not exported; scoring through Keras", directory, ", ".join(missing))
            return KerasEngine(self.networks())
        if missing:
            raise ModelFileError(f"{directory}: no {', '.join(missing)}; run `anomaly export {directory} --format onnx` first")
        if engine == "auto":
            try:
                return OnnxEngine(paths)
            except ConfigError:  # onnxruntime not installed
                log.info("onnxruntime is not installed; scoring %s through Keras", directory)
                return KerasEngine(self.networks())
        return OnnxEngine(paths)

    def _cross_fit_params(self) -> dict:
        """Cross-fitted threshold on two or more logs: each fold of logs scored by a network of
        the same parameters trained on the others."""
        return self.get_params(deep=False)

    def _threshold_scores(self, scores: np.ndarray) -> np.ndarray:
        """Scores of the held-out validation rows of a log the network trained on: training rows'
        scores are optimistic (logs scored by a network of other logs count whole)."""
        cut = self._validation_cut(len(scores))
        return scores if cut is None else scores[cut:]

    def _save_artifacts(self, directory: Path) -> None:
        for name, model in self.networks().items():
            model.save(directory / self.NETWORK_FILES[name])

    def _load_artifacts(self, directory: Path) -> None:
        self._saved_in = Path(directory)  # the Keras files are read by networks(), when needed


def export_network(model, path: Path, probe: np.ndarray) -> float:
    """Export one Keras network to ONNX at ``path`` (atomically); refuse it when ONNX Runtime's
    output on ``probe`` differs from Keras' by more than 1e-4. Returns the largest difference."""
    import_onnxruntime()  # before writing anything: a missing extra is a ConfigError, not a file
    expected = np.asarray(model.predict_on_batch(probe))  # also makes sure the model has been called
    with native_stderr_silenced():
        atomic_write(path, lambda tmp: model.export(str(tmp), format="onnx", verbose=False))
    got = OnnxEngine({"model": path}).run("model", probe)
    diff = float(np.abs(got - expected).max())
    if diff > 1e-4:
        path.unlink()
        raise ModelFileError(f"{path}: ONNX output differs from Keras by {diff:.2e} (> 1e-4); export refused")
    return diff


def encoder_layers(model) -> list:
    """The layers of ``model`` from its input up to and including its code layer.

    Raises
    ------
    ConfigError
        If the model has no layer named in :data:`ENCODER_ENDS` (e.g. the convolutional
        autoencoder and the forecaster, whose code is not one layer).
    """
    names = [layer.name for layer in model.layers]
    end = next((names.index(n) for n in ENCODER_ENDS if n in names), None)
    if end is None:
        raise ConfigError(f"model {model.name!r} has no layer named {' or '.join(map(repr, ENCODER_ENDS))}; "
                          "use freeze_encoder=False")
    return model.layers[: end + 1]
