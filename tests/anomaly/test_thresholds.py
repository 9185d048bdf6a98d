import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone

from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds import (
    POT, THRESHOLDS, Dynamic, KSigma, Percentile, SkabUCL, Threshold, persistence, threshold_from_dict,
)

flag_lists = st.lists(st.booleans(), min_size=1, max_size=60)


@pytest.mark.parametrize("threshold, scores, expected", [
    (Percentile(50), [1, 2, 3, 4, 5], 3.0),
    (Percentile(90), np.arange(11), 9.0),
    (Percentile(100), [3, 1, 2], 3.0),
    (KSigma(2), [1.0, 3.0], 4.0),  # mean 2, population std 1
    (KSigma(0), [1.0, 3.0], 2.0),
    (SkabUCL(50), [0.0, 10.0], 7.5),  # 1.5 * median 5
    (SkabUCL(100, factor=2.0), [1.0, 4.0], 8.0),
])
def test_fit_hand_examples(threshold, scores, expected):
    assert threshold.fit(scores) is threshold
    assert isinstance(threshold.threshold_, float)
    assert threshold.threshold_ == pytest.approx(expected)


def test_defaults_and_registry():
    assert Percentile().get_params() == {"q": 99.0}
    assert KSigma().get_params() == {"k": 3.0}
    assert SkabUCL().get_params() == {"q": 99.0, "factor": 1.5}
    assert THRESHOLDS == {"percentile": Percentile, "ksigma": KSigma, "skab-ucl": SkabUCL, "pot": POT, "dynamic": Dynamic}
    assert all(issubclass(cls, Threshold) for cls in THRESHOLDS.values())
    assert repr(SkabUCL(95, factor=2)) == "SkabUCL(q=95, factor=2)"


def test_factor_is_keyword_only():
    with pytest.raises(TypeError):
        SkabUCL(99, 2.0)


def test_apply_is_strictly_greater_and_keeps_series_index():
    threshold = Percentile(100).fit([0.0, 1.0, 2.0])
    np.testing.assert_array_equal(threshold.apply([1.0, 2.0, 2.5]), [False, False, True])
    series = pd.Series([3.0, 0.0], index=pd.date_range("2024", periods=2, freq="min"))
    flags = threshold.apply(series)
    assert isinstance(flags, pd.Series) and flags.dtype == bool
    pd.testing.assert_series_equal(flags, pd.Series([True, False], index=series.index))


def test_fit_accepts_series():
    assert Percentile(50).fit(pd.Series([1.0, 2.0, 3.0])).threshold_ == 2.0


def test_apply_before_fit_raises():
    with pytest.raises(NotFittedError, match=r"KSigma is not fitted: call fit\(normal_scores\) first"):
        KSigma().apply([1.0])


@pytest.mark.parametrize("threshold, match", [
    (Percentile(0), r"q=0 is not allowed: must be a finite number in \(0, 100\]"),
    (Percentile(100.5), r"q=100.5 is not allowed"),
    (Percentile("99"), r"q='99' is not allowed"),
    (KSigma(-1), r"k=-1 is not allowed: must be a finite number >= 0"),
    (KSigma(float("nan")), r"k=nan is not allowed"),
    (SkabUCL(factor=0), r"factor=0 is not allowed: must be a finite number > 0"),
    (SkabUCL(q=-5), r"q=-5 is not allowed"),
])
def test_bad_parameters_raise_on_fit(threshold, match):
    with pytest.raises(ConfigError, match=match):
        threshold.fit([1.0, 2.0])


@pytest.mark.parametrize("scores, match", [
    ([], r"scores: empty"),
    ([1.0, np.nan, np.inf], r"scores: 2 NaN/inf value\(s\), first at position 1"),
    ([[1.0, 2.0]], r"scores: expected a 1-D array, got shape \(1, 2\)"),
    (["a"], r"scores: expected numbers"),
])
def test_bad_scores(scores, match):
    with pytest.raises(DataError, match=match):
        Percentile().fit(scores)
    with pytest.raises(DataError, match=match):
        Percentile().fit([1.0]).apply(scores)


@pytest.mark.parametrize("threshold", [Percentile(97.5), KSigma(2.5), SkabUCL(95, factor=1.2)])
def test_to_dict_round_trip(threshold):
    threshold.fit(np.random.default_rng(0).gamma(2.0, size=200))
    d = json.loads(json.dumps(threshold.to_dict()))
    assert d == {"kind": type(threshold).__name__, "params": threshold.get_params(),
                 "threshold_": threshold.threshold_, "state": {}}
    restored = threshold_from_dict(d)
    assert type(restored) is type(threshold)
    assert restored.get_params() == threshold.get_params()
    assert restored.threshold_ == threshold.threshold_
    scores = np.linspace(0, 10, 50)
    np.testing.assert_array_equal(restored.apply(scores), threshold.apply(scores))


def test_to_dict_unfitted_round_trip():
    d = SkabUCL(np.float64(90.0)).to_dict()
    assert d == {"kind": "SkabUCL", "params": {"q": 90.0, "factor": 1.5}, "threshold_": None, "state": {}}
    assert type(d["params"]["q"]) is float
    with pytest.raises(NotFittedError):
        threshold_from_dict(d).apply([1.0])


@pytest.mark.parametrize("d, match", [
    ({"kind": "Median", "params": {}}, r"threshold kind 'Median' is unknown: allowed are "
                                       r"\['Dynamic', 'KSigma', 'POT', 'PerChannel', 'Percentile', 'SkabUCL'\]"),
    ({"kind": "KSigma"}, r"threshold dict .* is malformed: need keys 'kind' and 'params'"),
    ([], r"threshold dict \[\] is malformed"),
    ({"kind": "KSigma", "params": {"q": 3}}, r"KSigma params \['q'\] are unknown: allowed are \['k'\]"),
    ({"kind": "KSigma", "params": {"k": -2}}, r"k=-2 is not allowed"),
    ({"kind": "KSigma", "params": {}, "threshold_": "high"}, r"threshold_='high' is not allowed: "
                                                             r"must be a finite number$"),
])
def test_threshold_from_dict_bad(d, match):
    with pytest.raises(ConfigError, match=match):
        threshold_from_dict(d)


def test_sklearn_compatible_params():
    threshold = SkabUCL(95).fit([1.0, 2.0])
    copy = clone(threshold)
    assert copy.get_params() == threshold.get_params() and not hasattr(copy, "threshold_")
    assert threshold.set_params(factor=3.0).factor == 3.0
    with pytest.raises(ConfigError, match=r"SkabUCL params \['z'\] are unknown"):
        threshold.set_params(z=1)


# --- persistence ---------------------------------------------------------------

@pytest.mark.parametrize("k, expected", [
    (1, [1, 1, 0, 1, 1, 1, 0]),
    (2, [0, 1, 0, 0, 1, 1, 0]),
    (3, [0, 0, 0, 0, 0, 1, 0]),
    (4, [0, 0, 0, 0, 0, 0, 0]),
])
def test_persistence_hand_example(k, expected):
    out = persistence([1, 1, 0, 1, 1, 1, 0], k)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, np.array(expected, dtype=bool))


def test_persistence_keeps_series_index():
    flags = pd.Series([True, True], index=["a", "b"])
    pd.testing.assert_series_equal(persistence(flags, 2), pd.Series([False, True], index=["a", "b"]))


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "2"])
def test_persistence_bad_k(k):
    with pytest.raises(ConfigError, match=rf"k={k!r} is not allowed: must be an integer >= 1"):
        persistence([True], k)


def test_persistence_bad_flags():
    with pytest.raises(DataError, match=r"flags: non-binary value 0.5 at position 0"):
        persistence([0.5], 1)


@given(flag_lists, st.integers(1, 8))
def test_persistence_properties(flags, k):
    flags = np.array(flags)
    out = persistence(flags, k)
    np.testing.assert_array_equal(persistence(flags, 1), flags)
    assert not np.any(out & ~flags)  # never adds flags
    naive = [t >= k - 1 and flags[t - k + 1:t + 1].all() for t in range(len(flags))]
    np.testing.assert_array_equal(out, naive)
