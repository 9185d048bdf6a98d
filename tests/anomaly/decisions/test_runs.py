"""Runs of flags and the decision steps built on them (the one implementation of the rules)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anomaly.decisions.runs import (
    decide_runs,
    drop_short,
    event_ranges,
    hysteresis,
    merge_runs,
    runs_to_flags,
)
from anomaly.errors import DataError

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


# --- the steps ------------------------------------------------------------------

def test_merge_runs_and_drop_short_by_hand():
    ranges = np.array([[0, 0], [2, 2], [5, 6]])
    np.testing.assert_array_equal(merge_runs(ranges, 0), ranges)
    np.testing.assert_array_equal(merge_runs(ranges, 1), [[0, 2], [5, 6]])
    np.testing.assert_array_equal(merge_runs(ranges, 2), [[0, 6]])
    np.testing.assert_array_equal(drop_short(ranges, 2), [[5, 6]])
    assert merge_runs(np.empty((0, 2)), 3).shape == (0, 2) and drop_short(np.empty((0, 2)), 3).shape == (0, 2)


@given(flag_lists)
def test_runs_to_flags_inverts_event_ranges(flags):
    np.testing.assert_array_equal(runs_to_flags(event_ranges(flags), len(flags)), flags)


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_hysteresis_matches_its_recursion(pairs):
    enter, hold = (np.array(x, dtype=bool) for x in zip(*pairs))
    expected, previous = [], False
    for e, h in zip(enter, hold):
        previous = bool(e or (previous and h))
        expected.append(previous)
    np.testing.assert_array_equal(hysteresis(enter, hold), expected)


def test_decide_runs_by_hand():
    enter = np.array([1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0], dtype=bool)
    hold = np.array([1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0], dtype=bool)
    assert decide_runs(enter).tolist() == [[0, 1], [3, 3], [7, 9]]
    assert decide_runs(enter, hold).tolist() == [[0, 4], [7, 10]]  # holds over rows 2 and 4, 10
    assert decide_runs(enter, merge_gap=1).tolist() == [[0, 3], [7, 9]]
    # the minimum duration counts held rows, not merged gaps: rows 0, 1, 3 are 3 of the span 0..3
    assert decide_runs(enter, merge_gap=1, min_duration=4).tolist() == []
    assert decide_runs(enter, merge_gap=1, min_duration=3).tolist() == [[0, 3], [7, 9]]
    assert decide_runs(enter, hold, merge_gap=1, min_duration=5).tolist() == [[0, 4]]  # 5 held rows
    # cooldown after the event ending at 1: rows 2..7 are quiet; the run 7..9 opens at its first enter after it
    assert decide_runs(enter, cooldown=6).tolist() == [[0, 1], [8, 9]]
    assert decide_runs(enter, cooldown=8).tolist() == [[0, 1]]
    # a dropped event starts no cooldown
    assert decide_runs(enter, min_duration=2, cooldown=6).tolist() == [[0, 1], [8, 9]]
    assert decide_runs(enter, min_duration=3, cooldown=6).tolist() == [[7, 9]]


def test_decide_runs_bad_input():
    with pytest.raises(DataError, match=r"length mismatch: enter has 2 rows, hold has 3 rows"):
        decide_runs([True, False], [True, True, False])
    with pytest.raises(DataError, match=r"hold: non-binary value 2"):
        decide_runs([True, False], [1, 2])
    assert decide_runs(pd.Series([False, True])).tolist() == [[1, 1]]
