"""LSTM forecaster (telemanom style): the error vector is the one-step prediction error."""

from __future__ import annotations

import numpy as np

from anomaly.base import store_params
from anomaly.detectors.keras_window import KerasWindowDetector
from anomaly.nn.backend import import_keras
from anomaly.detectors.lstm_ae import recurrent_encoder
from anomaly.windows import iter_windows


class LSTMForecaster(KerasWindowDetector):
    """Predict each step from the ``window`` steps before it; error = squared prediction error.

    The first ``window`` rows have no history to forecast from: their error is 0 (they are
    scored, not dropped, and cannot raise an alarm). Every later row gets exactly one forecast.

    Parameters
    ----------
    window : int, default=32
        History length.
    units : tuple of int, default=(64,)
    cell : {"lstm", "gru"}, default="lstm"
    dropout, epochs, batch_size, learning_rate, validation_fraction, patience, random_state, verbose,
    scaling, nan_policy, threshold
        As for :class:`~anomaly.detectors.lstm_ae.LSTMAutoencoder`.

    Attributes
    ----------
    model_ : keras.Model, (batch, window, n_channels) -> (batch, n_channels)
    history_ : dict of per-epoch losses
    """

    def __init__(self, window=32, *, units=(64,), cell="lstm", dropout=0.0, epochs=30, batch_size=128,
                 learning_rate=1e-3, validation_fraction=0.1, patience=5, random_state=0, verbose=0,
                 scaling="standard", nan_policy="raise", threshold=None):
        store_params(self, locals())

    def _span(self) -> int:
        return self.window + 1

    def _training_pairs(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return windows[:, : self.window], windows[:, self.window]

    def _build_model(self, n_channels: int):
        keras = import_keras()
        inputs = keras.Input((self.window, n_channels))
        outputs = keras.layers.Dense(n_channels, name="forecast")(recurrent_encoder(inputs, self.cell, self.units, self.dropout))
        model = keras.Model(inputs, outputs, name="lstm_forecaster")
        return model, model

    def _chunk_scores(self, chunks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """One forecast per newest row of each chunk (k, window + n, c), from the ``window`` rows before it."""
        k, _, c = chunks.shape
        spans = np.lib.stride_tricks.sliding_window_view(chunks[:, -(self.window + n) :], self.window + 1, axis=1)
        spans = np.ascontiguousarray(spans.transpose(0, 1, 3, 2)).reshape(k * n, self.window + 1, c)
        errors = np.square(self._predict(spans[:, : self.window]) - spans[:, self.window]).reshape(k, n, c)
        return errors, errors.mean(axis=2)

    def _errors(self, Z: np.ndarray) -> np.ndarray:
        errors = np.zeros(Z.shape, dtype=np.float32)
        if Z.shape[0] <= self.window:
            return errors
        for starts, windows in iter_windows(Z, self._span(), 1, self._inference_batch()):
            batch = np.ascontiguousarray(windows)
            errors[starts + self.window] = np.square(self._predict(batch[:, : self.window]) - batch[:, self.window])
        return errors
