import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anomaly.errors import ConfigError, DataError
from anomaly.metrics import (
    auc_pr, auc_roc, baselines, evaluate, event_metrics, metric_table, point_metrics,
)

# Hand-worked 10-row example.
#   row     0 1 2 3 4 5 6 7 8 9
#   y_true  0 1 1 1 0 0 1 1 0 0   true events [1..3], [6..7]
#   y_pred  0 0 1 0 1 0 0 1 1 0   pred events [2], [4], [7..8]
#           tn fn tp fn fp tn fn tp fp tn  -> tp=2 fp=2 fn=3 tn=3
Y_TRUE = [0, 1, 1, 1, 0, 0, 1, 1, 0, 0]
Y_PRED = [0, 0, 1, 0, 1, 0, 0, 1, 1, 0]
SCORES = np.arange(10.0)

pairs = st.integers(1, 50).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)))


def test_point_metrics_hand_example():
    assert point_metrics(Y_TRUE, Y_PRED) == {
        "precision": 0.5, "recall": 0.4, "f1": pytest.approx(4 / 9),
        "far": 0.4, "mar": 0.6, "tp": 2, "fp": 2, "fn": 3, "tn": 3,
    }


def test_point_metrics_zero_denominators_are_zero():
    assert point_metrics([0, 0], [False, False]) == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "far": 0.0, "mar": 0.0,
        "tp": 0, "fp": 0, "fn": 0, "tn": 2,
    }


def test_point_metrics_accepts_series_and_bools():
    m = point_metrics(pd.Series(Y_TRUE, dtype=bool), pd.Series(Y_PRED, dtype=float))
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 2, 3, 3)


def test_auc_hand_example():
    # positives 1,2,3,6,7 vs negatives 0,4,5,8,9: 9 of 25 pairs ranked right
    assert auc_roc(Y_TRUE, SCORES) == pytest.approx(0.36)
    # descending ranks of positives 3,4,7,8,9 -> AP = (1/3 + 2/4 + 3/7 + 4/8 + 5/9) / 5
    assert auc_pr(Y_TRUE, SCORES) == pytest.approx(146 / 315)


def test_auc_undefined_cases_are_nan():
    assert math.isnan(auc_roc([1, 1], [0.1, 0.2]))
    assert math.isnan(auc_roc([0, 0], [0.1, 0.2]))
    assert math.isnan(auc_pr([0, 0], [0.1, 0.2]))
    assert auc_pr([1, 1], [0.1, 0.2]) == 1.0


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


def test_evaluate_merges_everything():
    result = evaluate(Y_TRUE, SCORES, Y_PRED)
    assert result == {**point_metrics(Y_TRUE, Y_PRED), **event_metrics(Y_TRUE, Y_PRED),
                      "auc_roc": auc_roc(Y_TRUE, SCORES), "auc_pr": auc_pr(Y_TRUE, SCORES)}
    assert len(result) == 17


def test_baselines():
    y_true = np.zeros(20_000, dtype=bool)
    y_true[::10] = True
    result = baselines(y_true, seed=1)
    assert set(result) == {"random", "all-anomalous"}
    everything = result["all-anomalous"]
    assert (everything["recall"], everything["far"], everything["mar"]) == (1.0, 1.0, 0.0)
    assert everything["precision"] == pytest.approx(0.1)
    random = result["random"]
    assert random["auc_roc"] == pytest.approx(0.5, abs=0.03)
    assert random["tp"] + random["fp"] == pytest.approx(2000, abs=1)  # flag rate = anomaly rate
    assert baselines(y_true, seed=1)["random"] == random  # reproducible


def test_baselines_bad_seed():
    with pytest.raises(ConfigError, match=r"seed=-1 is not allowed: must be an integer >= 0"):
        baselines([0, 1], seed=-1)


def test_metric_table():
    results = {"model": evaluate(Y_TRUE, SCORES, Y_PRED), **baselines(Y_TRUE)}
    table = metric_table(results)
    assert list(table.index) == ["model", "random", "all-anomalous"] and table.index.name == "name"
    assert list(table.columns) == ["f1", "precision", "recall", "far", "mar", "auc_pr", "auc_roc",
                                   "event_f1", "mean_delay"]
    assert table.loc["model", "far"] == 0.4
    assert metric_table(results, columns=("tp",)).shape == (3, 1)


def test_metric_table_errors():
    with pytest.raises(DataError, match=r"results: empty"):
        metric_table({})
    with pytest.raises(ConfigError, match=r"columns \['f2'\] are unknown: allowed are \['precision'"):
        metric_table({"m": point_metrics([1], [1])}, columns=("f1", "f2"))


@pytest.mark.parametrize("y_true, other, match", [
    ([], [], r"y_true: empty"),
    ([0, 1, 1], [0, 1], r"length mismatch: y_true has 3 rows, y_pred has 2 rows"),
    ([0, 2], [0, 1], r"y_true: non-binary value 2 at position 1; expected bool or 0/1"),
    ([0, 1], [0.0, 0.7], r"y_pred: non-binary value 0.7 at position 1"),
    ([[0, 1]], [0, 1], r"y_true: expected a 1-D array, got shape \(1, 2\)"),
])
@pytest.mark.parametrize("func", [point_metrics, event_metrics])
def test_flag_metrics_bad_input(func, y_true, other, match):
    with pytest.raises(DataError, match=match):
        func(y_true, other)


@pytest.mark.parametrize("scores, match", [
    ([0.1, np.nan], r"scores: 1 NaN/inf value\(s\), first at position 1"),
    ([0.1], r"length mismatch: y_true has 2 rows, scores has 1 rows"),
    (["a", "b"], r"scores: expected numbers"),
])
@pytest.mark.parametrize("func", [auc_roc, auc_pr])
def test_score_metrics_bad_input(func, scores, match):
    with pytest.raises(DataError, match=match):
        func([0, 1], scores)


def test_evaluate_length_mismatch():
    with pytest.raises(DataError, match=r"y_true has 2 rows, scores has 2 rows, y_pred has 1 rows"):
        evaluate([0, 1], [0.1, 0.2], [True])


@given(pairs)
def test_metric_properties(pair):
    y_true, y_pred = pair
    point = point_metrics(y_true, y_pred)
    assert point["tp"] + point["fp"] + point["fn"] + point["tn"] == len(y_true)
    events = event_metrics(y_true, y_pred)
    for value in (*[point[k] for k in ("precision", "recall", "f1", "far", "mar")],
                  events["event_precision"], events["event_recall"], events["event_f1"]):
        assert 0.0 <= value <= 1.0
    assert math.isnan(events["mean_delay"]) or events["mean_delay"] >= 0
    perfect = event_metrics(y_true, y_true)
    if any(y_true):
        assert (perfect["event_f1"], perfect["mean_delay"]) == (1.0, 0.0)
