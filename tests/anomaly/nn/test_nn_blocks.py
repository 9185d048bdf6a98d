"""Layer builders and composite blocks: the same call gives a 1D form on (batch, steps, channels)
and a 2D form on (batch, height, width, channels)."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.errors import ConfigError
from anomaly.nn import blocks
from anomaly.nn import primitives as P
from anomaly.nn.backend import import_keras

keras = import_keras()

SHAPES = {1: (64, 8), 2: (16, 16, 8)}  # per-sample shapes of a sensor window and an image


def model_of(fn, shape):
    inputs = keras.Input(shape)
    return keras.Model(inputs, fn(inputs))


@pytest.mark.parametrize("dims", [1, 2])
def test_primitives_pick_the_form_from_the_input_rank(dims):
    shape = SHAPES[dims]
    conv = model_of(lambda x: P.conv(x, 4, 3, strides=2, activation="relu"), shape)
    assert conv.output_shape == (None, *[n // 2 for n in shape[:-1]], 4)
    assert conv.count_params() == 3**dims * 8 * 4 + 4
    assert type(conv.layers[-1]).__name__ == f"Conv{dims}D"
    valid = model_of(lambda x: P.conv(x, 4, 5, padding="valid"), shape)
    assert valid.output_shape == (None, *[n - 4 for n in shape[:-1]], 4)
    pooled = model_of(lambda x: P.avg_pool(P.max_pool(x, 2), 2, strides=1, padding="same"), shape)
    assert pooled.output_shape == (None, *[n // 2 for n in shape[:-1]], 8)
    head = model_of(lambda x: P.dense(P.dropout(P.global_avg_pool(x), 0.5), 3, activation="softmax"), shape)
    assert head.output_shape == (None, 3)
    assert model_of(P.flatten, shape).output_shape == (None, int(np.prod(shape)))
    sep = model_of(lambda x: P.separable_conv(x, 16, 3), shape)
    assert sep.count_params() == 3**dims * 8 + 8 * 16  # depthwise + pointwise, no bias


def test_conv_bn_without_scale_has_three_batch_norm_parameters_per_channel():
    model = model_of(lambda x: P.conv_bn(x, 4, 3, scale=False), SHAPES[1])
    assert model.count_params() == 3 * 8 * 4 + 3 * 4
    x = np.random.default_rng(0).standard_normal((2, *SHAPES[1])).astype(np.float32)
    assert keras.ops.convert_to_numpy(model(x)).min() >= 0  # relu by default


def test_spatial_dims_rejects_other_ranks():
    with pytest.raises(ConfigError, match=r"got shape \(None, 8\)"):
        P.conv(keras.Input((8,)), 4, 3)


@pytest.mark.parametrize("dims", [1, 2])
def test_squeeze_excite_gates_each_channel(dims):
    model = model_of(lambda x: blocks.squeeze_excite(x, ratio=4), SHAPES[dims])
    assert model.output_shape == (None, *SHAPES[dims])
    assert model.count_params() == 2 * 8 * 2 + 2 + 8  # Dense(8 -> 2) + Dense(2 -> 8)
    # zero weights: every gate is sigmoid(0) = 0.5, so the block halves its input
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    x = np.random.default_rng(1).standard_normal((2, *SHAPES[dims])).astype(np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), x / 2, atol=1e-6)


@pytest.mark.parametrize("dims", [1, 2])
def test_residual_block_shortcuts(dims):
    shape = SHAPES[dims]
    identity = model_of(lambda x: blocks.residual_block(x, 8, bottleneck=False), shape)
    assert identity.output_shape == (None, *shape)
    assert identity.count_params() == 2 * (3**dims * 8 * 8 + 8 + 4 * 8)  # two conv+bias+bn, no projection
    projected = model_of(lambda x: blocks.residual_block(x, 4, strides=2), shape)
    assert projected.output_shape == (None, *[n // 2 for n in shape[:-1]], 16)
    convs = [layer for layer in projected.layers if type(layer).__name__.startswith("Conv")]
    assert sorted(layer.kernel.shape[-1] for layer in convs) == [4, 4, 16, 16]  # 1x1, 3x3, 1x1 and the projection
    # identity shortcut: with every weight zeroed the branch outputs 0, so the block is relu(x)
    x = np.random.default_rng(2).standard_normal((2, *shape)).astype(np.float32)
    identity.set_weights([np.zeros_like(w) for w in identity.get_weights()])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(identity(x)), np.maximum(x, 0), atol=1e-6)


def test_residual_block_with_squeeze_excite_adds_the_gate():
    plain = model_of(lambda x: blocks.residual_block(x, 4), SHAPES[1])
    gated = model_of(lambda x: blocks.residual_block(x, 4, se_ratio=4), SHAPES[1])
    assert gated.count_params() - plain.count_params() == 2 * 16 * 4 + 4 + 16


@pytest.mark.parametrize("dims", [1, 2])
def test_inception_block_concatenates_four_branches(dims):
    filters = (4, (3, 5), (2, 6), 7)
    model = model_of(lambda x: blocks.inception_block(x, filters), SHAPES[dims])
    assert model.output_shape == (None, *SHAPES[dims][:-1], 4 + 5 + 6 + 7)
    k3, k5, c = 3**dims, 5**dims, 8
    expected = (c * 4 + 4) + (c * 3 + 3 + k3 * 3 * 5 + 5) + (c * 2 + 2 + k5 * 2 * 6 + 6) + (c * 7 + 7)
    assert model.count_params() == expected


@pytest.mark.parametrize("dims", [1, 2])
def test_separable_block_downsamples_or_keeps_identity(dims):
    shape = SHAPES[dims]
    down = model_of(lambda x: blocks.separable_block(x, [12, 16]), shape)
    assert down.output_shape == (None, *[n // 2 for n in shape[:-1]], 16)
    same = model_of(lambda x: blocks.separable_block(x, [8, 8, 8], downsample=False), shape)
    assert same.output_shape == (None, *shape)
    per_conv = 3**dims * 8 + 8 * 8 + 4 * 8  # depthwise + pointwise + batch norm
    assert same.count_params() == 3 * per_conv
    with pytest.raises(ConfigError, match="needs 16 input channels for its identity shortcut, got 8"):
        model_of(lambda x: blocks.separable_block(x, [16], downsample=False), shape)
