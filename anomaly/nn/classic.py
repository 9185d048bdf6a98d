"""Plain convolution-pooling stacks with fully connected heads: LeNet-5, AlexNet, VGG.

Every builder returns a ``keras.Model`` from ``(batch, *input_shape)`` to class probabilities
``(batch, classes)``. Shared options (see :func:`anomaly.nn.network.network`): ``dims`` (1:
sensor windows ``(steps, channels)``, 2: images ``(height, width, channels)``), ``input_shape``,
``classes``, ``width`` (multiplier of every hidden channel and unit count) and ``weights``
(None or a local ``.weights.h5`` file). The flattening head makes the parameter count depend on
the input size; the published counts hold for the default input shapes.
"""

from __future__ import annotations

from anomaly.errors import ConfigError
from anomaly.nn.network import check_rate, network, positive_int, published_padding, scaled
from anomaly.nn.primitives import avg_pool, conv, dense, dropout, flatten, max_pool

VGG_STAGES = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
VGG_FILTERS = (64, 128, 256, 512, 512)


def _classifier(x, hidden, classes, *, activation, rate=0.0):
    """Flatten -> [dense(h) -> dropout] for each hidden width -> dense(classes, softmax)."""
    x = flatten(x)
    for units in hidden:
        x = dense(x, units, activation=activation)
        x = dropout(x, rate) if rate else x
    return dense(x, classes, activation="softmax")


def lenet5(*, dims=2, input_shape=None, classes=10, width=1.0, depth=2, weights=None):
    """LeNet-5 (LeCun et al., 1998) in its common modern form.

    ``depth`` conv-pool stages (5-wide tanh convolution, 2-wide average pool) with 6, 16, 32,
    ... filters, then dense 120 -> 84 -> classes. Default input (32, 32, 1): 61,706 parameters
    (the paper's ~60,000 differs by its sparse C3 table, trainable pooling and RBF output).
    """
    depth = positive_int("depth", depth)

    def body(x):
        for stage in range(depth):
            x = conv(x, scaled(6 if stage == 0 else 16 * 2 ** (stage - 1), width), 5,
                     padding=published_padding(dims), activation="tanh")
            x = avg_pool(x, 2)
        return _classifier(x, [scaled(120, width), scaled(84, width)], classes, activation="tanh")

    return network("lenet5", body, dims=dims, input_shape=input_shape, default_shape=(32, 32, 1),
                   classes=classes, width=width, weights=weights)


def alexnet(*, dims=2, input_shape=None, classes=1000, width=1.0, depth=3, groups=1, dropout_rate=0.5, weights=None):
    """AlexNet (Krizhevsky et al., 2012) without local response normalisation.

    11-wide stride-4 convolution (96) -> max-pool -> 5-wide (256) -> max-pool -> ``depth`` 3-wide
    convolutions (384, ..., 384, 256) -> max-pool -> dense 4096 -> dense 4096 -> classes, with
    dropout (``dropout_rate``) after both 4096-wide layers.
    ``groups=2`` splits the 5-wide and the later 3-wide convolutions into two channel groups,
    as the paper's two-GPU layout does. Default input (227, 227, 3): 62,378,344 parameters, or
    60,965,224 with ``groups=2`` (the paper: "60 million").
    """
    depth = positive_int("depth", depth)
    groups = positive_int("groups", groups)
    rate = check_rate("dropout_rate", dropout_rate)

    def body(x):
        if any(scaled(f, width) % groups for f in (96, 256, 384)):
            raise ConfigError(f"groups={groups} must divide the channel counts 96, 256 and 384 scaled by width={width!r}")
        pad = published_padding(dims)
        x = max_pool(conv(x, scaled(96, width), 11, strides=4, padding=pad, activation="relu"), 3, strides=2, padding=pad)
        x = conv(x, scaled(256, width), 5, activation="relu", groups=groups)
        x = max_pool(x, 3, strides=2, padding=pad)
        for i, filters in enumerate([384] * (depth - 1) + [256]):
            x = conv(x, scaled(filters, width), 3, activation="relu", groups=1 if i == 0 else groups)
        x = max_pool(x, 3, strides=2, padding=pad)
        return _classifier(x, [scaled(4096, width)] * 2, classes, activation="relu", rate=rate)

    return network("alexnet", body, dims=dims, input_shape=input_shape, default_shape=(227, 227, 3),
                   classes=classes, width=width, weights=weights)


def vgg(*, dims=2, input_shape=None, classes=1000, width=1.0, depth=16, dropout_rate=0.5, weights=None):
    """VGG (Simonyan & Zisserman, 2015): stages of 3-wide ReLU convolutions, each closed by a 2-wide max-pool.

    ``depth`` in {11, 13, 16, 19} picks configurations A, B, D, E (convolutions per stage
    ``VGG_STAGES[depth]``, filters 64, 128, 256, 512, 512), then dense 4096 -> 4096 -> classes
    with dropout (``dropout_rate``) after both 4096-wide layers. Default input (224, 224, 3), depth 16:
    138,357,544 parameters.
    """
    if depth not in VGG_STAGES or isinstance(depth, bool):
        raise ConfigError(f"depth={depth!r} must be one of {sorted(VGG_STAGES)}")
    rate = check_rate("dropout_rate", dropout_rate)

    def body(x):
        for repeats, filters in zip(VGG_STAGES[depth], VGG_FILTERS):
            for _ in range(repeats):
                x = conv(x, scaled(filters, width), 3, activation="relu")
            x = max_pool(x, 2)
        return _classifier(x, [scaled(4096, width)] * 2, classes, activation="relu", rate=rate)

    return network(f"vgg{depth}", body, dims=dims, input_shape=input_shape, default_shape=(224, 224, 3),
                   classes=classes, width=width, weights=weights)
