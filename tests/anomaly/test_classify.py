"""ErrorClassifier and the event features it learns from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.classify import ErrorClassifier, segment_features
from anomaly.errors import DataError, NotFittedError


def frames(n=200, c=3, seed=0):
    rng = np.random.default_rng(seed)
    cols = [f"c{i}" for i in range(c)]
    return pd.DataFrame(rng.random((n, c)), columns=cols), pd.DataFrame(rng.standard_normal((n, c)), columns=cols)


def test_features_by_hand():
    errors = pd.DataFrame({"a": [0.0, 1.0, 3.0, 0.0], "b": [0.0, 1.0, 1.0, 0.0]})
    scaled = pd.DataFrame({"a": [0.0, 2.0, 4.0, 0.0], "b": [0.0, 1.0, 1.0, 0.0]})
    row = segment_features(errors, scaled, [(1, 3)]).iloc[0]
    assert row["error_mean:a"] == 2.0 and row["error_peak:a"] == 3.0
    assert row["error_share:a"] == pytest.approx(4 / 6) and row["error_share:b"] == pytest.approx(2 / 6)
    assert row["signal_mean:a"] == 3.0 and row["signal_std:a"] == 1.0 and row["length"] == 2
    ranked = segment_features(errors, scaled, [(1, 3)], ranked=1).iloc[0]
    assert list(ranked.index) == [f"{s}:rank1" for s in ("error_mean", "error_peak", "error_share", "signal_mean", "signal_std")] + ["length"]
    assert ranked["error_mean:rank1"] == 2.0


def test_ranked_features_do_not_depend_on_which_channel():
    errors, scaled = frames()
    swapped = segment_features(errors[["c1", "c0", "c2"]].set_axis(errors.columns, axis=1),
                               scaled[["c1", "c0", "c2"]].set_axis(scaled.columns, axis=1), [(10, 50)], ranked=3)
    np.testing.assert_allclose(swapped.to_numpy(), segment_features(errors, scaled, [(10, 50)], ranked=3).to_numpy())


def test_classifier_learns_separable_fault_types():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((120, 4)), columns=list("wxyz"))
    y = np.where(X["w"] > 0, "collision", "friction")
    clf = ErrorClassifier().fit(X.iloc[:80], y[:80])
    assert (clf.predict(X.iloc[80:]) == y[80:]).mean() > 0.9
    assert clf.predict_proba(X.iloc[80:]).shape == (40, 2) and list(clf.classes_) == ["collision", "friction"]


def test_errors():
    X = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(NotFittedError):
        ErrorClassifier().predict(X)
    with pytest.raises(DataError, match="at least two fault types"):
        ErrorClassifier().fit(X, ["x", "x"])
    with pytest.raises(DataError, match="as many labels"):
        ErrorClassifier().fit(X, ["x"])
    errors, scaled = frames()
    with pytest.raises(DataError, match="outside the 200 rows"):
        segment_features(errors, scaled, [(190, 210)])
    clf = ErrorClassifier().fit(pd.DataFrame({"a": [0.0, 1.0, 0.1, 0.9]}), ["x", "y", "x", "y"])
    with pytest.raises(DataError, match="feature columns differ"):
        clf.predict(pd.DataFrame({"b": [0.5]}))
