"""Detector names used by the CLI and by saved models."""

from __future__ import annotations

from pathlib import Path

from anomaly import bundle
from anomaly.detectors.conv_ae import ConvAutoencoder
from anomaly.detectors.dense_ae import DenseAutoencoder
from anomaly.detectors.forecast import LSTMForecaster
from anomaly.detectors.lstm_ae import LSTMAutoencoder
from anomaly.detectors.lstm_vae import LSTMVAE
from anomaly.detectors.pca import PCADetector
from anomaly.detectors.transformer_ae import TransformerAutoencoder
from anomaly.detectors.vae_gan import LSTMVAEGAN
from anomaly.errors import ConfigError

DETECTORS = {
    "pca": PCADetector,
    "dense-ae": DenseAutoencoder,
    "lstm-ae": LSTMAutoencoder,
    "conv-ae": ConvAutoencoder,
    "lstm-vae": LSTMVAE,
    "vae-gan": LSTMVAEGAN,
    "lstm-forecast": LSTMForecaster,
    "transformer-ae": TransformerAutoencoder,
}


def detector_class(name: str) -> type:
    """Class for a CLI name (``"pca"``) or a class name (``"PCADetector"``)."""
    by_class = {cls.__name__: cls for cls in DETECTORS.values()}
    if name in DETECTORS:
        return DETECTORS[name]
    if name in by_class:
        return by_class[name]
    raise ConfigError(f"unknown detector {name!r}; choose one of {sorted(DETECTORS)}")


def make_detector(name: str, **params):
    """Instantiate a detector by CLI name with the given parameters."""
    return detector_class(name)(**params)


def load(path: str | Path, *, engine: str = "auto"):
    """Load a detector saved by :meth:`Detector.save <anomaly.base.Detector.save>`.

    Parameters
    ----------
    path : str or Path
        The model directory.
    engine : {"auto", "keras", "onnx"}, default="auto"
        Inference engine of neural detectors: ``"auto"`` uses ``model.onnx`` (written by
        ``anomaly export``) through ONNX Runtime when both exist, else Keras.

    Raises
    ------
    ModelFileError
        If the directory or a file in it is missing, truncated or corrupted, the format
        version is newer than this package understands, or the class is unknown.
    """
    return bundle.load(path, detector_class, engine=engine)
