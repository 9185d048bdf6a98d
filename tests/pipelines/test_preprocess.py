from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from anomaly.errors import ConfigError, DataError
from anomaly.scaling import Scaler, fill_missing
from pipelines.preprocess import align_topics, find_gaps


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


def topic(name: str, period_ms: float, n: int, *, skip=()) -> pd.DataFrame:
    """Samples every ``period_ms`` from 2026-01-01 whose value is their own sample number."""
    keep = np.setdiff1d(np.arange(n), skip)
    index = pd.DatetimeIndex(pd.Timestamp("2026-01-01") + pd.to_timedelta(keep * period_ms, unit="ms"), name="timestamp")
    return pd.DataFrame({name: keep.astype(float)}, index=index)


def three_rates(skip_joints=()):
    """Joints at 100 Hz (1 s), IMU at 400 Hz (1 s), temperature at 1 Hz (two samples)."""
    return {"joints": topic("j", 10, 100, skip=skip_joints), "imu": topic("g", 2.5, 400), "temp": topic("c", 1000, 2)}


def test_align_topics_at_a_target_rate():
    frame, report = align_topics(three_rates(), 100)
    assert list(frame.columns) == ["j", "g", "c"]
    assert len(frame) == 100 and frame.index[-1] == pd.Timestamp("2026-01-01 00:00:00.99")
    np.testing.assert_array_equal(frame["j"], np.arange(100))
    np.testing.assert_array_equal(frame["g"], 4 * np.arange(100))  # every 4th IMU sample
    np.testing.assert_array_equal(frame["c"], 0.0)  # held within its 1.5 s tolerance
    assert (report.grid_rows, report.rows, report.rows_dropped) == (100, 100, 0)
    imu = report.topics["imu"]
    assert (imu.samples, imu.matched, imu.filled, imu.missing, imu.unused) == (400, 100, 0, 0, 300)
    assert imu.period_s == pytest.approx(0.0025) and imu.tolerance_s == pytest.approx(0.00375)
    json.dumps(report.to_dict())  # output metadata must serialise


def test_align_between_grid_points_takes_the_last_earlier_sample():
    frame, _ = align_topics(three_rates(), 40)  # 25 ms grid: IMU samples 10k, joints 2.5k -> floor
    np.testing.assert_array_equal(frame["g"], 10 * np.arange(40))
    np.testing.assert_array_equal(frame["j"], np.floor(2.5 * np.arange(40)))


def test_default_grid_is_the_fastest_topic():
    frame, report = align_topics(three_rates())
    assert report.reference == "imu" and report.rate_hz is None
    assert len(frame) == 397  # IMU samples from 0 to 0.99 s, where the joints end
    np.testing.assert_array_equal(frame["g"], np.arange(397))


def test_dropped_messages_drop_policy():
    frame, report = align_topics(three_rates(skip_joints=range(50, 60)), 100)
    # joint samples 50..59 are lost: rows at 0.51..0.59 s are older than 15 ms
    assert report.rows_dropped == 9 and len(frame) == 91
    assert not frame.index.isin(pd.date_range("2026-01-01 00:00:00.51", periods=9, freq="10ms")).any()
    joints = report.topics["joints"]
    assert (joints.missing, joints.filled, joints.matched, joints.dropped) == (9, 0, 91, 10)
    assert joints.largest_gap_s == pytest.approx(0.11) and joints.largest_gap_at == "2026-01-01T00:00:00.490000"
    assert report.topics["imu"].missing == 0  # counts are per topic


def test_dropped_messages_ffill_policy():
    frame, report = align_topics(three_rates(skip_joints=range(50, 60)), 100, gap_policy="ffill")
    assert len(frame) == 100
    np.testing.assert_array_equal(frame["j"].iloc[50:60], 49.0)
    assert (report.topics["joints"].filled, report.topics["joints"].missing) == (9, 0)


def test_dropped_messages_error_policy_and_wider_tolerance():
    with pytest.raises(DataError, match=r"topic 'joints' has no sample within 0.015 s of 2026-01-01 00:00:00.510000 \(last one at 2026-01-01 00:00:00.490000\)"):
        align_topics(three_rates(skip_joints=range(50, 60)), 100, gap_policy="error")
    frame, report = align_topics(three_rates(skip_joints=range(50, 60)), 100, tolerance={"joints": 0.2}, gap_policy="error")
    assert len(frame) == 100 and report.topics["joints"].tolerance_s == 0.2


def test_align_topics_bad_input():
    with pytest.raises(ConfigError, match="gap_policy='skip'"):
        align_topics(three_rates(), 100, gap_policy="skip")
    with pytest.raises(ConfigError, match="rate_hz=-1 must be a positive number"):
        align_topics(three_rates(), -1)
    with pytest.raises(ConfigError, match=r"gives 990000001 rows \(limit"):
        align_topics(three_rates(), 1e9)
    with pytest.raises(ConfigError, match=r"tolerance names unknown topic\(s\) \['gps'\]"):
        align_topics(three_rates(), 100, tolerance={"gps": 1.0})
    with pytest.raises(DataError, match="no topics to align"):
        align_topics({}, 100)
    with pytest.raises(DataError, match="'late' starts at"):
        align_topics({"early": topic("a", 10, 5), "late": topic("b", 10, 5).shift(1, freq="1s")}, 100)
    with pytest.raises(DataError, match="topic 'one' has a single sample"):
        align_topics({"one": topic("a", 10, 1), "two": topic("b", 10, 5)}, 100)
    unsorted = topic("a", 10, 5).iloc[::-1]
    with pytest.raises(DataError, match="topic 'u': timestamps are not sorted"):
        align_topics({"u": unsorted}, 100)
