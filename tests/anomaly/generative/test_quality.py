"""MMD and the classifier two-sample test: hand-computed small cases, same vs shifted
distributions, typed errors."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from anomaly.errors import ConfigError, DataError
from anomaly.generative.quality import classifier_test, median_bandwidth, mmd2, mmd_test

TWO = np.array([[0.0], [1.0]])
FAR = np.array([[3.0], [4.0]])


def test_mmd2_of_two_points_by_hand():
    # unbiased: k(0,1) + k(0,1) - 2 * mean(k(0,0), k(0,1), k(1,0), k(1,1)) = e - (1 + e), e = exp(-1/2)
    assert_allclose(mmd2(TWO, TWO, bandwidth=1.0), np.exp(-0.5) - 1.0, rtol=1e-12)
    # X = {0, 1}, Y = {3, 4}: cross distances 3, 4, 2, 3
    cross = np.mean(np.exp(-np.array([9.0, 16.0, 4.0, 9.0]) / 2.0))
    assert_allclose(mmd2(TWO, FAR, bandwidth=1.0), 2 * np.exp(-0.5) - 2 * cross, rtol=1e-12)


def test_median_bandwidth_by_hand():
    # pooled {0, 1, 3, 4}: pairwise distances 1, 3, 4, 2, 3, 1 -> median 2.5
    assert median_bandwidth(TWO, FAR) == pytest.approx(2.5)
    assert mmd2(TWO, FAR) == pytest.approx(mmd2(TWO, FAR, bandwidth=2.5))


def test_windows_are_flattened():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((20, 4, 3)), rng.standard_normal((30, 4, 3))
    assert mmd2(X, Y) == pytest.approx(mmd2(X.reshape(20, 12), Y.reshape(30, 12)))


def test_same_distribution_is_near_zero_and_shift_is_detected():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((200, 5)), rng.standard_normal((200, 5))
    same = mmd_test(X, Y, n_permutations=100, seed=0)
    shifted = mmd_test(X, Y + 1.0, n_permutations=100, seed=0)
    assert abs(same.mmd2) < 0.01 and same.p_value > 0.05
    assert shifted.mmd2 > 0.1 and shifted.p_value == pytest.approx(1 / 101)
    assert shifted.mmd2 > 20 * abs(same.mmd2)


def test_classifier_test_accuracy():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((300, 4)), rng.standard_normal((300, 4))
    same = classifier_test(X, Y, seed=0)
    shifted = classifier_test(X, Y + 2.0, seed=0)
    assert same.n_test == 300 and 0.4 < same.accuracy < 0.6 and same.p_value > 0.01
    assert shifted.accuracy > 0.9 and shifted.p_value < 1e-10


@pytest.mark.parametrize("X, Y, kwargs, error, message", [
    (TWO[:1], TWO, {}, DataError, "n >= 2 samples"),
    (np.zeros(5), TWO, {}, DataError, r"shape \(n, \.\.\.\)"),
    (TWO, np.zeros((2, 2)), {}, DataError, "same sample shape"),
    (TWO, np.array([[0.0], [np.nan]]), {}, DataError, "1 NaN/inf"),
    (TWO, [["a"], ["b"]], {}, DataError, "expected numbers"),
    (TWO, FAR, {"bandwidth": 0.0}, ConfigError, "bandwidth=0.0"),
])
def test_bad_inputs(X, Y, kwargs, error, message):
    with pytest.raises(error, match=message):
        mmd2(X, Y, **kwargs)


def test_bad_test_parameters():
    with pytest.raises(ConfigError, match="n_permutations=0"):
        mmd_test(TWO, FAR, n_permutations=0)
    with pytest.raises(ConfigError, match="test_fraction=1.0"):
        classifier_test(TWO, FAR, test_fraction=1.0)
    with pytest.raises(DataError, match="cannot split"):
        classifier_test(TWO, FAR, test_fraction=0.25)
