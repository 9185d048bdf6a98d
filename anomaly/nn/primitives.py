"""Layer builders that work on sensor windows and on images alike.

Each builder takes a Keras tensor and returns one. The rank of the tensor picks the form:
``(batch, steps, channels)`` gives 1D layers (sensor windows), ``(batch, height, width,
channels)`` gives 2D layers (images). ``dropout`` and ``dense`` act element-wise and on the
last axis respectively, so they serve both forms unchanged.

Kernel sizes, strides and pool sizes are an int (the same along every spatial axis) or a
tuple with one entry per spatial axis.

Examples
--------
>>> x = keras.Input((64, 8))                      # a window of 64 steps, 8 channels
>>> y = max_pool(conv(x, 16, 5, activation="relu"), 2)
>>> tuple(y.shape)
(None, 32, 16)
"""

from __future__ import annotations

from keras import layers

from anomaly.errors import ConfigError


def spatial_dims(x) -> int:
    """1 for a ``(batch, steps, channels)`` tensor, 2 for ``(batch, height, width, channels)``."""
    dims = len(x.shape) - 2
    if dims not in (1, 2):
        raise ConfigError(
            f"expected a (batch, steps, channels) or (batch, height, width, channels) tensor, got shape {tuple(x.shape)}"
        )
    return dims


def _layer(kind: str, x):
    return getattr(layers, f"{kind}{spatial_dims(x)}D")


def conv(x, filters: int, kernel_size, *, strides=1, padding="same", activation=None, use_bias=True, groups=1):
    """Convolution (Conv1D/Conv2D); ``groups > 1`` splits input and output channels into groups."""
    return _layer("Conv", x)(
        filters, kernel_size, strides=strides, padding=padding, activation=activation, use_bias=use_bias, groups=groups
    )(x)


def separable_conv(x, filters: int, kernel_size, *, strides=1, padding="same", activation=None, use_bias=False):
    """Depthwise-separable convolution: a per-channel kernel, then a 1x1 mix to ``filters`` channels."""
    return _layer("SeparableConv", x)(
        filters, kernel_size, strides=strides, padding=padding, activation=activation, use_bias=use_bias
    )(x)


def batch_norm(x, *, scale=True, epsilon=1e-3):
    """Batch normalisation over the channel (last) axis; ``scale=False`` drops the gamma factor."""
    return layers.BatchNormalization(scale=scale, epsilon=epsilon)(x)


def conv_bn(
    x, filters: int, kernel_size, *, strides=1, padding="same", activation="relu", use_bias=False,
    scale=True, epsilon=1e-3, separable=False,
):
    """Convolution (or separable convolution) -> batch normalisation -> activation (None: linear)."""
    build = separable_conv if separable else conv
    x = build(x, filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias)
    x = batch_norm(x, scale=scale, epsilon=epsilon)
    return layers.Activation(activation)(x) if activation else x


def max_pool(x, pool_size, *, strides=None, padding="valid"):
    """Max-pooling (MaxPooling1D/2D); ``strides=None`` means ``pool_size``."""
    return _layer("MaxPooling", x)(pool_size, strides=strides, padding=padding)(x)


def avg_pool(x, pool_size, *, strides=None, padding="valid"):
    """Average-pooling (AveragePooling1D/2D); ``strides=None`` means ``pool_size``."""
    return _layer("AveragePooling", x)(pool_size, strides=strides, padding=padding)(x)


def global_avg_pool(x, *, keepdims=False):
    """Mean over the spatial axes: (batch, channels), or (batch, 1[, 1], channels) with ``keepdims``."""
    return _layer("GlobalAveragePooling", x)(keepdims=keepdims)(x)


def flatten(x):
    """(batch, ..., channels) -> (batch, features)."""
    return layers.Flatten()(x)


def dropout(x, rate: float):
    """Dropout of each element with probability ``rate`` during training (identity at inference)."""
    return layers.Dropout(rate)(x)


def dense(x, units: int, *, activation=None):
    """Fully connected layer on the last axis: (..., features) -> (..., units)."""
    return layers.Dense(units, activation=activation)(x)


def concat(tensors):
    """Concatenate along the channel (last) axis."""
    return layers.Concatenate()(list(tensors))


def add_relu(tensors):
    """Element-wise sum followed by ReLU: the merge at the end of a residual block."""
    return layers.Activation("relu")(layers.Add()(list(tensors)))

