"""Label columns and events files as one label per row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.errors import ConfigError, DataError
from pipelines.labels import column_labels, event_labels, fill_unlabelled, is_events_file, read_events

INDEX = pd.date_range("2026-05-01", periods=10, freq="1s", name="timestamp")


def events_file(tmp_path, text: str):
    path = tmp_path / "events.csv"
    path.write_text(text)
    return path


def test_columns_of_numbers_booleans_and_text():
    assert list(column_labels(pd.Series([0, 1, 3, np.nan]))) == ["normal", "fault", "fault", None]
    assert list(column_labels(pd.Series([True, False]))) == ["fault", "normal"]
    text = pd.Series(["", "ok", "False_Alarm", "bearing", " 1 ", None, "normal"])
    assert list(column_labels(text)) == [None, "normal", "normal", "bearing", "fault", None, "normal"]


def test_events_label_the_rows_they_cover_inclusive_and_later_events_win(tmp_path):
    path = events_file(tmp_path, "start,end,label,note\n"
                                 "2026-05-01T00:00:02,2026-05-01T00:00:04,bearing,x\n"
                                 "2026-05-01T00:00:04,2026-05-01T00:00:05, false_alarm ,y\n")
    labels = event_labels(INDEX, read_events(path))
    assert list(labels) == [None, None, "bearing", "bearing", "normal", "normal", None, None, None, None]


def test_numeric_indexes_take_numeric_times(tmp_path):
    path = events_file(tmp_path, "start,end,label\n2.5,4,stop\n")
    assert list(event_labels(pd.Index(np.arange(6.0)), read_events(path))) == [None, None, None, "stop", "stop", None]


@pytest.mark.parametrize("text, message", [
    ("", "empty events file"),
    ("begin,stop\n1,2\n", "needs columns start,end,label"),
    ("start,end,label\n", "lists no event"),
    ("start,end,label\n2026-05-01T00:00:01,2026-05-01T00:00:02,\n", "empty label"),
])
def test_bad_events_files(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_events(events_file(tmp_path, text))


@pytest.mark.parametrize("row, message", [
    ("soon,2026-05-01T00:00:02,x", "event 1 has start 'soon'"),
    ("2026-05-01T00:00:05,2026-05-01T00:00:02,x", "event 1 ends"),
])
def test_bad_event_times(tmp_path, row, message):
    events = read_events(events_file(tmp_path, f"start,end,label\n{row}\n"))
    with pytest.raises(DataError, match=message):
        event_labels(INDEX, events)


def test_missing_events_file_and_label_spec(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_events(tmp_path / "nope.csv")
    assert is_events_file("x/reviewed.csv") and not is_events_file("protective_stop")


def test_unlabelled_policy():
    labels = np.array([None, "normal", "bearing"], dtype=object)
    assert list(fill_unlabelled(labels, "normal")) == ["normal", "normal", "bearing"]
    assert list(fill_unlabelled(labels, "ignore")) == [None, "normal", "bearing"]
    with pytest.raises(ConfigError, match="--unlabelled"):
        fill_unlabelled(labels, "skip")
