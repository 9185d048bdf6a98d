from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.errors import ConfigError, DataError
from pipelines.preprocess import Scaler, fill_missing, find_gaps


@pytest.mark.parametrize("method", ["standard", "robust", "minmax", "none"])
def test_scaler_round_trips_through_dict(method):
    x = np.random.default_rng(0).normal(5, 2, size=(200, 3)).astype(np.float32)
    scaler = Scaler(method).fit(x)
    again = Scaler.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(again.transform(x), scaler.transform(x))


def test_standard_scaling_and_constant_channel():
    x = np.c_[np.arange(10.0), np.full(10, 7.0)]
    z = Scaler("standard").fit(x).transform(x)
    assert z[:, 0].mean() == pytest.approx(0, abs=1e-6) and z[:, 0].std() == pytest.approx(1, rel=1e-5)
    np.testing.assert_array_equal(z[:, 1], 0.0)  # centred, not divided by zero


def test_unknown_scaling():
    with pytest.raises(ConfigError, match="scaling='zscore'"):
        Scaler("zscore").fit(np.ones((3, 1)))


def test_fill_missing_policies():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.inf]})
    assert fill_missing(frame, "raise") is frame
    assert fill_missing(frame, "ffill")["a"].tolist() == [1.0, 1.0, 3.0, 3.0]
    assert fill_missing(frame, "interpolate")["a"].tolist() == [1.0, 2.0, 3.0, 3.0]
    with pytest.raises(DataError, match="column 'b' has no valid value"):
        fill_missing(pd.DataFrame({"b": [np.nan, np.nan]}), "ffill")
    with pytest.raises(ConfigError, match="nan_policy='zero'"):
        fill_missing(frame, "zero")


def test_find_gaps():
    index = pd.DatetimeIndex(["2026-01-01 00:00:00", "2026-01-01 00:00:01", "2026-01-01 00:00:02", "2026-01-01 00:01:00", "2026-01-01 00:01:01"])
    assert find_gaps(index) == [(index[2], index[3])]
