"""Convolutional (Conv1D) autoencoder over sliding windows."""

from __future__ import annotations

from anomaly.base import store_params
from anomaly.detectors.keras_window import KerasWindowDetector
from anomaly.errors import ConfigError
from anomaly.nn.backend import import_keras

UPSAMPLING = ("transpose", "repeat")
DOWNSAMPLING = ("stride", "maxpool")


class ConvAutoencoder(KerasWindowDetector):
    """Conv1D encoder that halves the time axis per layer, and a mirrored decoder.

    Each encoder layer is a ``Conv1D(filters, kernel_size, padding="same")`` followed by a
    2x reduction of the time axis (``downsampling="stride"``: the convolution has stride 2;
    ``"maxpool"``: a 2x max-pooling). The decoder mirrors it with ``Conv1DTranspose`` of
    stride 2 (``upsampling="transpose"``) or ``UpSampling1D`` + ``Conv1D`` (``"repeat"``).

    Parameters
    ----------
    window : int, default=32
        Steps per window; must be divisible by ``2 ** len(filters)``.
    filters : tuple of int, default=(32, 16)
    kernel_size : int, default=7
    downsampling : {"stride", "maxpool"}, default="stride"
    upsampling : {"transpose", "repeat"}, default="transpose"
    dropout : float, default=0.0
        Dropout after each encoder layer.
    stride, epochs, batch_size, learning_rate, validation_fraction, patience, random_state, verbose,
    scaling, nan_policy, threshold
        As for :class:`~anomaly.detectors.lstm_ae.LSTMAutoencoder`.

    Attributes
    ----------
    model_ : keras.Model, (batch, window, n_channels) -> (batch, window, n_channels)
    history_ : dict of per-epoch losses
    """

    def __init__(self, window=32, *, filters=(32, 16), kernel_size=7, downsampling="stride", upsampling="transpose",
                 dropout=0.0, stride=None, epochs=30, batch_size=128, learning_rate=1e-3, validation_fraction=0.1,
                 patience=5, random_state=0, verbose=0, scaling="standard", nan_policy="raise", threshold=None,
                 aggregate="mean", conditions="auto", adapt=None, smooth=None):
        store_params(self, locals())

    def _check(self) -> None:
        factor = 2 ** len(self.filters)
        if self.window % factor:
            raise ConfigError(f"window={self.window!r} must be divisible by 2**len(filters)={factor}")
        if self.upsampling not in UPSAMPLING:
            raise ConfigError(f"upsampling={self.upsampling!r} is not one of {list(UPSAMPLING)}")
        if self.downsampling not in DOWNSAMPLING:
            raise ConfigError(f"downsampling={self.downsampling!r} is not one of {list(DOWNSAMPLING)}")

    def _build_model(self, n_channels: int):
        self._check()
        keras = import_keras()
        layers = keras.layers
        inputs = keras.Input((self.window, n_channels))
        x = inputs
        for width in self.filters:
            if self.downsampling == "stride":
                x = layers.Conv1D(width, self.kernel_size, strides=2, padding="same", activation="relu")(x)
            else:
                x = layers.Conv1D(width, self.kernel_size, padding="same", activation="relu")(x)
                x = layers.MaxPooling1D(2)(x)
            if self.dropout:
                x = layers.Dropout(self.dropout)(x)
        for width in reversed(self.filters):
            if self.upsampling == "transpose":
                x = layers.Conv1DTranspose(width, self.kernel_size, strides=2, padding="same", activation="relu")(x)
            else:
                x = layers.UpSampling1D(2)(x)
                x = layers.Conv1D(width, self.kernel_size, padding="same", activation="relu")(x)
        outputs = layers.Conv1D(n_channels, self.kernel_size, padding="same", name="reconstruction")(x)
        model = keras.Model(inputs, outputs, name="conv_autoencoder")
        return model, model
