"""Composite CNN blocks: residual, inception, depthwise-separable and squeeze-and-excitation.

Built from :mod:`anomaly.nn.primitives`, so each block has a 1D form (input ``(batch, steps,
channels)``) and a 2D form (input ``(batch, height, width, channels)``), chosen by the rank of
its input. Spatial size is kept unless a stride or ``downsample`` says otherwise.
"""

from __future__ import annotations

from keras import layers

from anomaly.errors import ConfigError
from anomaly.nn.primitives import (
    add_relu,
    batch_norm,
    concat,
    conv,
    conv_bn,
    dense,
    global_avg_pool,
    max_pool,
    separable_conv,
)

RESNET_EPSILON = 1.001e-5  # batch-norm epsilon of the Caffe/Keras ResNet


def squeeze_excite(x, *, ratio: int = 16):
    """Squeeze-and-excitation (Hu et al., 2018): rescale each channel by a learnt gate in (0, 1).

    Global average pool -> Dense(channels // ratio, relu) -> Dense(channels, sigmoid) -> multiply.
    Adds ``2 * c * (c // ratio) + c // ratio + c`` parameters for ``c`` input channels.
    Output shape = input shape.
    """
    channels = x.shape[-1]
    gate = global_avg_pool(x, keepdims=True)
    gate = dense(gate, max(1, channels // ratio), activation="relu")
    gate = dense(gate, channels, activation="sigmoid")
    return layers.Multiply()([x, gate])


def residual_block(x, filters: int, *, strides=1, bottleneck=True, se_ratio: int | None = None):
    """ResNet v1 block (He et al., 2016) as in Keras' ResNet50: convolutions keep their bias.

    ``bottleneck=True``: 1x1 (``filters``, strided) -> 3x3 (``filters``) -> 1x1 (``4 * filters``);
    ``bottleneck=False`` (ResNet-18/34): 3x3 (strided) -> 3x3, both ``filters``. Each convolution
    is followed by batch norm, all but the last by ReLU. With ``se_ratio`` a squeeze-and-excitation
    gate rescales the branch before the sum (SE-ResNet). The shortcut is the identity, or a strided
    1x1 convolution + batch norm when the stride or the channel count changes.

    Output: spatial size divided by ``strides``; ``4 * filters`` channels (``filters`` if not
    ``bottleneck``).
    """
    out = 4 * filters if bottleneck else filters
    step = {"use_bias": True, "epsilon": RESNET_EPSILON}
    shortcut = x
    if strides != 1 or x.shape[-1] != out:
        shortcut = conv_bn(x, out, 1, strides=strides, activation=None, **step)
    if bottleneck:
        y = conv_bn(x, filters, 1, strides=strides, **step)
        y = conv_bn(y, filters, 3, **step)
        y = conv_bn(y, out, 1, activation=None, **step)
    else:
        y = conv_bn(x, filters, 3, strides=strides, **step)
        y = conv_bn(y, filters, 3, activation=None, **step)
    if se_ratio:
        y = squeeze_excite(y, ratio=se_ratio)
    return add_relu([shortcut, y])


def inception_block(x, filters):
    """GoogLeNet inception module (Szegedy et al., 2015): four parallel branches, concatenated.

    ``filters = (n1x1, (n3x3_reduce, n3x3), (n5x5_reduce, n5x5), pool_proj)``: a 1x1
    convolution; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 max-pool (stride 1) -> 1x1. All convolutions use
    ReLU and a bias, as in the paper. Output: same spatial size, ``n1x1 + n3x3 + n5x5 + pool_proj``
    channels.
    """
    n1, (r3, n3), (r5, n5), proj = filters
    relu = {"activation": "relu"}
    return concat([
        conv(x, n1, 1, **relu),
        conv(conv(x, r3, 1, **relu), n3, 3, **relu),
        conv(conv(x, r5, 1, **relu), n5, 5, **relu),
        conv(max_pool(x, 3, strides=1, padding="same"), proj, 1, **relu),
    ])


def separable_block(x, filters, *, downsample=True, activate_first=True):
    """Xception block (Chollet, 2017): depthwise-separable convolutions with a residual shortcut.

    For each entry of ``filters``: ReLU -> 3x3 separable convolution -> batch norm (the first
    ReLU is skipped when ``activate_first=False``, for an input that is already activated).
    With ``downsample`` a 3x3 stride-2 max-pool follows and the shortcut is a stride-2 1x1
    convolution + batch norm; without it the shortcut is the identity, so the input must have
    ``filters[-1]`` channels. Output: ``filters[-1]`` channels, spatial size halved (rounded up)
    if ``downsample``.
    """
    if downsample:
        shortcut = conv_bn(x, filters[-1], 1, strides=2, activation=None)
    elif x.shape[-1] != filters[-1]:
        raise ConfigError(
            f"separable_block without downsample needs {filters[-1]} input channels for its identity shortcut, got {x.shape[-1]}"
        )
    else:
        shortcut = x
    y = x
    for i, f in enumerate(filters):
        if i or activate_first:
            y = layers.Activation("relu")(y)
        y = batch_norm(separable_conv(y, f, 3))
    if downsample:
        y = max_pool(y, 3, strides=2, padding="same")
    return layers.Add()([shortcut, y])
