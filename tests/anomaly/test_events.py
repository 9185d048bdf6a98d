import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anomaly.errors import ConfigError, DataError
from anomaly.events import Event, event_ranges, events

flag_lists = st.lists(st.booleans(), min_size=1, max_size=60)


# --- event_ranges -------------------------------------------------------------

@pytest.mark.parametrize("flags, expected", [
    ([0, 1, 1, 0, 1], [[1, 2], [4, 4]]),
    ([True, True, True], [[0, 2]]),
    ([1, 0, 0, 1], [[0, 0], [3, 3]]),
    (pd.Series([False, True]), [[1, 1]]),
])
def test_event_ranges_hand_examples(flags, expected):
    ranges = event_ranges(flags)
    assert ranges.dtype == np.intp
    np.testing.assert_array_equal(ranges, expected)


def test_event_ranges_no_events_has_shape_0_by_2():
    assert event_ranges([False, False, False]).shape == (0, 2)


@given(flag_lists)
def test_event_ranges_round_trip(flags):
    ranges = event_ranges(flags)
    rebuilt = np.zeros(len(flags), dtype=bool)
    for start, end in ranges:
        rebuilt[start:end + 1] = True
    np.testing.assert_array_equal(rebuilt, flags)
    # runs are ordered and separated by at least one False row
    assert np.all(ranges[1:, 0] > ranges[:-1, 1] + 1)


@pytest.mark.parametrize("flags, match", [
    ([], r"flags: empty"),
    ([0, 2, 1], r"flags: non-binary value 2 at position 1; expected bool or 0/1"),
    ([1.0, np.nan], r"flags: non-binary value nan at position 1"),
    ([[0, 1], [1, 0]], r"flags: expected a 1-D array, got shape \(2, 2\)"),
    (["a", "b"], r"flags: expected numbers, got dtype <U1"),
    (np.array([None, "x"], dtype=object), r"flags: expected numbers, got non-numeric values"),
])
def test_event_ranges_bad_flags(flags, match):
    with pytest.raises(DataError, match=match):
        event_ranges(flags)


# --- events ------------------------------------------------------------------

@pytest.fixture
def frame():
    index = pd.date_range("2024-01-01", periods=8, freq="s")
    flags = pd.Series([0, 1, 1, 1, 0, 0, 1, 0], index=index).astype(bool)
    errors = pd.DataFrame({
        "joint1": [0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        "joint2": [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0],
        "force": [0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 1.0, 0.0],
    }, index=index)
    return flags, errors


def test_events_hand_example_with_errors(frame):
    flags, errors = frame
    found = events(flags, errors, top_k=2)
    index = flags.index
    # event 1: rows 1..3, sums joint1=4, joint2=1, force=3 (total 8); mean error per row
    # is 2/3, 2/3, 4/3 -> peak at row 3
    # event 2: row 6, sums joint2=3, force=1 (total 4)
    assert found == [
        Event(start=index[1], end=index[3], peak=index[3], score=pytest.approx(4 / 3), length=3,
              channels=("joint1", "force"), shares=(0.5, 0.375)),
        Event(start=index[6], end=index[6], peak=index[6], score=pytest.approx(4 / 3), length=1,
              channels=("joint2", "force"), shares=(0.75, 0.25)),
    ]


def test_events_explicit_scores_choose_peak(frame):
    flags, errors = frame
    scores = pd.Series([0, 5, 9, 1, 0, 0, 2, 0], index=flags.index, dtype=float)
    first = events(flags, errors, scores)[0]
    assert (first.peak, first.score) == (flags.index[2], 9.0)
    assert first.channels == ("joint1", "force", "joint2")  # top_k=3 by default


def test_events_without_errors_or_scores_use_length(frame):
    flags, _ = frame
    found = events(flags)
    assert [(e.start, e.peak, e.score, e.length, e.channels, e.shares) for e in found] == [
        (flags.index[1], flags.index[1], 3.0, 3, (), ()),
        (flags.index[6], flags.index[6], 1.0, 1, (), ()),
    ]


def test_events_scores_without_errors_have_no_channels():
    flags = pd.Series([True, True])
    (event,) = events(flags, scores=pd.Series([1.0, 2.0]))
    assert (event.peak, event.score, event.channels) == (1, 2.0, ())


def test_events_zero_error_gives_zero_shares():
    flags = pd.Series([True, True])
    errors = pd.DataFrame({"a": [0.0, 0.0], "b": [0.0, 0.0]})
    (event,) = events(flags, errors)
    assert event.channels == ("a", "b") and event.shares == (0.0, 0.0)


def test_events_merge_then_min_duration():
    flags = pd.Series([1, 0, 1, 0, 0, 1, 1, 0], dtype=bool)
    spans = lambda found: [(e.start, e.end, e.length) for e in found]  # noqa: E731
    assert spans(events(flags)) == [(0, 0, 1), (2, 2, 1), (5, 6, 2)]
    assert spans(events(flags, merge_gap=1)) == [(0, 2, 3), (5, 6, 2)]
    assert spans(events(flags, merge_gap=2)) == [(0, 6, 7)]
    assert spans(events(flags, min_duration=2)) == [(5, 6, 2)]
    # merging happens before dropping short runs
    assert spans(events(flags, merge_gap=1, min_duration=3)) == [(0, 2, 3)]


def test_events_accepts_array_like_flags_with_range_index():
    assert [(e.start, e.end) for e in events([0, 1, 1])] == [(1, 2)]


def test_events_none_found():
    assert events(pd.Series([False, False])) == []


def test_event_to_dict_is_json_friendly(frame):
    flags, errors = frame
    d = events(flags, errors, top_k=1)[0].to_dict()
    assert d == {"start": "2024-01-01T00:00:01", "end": "2024-01-01T00:00:03",
                 "peak": "2024-01-01T00:00:03", "score": pytest.approx(4 / 3), "length": 3,
                 "channels": ["joint1"], "shares": [0.5]}
    json.dumps(d)
    integer_index = pd.Series([True], index=pd.Index(np.array([7], dtype=np.int64)))
    d = events(integer_index)[0].to_dict()
    assert type(d["start"]) is int and json.dumps(d)


@pytest.mark.parametrize("kwargs, match", [
    ({"min_duration": 0}, r"min_duration=0 is not allowed: must be an integer >= 1"),
    ({"merge_gap": -1}, r"merge_gap=-1 is not allowed: must be an integer >= 0"),
    ({"top_k": 0}, r"top_k=0 is not allowed: must be an integer >= 1"),
    ({"top_k": 2.0}, r"top_k=2.0 is not allowed: must be an integer >= 1"),
])
def test_events_bad_parameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        events(pd.Series([True]), **kwargs)


def test_events_bad_inputs(frame):
    flags, errors = frame
    with pytest.raises(DataError, match=r"errors: index does not match flags' index \(7 vs 8 rows"):
        events(flags, errors.iloc[1:])
    with pytest.raises(DataError, match=r"scores: index does not match flags' index"):
        events(flags, scores=pd.Series(np.ones(8)))
    with pytest.raises(DataError, match=r"scores: expected a pandas Series, got ndarray"):
        events(flags, scores=np.ones(8))
    with pytest.raises(DataError, match=r"scores: 1 NaN/inf value\(s\), first at position 2"):
        events(flags, scores=pd.Series([0, 0, np.inf, 0, 0, 0, 0, 0], index=flags.index))
    with pytest.raises(DataError, match=r"errors: expected a pandas DataFrame, got ndarray"):
        events(flags, errors.to_numpy())
    with pytest.raises(DataError, match=r"errors: no channels \(0 columns\)"):
        events(flags, errors[[]])
    with pytest.raises(DataError, match=r"errors: expected numeric columns"):
        events(flags, errors.assign(force="x"))
    bad = errors.copy()
    bad.iloc[2, 1] = -1.0
    with pytest.raises(DataError, match=r"errors: value -1.0 in column 'joint2' at row "
                                        r"2024-01-01 00:00:02; errors must be finite and >= 0"):
        events(flags, bad)
    bad.iloc[2, 1] = np.nan
    with pytest.raises(DataError, match=r"errors: value nan in column 'joint2'"):
        events(flags, bad)
    with pytest.raises(DataError, match=r"flags: non-binary value 3"):
        events(pd.Series([0, 3]))
