from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.errors import DataError, SchemaError
from anomaly.schema import Schema, check_frame, ns_per_unit, sampling_rate, time_ns


def frame(n=5, **cols):
    index = pd.date_range("2026-01-01", periods=n, freq="1s", name="timestamp")
    return pd.DataFrame(cols or {"a": np.arange(n, dtype=float), "b": np.ones(n)}, index=index)


def test_valid_frame_returns_float32():
    values = check_frame(frame())
    assert values.dtype == np.float32 and values.shape == (5, 2)


@pytest.mark.parametrize(
    "bad, message",
    [
        (pd.DataFrame(), "no channel columns"),
        (pd.DataFrame({"a": []}), "no rows"),
        (frame(a=[1.0, 2.0, "x", "y", 5.0]), r"column 'a' has 2 non-numeric values \(first at row 2 \(2026-01-01 00:00:02\)\)"),
        (frame(a=[1.0, np.nan, 2.0, 3.0, 4.0]), r"column 'a' has 1 NaN/inf values \(first NaN at row 1"),
        (frame(a=[1.0, 2.0, np.inf, 3.0, 4.0]), r"column 'a' has 1 NaN/inf values \(first infinite at row 2"),
        (frame().iloc[[0, 1, 1, 2]], r"duplicate timestamp 2026-01-01 00:00:01 at row 2"),
        (frame().iloc[[0, 2, 1, 3]], r"timestamps are not sorted: 2026-01-01 00:00:01 at row 2"),
        (pd.DataFrame({"a": [1.0, 2.0]}, index=[3, 3]), "duplicate timestamp 3 at row 1"),
    ],
)
def test_bad_frames_raise_one_line_data_error(bad, message):
    with pytest.raises(DataError, match=message) as info:
        check_frame(bad, source="run.csv")
    assert str(info.value).startswith("run.csv: ") and "\n" not in str(info.value)


def test_a_time_that_restarts_says_several_runs_may_share_the_file():
    runs = pd.concat([frame(), frame()])  # two runs, each from its own clock's start
    with pytest.raises(DataError, match=r"comes after 2026-01-01 00:00:04; the time restarts \(several runs in one file\?\)"):
        check_frame(runs, source="runs.csv")
    with pytest.raises(DataError) as info:  # a time that goes back, but not to the start: no such hint
        check_frame(frame().iloc[[0, 2, 1, 3]], source="run.csv")
    assert "restarts" not in str(info.value)


def test_schema_aligns_by_name_and_names_offenders():
    schema = Schema.from_frame(frame())
    assert schema.sampling_rate == pytest.approx(1.0)
    reordered = frame()[["b", "a"]]
    assert list(schema.align(reordered).columns) == ["a", "b"]
    with pytest.raises(SchemaError, match=r"missing channels \['b'\] and unexpected channels \['c'\]"):
        schema.align(frame().rename(columns={"b": "c"}))
    assert Schema.from_dict(schema.to_dict()) == schema


def test_time_zone_aware_timestamps_are_checked_like_naive_ones():
    aware = frame().tz_localize("UTC")
    assert check_frame(aware).shape == (5, 2)
    with pytest.raises(DataError, match="timestamps are not sorted"):
        check_frame(aware.iloc[[0, 2, 1, 3]])
    with pytest.raises(DataError, match="duplicate timestamp"):
        check_frame(aware.iloc[[0, 1, 1, 2]])


EPOCH = pd.Timestamp("2026-01-01 08:00:00")
STEPS = np.arange(5) * 10_000_000  # 100 Hz, in ns


@pytest.mark.parametrize("index", [
    pd.DatetimeIndex(EPOCH.value + STEPS),
    pd.Index((EPOCH.value + STEPS) / 1e9, name="time"),  # epoch seconds, float
    pd.Index((EPOCH.value + STEPS) // 1_000_000),  # epoch milliseconds, integers
    pd.Index((EPOCH.value + STEPS) // 1_000),  # epoch microseconds
    pd.Index(EPOCH.value + STEPS, name="%time"),  # epoch nanoseconds, as rostopic writes them
    pd.Index(STEPS / 1e9 + 12.5),  # seconds since the start, with a fraction
])
def test_numbers_that_are_times_have_a_rate(index):
    assert sampling_rate(index) == pytest.approx(100.0, rel=1e-4)
    assert np.diff(time_ns(index)) == pytest.approx(np.full(4, 1e7), rel=1e-4)


@pytest.mark.parametrize("index", [pd.RangeIndex(5), pd.Index([3, 4, 5, 6, 7]), pd.Index([0.0, 1.0, 2.0, 3.0, 4.0]),
                                   pd.Index(["a", "b", "c", "d", "e"])])
def test_step_numbers_and_text_are_no_times(index):
    assert time_ns(index) is None and sampling_rate(index) is None


def test_units_by_size():
    assert [ns_per_unit([v]) for v in (1.7e9, 1.7e12, 1.7e15, 1.7e18, 0.5, 7)] == [10**9, 10**6, 10**3, 1, 10**9, None]
    assert ns_per_unit([np.nan, 1.7e9]) is None and ns_per_unit([]) is None
