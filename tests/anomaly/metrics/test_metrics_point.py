"""Point metrics and AUC: hand-worked examples, zero denominators, undefined cases, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anomaly.metrics.point import auc_pr, auc_roc, point_metrics

# Hand-worked 10-row example.
#   row     0 1 2 3 4 5 6 7 8 9
#   y_true  0 1 1 1 0 0 1 1 0 0
#   y_pred  0 0 1 0 1 0 0 1 1 0
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


@given(pairs)
def test_point_metric_properties(pair):
    y_true, y_pred = pair
    point = point_metrics(y_true, y_pred)
    assert point["tp"] + point["fp"] + point["fn"] + point["tn"] == len(y_true)
    for key in ("precision", "recall", "f1", "far", "mar"):
        assert 0.0 <= point[key] <= 1.0
