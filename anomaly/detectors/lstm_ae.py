"""LSTM (or GRU) encoder-decoder autoencoder over sliding windows."""

from __future__ import annotations

from anomaly.base import store_params
from anomaly.detectors.keras_window import KerasWindowDetector
from anomaly.errors import ConfigError
from anomaly.nn.backend import import_keras

CELLS = ("lstm", "gru")  # the cells the recurrent detectors offer (anomaly.nn.recurrent also has "rnn")


def _detector_cell(cell: str) -> str:
    if cell not in CELLS:
        raise ConfigError(f"cell={cell!r} is not one of {list(CELLS)}")
    return cell


def recurrent_encoder(inputs, cell: str, units, dropout: float):
    """Stacked recurrent layers; returns the last layer's final state, shape (batch, units[-1])."""
    from anomaly.nn.recurrent import recurrent_stack  # imports Keras: only when a model is built

    return recurrent_stack(inputs, _detector_cell(cell), units, dropout=dropout)


def recurrent_decoder(code, window: int, n_channels: int, cell: str, units, dropout: float):
    """Repeat a code over ``window`` steps, run stacked recurrent layers, project to channels."""
    from anomaly.nn.recurrent import repeat_decoder

    layers = import_keras().layers
    x = repeat_decoder(code, window, _detector_cell(cell), tuple(reversed(units)), dropout=dropout)
    return layers.TimeDistributed(layers.Dense(n_channels), name="reconstruction")(x)


class LSTMAutoencoder(KerasWindowDetector):
    """Recurrent autoencoder: windows (window, n_channels) -> latent code -> reconstruction.

    Parameters
    ----------
    window : int, default=32
        Steps per window.
    units : tuple of int, default=(64,)
        Encoder layer sizes (stacked); the decoder mirrors them.
    latent : int, default=16
        Size of the code between encoder and decoder.
    cell : {"lstm", "gru"}, default="lstm"
    dropout : float, default=0.0
        Input dropout of every recurrent layer (training only).
    stride : int or None, default=None
        Scoring stride; None means ``window`` (non-overlapping windows).
    epochs, batch_size, learning_rate, validation_fraction, patience, random_state, verbose
        Training controls, see :class:`~anomaly.detectors.keras_window.KerasWindowDetector`.
    scaling, nan_policy, threshold
        See :class:`anomaly.base.Detector`.

    Attributes
    ----------
    model_ : keras.Model, (batch, window, n_channels) -> (batch, window, n_channels)
    history_ : dict of per-epoch losses
    """

    def __init__(self, window=32, *, units=(64,), latent=16, cell="lstm", dropout=0.0, stride=None, epochs=30,
                 batch_size=128, learning_rate=1e-3, validation_fraction=0.1, patience=5, random_state=0, verbose=0,
                 scaling="standard", nan_policy="raise", threshold=None,
                 aggregate="mean", conditions="auto", adapt=None, smooth=None):
        store_params(self, locals())

    def _build_model(self, n_channels: int):
        keras = import_keras()
        inputs = keras.Input((self.window, n_channels))
        code = keras.layers.Dense(self.latent, name="latent")(recurrent_encoder(inputs, self.cell, self.units, self.dropout))
        outputs = recurrent_decoder(code, self.window, n_channels, self.cell, self.units, self.dropout)
        model = keras.Model(inputs, outputs, name="lstm_autoencoder")
        return model, model
