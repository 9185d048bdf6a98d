"""Xception (Chollet, 2017): a linear stack of depthwise-separable convolution blocks with residuals.

Returns a ``keras.Model`` from ``(batch, *input_shape)`` to class probabilities
``(batch, classes)``; shared options are described in :func:`anomaly.nn.network.network`.
"""

from __future__ import annotations

from anomaly.nn.blocks import separable_block
from anomaly.nn.network import network, positive_int, published_padding, scaled
from anomaly.nn.primitives import conv_bn, dense, global_avg_pool


def xception(*, dims=2, input_shape=None, classes=1000, width=1.0, depth=8, weights=None):
    """Xception as in Keras' Xception.

    Entry flow: two 3-wide convolutions (32 stride 2, 64), three downsampling
    :func:`~anomaly.nn.blocks.separable_block` s (128, 256, 728); middle flow: ``depth``
    identity-shortcut blocks of three 728-filter separable convolutions; exit flow: a
    downsampling block (728, 1024), separable convolutions 1536 and 2048, global average pool,
    softmax. Default input (299, 299, 3): 22,910,480 parameters.
    """
    depth = positive_int("depth", depth)

    def body(x):
        pad = published_padding(dims)
        x = conv_bn(x, scaled(32, width), 3, strides=2, padding=pad)
        x = conv_bn(x, scaled(64, width), 3, padding=pad)
        x = separable_block(x, [scaled(128, width)] * 2, activate_first=False)
        for filters in (256, 728):
            x = separable_block(x, [scaled(filters, width)] * 2)
        for _ in range(depth):
            x = separable_block(x, [scaled(728, width)] * 3, downsample=False)
        x = separable_block(x, [scaled(728, width), scaled(1024, width)])
        x = conv_bn(x, scaled(1536, width), 3, separable=True)
        x = conv_bn(x, scaled(2048, width), 3, separable=True)
        return dense(global_avg_pool(x), classes, activation="softmax")

    return network("xception", body, dims=dims, input_shape=input_shape, default_shape=(299, 299, 3),
                   classes=classes, width=width, weights=weights)
