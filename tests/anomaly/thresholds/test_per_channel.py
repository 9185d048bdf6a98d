"""PerChannel: one threshold per channel of the error matrix, and which channels fired."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds import PerChannel, threshold_from_dict


def round_trip(threshold):
    """Save to JSON text and load back, as model persistence does."""
    return threshold_from_dict(json.loads(json.dumps(threshold.to_dict())))


@pytest.fixture
def per_channel():
    rng = np.random.default_rng(9)
    normal = pd.DataFrame({"a": rng.random(1000), "b": 10 * rng.random(1000)})
    return PerChannel(q=99).fit(normal), normal


def test_per_channel_fit(per_channel):
    per, normal = per_channel
    np.testing.assert_allclose(per.thresholds_, np.percentile(normal.to_numpy(), 99, axis=0))
    assert per.channels_ == ["a", "b"]
    assert not hasattr(per, "threshold_")  # no scalar threshold: thresholds_ is the fitted state


def test_per_channel_apply_exceeded_normalise(per_channel):
    per, _ = per_channel
    new = pd.DataFrame({"a": [0.5, 2.0, 0.5], "b": [5.0, 5.0, 20.0]}, index=[10, 11, 12])
    pd.testing.assert_series_equal(per.apply(new), pd.Series([False, True, True], index=new.index))
    fired = per.exceeded(new)
    assert fired.index.equals(new.index) and list(fired.columns) == ["a", "b"]
    assert fired.to_numpy().tolist() == [[False, False], [True, False], [False, True]]
    np.testing.assert_array_equal(per.normalise(new) > 1.0, fired.to_numpy())
    np.testing.assert_allclose(per.normalise(new), new.to_numpy() / per.thresholds_)
    np.testing.assert_array_equal(per.apply(new.to_numpy()), [False, True, True])  # arrays match by position
    assert isinstance(per.exceeded(new.to_numpy()), np.ndarray)


def test_per_channel_zero_threshold():
    per = PerChannel(50).fit(np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]]))
    assert per.thresholds_.tolist() == [0.0, 2.0]
    np.testing.assert_array_equal(per.normalise([[0.0, 1.0], [0.5, 4.0]]), [[0.0, 0.5], [np.inf, 2.0]])
    np.testing.assert_array_equal(per.exceeded([[0.0, 1.0], [0.5, 4.0]]), [[False, False], [True, True]])


@pytest.mark.parametrize("columns, message", [
    (["a", "c"], r"channels differ from fit \(missing \['b'\], unexpected \['c'\]\)"),
    (["b", "a"], r"same channels in another order, expected \['a', 'b'\]"),
    (["a", "b", "c"], r"missing \[\], unexpected \['c'\]"),
])
def test_per_channel_channel_mismatch(per_channel, columns, message):
    per, _ = per_channel
    with pytest.raises(DataError, match=message):
        per.apply(pd.DataFrame(np.ones((2, len(columns))), columns=columns))


@pytest.mark.parametrize("errors, message", [
    (np.arange(5.0), r"expected a non-empty \(n_steps, n_channels\) matrix of per-channel errors, got shape \(5,\)"),
    (np.ones((0, 2)), r"got shape \(0, 2\)"),
    ([[1.0, np.nan]], r"value nan at row 0, channel 1; errors must be finite and >= 0"),
    ([[1.0], [-1.0]], r"value -1.0 at row 1, channel 0"),
    ([["x", "y"]], r"expected numbers, got dtype <U1"),
    (pd.DataFrame([[1.0, "x"]]), r"expected numbers, got non-numeric values"),
    (pd.DataFrame([[1.0, 2.0]], columns=["a", "a"]), r"duplicate channel names in \['a', 'a'\]"),
])
def test_per_channel_bad_errors(errors, message):
    with pytest.raises(DataError, match=message):
        PerChannel().fit(errors)


def test_per_channel_wrong_width_and_unfitted():
    per = PerChannel().fit(np.ones((5, 3)))
    assert per.channels_ is None
    with pytest.raises(DataError, match="errors: 2 channels, fitted on 3"):
        per.apply(np.ones((4, 2)))
    for method in ("apply", "exceeded", "normalise"):
        with pytest.raises(NotFittedError, match=r"PerChannel is not fitted: call fit\(normal_errors\) first"):
            getattr(PerChannel(), method)(np.ones((2, 2)))
    with pytest.raises(ConfigError, match=r"q=0 is not allowed"):
        PerChannel(0).fit(np.ones((2, 2)))


@pytest.mark.parametrize("as_frame", [True, False])
def test_per_channel_round_trip(per_channel, as_frame):
    per, normal = per_channel
    if not as_frame:
        per = PerChannel(95.0).fit(normal.to_numpy())
    assert per.to_dict()["threshold_"] is None
    copy = round_trip(per)
    assert copy.channels_ == per.channels_ and not hasattr(copy, "threshold_")
    np.testing.assert_array_equal(copy.thresholds_, per.thresholds_)
    new = normal * 1.05
    pd.testing.assert_frame_equal(copy.exceeded(new), per.exceeded(new))


def test_per_channel_saved_by_an_older_version_loads(per_channel):
    """Older versions wrote a placeholder ``threshold_: 1.0``; it is ignored, the state is used."""
    per, normal = per_channel
    old = {"kind": "PerChannel", "params": {"q": 99}, "threshold_": 1.0,
           "state": {"thresholds_": per.thresholds_.tolist(), "channels_": ["a", "b"]}}
    loaded = threshold_from_dict(json.loads(json.dumps(old)))
    assert not hasattr(loaded, "threshold_") and loaded.__sklearn_is_fitted__()
    pd.testing.assert_frame_equal(loaded.exceeded(normal), per.exceeded(normal))
