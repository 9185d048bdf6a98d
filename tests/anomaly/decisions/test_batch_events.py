"""Batch events: grouping, the decision rules, peak score and channel attribution."""

import json

import numpy as np
import pandas as pd
import pytest

from anomaly.decisions import DEFAULT_RULES, Event, events
from anomaly.errors import ConfigError, DataError

RAW = {"min_duration": 1, "merge_gap": 0, "cooldown": 0}


def grouped(*args, **rules):
    """``events`` with every flagged run an event, unless ``rules`` says otherwise."""
    return events(*args, **{**RAW, **rules})


# --- grouping and attribution ------------------------------------------------------------------

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
    found = grouped(flags, errors, top_k=2)
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
    first = grouped(flags, errors, scores)[0]
    assert (first.peak, first.score) == (flags.index[2], 9.0)
    assert first.channels == ("joint1", "force", "joint2")  # top_k=3 by default


def test_events_without_errors_or_scores_use_length(frame):
    flags, _ = frame
    found = grouped(flags)
    assert [(e.start, e.peak, e.score, e.length, e.channels, e.shares) for e in found] == [
        (flags.index[1], flags.index[1], 3.0, 3, (), ()),
        (flags.index[6], flags.index[6], 1.0, 1, (), ()),
    ]


def test_events_scores_without_errors_have_no_channels():
    flags = pd.Series([True, True])
    (event,) = grouped(flags, scores=pd.Series([1.0, 2.0]))
    assert (event.peak, event.score, event.channels) == (1, 2.0, ())


def test_events_zero_error_gives_zero_shares():
    flags = pd.Series([True, True])
    errors = pd.DataFrame({"a": [0.0, 0.0], "b": [0.0, 0.0]})
    (event,) = grouped(flags, errors)
    assert event.channels == ("a", "b") and event.shares == (0.0, 0.0)


def test_events_merge_then_min_duration():
    flags = pd.Series([1, 0, 1, 0, 0, 1, 1, 0], dtype=bool)
    def spans(found):
        return [(e.start, e.end, e.length) for e in found]
    assert spans(grouped(flags)) == [(0, 0, 1), (2, 2, 1), (5, 6, 2)]
    assert spans(grouped(flags, merge_gap=1)) == [(0, 2, 3), (5, 6, 2)]
    assert spans(grouped(flags, merge_gap=2)) == [(0, 6, 7)]
    assert spans(grouped(flags, min_duration=2)) == [(5, 6, 2)]
    # merging happens before dropping short runs, and the minimum counts flagged rows, not gaps
    assert spans(grouped(flags, merge_gap=1, min_duration=2)) == [(0, 2, 3), (5, 6, 2)]
    assert spans(grouped(flags, merge_gap=1, min_duration=3)) == []
    assert spans(grouped(flags, merge_gap=2, min_duration=4)) == [(0, 6, 7)]  # 4 flagged rows in 0..6


def test_events_accepts_array_like_flags_with_range_index():
    assert [(e.start, e.end) for e in grouped([0, 1, 1])] == [(1, 2)]


def test_events_none_found():
    assert events(pd.Series([False, False])) == []


def test_event_to_dict_is_json_friendly(frame):
    flags, errors = frame
    d = grouped(flags, errors, top_k=1)[0].to_dict()
    assert d == {"start": "2024-01-01T00:00:01", "end": "2024-01-01T00:00:03",
                 "peak": "2024-01-01T00:00:03", "score": pytest.approx(4 / 3), "length": 3,
                 "channels": ["joint1"], "shares": [0.5]}
    json.dumps(d)
    integer_index = pd.Series([True], index=pd.Index(np.array([7], dtype=np.int64)))
    d = grouped(integer_index)[0].to_dict()
    assert type(d["start"]) is int and json.dumps(d)


@pytest.mark.parametrize("kwargs, match", [
    ({"min_duration": 0}, r"min_duration=0 is not allowed: must be an integer >= 1"),
    ({"merge_gap": -1}, r"merge_gap=-1 is not allowed: must be an integer >= 0"),
    ({"cooldown": 2.5}, r"cooldown=2.5 is not allowed: must be an integer >= 0"),
    ({"exit_ratio": 0}, r"exit_ratio=0 is not allowed: must be a finite number in \(0.0, 1.0\]"),
    ({"threshold": float("nan"), "scores": pd.Series([1.0])}, r"threshold=nan is not allowed"),
    ({"threshold": 1.0}, r"threshold needs scores"),
    ({"threshold": -1.0, "scores": pd.Series([1.0])}, r"puts the exit level above the threshold"),
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


# --- the decision rules ------------------------------------------------------------

def test_default_rules_are_the_shared_defaults():
    flags = pd.Series(np.zeros(2000, dtype=bool))
    flags[100:110] = True  # 10 rows: shorter than min_duration 25
    flags[300:330] = True  # 30 rows ...
    flags[400:420] = True  # ... 69 rows later: merged, 120 rows in all
    flags[600:700] = True  # starts 180 rows after that end: inside the 500-row cooldown, dropped
    flags[1000:1040] = True  # after the cooldown
    assert DEFAULT_RULES.min_duration == 25 and DEFAULT_RULES.merge_gap == 100 and DEFAULT_RULES.cooldown == 500
    assert [(e.start, e.end) for e in events(flags)] == [(300, 419), (1000, 1039)]
    assert len(grouped(flags)) == 5


def test_a_run_reaching_out_of_the_cooldown_starts_after_it():
    flags = pd.Series(np.zeros(40, dtype=bool))
    flags[0:3] = True
    flags[8:20] = True
    assert [(e.start, e.end) for e in grouped(flags, cooldown=10)] == [(0, 2), (13, 19)]  # rows 3..12 quiet


def test_hysteresis_needs_the_threshold_and_holds_above_the_exit_level():
    scores = pd.Series([0.0, 5.0, 4.5, 4.2, 3.0, 0.0, 6.0, 0.0])
    flags = scores > 5.0 - 1e-9  # rows 1 and 6
    assert [(e.start, e.end) for e in grouped(flags, scores=scores)] == [(1, 1), (6, 6)]
    held = grouped(flags, scores=scores, threshold=5.0 - 1e-9, exit_ratio=0.8)  # holds above 4.0
    assert [(e.start, e.end, e.length, e.score) for e in held] == [(1, 3, 3, 5.0), (6, 6, 1, 6.0)]
    assert [(e.start, e.end) for e in grouped(flags, scores=scores, threshold=5.0, exit_ratio=1.0)] == [(1, 1), (6, 6)]

