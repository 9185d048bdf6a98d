"""Detector names used by the CLI and by saved models."""

from __future__ import annotations

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
