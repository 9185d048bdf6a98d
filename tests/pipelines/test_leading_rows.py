"""Gzip CSV, ``%time`` and a log's empty first rows: read whole or in chunks, with the same result."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame
from detector_checks import assert_same_scores, fitted_detector

from anomaly.errors import DataError
from pipelines.batch import iter_scores, score_file
from pipelines.preprocess import LeadingRows, drop_leading_rows, leading_incomplete_rows
from pipelines.sources import LABEL_COLUMNS, read_table, sniff_csv

LEAD = 12  # rows before every channel has a value (spans chunks of 5, 7 and 10 rows)


def write_flight(path, n: int = 80, seed: int = 4, *, lead: int = LEAD, fault_rows: int = 10) -> pd.DataFrame:
    """A gzipped CSV like ALFA's: ``%time`` strings, channels ch0..ch4 (empty at the start, one of
    them until row ``lead``), a trailing gap, and the label column ``field.data`` in the middle
    (> 0 in the last ``fault_rows`` rows). Every seed shares the channels' structure; the noise differs."""
    frame = make_frame(n=n, seed=0).astype(np.float64)
    frame += 0.05 * np.random.default_rng(seed).standard_normal(frame.shape)
    frame.iloc[:3, 0] = np.nan
    frame.iloc[:lead, 3] = np.nan
    frame.iloc[20:24, 2] = np.nan  # a gap after the start: filled, not dropped
    frame.iloc[-2:, 4] = np.nan
    raw = frame.reset_index(names="%time")
    raw["%time"] = raw["%time"].dt.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-3]
    raw.insert(3, "field.data", np.where(np.arange(n) >= n - fault_rows, 1.0, 0.0))
    with gzip.open(path, "wt", newline="") as handle:
        raw.to_csv(handle, index=False)
    return frame


@pytest.fixture
def flight(tmp_path):
    path = tmp_path / "flight.csv.gz"
    return path, write_flight(path)


def test_gzip_csv_with_percent_time_and_a_fault_code_label(flight):
    path, frame = flight
    assert sniff_csv(path).delimiter == ","
    assert "field.data" in LABEL_COLUMNS
    table = read_table(path)  # %time found without being named
    assert list(table.frame.columns) == [f"ch{i}" for i in range(5)]
    assert isinstance(table.frame.index, pd.DatetimeIndex) and table.frame.index.equals(frame.index)
    assert table.labels["field.data"].sum() == 10
    assert table.frame.iloc[:LEAD, 3].isna().all() and table.metadata == {}


def test_drop_leading_drops_and_counts_the_rows_before_every_channel_has_a_value(flight):
    path, frame = flight
    table = read_table(path, timestamp="%time", drop_leading=True)
    assert table.metadata == {"leading_rows_dropped": LEAD}
    assert table.frame.index.equals(frame.index[LEAD:]) and table.labels.index.equals(table.frame.index)
    assert table.frame.iloc[:, 3].notna().all() and table.frame.iloc[8:12, 2].isna().all()  # later gaps stay for the NaN policy


def test_leading_rows_helpers():
    frame = pd.DataFrame({"a": [np.nan, 1, np.nan, 2], "b": [np.nan, np.nan, np.inf, 3.0]})
    assert leading_incomplete_rows(frame) == 3  # inf is no value
    kept, dropped = drop_leading_rows(frame)
    assert dropped == 3 and len(kept) == 1
    never = pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, np.nan]})
    assert leading_incomplete_rows(never) == 2 and drop_leading_rows(never) == (never, 0)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 50])
def test_leading_rows_in_chunks_equal_the_whole_frame(chunk):
    rng = np.random.default_rng(chunk)
    for _ in range(20):
        values = rng.normal(size=(30, 3))
        values[rng.random(values.shape) < 0.4] = np.nan
        frame = pd.DataFrame(values, columns=list("abc"))
        expected, dropped = drop_leading_rows(frame)
        tracker, kept, starts = LeadingRows(), [], []
        for start in range(0, len(frame), chunk):
            part, first = tracker.push(frame.iloc[start : start + chunk], start)
            kept.append(part)
            starts.append(first)
        if leading_incomplete_rows(frame) < len(frame):
            pd.testing.assert_frame_equal(pd.concat(kept), expected)
            assert tracker.dropped == dropped
        else:  # a column never has a value: every row is dropped (the NaN policy reports the column)
            assert tracker.dropped == len(frame)


@pytest.mark.parametrize("name", ["pca", "dense-ae"])
@pytest.mark.parametrize("policy", ["ffill", "interpolate"])
def test_chunked_scoring_drops_the_same_rows_as_the_whole_file(name, policy, flight):
    path, _ = flight
    det = fitted_detector(name, nan_policy=policy)
    table = read_table(path, drop_leading=True)
    expected = det.evaluate_frame(table.frame, source=str(path))
    notes = set()
    for chunk_rows in (5, 7, 10, 1000):
        stats = {}
        parts = list(iter_scores(det, path, chunk_rows=chunk_rows, drop_leading=None, stats=stats))
        got = tuple(pd.concat([p[i] for p in parts]) for i in range(3))
        assert_same_scores(got, expected)
        assert stats["leading_rows_dropped"] == LEAD and "operating envelope" not in stats["outside_envelope"]
        notes.add(stats["outside_envelope"])
    assert len(notes) == 1  # the guard's line (a tiny model's flood note, if any) does not depend on the blocks


def test_without_drop_leading_the_nan_policy_fills_them_backward(flight):
    path, _ = flight
    det = fitted_detector("pca", nan_policy="ffill")
    expected = det.evaluate_frame(read_table(path).frame)
    parts = list(iter_scores(det, path, chunk_rows=7))
    assert len(expected[1]) == 80 and sum(len(p[1]) for p in parts) == 80


def test_score_file_counts_the_dropped_rows_and_keeps_timestamps(flight, tmp_path):
    path, frame = flight
    det = fitted_detector("pca", nan_policy="ffill")
    result = score_file(det, path, tmp_path / "s.csv", chunk_rows=9, drop_leading=None)
    assert (result.rows, result.leading_rows_dropped) == (80 - LEAD, LEAD)
    written = pd.read_csv(tmp_path / "s.csv", parse_dates=["timestamp"])
    assert (written["timestamp"].to_numpy() == frame.index[LEAD:].to_numpy()).all()
    raising = fitted_detector("pca")  # nan_policy raise: None keeps the rows, and they are an error
    with pytest.raises(DataError, match="NaN/inf"):
        list(iter_scores(raising, path, drop_leading=None))


def test_a_channel_without_any_value_is_reported_either_way(tmp_path):
    path = tmp_path / "empty_channel.csv.gz"
    frame = write_flight(path, lead=80)  # ch3 never has a value
    assert frame["ch3"].isna().all()
    det = fitted_detector("pca", nan_policy="ffill")
    with pytest.raises(DataError, match="column 'ch3' has no valid value to fill from"):
        det.evaluate_frame(read_table(path, drop_leading=True).frame, source=str(path))
    with pytest.raises(DataError, match="column 'ch3' has no valid value to fill from"):
        list(iter_scores(det, path, chunk_rows=7, drop_leading=True))


def test_corrupt_gzip_is_one_data_error(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="bad.csv.gz: cannot read"):
        read_table(path)
