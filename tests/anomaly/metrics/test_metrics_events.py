"""Event metrics and detection delay: hand-worked examples and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anomaly.metrics.events import event_metrics

# Hand-worked 10-row example.
#   row     0 1 2 3 4 5 6 7 8 9
#   y_true  0 1 1 1 0 0 1 1 0 0   true events [1..3], [6..7]
#   y_pred  0 0 1 0 1 0 0 1 1 0   pred events [2], [4], [7..8]
Y_TRUE = [0, 1, 1, 1, 0, 0, 1, 1, 0, 0]
Y_PRED = [0, 0, 1, 0, 1, 0, 0, 1, 1, 0]

pairs = st.integers(1, 50).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)))


def test_event_metrics_hand_example():
    # both true events detected, each 1 row late; pred event [4] overlaps nothing
    assert event_metrics(Y_TRUE, Y_PRED) == {
        "event_precision": pytest.approx(2 / 3), "event_recall": 1.0, "event_f1": pytest.approx(0.8),
        "n_true_events": 2, "n_pred_events": 3, "mean_delay": 1.0,
    }


def test_event_metrics_missed_and_late_events():
    y_true = [1, 1, 1, 0, 0, 1, 1, 1, 1, 0]
    y_pred = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]  # first event missed, second found 3 rows late
    m = event_metrics(y_true, y_pred)
    assert (m["event_precision"], m["event_recall"], m["mean_delay"]) == (1.0, 0.5, 3.0)
    assert m["event_f1"] == pytest.approx(2 / 3)


def test_event_metrics_nothing_detected():
    m = event_metrics([0, 1, 0], [1, 0, 1])
    assert (m["event_precision"], m["event_recall"], m["event_f1"]) == (0.0, 0.0, 0.0)
    assert math.isnan(m["mean_delay"])
    assert (m["n_true_events"], m["n_pred_events"]) == (1, 2)


@given(pairs)
def test_event_metric_properties(pair):
    y_true, y_pred = pair
    events = event_metrics(y_true, y_pred)
    for key in ("event_precision", "event_recall", "event_f1"):
        assert 0.0 <= events[key] <= 1.0
    assert math.isnan(events["mean_delay"]) or events["mean_delay"] >= 0
    perfect = event_metrics(y_true, y_true)
    if any(y_true):
        assert (perfect["event_f1"], perfect["mean_delay"]) == (1.0, 0.0)
