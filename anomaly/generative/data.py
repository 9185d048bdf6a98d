"""Windows of sensor frames, in and out of a fitted scaler's units.

A *window* array has shape (n_windows, window, n_channels), float32, channels in schema
order. Generative models and attacks work in scaled units (``Scaler.transform``) and hand
results back in the frame's original units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly.engine import KERAS_BATCH
from anomaly.errors import DataError
from anomaly.nn.backend import predict_padded
from anomaly.scaling import Scaler
from anomaly.schema import Schema, check_frame
from anomaly.windows import sliding_windows


def frame_windows(frame: pd.DataFrame, window: int, *, stride: int = 1, schema: Schema | None = None,
                  source: str = "input") -> np.ndarray:
    """Regular sliding windows of a frame.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_steps, n_channels)
    window, stride : int
    schema : Schema or None
        When given, channels are matched to it by name (``SchemaError`` on a mismatch).

    Returns
    -------
    ndarray of shape (n_windows, window, n_channels), float32, original units
        Windows starting at rows ``0, stride, 2*stride, ...`` (a copy, safe to modify).

    Raises
    ------
    DataError
        On a frame :func:`anomaly.schema.check_frame` rejects or one shorter than ``window``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame, got {type(frame).__name__}")
    if schema is not None:
        frame = schema.align(frame, source=source)
    values = check_frame(frame, source=source)
    return np.ascontiguousarray(sliding_windows(values, window, stride))


def check_windows(windows, window: int, n_channels: int, *, name: str = "windows") -> np.ndarray:
    """Return ``windows`` as finite float32 of shape (n, window, n_channels), or raise DataError.

    A single window of shape (window, n_channels) is accepted and returned as (1, window,
    n_channels).
    """
    try:
        arr = np.asarray(windows, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{name}: expected numbers of shape (n, {window}, {n_channels})") from None
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (window, n_channels) or arr.shape[0] == 0:
        raise DataError(f"{name}: expected shape (n, {window}, {n_channels}) with n >= 1, got {np.shape(windows)}")
    if not np.isfinite(arr).all():
        raise DataError(f"{name}: {int((~np.isfinite(arr)).sum())} NaN/inf value(s)")
    return arr


def to_scaled(scaler: Scaler, windows: np.ndarray) -> np.ndarray:
    """Scale windows (n, window, c) from original units; float32, same shape."""
    return scaler.transform(windows.reshape(-1, windows.shape[-1])).reshape(windows.shape)


def to_original(scaler: Scaler, scaled: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_scaled`: (..., c) scaled values back to original units, float32."""
    return (np.asarray(scaled, dtype=np.float32) * scaler.scale_ + scaler.center_).astype(np.float32)


def predict_all(model, inputs: np.ndarray) -> np.ndarray:
    """Run a Keras model on ``inputs`` (n, ...) in padded batches (see ``predict_padded``); (n, ...) out."""

    return np.concatenate([predict_padded(model, np.ascontiguousarray(inputs[lo : lo + KERAS_BATCH], dtype=np.float32))
                           for lo in range(0, len(inputs), KERAS_BATCH)])
