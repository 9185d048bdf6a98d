"""ResNet (He et al., 2016) and SE-ResNet (Hu et al., 2018) builders.

Both return a ``keras.Model`` from ``(batch, *input_shape)`` to class probabilities
``(batch, classes)``; shared options are described in :func:`anomaly.nn.network.network`.
A global average pool feeds the classifier, so the parameter count does not depend on the
input size.
"""

from __future__ import annotations

from anomaly.errors import ConfigError
from anomaly.nn.blocks import RESNET_EPSILON, residual_block
from anomaly.nn.network import network, positive_int, scaled
from anomaly.nn.primitives import conv_bn, dense, global_avg_pool, max_pool

# depth -> (bottleneck blocks?, residual blocks per stage); stages have 64, 128, 256, 512 filters
RESNET_DEPTHS = {
    18: (False, (2, 2, 2, 2)),
    34: (False, (3, 4, 6, 3)),
    50: (True, (3, 4, 6, 3)),
    101: (True, (3, 4, 23, 3)),
    152: (True, (3, 8, 36, 3)),
}
STAGE_FILTERS = (64, 128, 256, 512)


def _resnet(name, se_ratio, *, dims, input_shape, classes, width, depth, weights):
    if depth not in RESNET_DEPTHS or isinstance(depth, bool):
        raise ConfigError(f"depth={depth!r} must be one of {sorted(RESNET_DEPTHS)}")
    bottleneck, repeats = RESNET_DEPTHS[depth]

    def body(x):
        x = conv_bn(x, scaled(64, width), 7, strides=2, use_bias=True, epsilon=RESNET_EPSILON)
        x = max_pool(x, 3, strides=2, padding="same")
        for stage, (blocks, filters) in enumerate(zip(repeats, STAGE_FILTERS)):
            for block in range(blocks):
                strides = 2 if stage and not block else 1
                x = residual_block(x, scaled(filters, width), strides=strides, bottleneck=bottleneck, se_ratio=se_ratio)
        return dense(global_avg_pool(x), classes, activation="softmax")

    return network(f"{name}{depth}", body, dims=dims, input_shape=input_shape, default_shape=(224, 224, 3),
                   classes=classes, width=width, weights=weights)


def resnet(*, dims=2, input_shape=None, classes=1000, width=1.0, depth=50, weights=None):
    """ResNet v1: a 7-wide stride-2 stem, max-pool, four stages of residual blocks, global pool, softmax.

    ``depth`` in {18, 34, 50, 101, 152}: 18 and 34 use basic blocks (two 3-wide convolutions),
    50 and deeper bottleneck blocks (1 -> 3 -> 1, four-fold expansion). Convolutions keep their
    bias and every batch norm counts its moving statistics, as in Keras' ResNet50: 25,636,712
    parameters at depth 50 (torchvision's 25,557,032 leaves both out).
    """
    return _resnet("resnet", None, dims=dims, input_shape=input_shape, classes=classes, width=width,
                   depth=depth, weights=weights)


def se_resnet(*, dims=2, input_shape=None, classes=1000, width=1.0, depth=50, se_ratio=16, weights=None):
    """SE-ResNet: :func:`resnet` with a squeeze-and-excitation gate (reduction ``se_ratio``) in every block.

    Depth 50 adds 2,530,992 parameters to ResNet-50 (28,167,704 in all; Hu et al. report ~28.1M).
    """
    return _resnet("se_resnet", positive_int("se_ratio", se_ratio), dims=dims, input_shape=input_shape,
                   classes=classes, width=width, depth=depth, weights=weights)
