"""Time-series augmentation: shapes, seeds, zero strength and properties checkable by hand."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly import augment as A
from anomaly.errors import ConfigError, DataError

ZERO_STRENGTH = {"jitter": {"sigma": 0.0}, "scaling": {"sigma": 0.0}, "magnitude_warp": {"sigma": 0.0},
                 "time_warp": {"sigma": 0.0}, "window_slice": {"ratio": 1.0}}


def windows(n=6, steps=40, channels=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, steps, channels)).astype(np.float32)


def ramp(n=8, steps=40, channels=2):
    """Every channel of every window is 0, 1, ..., steps - 1: the output is the time path itself."""
    return np.tile(np.arange(steps, dtype=np.float64)[None, :, None], (n, 1, channels))


@pytest.mark.parametrize("name", sorted(A.METHODS))
@pytest.mark.parametrize("shape", [(6, 40, 3), (40, 3)])
def test_shape_dtype_seed_and_input_untouched(name, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    before = x.copy()
    out = A.METHODS[name](x, rng=7)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, A.METHODS[name](x, rng=np.random.default_rng(7)))  # seed or generator: same draw
    assert not np.array_equal(out, A.METHODS[name](x, rng=8))
    assert not np.array_equal(out, x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name", sorted(A.METHODS))
def test_zero_strength_is_identity(name):
    x = windows()
    np.testing.assert_array_equal(A.METHODS[name](x, **ZERO_STRENGTH[name], rng=0), x)


def test_jitter_adds_noise_of_the_requested_std():
    x = np.zeros((20, 500, 4))
    noise = A.jitter(x, sigma=0.3, rng=0)
    assert noise.std() == pytest.approx(0.3, rel=0.01) and abs(noise.mean()) < 0.005


def test_scaling_is_one_factor_per_window_and_channel():
    x = windows() + 5.0  # no zeros to divide by
    ratio = A.scaling(x, sigma=0.1, rng=0) / x
    np.testing.assert_allclose(ratio, ratio[:, :1, :].repeat(x.shape[1], axis=1), rtol=1e-5)
    factors = A.scaling(np.ones((2000, 2, 3)), sigma=0.1, rng=1)[:, 0, :]
    assert factors.mean() == pytest.approx(1.0, abs=0.01) and factors.std() == pytest.approx(0.1, rel=0.05)


def test_magnitude_warp_is_a_smooth_curve_around_one():
    curves = A.magnitude_warp(np.ones((200, 100, 2)), sigma=0.2, knots=4, rng=0)
    assert curves.mean() == pytest.approx(1.0, abs=0.02)
    assert not np.allclose(curves[:, :, 0], curves[:, :, 1])  # one curve per channel
    # smooth: a cubic spline through 6 knots over 100 steps changes little from step to step
    assert np.abs(np.diff(curves, axis=1)).max() < 0.2 * np.abs(curves - 1).max()


def test_time_warp_keeps_endpoints_and_monotonicity():
    x = ramp()
    out = A.time_warp(x, sigma=0.5, knots=4, rng=0)
    np.testing.assert_allclose(out[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(out[:, -1], x.shape[1] - 1, atol=1e-9)
    assert (np.diff(out, axis=1) > 0).all()
    assert np.abs(out - x).max() > 1.0  # it did warp
    np.testing.assert_array_equal(out[..., 0], out[..., 1])  # channels move together


def test_warp_path_by_hand():
    np.testing.assert_allclose(A.warp_path(4, np.array([[1.0, 1.0, 1.0, 1.0]])), [[0, 1, 2, 3]])
    np.testing.assert_allclose(A.warp_path(4, np.array([[2.0, 1.0, 1.0, 9.0]])), [[0, 1.5, 2.25, 3]])


def test_window_slice_is_a_stretched_crop():
    x = ramp(n=50, steps=21)
    out = A.window_slice(x, ratio=0.5, rng=0)  # keeps ceil(10.5) = 11 steps
    starts = out[:, 0, 0]
    np.testing.assert_allclose(out[:, -1, 0], starts + 10)
    np.testing.assert_allclose(out[:, :, 0], starts[:, None] + np.linspace(0, 10, 21)[None])
    assert starts.min() == 0 and starts.max() == 10 and np.all(starts == np.round(starts))


def test_expand_keeps_originals_first_and_repeats_labels():
    x, y = windows(n=5), np.array(list("abcab"))
    out, labels = A.expand(x, y, methods=("jitter", "scaling"), copies=3, rng=0)
    assert out.shape == (20, 40, 3) and list(labels) == list(y) * 4
    np.testing.assert_array_equal(out[:5], x)
    assert not np.array_equal(out[5:10], x)
    again, _ = A.expand(x, y, methods=("jitter", "scaling"), copies=3, rng=0)
    np.testing.assert_array_equal(out, again)
    assert A.expand(x, y, copies=0)[0].shape == x.shape


@pytest.mark.parametrize("call, match", [
    (lambda x: A.jitter(x, sigma=-0.1), "sigma=-0.1"),
    (lambda x: A.scaling(x, sigma=float("nan")), "sigma=nan"),
    (lambda x: A.magnitude_warp(x, knots=0), "knots=0"),
    (lambda x: A.time_warp(x, knots=2.5), "knots=2.5"),
    (lambda x: A.window_slice(x, ratio=0.0), "ratio=0.0"),
    (lambda x: A.window_slice(x, ratio=1.5), "ratio=1.5"),
    (lambda x: A.window_slice(x, ratio=0.01), "need at least 2"),
    (lambda x: A.jitter(x, rng="seed"), "rng='seed'"),
    (lambda x: A.jitter(x, rng=-1), "rng=-1"),
    (lambda x: A.expand(x, np.zeros(6), methods=("flip",)), "flip"),
    (lambda x: A.expand(x, np.zeros(6), copies=-1), "copies=-1"),
])
def test_bad_arguments_raise_config_error(call, match):
    with pytest.raises(ConfigError, match=match):
        call(windows())


@pytest.mark.parametrize("x, match", [
    (np.zeros(10), "expected shape"),
    (np.zeros((0, 3)), "non-empty"),
    (np.array([["a", "b"]]), "numeric"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN/inf"),
    (np.zeros((4, 1, 2)), "at least 2"),
])
def test_bad_data_raises_data_error(x, match):
    with pytest.raises(DataError, match=match):
        A.time_warp(x)


def test_expand_rejects_label_mismatch():
    with pytest.raises(DataError, match="3 labels"):
        A.expand(windows(n=6), np.zeros(3))
