"""Transformer autoencoder over sliding windows: self-attention encoder, bottleneck, attention decoder."""

from __future__ import annotations

from anomaly.base import store_params
from anomaly.detectors.keras_window import KerasWindowDetector
from anomaly.nn.backend import import_keras
from anomaly.validation import check_number


def _attention_layers():
    """The custom layers; importing them also registers them for ``safe_mode`` loading."""
    import_keras()
    from anomaly.nn import attention

    return attention


class TransformerAutoencoder(KerasWindowDetector):
    """Transformer encoder blocks on each side of a ``latent`` bottleneck.

    Encoder: ``Dense(d_model)`` per step, a positional encoding, ``blocks`` x
    :class:`~anomaly.nn.attention.TransformerEncoderBlock`, then ``Flatten`` and
    ``Dense(latent)``: the code (batch, latent). Decoder: the code repeated over ``window``
    steps, ``Dense(d_model)``, a positional encoding (the only thing that tells the steps
    apart), ``blocks`` more encoder blocks and ``Dense(n_channels)``. The decoder sees only the
    code, so the blocks' residual paths cannot carry the input (faults included) to the output.

    Parameters
    ----------
    window : int, default=32
        Steps per window.
    d_model : int, default=32
        Width of each step's vector inside the blocks; divisible by ``num_heads``.
    num_heads : int, default=2
    ff_dim : int, default=64
        Hidden width of each block's feed-forward network.
    blocks : int, default=1
        Encoder blocks on each side of the bottleneck.
    latent : int, default=16
        Size of the code.
    positional : {"sinusoidal", "learned"}, default="sinusoidal"
        See :class:`~anomaly.nn.attention.PositionalEncoding`.
    dropout : float, default=0.0
        Residual and attention dropout in every block (training only).
    stride, epochs, batch_size, learning_rate, validation_fraction, patience, random_state, verbose,
    scaling, nan_policy, threshold
        As for :class:`~anomaly.detectors.lstm_ae.LSTMAutoencoder`.

    Attributes
    ----------
    model_ : keras.Model, (batch, window, n_channels) -> (batch, window, n_channels)
    history_ : dict of per-epoch losses

    Examples
    --------
    >>> det = TransformerAutoencoder(window=16, d_model=16, epochs=5).fit(normal_frame)  # doctest: +SKIP
    >>> det.errors(frame).shape == frame.shape  # doctest: +SKIP
    True
    """

    def __init__(self, window=32, *, d_model=32, num_heads=2, ff_dim=64, blocks=1, latent=16, positional="sinusoidal",
                 dropout=0.0, stride=None, epochs=30, batch_size=128, learning_rate=1e-3, validation_fraction=0.1,
                 patience=5, random_state=0, verbose=0, scaling="standard", nan_policy="raise", threshold=None,
                 aggregate="mean", conditions="auto", adapt=None, smooth=None):
        store_params(self, locals())

    def _attend(self, x, attention, side: str):
        """Positional encoding and ``blocks`` encoder blocks over (batch, window, d_model)."""
        x = attention.PositionalEncoding(self.positional, name=f"{side}_position")(x)
        for i in range(self.blocks):
            block = attention.TransformerEncoderBlock(self.d_model, self.num_heads, self.ff_dim, self.dropout,
                                                      name=f"{side}_block_{i}")
            x = block(x)
        return x

    def _build_model(self, n_channels: int):
        keras = import_keras()
        attention = _attention_layers()
        layers = keras.layers
        for name in ("d_model", "num_heads", "ff_dim", "blocks", "latent"):
            check_number(name, getattr(self, name), low=1, integer=True)
        inputs = keras.Input((self.window, n_channels))
        x = self._attend(layers.Dense(self.d_model, name="embed")(inputs), attention, "encoder")
        code = layers.Dense(self.latent, name="latent")(layers.Flatten()(x))
        x = layers.Dense(self.d_model, name="expand")(layers.RepeatVector(self.window)(code))
        x = self._attend(x, attention, "decoder")
        outputs = layers.Dense(n_channels, name="reconstruction")(x)
        model = keras.Model(inputs, outputs, name="transformer_autoencoder")
        return model, model

    def networks(self) -> dict:
        if not hasattr(self, "model_"):  # a saved model's custom layers must be registered before it is read
            _attention_layers()
        return super().networks()
