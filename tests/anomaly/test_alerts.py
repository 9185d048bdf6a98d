"""Alert logic: each rule by hand, and batch == stream."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly.alerts import AlertChange, AlertLogic
from anomaly.errors import ConfigError
from anomaly.thresholds import Percentile

S = [0, 5, 5, 0, 0, 5, 0, 0, 0, 0]


def test_plain_threshold():
    assert AlertLogic(1).alerts(S) == [(1, 2, 5.0), (5, 5, 5.0)]


def test_min_duration_drops_short_alerts_and_flags_whole_long_ones():
    logic = AlertLogic(1, min_duration=2)
    assert logic.alerts(S) == [(1, 2, 5.0)]
    assert logic.apply(np.array(S, float)).tolist() == [False, True, True] + [False] * 7


def test_merge_gap_joins_alerts():
    assert AlertLogic(1, merge_gap=2).alerts(S) == [(1, 5, 5.0)]
    assert AlertLogic(1, merge_gap=1).alerts(S) == [(1, 2, 5.0), (5, 5, 5.0)]


def test_hysteresis_keeps_an_alert_open_above_exit():
    scores = [0, 5, 2, 2, 0, 2, 0]
    assert AlertLogic(3, exit=1).alerts(scores) == [(1, 3, 5.0)]  # 2 > exit keeps it; the later 2 < enter opens nothing
    assert AlertLogic(3).alerts(scores) == [(1, 1, 5.0)]


def test_after_a_drop_only_a_return_above_enter_continues_the_alert():
    assert AlertLogic(3, exit=1, merge_gap=2).alerts([0, 5, 0, 2, 0, 0]) == [(1, 1, 5.0)]
    assert AlertLogic(3, exit=1, merge_gap=2).alerts([0, 5, 0, 4, 0, 0]) == [(1, 3, 5.0)]


def test_cooldown_blocks_new_alerts():
    scores = [5, 0, 5, 0, 0, 0, 5, 0]
    assert AlertLogic(1, cooldown=3).alerts(scores) == [(0, 0, 5.0), (6, 6, 5.0)]
    assert AlertLogic(1).alerts(scores) == [(0, 0, 5.0), (2, 2, 5.0), (6, 6, 5.0)]


def test_stream_reports_open_at_min_duration_and_close():
    logic = AlertLogic(1, min_duration=2).reset()
    changes = [logic.push(s) for s in [0, 5, 5, 5, 0]]
    assert changes == [None, None, AlertChange("opened", 1, peak=5.0), None, AlertChange("closed", 1, 3, 5.0)]


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(st.floats(0, 10), min_size=1, max_size=80), gap=st.integers(0, 3), dur=st.integers(1, 4),
       cool=st.integers(0, 3), ratio=st.floats(0.3, 1.0))
def test_batch_equals_stream(scores, gap, dur, cool, ratio):
    logic = AlertLogic(5.0, exit=5.0 * ratio, min_duration=dur, merge_gap=gap, cooldown=cool)
    streamed = logic.reset()
    closed = [c for c in map(streamed.push, scores) if c is not None and c.kind == "closed"]
    tail = streamed.finish()
    assert logic.alerts(scores) == [(c.start, c.end, c.peak) for c in closed + ([tail] if tail else [])]
    for start, end, peak in logic.alerts(scores):
        assert end - start + 1 >= dur and scores[start] > 5.0 and peak == max(scores[start : end + 1])


def test_from_threshold():
    threshold = Percentile(90).fit(np.arange(100.0))
    logic = AlertLogic.from_threshold(threshold, exit_ratio=0.5, min_duration=3)
    assert logic.enter == pytest.approx(89.1) and logic.exit == pytest.approx(44.55) and logic.min_duration == 3


@pytest.mark.parametrize("params, message", [
    ({"enter": 1, "exit": 2}, "exit <= enter"),
    ({"enter": float("nan")}, "must be finite"),
    ({"enter": 1, "min_duration": 0}, "min_duration=0"),
    ({"enter": 1, "cooldown": -1}, "cooldown=-1"),
    ({"enter": 1, "merge_gap": 1.5}, "merge_gap=1.5"),
])
def test_bad_params(params, message):
    with pytest.raises(ConfigError, match=message):
        AlertLogic(**params).alerts([0.0])


def test_a_million_scores_in_seconds():
    scores = np.random.default_rng(0).random(1_000_000)
    start = time.perf_counter()
    AlertLogic(0.999, exit=0.99, min_duration=2, merge_gap=5, cooldown=10).apply(scores)
    assert time.perf_counter() - start < 10
