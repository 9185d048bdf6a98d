"""Alert logic: each rule and their combinations by hand, batch == stream == events, bad parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from anomaly.decisions import DEFAULT_RULES, AlertChange, AlertLogic, events
from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds import Percentile

S = [0, 5, 5, 0, 0, 5, 0, 0, 0, 0]
RAW = {"min_duration": 1, "merge_gap": 0, "cooldown": 0}


def raw(enter, **rules):
    """AlertLogic with every run above ``enter`` an alert, unless ``rules`` says otherwise."""
    return AlertLogic(enter, **{**RAW, **rules})


def opened(start, score):
    return AlertChange("opened", start, score=score)


def closed(start, end, peak):
    return AlertChange("closed", start, end=end, peak=peak)


def stream(logic, scores):
    return [logic.push(s) for s in scores]


# -- each rule by hand --------------------------------------------------------
def test_plain_threshold_is_strictly_above_enter():
    assert raw(1).alerts(S) == [(1, 2, 5.0), (5, 5, 5.0)]
    assert raw(5).alerts(S) == []


@pytest.mark.parametrize("min_duration, expected", [(2, [(1, 2, 5.0)]), (3, [])])
def test_min_duration_drops_short_alerts(min_duration, expected):
    assert raw(1, min_duration=min_duration).alerts(S) == expected


def test_min_duration_flags_the_whole_alert_in_batch_and_raises_at_its_step_in_a_stream():
    logic = raw(1, min_duration=2)
    assert logic.apply(np.array(S, float)).tolist() == [False, True, True] + [False] * 7
    assert stream(logic, [0, 5, 5, 5, 0]) == [None, None, opened(1, 5.0), None, closed(1, 3, 5.0)]


@pytest.mark.parametrize("gap, expected", [(2, [(1, 5, 5.0)]), (1, [(1, 2, 5.0), (5, 5, 5.0)])])
def test_merge_gap_joins_alerts_up_to_gap_steps_apart(gap, expected):
    assert raw(1, merge_gap=gap).alerts(S) == expected  # rows 3-4 are a gap of 2


def test_a_severe_step_raises_a_short_alert_at_once():
    logic = raw(1, min_duration=3, severe=8)
    assert logic.alerts([0, 5, 9, 0, 5, 5, 0]) == [(1, 2, 9.0)]  # the 2-step run reaches 9 > 8
    assert stream(logic, [0, 5, 9, 0]) == [None, None, opened(1, 9.0), closed(1, 2, 9.0)]
    assert raw(1, min_duration=3).alerts([0, 5, 9, 0]) == []


def test_a_severe_step_inside_the_cooldown_does_not_count():
    logic = raw(1, min_duration=3, cooldown=3, severe=8)
    # first alert ends at 3; a run over steps 5-7 reaches 9 at step 5 (cooldown) and opens at 7 for one step
    assert logic.alerts([0, 5, 5, 5, 0, 9, 5, 5, 0, 0]) == [(1, 3, 5.0)]
    assert stream(logic, [0, 5, 5, 5, 0, 9, 5, 5, 0, 0])[3] == opened(1, 5.0)


def test_hysteresis_holds_an_alert_above_exit():
    scores = [0, 5, 2, 2, 0, 2, 0]
    assert raw(3, exit=1).alerts(scores) == [(1, 3, 5.0)]  # the later 2 < enter opens nothing
    assert raw(3).alerts(scores) == [(1, 1, 5.0)]


def test_after_a_drop_below_exit_only_a_return_above_enter_continues():
    logic = raw(3, exit=1, merge_gap=2)
    assert logic.alerts([0, 5, 0, 2, 0, 0]) == [(1, 1, 5.0)]  # 2 is in the gap, not a return
    assert logic.alerts([0, 5, 0, 4, 2, 2, 0]) == [(1, 5, 5.0)]  # back above enter, then held above exit


def test_cooldown_counts_from_the_alerts_end():
    scores = [5, 0, 5, 0, 0, 0, 5, 0]
    assert raw(1).alerts(scores) == [(0, 0, 5.0), (2, 2, 5.0), (6, 6, 5.0)]
    assert raw(1, cooldown=3).alerts(scores) == [(0, 0, 5.0), (6, 6, 5.0)]
    assert raw(1, cooldown=5).alerts(scores) == [(0, 0, 5.0), (6, 6, 5.0)]  # steps 1-5 quiet
    assert raw(1, cooldown=6).alerts(scores) == [(0, 0, 5.0)]


def test_an_alert_blocked_by_cooldown_opens_when_the_cooldown_ends():
    assert raw(1, cooldown=2).alerts([5, 0, 5, 5, 5, 0]) == [(0, 0, 5.0), (3, 4, 5.0)]


# -- combinations --------------------------------------------------------------
def test_min_duration_counts_held_steps_not_merged_gaps():
    # steps 1, 2 and 5 are above 1; the merge gap joins them into one span of 5 steps, 3 of them held
    assert raw(1, min_duration=5, merge_gap=2).alerts(S) == []
    assert raw(1, min_duration=3, merge_gap=2).alerts(S) == [(1, 5, 5.0)]
    assert stream(raw(1, min_duration=3, merge_gap=2), S)[5] == opened(1, 5.0)  # raised at the third held step


def test_hysteresis_with_min_duration_raises_on_a_step_below_enter():
    logic = raw(3, exit=1, min_duration=3)
    assert stream(logic, [0, 4, 2, 2, 0]) == [None, None, None, opened(1, 2.0), closed(1, 3, 4.0)]


def test_a_dropped_alert_starts_no_cooldown():
    assert raw(1, min_duration=2, cooldown=5).alerts([5, 0, 5, 5, 0]) == [(2, 3, 5.0)]


@pytest.mark.parametrize("gap, cooldown, expected", [
    (2, 5, [(0, 3, 5.0)]),  # return after 2 steps merges; the one at 8 falls in the cooldown after end 3
    (1, 5, [(0, 0, 5.0), (8, 8, 5.0)]),  # too late to merge, too early to open; 8 > 0 + 5 opens
    (5, 1, [(0, 8, 5.0)]),  # a return within the merge gap is the same alert, whatever the cooldown
    (0, 0, [(0, 0, 5.0), (3, 3, 5.0), (8, 8, 5.0)]),
])
def test_merge_gap_versus_cooldown(gap, cooldown, expected):
    assert raw(1, merge_gap=gap, cooldown=cooldown).alerts([5, 0, 0, 5, 0, 0, 0, 0, 5, 0]) == expected


def test_stream_learns_of_the_end_after_the_merge_gap():
    logic = raw(1, merge_gap=2)
    assert stream(logic, [5, 0, 0, 0]) == [opened(0, 5.0), None, None, closed(0, 0, 5.0)]


def test_finish_closes_a_raised_alert_and_drops_an_unraised_one():
    logic = raw(1)
    stream(logic, [0, 5, 5])
    assert logic.finish() == closed(1, 2, 5.0)
    logic = raw(1, min_duration=3)
    stream(logic, [5, 5])
    assert logic.finish() is None


def test_reset_restarts_the_stream_at_step_zero():
    logic = raw(1)
    stream(logic, [0, 0, 5])
    assert logic.reset().push(5) == opened(0, 5.0)


def test_batch_leaves_a_running_stream_alone():
    logic = raw(1)
    assert logic.push(5) == opened(0, 5.0)
    assert logic.alerts([0, 5, 0]) == [(1, 1, 5.0)]
    assert stream(logic, [5, 0]) == [None, closed(0, 1, 5.0)]


def test_apply_keeps_a_series_index():
    scores = pd.Series([0.0, 5.0, 0.0], index=pd.date_range("2026-01-01", periods=3, freq="s"))
    flags = raw(1).apply(scores)
    assert isinstance(flags, pd.Series) and flags.index.equals(scores.index) and flags.tolist() == [False, True, False]


# -- batch == stream, and against events() ---------------------------------------
SCORES = st.lists(st.floats(0, 10), min_size=1, max_size=60)


SEVERE = st.sampled_from([None, 7.0, 9.5])


@settings(max_examples=300, deadline=None)
@given(scores=SCORES, gap=st.integers(0, 3), dur=st.integers(1, 4), cool=st.integers(0, 6), ratio=st.floats(0.3, 1.0),
       severe=SEVERE)
def test_batch_equals_stream(scores, gap, dur, cool, ratio, severe):
    """The batch path (the runs code) against the stream state machine: two implementations."""
    logic = AlertLogic(5.0, exit=5.0 * ratio, min_duration=dur, merge_gap=gap, cooldown=cool, severe=severe)
    changes = [c for c in stream(logic, scores) + [logic.finish()] if c is not None]
    found = logic.alerts(scores)
    assert found == [(c.start, c.end, c.peak) for c in changes if c.kind == "closed"]
    assert [c.start for c in changes if c.kind == "opened"] == [start for start, _, _ in found]
    for (start, end, peak), nxt in zip(found, found[1:] + [None]):
        assert end - start + 1 >= dur or (severe is not None and peak > severe)
        assert scores[start] > 5.0 and scores[end] > 5.0 * ratio
        assert peak == max(scores[start : end + 1])
        if nxt is not None:
            assert nxt[0] - end - 1 > gap and nxt[0] > end + cool


@settings(max_examples=200, deadline=None)
@given(scores=SCORES, gap=st.integers(0, 3), dur=st.integers(1, 4), cool=st.integers(0, 6), ratio=st.floats(0.3, 1.0),
       severe=SEVERE)
def test_alerts_are_the_batch_events_of_the_same_rules(scores, gap, dur, cool, ratio, severe):
    series = pd.Series(scores)
    rules = {"min_duration": dur, "merge_gap": gap, "cooldown": cool}
    found = events(series > 5.0, scores=series, threshold=5.0, exit_ratio=ratio,
                   severe_ratio=None if severe is None else severe / 5.0, **rules)
    logic = AlertLogic(5.0, exit=5.0 * ratio, severe=severe, **rules)
    assert logic.alerts(scores) == [(e.start, e.end, e.score) for e in found]
    if ratio == 1.0 and severe is None:  # no hysteresis: the flags alone decide
        assert [(e.start, e.end) for e in events(series > 5.0, **rules)] == [(e.start, e.end) for e in found]


@pytest.mark.parametrize("seed", range(6))
def test_batch_equals_stream_on_long_random_series(seed):
    """Bursts and hovering noise long enough for the default rules (rows in the hundreds)."""
    rng = np.random.default_rng(seed)
    scores = rng.gamma(2.0, size=20_000)
    for start in rng.integers(0, 19_500, size=40):
        scores[start : start + rng.integers(1, 300)] += rng.uniform(0.5, 6.0)
    logic = AlertLogic(8.0, exit=6.0, min_duration=int(rng.integers(1, 40)), merge_gap=int(rng.integers(0, 150)),
                       cooldown=int(rng.integers(0, 600)), severe=[None, 11.0][seed % 2])
    changes = [c for c in stream(logic, scores.tolist()) + [logic.finish()] if c is not None]
    assert logic.alerts(scores) == [(c.start, c.end, c.peak) for c in changes if c.kind == "closed"]
    expected = np.zeros(len(scores), dtype=bool)
    for c in changes:
        if c.kind == "closed":
            expected[c.start : c.end + 1] = True
    np.testing.assert_array_equal(logic.apply(scores), expected)


# -- thresholds, parameters, input ---------------------------------------------
def test_from_threshold_exits_at_a_ratio_of_the_fitted_threshold():
    threshold = Percentile(90).fit(np.arange(100.0))
    logic = AlertLogic.from_threshold(threshold, min_duration=3)
    assert logic.enter == pytest.approx(89.1) and logic.exit == pytest.approx(0.8 * 89.1) and logic.min_duration == 3
    assert AlertLogic.from_threshold(threshold, exit_ratio=1.0).exit == logic.enter
    with pytest.raises(NotFittedError):
        AlertLogic.from_threshold(Percentile(90))
    with pytest.raises(ConfigError, match="exit_ratio"):
        AlertLogic.from_threshold(threshold, exit_ratio=1.5)


def test_at_level_is_from_threshold_for_a_plain_number():
    threshold = Percentile(90).fit(np.arange(100.0))
    assert AlertLogic.at_level(threshold.threshold_).get_params() == AlertLogic.from_threshold(threshold).get_params()
    at_zero = AlertLogic.at_level(0.0, min_duration=3)
    assert (at_zero.exit, at_zero.severe, at_zero.min_duration) == (None, None, 3)  # no ratio below a level <= 0


def test_default_rules_and_scikit_learn_parameters():
    logic = AlertLogic(2.0, exit=1.0, cooldown=4)
    assert clone(logic).get_params() == {"enter": 2.0, "exit": 1.0, "min_duration": DEFAULT_RULES.min_duration,
                                         "merge_gap": DEFAULT_RULES.merge_gap, "cooldown": 4, "severe": None}
    threshold = Percentile(90).fit(np.arange(100.0))
    default = AlertLogic.from_threshold(threshold)
    assert (default.min_duration, default.merge_gap, default.cooldown) == (25, 100, 500)
    assert default.exit == pytest.approx(DEFAULT_RULES.exit_ratio * default.enter)
    assert default.severe == pytest.approx(DEFAULT_RULES.severe_ratio * default.enter)
    assert AlertLogic.from_threshold(threshold, severe_ratio=None).severe is None


@pytest.mark.parametrize("params, message", [
    ({"enter": 1, "exit": 2}, "must be <= enter"),
    ({"enter": 1, "severe": 0.5}, "must be >= enter"),
    ({"enter": float("nan")}, "enter=nan"),
    ({"enter": "1"}, "enter='1'"),
    ({"enter": 1, "exit": float("-inf")}, "exit=-inf"),
    ({"enter": 1, "min_duration": 0}, "min_duration=0"),
    ({"enter": 1, "merge_gap": 1.5}, "merge_gap=1.5"),
    ({"enter": 1, "cooldown": -1}, "cooldown=-1"),
])
def test_bad_params_raise_config_error(params, message):
    logic = AlertLogic(**params)  # the constructor only stores
    with pytest.raises(ConfigError, match=message):
        logic.alerts([0.0])
    with pytest.raises(ConfigError, match=message):
        logic.push(0.0)


def test_bad_scores_raise_data_error():
    with pytest.raises(DataError, match="NaN"):
        AlertLogic(1).alerts([0.0, float("nan")])
    with pytest.raises(DataError, match="finite"):
        AlertLogic(1).push(float("inf"))


def test_a_million_scores_are_decided_without_the_per_score_state_machine(monkeypatch):
    """Batch decisions run on whole arrays (the runs code), never score by score in Python."""
    def per_score(*args, **kwargs):
        raise AssertionError("the batch path stepped through scores one by one")

    monkeypatch.setattr(AlertLogic, "push", per_score)
    monkeypatch.setattr(AlertLogic, "_step", per_score)
    scores = np.random.default_rng(0).random(1_000_000)
    flags = AlertLogic(0.6, exit=0.5, min_duration=3, merge_gap=2, cooldown=5).apply(scores)
    assert flags.shape == scores.shape and 0 < flags.mean() < 1
