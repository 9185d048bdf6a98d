"""Attention building blocks: a Transformer encoder block and a positional encoding.

Both are Keras layers written with ``keras.layers`` and ``keras.ops`` only (any backend),
registered serialisable so models that use them load with ``safe_mode=True`` once this
module has been imported.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from anomaly.errors import ConfigError
from anomaly.validation import check_dropout, check_number

#: Kinds of :class:`PositionalEncoding`.
POSITIONAL = ("sinusoidal", "learned")


def sinusoidal_table(steps: int, d_model: int) -> np.ndarray:
    """The fixed position code of Vaswani et al. (2017), shape (steps, d_model), float32.

    ``PE[t, 2i] = sin(t / 10000 ** (2i / d_model))`` and ``PE[t, 2i + 1] = cos(...)`` of the
    same angle: every dimension pair is a sinusoid of its own wavelength (2 pi to 10000 x 2 pi
    steps), so a relative offset is a linear function of the code.
    """
    positions = np.arange(steps, dtype=np.float64)[:, None]
    pair = np.arange(d_model)[None, :] // 2
    angles = positions / np.power(10000.0, 2.0 * pair / d_model)
    table = np.where(np.arange(d_model)[None, :] % 2 == 0, np.sin(angles), np.cos(angles))
    return table.astype(np.float32)


@keras.saving.register_keras_serializable(package="anomaly")
class PositionalEncoding(layers.Layer):
    """Add a code of each step's position to a sequence: (batch, steps, d_model) -> same shape.

    Self-attention is blind to order; this layer makes the step index visible.

    Parameters
    ----------
    kind : {"sinusoidal", "learned"}, default="sinusoidal"
        ``"sinusoidal"``: the fixed table of :func:`sinusoidal_table` (no weights; works for
        any ``steps``). ``"learned"``: a trainable (steps, d_model) table, zero-initialised,
        sized by the input's (static) ``steps`` at build time; inputs must keep that length.
    """

    def __init__(self, kind: str = "sinusoidal", **kwargs):
        super().__init__(**kwargs)
        if kind not in POSITIONAL:
            raise ConfigError(f"positional={kind!r} is not one of {list(POSITIONAL)}")
        self.kind = kind

    def build(self, input_shape):
        steps, d_model = input_shape[-2], input_shape[-1]
        if steps is None:
            raise ConfigError("a PositionalEncoding needs a fixed number of steps; got input shape with steps=None")
        if self.kind == "learned":
            self.table = self.add_weight(shape=(steps, d_model), initializer="zeros", name="table")
        else:
            self.table = sinusoidal_table(steps, d_model)  # a constant, not saved

    def call(self, inputs):
        return inputs + ops.cast(self.table, inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}


@keras.saving.register_keras_serializable(package="anomaly")
class TransformerEncoderBlock(layers.Layer):
    """One post-norm Transformer encoder block (Vaswani et al. 2017), (batch, steps, d_model) -> same shape.

    ::

        h = LayerNorm(x + Dropout(MultiHeadAttention(x, x)))
        y = LayerNorm(h + Dropout(Dense(d_model)(Dense(ff_dim, relu)(h))))

    Parameters
    ----------
    d_model : int
        Width of the input and output vectors; must be divisible by ``num_heads``.
    num_heads : int
        Attention heads, each of width ``d_model // num_heads``.
    ff_dim : int
        Hidden width of the position-wise feed-forward network.
    dropout : float, default=0.0
        Rate of the two residual dropouts and of the attention weights (training only), in [0, 1).
    """

    def __init__(self, d_model: int, num_heads: int, ff_dim: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("d_model", d_model), ("num_heads", num_heads), ("ff_dim", ff_dim)):
            check_number(name, value, low=1, integer=True)
        if d_model % num_heads:
            raise ConfigError(f"d_model={d_model!r} must be divisible by num_heads={num_heads!r}")
        check_dropout(dropout)
        self.d_model, self.num_heads, self.ff_dim, self.dropout = d_model, num_heads, ff_dim, dropout
        self.attention = layers.MultiHeadAttention(num_heads, d_model // num_heads, dropout=dropout, name="attention")
        self.attention_dropout = layers.Dropout(dropout)
        self.attention_norm = layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.ff_hidden = layers.Dense(ff_dim, activation="relu", name="ff_hidden")
        self.ff_out = layers.Dense(d_model, name="ff_out")
        self.ff_dropout = layers.Dropout(dropout)
        self.ff_norm = layers.LayerNormalization(epsilon=1e-6, name="ff_norm")

    def build(self, input_shape):
        if input_shape[-1] != self.d_model:
            raise ConfigError(f"TransformerEncoderBlock(d_model={self.d_model}) got inputs of width {input_shape[-1]}")
        self.attention.build(input_shape, input_shape)
        self.attention_norm.build(input_shape)
        self.ff_hidden.build(input_shape)
        self.ff_out.build((*input_shape[:-1], self.ff_dim))
        self.ff_norm.build(input_shape)

    def call(self, inputs, training=None):
        attended = self.attention(inputs, inputs, training=training)
        h = self.attention_norm(inputs + self.attention_dropout(attended, training=training))
        fed = self.ff_out(self.ff_hidden(h))
        return self.ff_norm(h + self.ff_dropout(fed, training=training))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads, "ff_dim": self.ff_dim,
                "dropout": self.dropout}
