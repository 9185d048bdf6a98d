"""The threshold contract shared by every kind: scikit-learn parameters, the JSON round trip,
the kind registry, and chunked application."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from anomaly.errors import ConfigError, NotFittedError
from anomaly.thresholds import (
    KINDS,
    POT,
    THRESHOLDS,
    Dynamic,
    KSigma,
    Percentile,
    PerChannel,
    QuietLogs,
    SkabUCL,
    Sustained,
    Threshold,
    threshold_from_dict,
)


def round_trip(threshold):
    """Save to JSON text and load back, as model persistence does."""
    return threshold_from_dict(json.loads(json.dumps(threshold.to_dict())))


def test_registry():
    assert THRESHOLDS == {"percentile": Percentile, "ksigma": KSigma, "skab-ucl": SkabUCL, "pot": POT, "dynamic": Dynamic,
                          "sustained": Sustained, "quiet-logs": QuietLogs}
    assert all(issubclass(cls, Threshold) for cls in THRESHOLDS.values())
    assert PerChannel not in THRESHOLDS.values()  # it thresholds error matrices, not a detector's scores
    assert set(KINDS) == {"Percentile", "KSigma", "SkabUCL", "POT", "Dynamic", "PerChannel", "Sustained", "QuietLogs"}


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
    assert type(threshold).from_dict(d).threshold_ == threshold.threshold_


def test_to_dict_unfitted_round_trip():
    d = SkabUCL(np.float64(90.0)).to_dict()
    assert d == {"kind": "SkabUCL", "params": {"q": 90.0, "factor": 1.5}, "threshold_": None, "state": {}}
    assert type(d["params"]["q"]) is float
    with pytest.raises(NotFittedError):
        threshold_from_dict(d).apply([1.0])


@pytest.mark.parametrize("threshold", [POT(1e-4, level=0.9), Dynamic(50, smoothing=0.1, z_range=(1.0, 4.0)),
                                       PerChannel(97.5)])
def test_unfitted_round_trip_and_clone(threshold):
    copy = round_trip(threshold)
    assert type(copy) is type(threshold) and copy.get_params() == threshold.get_params()
    assert not hasattr(copy, "threshold_") and not copy.__sklearn_is_fitted__()
    assert clone(threshold).get_params() == threshold.get_params()


@pytest.mark.parametrize("d, match", [
    ({"kind": "Median", "params": {}}, (r"threshold kind 'Median' is unknown: allowed are "
                                        r"\['Dynamic', 'KSigma', 'POT', 'PerChannel', 'Percentile', 'QuietLogs', 'SkabUCL', 'Sustained'\]")),
    ({"kind": ["KSigma"], "params": {}}, r"threshold kind \['KSigma'\] is unknown"),
    ({"kind": "KSigma"}, r"threshold dict .* is malformed: need keys 'kind' and 'params'"),
    ([], r"threshold dict \[\] is malformed"),
    ({"kind": "KSigma", "params": {"q": 3}}, r"KSigma params \['q'\] are unknown: allowed are \['k'\]"),
    ({"kind": "KSigma", "params": {"k": -2}}, r"k=-2 is not allowed"),
    ({"kind": "KSigma", "params": {}, "threshold_": "high"}, (r"threshold_='high' is not allowed: "
                                                              r"must be a finite number$")),
])
def test_threshold_from_dict_bad(d, match):
    with pytest.raises(ConfigError, match=match):
        threshold_from_dict(d)


def test_from_dict_of_another_kind_is_refused():
    with pytest.raises(ConfigError, match=r"threshold kind 'KSigma' is not 'Percentile'"):
        Percentile.from_dict(KSigma().fit([1.0, 2.0]).to_dict())


@pytest.mark.parametrize("kind, state, message", [
    ("POT", {}, r"threshold state of POT is malformed: missing 'init_threshold_'"),
    ("POT", {"init_threshold_": 1.0, "gamma_": 0.0, "sigma_": 1.0, "n_": 10, "peaks_": [1.0, -2.0]},
     r"malformed: peaks_ must be finite numbers > 0"),
    ("POT", {"init_threshold_": 1.0, "gamma_": 0.0, "sigma_": 1.0, "n_": 1, "peaks_": [1.0, 2.0]},
     r"malformed: n_=1 is not allowed: must be an integer >= 2"),
    ("Dynamic", {"z_": 2.0, "mean_": 1.0, "std_": 1.0, "span_": 0.5}, r"malformed: span_=0.5 is not allowed"),
    ("PerChannel", {"thresholds_": [1.0], "channels_": ["a", "b"]}, r"malformed: channels_ must be null or 1 strings"),
    ("PerChannel", {"thresholds_": [], "channels_": None}, r"malformed: thresholds_ must be a non-empty list"),
])
def test_malformed_state(kind, state, message):
    with pytest.raises(ConfigError, match=message):
        threshold_from_dict({"kind": kind, "params": {}, "threshold_": 1.0, "state": state})


def test_scikit_learn_contract():
    threshold = SkabUCL(95).fit([1.0, 2.0])
    check_is_fitted(threshold)
    copy = clone(threshold)  # clone checks that the constructor stores its parameters unchanged
    assert copy.get_params() == threshold.get_params() and not hasattr(copy, "threshold_")
    with pytest.raises(ConfigError, match=r"SkabUCL params \['z'\] are unknown: allowed are \['factor', 'q'\]"):
        threshold.set_params(z=1)


def test_apply_chunk_of_a_constant_rule_is_apply():
    rule = Percentile(90).fit(np.arange(100.0))
    chunk = pd.Series([1.0, 95.0], index=["a", "b"])
    flags, state = rule.apply_chunk(chunk)
    pd.testing.assert_series_equal(flags, rule.apply(chunk))
    assert state is None
