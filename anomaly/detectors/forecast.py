"""LSTM forecaster (telemanom style): the error vector is the one-step prediction error."""

from __future__ import annotations

import numpy as np

from anomaly.base import ScoringContext, store_params
from anomaly.detectors.keras_window import KerasWindowDetector
from anomaly.detectors.lstm_ae import recurrent_encoder
from anomaly.engine import Engine
from anomaly.nn.backend import import_keras


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
                 scaling="standard", nan_policy="raise", threshold=None,
                 aggregate="mean", conditions="auto", adapt=None, smooth=None):
        store_params(self, locals())

    def _window_context(self) -> ScoringContext:
        """Spans of ``window + 1`` rows (history and target); one error per span, every row."""
        return ScoringContext(self.window + 1, 1, 1)

    def _training_pairs(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return windows[:, : self.window], windows[:, self.window]

    def _build_model(self, n_channels: int):
        keras = import_keras()
        inputs = keras.Input((self.window, n_channels))
        outputs = keras.layers.Dense(n_channels, name="forecast")(recurrent_encoder(inputs, self.cell, self.units, self.dropout))
        model = keras.Model(inputs, outputs, name="lstm_forecaster")
        return model, model

    def forward(self, spans, engine: Engine):
        """Forecast the last row of each span (k, window + 1, c) from the rows before it; (k, 1, c)."""
        ops = engine.ops
        return ops.expand_dims(ops.square(engine.run("model", spans[:, : self.window]) - spans[:, self.window]), 1), None
