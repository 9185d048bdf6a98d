"""GoogLeNet (Inception v1, Szegedy et al., 2015) and Inception v3 (Szegedy et al., 2016) builders.

Both return a ``keras.Model`` from ``(batch, *input_shape)`` to class probabilities
``(batch, classes)``; shared options are described in :func:`anomaly.nn.network.network`.
``depth`` is the number of inception modules in each stage; a stage with more modules than the
paper's repeats its last module, one with fewer keeps the first ones. The auxiliary classifiers
(used only in training) are left out.
"""

from __future__ import annotations

from anomaly.nn.blocks import inception_block
from anomaly.nn.network import check_rate, network, positive_ints, published_padding, scaled
from anomaly.nn.primitives import avg_pool, concat, conv, conv_bn, dense, dropout, global_avg_pool, max_pool

# GoogLeNet modules per stage (3a-3b, 4a-4e, 5a-5b): (1x1, (3x3 reduce, 3x3), (5x5 reduce, 5x5), pool proj)
GOOGLENET_STAGES = (
    ((64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64)),
    (
        (192, (96, 208), (16, 48), 64),
        (160, (112, 224), (24, 64), 64),
        (128, (128, 256), (24, 64), 64),
        (112, (144, 288), (32, 64), 64),
        (256, (160, 320), (32, 128), 128),
    ),
    ((256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)),
)
# Inception v3 modules per stage: pool-branch filters of the 35x35 modules, 7x7-branch filters of the
# 17x17 modules; the 8x8 modules are all alike.
INCEPTION_V3_STAGES = ((32, 64, 64), (128, 160, 160, 192), (None, None))


def _module_configs(stage_configs, count):
    """The paper's modules of a stage, cut to ``count`` or extended by repeating the last one."""
    return [stage_configs[min(i, len(stage_configs) - 1)] for i in range(count)]


def _scale_tree(config, width):
    return tuple(_scale_tree(c, width) for c in config) if isinstance(config, tuple) else scaled(config, width)


def googlenet(*, dims=2, input_shape=None, classes=1000, width=1.0, depth=(2, 5, 2), dropout_rate=0.4, weights=None):
    """GoogLeNet without local response normalisation and auxiliary classifiers.

    Stem (7-wide stride-2 convolution 64, max-pool, 1x1 64, 3x3 192, max-pool), three stages of
    :func:`~anomaly.nn.blocks.inception_block` (``depth`` modules each, max-pools between stages),
    global average pool, dropout, softmax. All convolutions have ReLU and a bias, no batch norm.
    Default input (224, 224, 3): 6,998,552 parameters (the paper's Table 1 sums to ~6.8M).
    """
    depth = positive_ints("depth", depth, 3)
    rate = check_rate("dropout_rate", dropout_rate)

    def body(x):
        x = max_pool(conv(x, scaled(64, width), 7, strides=2, activation="relu"), 3, strides=2, padding="same")
        x = conv(x, scaled(64, width), 1, activation="relu")
        x = conv(x, scaled(192, width), 3, activation="relu")
        for configs, count in zip(GOOGLENET_STAGES, depth):
            x = max_pool(x, 3, strides=2, padding="same")
            for config in _module_configs(configs, count):
                x = inception_block(x, _scale_tree(config, width))
        x = global_avg_pool(x)
        return dense(dropout(x, rate) if rate else x, classes, activation="softmax")

    return network("googlenet", body, dims=dims, input_shape=input_shape, default_shape=(224, 224, 3),
                   classes=classes, width=width, weights=weights)


def inception_v3(*, dims=2, input_shape=None, classes=1000, width=1.0, depth=(3, 4, 2), weights=None):
    """Inception v3 as in Keras' InceptionV3: factorised convolutions, batch norm without scale.

    Stem, ``depth[0]`` 35x35 modules, a grid reduction, ``depth[1]`` 17x17 modules with
    factorised 1x7/7x1 convolutions, a grid reduction, ``depth[2]`` 8x8 modules with split
    1x3/3x1 branches, global average pool, softmax. In the 1D form each 1xn/nx1 pair becomes
    two n-wide convolutions. Default input (299, 299, 3): 23,851,784 parameters.
    """
    depth = positive_ints("depth", depth, 3)

    def body(x):
        pad = published_padding(dims)

        def k(rows, cols):  # an asymmetric kernel; along the single time axis in 1D
            return (rows, cols) if dims == 2 else max(rows, cols)

        def cbn(t, filters, kernel, **kw):
            return conv_bn(t, scaled(filters, width), kernel, scale=False, **kw)

        def chain(t, *specs):
            for filters, kernel in specs:
                t = cbn(t, filters, kernel)
            return t

        def pool_branch(t, filters):
            return cbn(avg_pool(t, 3, strides=1, padding="same"), filters, 1)

        x = cbn(x, 32, 3, strides=2, padding=pad)
        x = cbn(x, 32, 3, padding=pad)
        x = max_pool(cbn(x, 64, 3), 3, strides=2, padding=pad)
        x = cbn(x, 80, 1, padding=pad)
        x = max_pool(cbn(x, 192, 3, padding=pad), 3, strides=2, padding=pad)
        stage_a, stage_b, stage_c = (_module_configs(c, n) for c, n in zip(INCEPTION_V3_STAGES, depth))
        for pool_filters in stage_a:
            x = concat([
                cbn(x, 64, 1),
                chain(x, (48, 1), (64, 5)),
                chain(x, (64, 1), (96, 3), (96, 3)),
                pool_branch(x, pool_filters),
            ])
        x = concat([
            cbn(x, 384, 3, strides=2, padding=pad),
            cbn(chain(x, (64, 1), (96, 3)), 96, 3, strides=2, padding=pad),
            max_pool(x, 3, strides=2, padding=pad),
        ])
        for c in stage_b:
            x = concat([
                cbn(x, 192, 1),
                chain(x, (c, 1), (c, k(1, 7)), (192, k(7, 1))),
                chain(x, (c, 1), (c, k(7, 1)), (c, k(1, 7)), (c, k(7, 1)), (192, k(1, 7))),
                pool_branch(x, 192),
            ])
        x = concat([
            cbn(cbn(x, 192, 1), 320, 3, strides=2, padding=pad),
            cbn(chain(x, (192, 1), (192, k(1, 7)), (192, k(7, 1))), 192, 3, strides=2, padding=pad),
            max_pool(x, 3, strides=2, padding=pad),
        ])
        for _ in stage_c:
            wide = cbn(x, 384, 1)
            deep = chain(x, (448, 1), (384, 3))
            x = concat([
                cbn(x, 320, 1),
                concat([cbn(wide, 384, k(1, 3)), cbn(wide, 384, k(3, 1))]),
                concat([cbn(deep, 384, k(1, 3)), cbn(deep, 384, k(3, 1))]),
                pool_branch(x, 192),
            ])
        return dense(global_avg_pool(x), classes, activation="softmax")

    return network("inception_v3", body, dims=dims, input_shape=input_shape, default_shape=(299, 299, 3),
                   classes=classes, width=width, weights=weights)
