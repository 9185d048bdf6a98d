"""Dense (fully connected) autoencoder over short sliding windows."""

from __future__ import annotations

from anomaly.base import store_params
from anomaly.detectors.keras_window import KerasWindowDetector
from anomaly.errors import ConfigError
from anomaly.nn.backend import import_keras

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh")
INITIALIZERS = ("he_normal", "he_uniform", "glorot_uniform")


class DenseAutoencoder(KerasWindowDetector):
    """Fully connected autoencoder on flattened windows of ``window`` steps.

    Input windows of shape (window, n_channels) are flattened, squeezed through
    ``hidden`` layers to a ``latent`` code, and mirrored back. The per-channel error is the
    squared reconstruction error, averaged over the windows covering each step.

    Parameters
    ----------
    window : int, default=8
        Steps per window (1 gives a point-wise autoencoder).
    hidden : tuple of int, default=(64, 32)
        Encoder layer widths; the decoder mirrors them.
    latent : int, default=8
    activation : {"relu", "leaky_relu", "elu", "tanh"}, default="relu"
    kernel_initializer : {"he_normal", "he_uniform", "glorot_uniform"}, default="he_normal"
        He initialisation suits ReLU-family activations.
    dropout : float, default=0.0
        Dropout rate after each hidden layer (training only).
    stride : int or None, default=None
        Scoring stride; None means ``window`` (non-overlapping windows, fastest).
    epochs, batch_size, learning_rate, validation_fraction, patience, random_state, verbose
        Training controls (Adam, MSE loss, early stopping on the time-ordered validation
        split with the best weights restored).
    scaling, nan_policy, threshold
        See :class:`anomaly.base.Detector`.

    Attributes
    ----------
    model_ : keras.Model, (batch, window, n_channels) -> (batch, window, n_channels)
    history_ : dict of per-epoch losses
    Plus the attributes of :class:`anomaly.base.Detector`.
    """

    def __init__(
        self,
        window=8,
        *,
        hidden=(64, 32),
        latent=8,
        activation="relu",
        kernel_initializer="he_normal",
        dropout=0.0,
        stride=None,
        epochs=30,
        batch_size=256,
        learning_rate=1e-3,
        validation_fraction=0.1,
        patience=5,
        random_state=0,
        verbose=0,
        scaling="standard",
        nan_policy="raise",
        threshold=None,
        aggregate="mean",
        conditions="auto",
        adapt=None,
        smooth=None,
    ):
        store_params(self, locals())

    def _build_model(self, n_channels: int):
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation={self.activation!r} is not one of {list(ACTIVATIONS)}")
        if self.kernel_initializer not in INITIALIZERS:
            raise ConfigError(f"kernel_initializer={self.kernel_initializer!r} is not one of {list(INITIALIZERS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout={self.dropout!r} must be in [0, 1)")
        keras = import_keras()
        layers = keras.layers
        inputs = keras.Input((self.window, n_channels))
        x = layers.Flatten()(inputs)
        widths = list(self.hidden)
        for width in widths:
            x = layers.Dense(width, activation=self.activation, kernel_initializer=self.kernel_initializer)(x)
            if self.dropout:
                x = layers.Dropout(self.dropout)(x)
        x = layers.Dense(self.latent, activation=self.activation, kernel_initializer=self.kernel_initializer, name="latent")(x)
        for width in reversed(widths):
            x = layers.Dense(width, activation=self.activation, kernel_initializer=self.kernel_initializer)(x)
            if self.dropout:
                x = layers.Dropout(self.dropout)(x)
        x = layers.Dense(self.window * n_channels)(x)
        outputs = layers.Reshape((self.window, n_channels))(x)
        model = keras.Model(inputs, outputs, name="dense_autoencoder")
        return model, model
