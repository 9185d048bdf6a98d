"""Anomaly detection on robot sensor data.

Every detector maps a frame (one row per time step, one column per channel) to a per-step,
per-channel reconstruction-error vector, a score and flags, and saves as plain files (JSON, NumPy arrays, Keras) that load without running code::

    import anomaly
    det = anomaly.PCADetector().fit(normal_frame)
    E = det.errors(frame)          # DataFrame (n_steps, n_channels)
    flags = det.predict(frame)     # Series[bool] (n_steps,)
    det.save("models/arm"); det = anomaly.load("models/arm")

``anomaly.augment`` (the augmentation module), ``anomaly.fine_tune`` and
``anomaly.CNNClassifier`` are imported on first use: they need SciPy, scikit-learn or Keras,
which ``import anomaly`` does not load.
"""

import importlib

from anomaly.base import Detector
from anomaly.decisions import Event, events, persistence
from anomaly.detectors.conv_ae import ConvAutoencoder
from anomaly.detectors.dense_ae import DenseAutoencoder
from anomaly.detectors.forecast import LSTMForecaster
from anomaly.detectors.lstm_ae import LSTMAutoencoder
from anomaly.detectors.lstm_vae import LSTMVAE
from anomaly.detectors.pca import PCADetector
from anomaly.detectors.transformer_ae import TransformerAutoencoder
from anomaly.detectors.vae_gan import LSTMVAEGAN
from anomaly.errors import AnomalyError, ConfigError, DataError, ModelFileError, NotFittedError, SchemaError
from anomaly.loading import load
from anomaly.registry import DETECTORS, make_detector
from anomaly.thresholds import KSigma, Percentile, SkabUCL
from anomaly.version import __version__

#: Lazily exported name -> (module, attribute or None for the module itself).
_LAZY = {
    "augment": ("anomaly.augment", None),
    "CNNClassifier": ("anomaly.cnn_classifier", "CNNClassifier"),
    "fine_tune": ("anomaly.transfer", "fine_tune"),
}


def __getattr__(name: str):
    """Import a lazily exported name (:data:`_LAZY`) on first access."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    "AnomalyError",
    "CNNClassifier",
    "ConfigError",
    "ConvAutoencoder",
    "DataError",
    "DenseAutoencoder",
    "LSTMAutoencoder",
    "LSTMForecaster",
    "LSTMVAE",
    "LSTMVAEGAN",
    "DETECTORS",
    "Detector",
    "Event",
    "KSigma",
    "ModelFileError",
    "NotFittedError",
    "PCADetector",
    "Percentile",
    "SchemaError",
    "SkabUCL",
    "TransformerAutoencoder",
    "augment",
    "events",
    "fine_tune",
    "load",
    "make_detector",
    "persistence",
]
