"""Keras as the toolkit uses it: a quiet import, padded batch prediction and safe loading.

Keras (TensorFlow backend by default) is imported on first use, so that array-only paths
(PCA, metrics, ingestion) never pay for it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from anomaly.errors import ConfigError, ModelFileError


@contextmanager
def native_stderr_silenced():
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


#: What to do when Keras (the training extra) is not installed.
NO_KERAS = ("Keras is not installed: training and scoring a neural model that has not been exported need the "
            "training extra (pip install 'robot-anomaly[train]'); to score without it, run `anomaly export MODEL_DIR` "
            "where training is installed and copy the model directory with its .onnx files")


def import_keras():
    """Import Keras (TensorFlow backend by default) without TensorFlow's native log lines.

    Raises
    ------
    ConfigError
        If Keras is not installed (the base package scores exported models without it).
    """
    if "keras" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        if importlib.util.find_spec("keras") is None:
            raise ConfigError(NO_KERAS)
        with native_stderr_silenced():
            import keras

            keras.ops.zeros(1)  # first op initialises devices (and logs about missing GPUs) here
    return sys.modules["keras"]


def predict_padded(model, batch: np.ndarray) -> np.ndarray:
    """``model.predict_on_batch`` with the batch zero-padded to a power of two.

    Every new batch size makes TensorFlow trace the predict function again (seconds each);
    padding bounds the sizes to ~13, so scoring many files of odd lengths stays fast.
    """
    n = len(batch)
    size = 1 << max(n - 1, 0).bit_length()
    if size != n:
        batch = np.concatenate([batch, np.zeros((size - n, *batch.shape[1:]), dtype=batch.dtype)])
    return np.asarray(model.predict_on_batch(batch))[:n]


def load_keras_file(path: Path):
    """Load a ``.keras`` file with ``safe_mode=True``; any failure is a :class:`ModelFileError`."""
    keras = import_keras()
    if not path.exists():
        raise ModelFileError(f"{path.parent}: {path.name} is missing")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # a truncated zip, a foreign file or unsafe content
        raise ModelFileError(f"{path}: cannot load Keras model ({exc.__class__.__name__}: {str(exc).splitlines()[0][:200]})") from None
