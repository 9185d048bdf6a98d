"""CNN architecture builders: published parameter counts, 1D forms, width/depth options, local
weights, and configuration errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from anomaly.errors import ConfigError, ModelFileError
from anomaly.nn.architectures import ARCHITECTURES, build
from anomaly.nn.backend import import_keras

keras = import_keras()

# keras.applications (weights=None) has exactly these counts; so do the papers' reference implementations.
PUBLISHED = {
    "vgg": 138_357_544,
    "resnet": 25_636_712,
    "inception_v3": 23_851_784,
    "xception": 22_910_480,
}
# torchvision's counts (no convolution biases, no batch-norm moving statistics)
TORCHVISION_RESNET = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032}
TORCHVISION_VGG = {11: 132_863_336, 13: 133_047_848, 16: 138_357_544, 19: 143_667_240}
SHALLOW = {  # the cheapest depth of each architecture, for tests about other options
    "lenet5": 2, "alexnet": 1, "vgg": 11, "googlenet": (1, 1, 1), "inception_v3": (1, 1, 1),
    "resnet": 18, "xception": 1, "se_resnet": 18,
}


def conv_params(kernel: int, cin: int, cout: int, *, bias=True) -> int:
    return kernel * cin * cout + (cout if bias else 0)


def torchvision_style(model) -> int:
    """Trainable parameters minus convolution biases: how torchvision counts a ResNet."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    conv_bias = sum(int(layer.bias.shape[0]) for layer in model.layers
                    if isinstance(layer, keras.layers.Conv2D) and layer.use_bias)
    return trainable - conv_bias


@pytest.fixture(scope="module")
def standard():
    """The four reference configurations at their published input shapes, built once."""
    models = {name: build(name) for name in PUBLISHED}
    yield {name: (m.count_params(), m.output_shape, torchvision_style(m)) for name, m in models.items()}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_counts(standard, name):
    count, output_shape, _ = standard[name]
    assert count == PUBLISHED[name]
    assert output_shape == (None, 1000)


def test_resnet50_counts_like_torchvision_without_biases_and_moving_statistics(standard):
    assert standard["resnet"][2] == TORCHVISION_RESNET[50]


@pytest.mark.parametrize("depth", [18, 34])
def test_resnet_depths_match_torchvision(depth):
    model = build("resnet", depth=depth, input_shape=(64, 64, 3))  # global pooling: count is size-free
    assert torchvision_style(model) == TORCHVISION_RESNET[depth]
    assert model.name == f"resnet{depth}"


@pytest.mark.parametrize("depth", [11, 19])
def test_vgg_depths_add_the_published_difference(depth):
    # the convolutions are the only difference between depths, whatever the input size
    small = {"input_shape": (32, 32, 3), "classes": 2}
    delta = build("vgg", depth=depth, **small).count_params() - build("vgg", depth=16, **small).count_params()
    assert delta == TORCHVISION_VGG[depth] - TORCHVISION_VGG[16]


@pytest.mark.parametrize(("name", "options", "expected"), [
    ("lenet5", {}, 61_706),
    ("alexnet", {}, 62_378_344),
    ("alexnet", {"groups": 2}, 60_965_224),
    ("googlenet", {}, 6_998_552),
    ("se_resnet", {}, 28_167_704),
])
def test_other_counts_reported_in_the_table(name, options, expected):
    assert build(name, **options).count_params() == expected


def test_se_resnet50_adds_the_gates_to_resnet50(standard):
    # one Dense(c // 16) + Dense(c) pair per block, c = 256, 512, 1024, 2048 over 3, 4, 6, 3 blocks
    gates = sum(n * (2 * c * (c // 16) + c // 16 + c) for n, c in [(3, 256), (4, 512), (6, 1024), (3, 2048)])
    assert 28_167_704 - standard["resnet"][0] == gates


def test_lenet5_width_and_depth_follow_the_formula():
    def lenet(width, depth, side):
        filters = [round(6 * width)] + [round(16 * width * 2 ** i) for i in range(depth - 1)]
        for _ in range(depth):
            side = (side - 4) // 2
        convs = sum(conv_params(25, cin, cout) for cin, cout in zip([1, *filters], filters))
        units = [side * side * filters[-1], round(120 * width), round(84 * width), 10]
        return convs + sum(a * b + b for a, b in zip(units, units[1:]))

    for width, depth, side in [(1.0, 2, 32), (2.0, 2, 32), (0.5, 1, 32), (1.0, 3, 64)]:
        model = build("lenet5", width=width, depth=depth, input_shape=(side, side, 1))
        assert model.count_params() == lenet(width, depth, side), (width, depth, side)


def test_xception_middle_flow_depth():
    block = 3 * (9 * 728 + 728 * 728 + 4 * 728)  # separable conv (depthwise + pointwise) + batch norm, x3
    small = {"input_shape": (96, 96, 3)}
    assert build("xception", depth=3, **small).count_params() - build("xception", depth=1, **small).count_params() == 2 * block


def test_googlenet_extra_module_repeats_the_last_one():
    # 5b (384, (192, 384), (48, 128), 128) once more, on 1024 input channels
    extra = (conv_params(1, 1024, 384) + conv_params(1, 1024, 192) + conv_params(9, 192, 384)
             + conv_params(1, 1024, 48) + conv_params(25, 48, 128) + conv_params(1, 1024, 128))
    small = {"input_shape": (64, 64, 3)}
    assert build("googlenet", depth=(2, 5, 3), **small).count_params() - build("googlenet", **small).count_params() == extra


@pytest.fixture(scope="module")
def windows():
    return np.random.default_rng(0).standard_normal((2, 64, 8)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_1d_forms_build_and_run_on_sensor_windows(name, windows):
    # depth does not change the strides; resnet keeps 50 so the bottleneck path runs in 1D too
    depth = 50 if name == "resnet" else SHALLOW[name]
    model = build(name, dims=1, input_shape=(64, 8), classes=3, width=0.25, depth=depth)
    probs = keras.ops.convert_to_numpy(model(windows))
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert any(kind.endswith("1D") for kind in kinds) and not any(kind.endswith("2D") for kind in kinds)


def _widths(model):
    return [getattr(layer, "filters", None) or layer.units for layer in model.layers
            if hasattr(layer, "filters") or hasattr(layer, "units")]


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_width_scales_every_hidden_layer(name):
    options = {"dims": 1, "input_shape": (32, 4), "classes": 5, "depth": SHALLOW[name]}
    full, half = build(name, **options), build(name, width=0.5, **options)
    assert _widths(half)[:-1] == [max(1, round(n / 2)) for n in _widths(full)[:-1]]
    assert _widths(half)[-1] == _widths(full)[-1] == 5
    assert half.count_params() < full.count_params()


def test_weights_round_trip(tmp_path, windows):
    options = {"dims": 1, "input_shape": (64, 8), "classes": 3, "width": 0.125, "depth": (1, 1, 1)}
    model = build("googlenet", **options)
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when it skips part of a file
        restored = build("googlenet", weights=path, **options)
    fresh = build("googlenet", **options)
    expected = keras.ops.convert_to_numpy(model(windows))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored(windows)), expected)
    assert not np.allclose(keras.ops.convert_to_numpy(fresh(windows)), expected)
    with pytest.raises(ModelFileError, match="do not fit googlenet"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build("googlenet", weights=path, **{**options, "classes": 4})


def test_weights_files_that_cannot_load(tmp_path):
    with pytest.raises(ModelFileError, match="weights file not found"):
        build("lenet5", weights=tmp_path / "missing.weights.h5")
    junk = tmp_path / "junk.weights.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(ModelFileError, match="not a readable weights file"):
        build("lenet5", weights=junk)


@pytest.mark.parametrize(("name", "options", "message"), [
    ("lenet5", {"weights": "imagenet"}, "weights='imagenet' must be None or the path of a local .weights.h5"),
    ("lenet5", {"weights": "model.h5"}, "weights='model.h5' must be None"),
    ("lenet5", {"weights": 1}, "weights=1 must be None"),
    ("lenet5", {"dims": 3}, "dims=3 must be 1"),
    ("lenet5", {"dims": 1}, r"input_shape=\(steps, channels\) is required when dims=1"),
    ("lenet5", {"dims": 1, "input_shape": (64, 8, 1)}, r"must be \(steps, channels\) for dims=1"),
    ("lenet5", {"input_shape": (32, 0, 1)}, r"must be \(height, width, channels\)"),
    ("lenet5", {"classes": 1}, "classes=1 must be an integer >= 2"),
    ("lenet5", {"width": 0}, "width=0 must be a positive number"),
    ("lenet5", {"width": float("nan")}, "width=nan must be a positive number"),
    ("lenet5", {"depth": 0}, "depth=0 must be a positive integer"),
    ("resnet", {"depth": 20}, r"depth=20 must be one of \[18, 34, 50, 101, 152\]"),
    ("vgg", {"depth": 15}, "depth=15 must be one of"),
    ("vgg", {"dropout_rate": 1.0}, r"dropout_rate=1.0 must be a number in \[0, 1\)"),
    ("googlenet", {"depth": (2, 5)}, r"depth=\(2, 5\) must be 3 positive integers"),
    ("inception_v3", {"depth": 3}, "depth=3 must be 3 positive integers"),
    ("xception", {"depth": -1}, "depth=-1 must be a positive integer"),
    ("se_resnet", {"se_ratio": 0}, "se_ratio=0 must be a positive integer"),
    ("alexnet", {"groups": 3}, "groups=3 must divide"),
    ("alexnet", {"input_shape": (32, 32, 3)}, r"alexnet: cannot build with input_shape=\(32, 32, 3\).*negative"),
    ("resnet", {"pretrained": True}, "resnet: unknown option"),
    ("mobilenet", {}, "unknown architecture 'mobilenet'"),
])
def test_bad_options_raise_config_error(name, options, message):
    with pytest.raises(ConfigError, match=message):
        build(name, **options)
