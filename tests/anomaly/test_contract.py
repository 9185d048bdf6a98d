"""One contract, tested once, for every detector (the scikit-learn check_estimator idea)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import anomaly
from anomaly.errors import NotFittedError, SchemaError
from anomaly.registry import DETECTORS
from conftest import make_frame

FAST = {
    "pca": {},
    "dense-ae": {"epochs": 8, "window": 4, "hidden": (32,), "latent": 4},
    "lstm-ae": {"epochs": 6, "window": 8, "units": (16,), "latent": 4},
    "conv-ae": {"epochs": 8, "window": 8, "filters": (16, 8), "kernel_size": 3},
    "lstm-vae": {"epochs": 6, "window": 8, "units": (16,), "latent": 4, "warmup_epochs": 2},
    "lstm-forecast": {"epochs": 6, "window": 8, "units": (16,)},
    "vae-gan": {"epochs": 6, "window": 8, "units": (16,), "latent": 4, "warmup_epochs": 2},
    "transformer-ae": {"epochs": 8, "window": 8, "d_model": 16, "num_heads": 2, "ff_dim": 32, "latent": 4},
}


@pytest.fixture(params=sorted(DETECTORS))
def name(request):
    return request.param


@pytest.fixture
def detector(name):
    return anomaly.make_detector(name, **FAST[name])


_FITTED = {}


@pytest.fixture
def fitted(name):
    """One fitted detector per kind, shared by the read-only tests (training is the slow part)."""
    if name not in _FITTED:
        _FITTED[name] = anomaly.make_detector(name, **FAST[name]).fit(make_frame(seed=0))
    return _FITTED[name]


def test_fit_returns_self_and_sets_trailing_underscore_attributes(detector, normal_frame):
    assert detector.fit(normal_frame) is detector
    for name in ("schema_", "scaler_", "thresholder_", "threshold_", "decision_scores_", "fingerprint_"):
        assert hasattr(detector, name), name
    assert detector.schema_.channels == tuple(normal_frame.columns)
    assert detector.schema_.sampling_rate == pytest.approx(100.0)


def test_fit_is_repeatable_with_a_seed(name, fitted):
    again = anomaly.make_detector(name, **FAST[name]).fit(make_frame(seed=0))
    frame = make_frame(seed=2)
    np.testing.assert_allclose(again.score(frame).to_numpy(), fitted.score(frame).to_numpy(), rtol=1e-5, atol=1e-7)


def test_constructor_only_stores_params_and_clone_is_unfitted(fitted):
    params = fitted.get_params()
    copy = clone(fitted)
    assert copy.get_params() == params
    assert not hasattr(copy, "schema_")
    with pytest.raises(NotFittedError, match="not fitted"):
        copy.score(pd.DataFrame({"a": [1.0]}))


def test_set_params_round_trip(detector):
    name = next(iter(detector.get_params()))
    value = detector.get_params()[name]
    assert detector.set_params(**{name: value}) is detector


def test_outputs_are_aligned_to_input(fitted, faulty_frame):
    frame, _ = faulty_frame
    errors = fitted.errors(frame)
    scores = fitted.score(frame)
    flags = fitted.predict(frame)
    assert errors.shape == frame.shape
    assert list(errors.columns) == list(frame.columns)
    assert errors.index.equals(frame.index) and scores.index.equals(frame.index) and flags.index.equals(frame.index)
    assert errors.dtypes.eq(np.float32).all()
    assert flags.dtype == bool
    assert np.isfinite(errors.to_numpy()).all() and (errors.to_numpy() >= 0).all()


def test_injected_fault_scores_higher_and_is_attributed(fitted, faulty_frame):
    frame, labels = faulty_frame
    scores = fitted.score(frame).to_numpy()
    assert roc_auc_score(labels, scores) > 0.9
    assert fitted.predict(frame).to_numpy()[labels].mean() > 0.5
    errors = fitted.errors(frame)
    assert errors[labels].sum().idxmax() == "ch2"


def test_reordered_channels_are_matched_by_name(fitted, faulty_frame):
    frame, _ = faulty_frame
    assert_allclose(fitted.score(frame[frame.columns[::-1]]), fitted.score(frame), rtol=1e-6)


def test_missing_or_extra_channels_raise_schema_error(fitted, faulty_frame):
    frame, _ = faulty_frame
    with pytest.raises(SchemaError, match=r"missing channels \['ch4'\]"):
        fitted.score(frame.drop(columns="ch4"))
    with pytest.raises(SchemaError, match=r"unexpected channels \['extra'\]"):
        fitted.score(frame.assign(extra=1.0))


def test_save_load_round_trip_gives_identical_scores(fitted, faulty_frame, tmp_path):
    frame, _ = faulty_frame
    fitted.save(tmp_path / "model")
    loaded = anomaly.load(tmp_path / "model")
    assert type(loaded) is type(fitted)
    assert loaded.get_params().keys() == fitted.get_params().keys()
    np.testing.assert_array_equal(loaded.score(frame).to_numpy(), fitted.score(frame).to_numpy())
    np.testing.assert_array_equal(loaded.predict(frame).to_numpy(), fitted.predict(frame).to_numpy())
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.fingerprint_ == fitted.fingerprint_


def test_first_window_rows_are_scored_not_dropped(fitted, normal_frame):
    short = normal_frame.iloc[:10]
    errors = fitted.errors(short)
    assert len(errors) == 10 and np.isfinite(errors.to_numpy()).all()


def test_nan_policy(detector, normal_frame):
    gappy = normal_frame.copy()
    gappy.iloc[5, 1] = np.nan
    with pytest.raises(anomaly.DataError, match=r"column 'ch1' has 1 NaN/inf values \(first NaN at row 5"):
        detector.fit(gappy)
    detector.set_params(nan_policy="ffill").fit(gappy)
    assert np.isfinite(detector.score(gappy).to_numpy()).all()
