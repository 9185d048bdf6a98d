"""One output's flat metric dicts: evaluate (point, event, ranking) and range_report."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import flags

from anomaly.errors import DataError
from anomaly.metrics.events import event_metrics
from anomaly.metrics.point import auc_pr, auc_roc, point_metrics
from anomaly.metrics.summary import evaluate, range_report

Y_TRUE = [0, 1, 1, 1, 0, 0, 1, 1, 0, 0]
Y_PRED = [0, 0, 1, 0, 1, 0, 0, 1, 1, 0]
SCORES = np.arange(10.0)


def test_evaluate_merges_everything():
    result = evaluate(Y_TRUE, SCORES, Y_PRED)
    assert result == {**point_metrics(Y_TRUE, Y_PRED), **event_metrics(Y_TRUE, Y_PRED),
                      "auc_roc": auc_roc(Y_TRUE, SCORES), "auc_pr": auc_pr(Y_TRUE, SCORES)}
    assert len(result) == 17


def test_evaluate_length_mismatch():
    with pytest.raises(DataError, match=r"y_true has 2 rows, scores has 2 rows, y_pred has 1 rows"):
        evaluate([0, 1], [0.1, 0.2], [True])


def test_range_report():
    truth = flags(300, (100, 149))
    report = range_report(truth, truth.astype(float), truth)
    assert report == {"vus_pr": 1.0, "vus_roc": 1.0, "range_precision": 1.0, "range_recall": 1.0, "range_f1": 1.0,
                      "nab_standard": 100.0, "pa_f1": 1.0, "pa_f1_random": report["pa_f1_random"]}
    assert all(math.isnan(v) for v in range_report(flags(5), np.zeros(5), flags(5)).values())
    everything = range_report(np.ones(5, bool), np.zeros(5), np.ones(5, bool))
    assert math.isnan(everything["vus_roc"]) and everything["range_f1"] == 1.0
