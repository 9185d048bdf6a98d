from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.errors import DataError, SchemaError
from anomaly.schema import Schema, check_frame


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
