"""Several detectors on one labelled run: the baselines, per-fault recall, evaluate_outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import flags

from anomaly.errors import ConfigError
from anomaly.metrics.evaluation import baselines, evaluate_outputs, fault_recall
from anomaly.metrics.summary import evaluate, range_report


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


def test_fault_recall_by_hand():
    kinds = pd.Series(["", "a", "a", "b", None, "b"])
    assert fault_recall(np.array([True, False, True, True, True, True]), kinds) == {"a": 0.5, "b": 1.0}


def test_evaluate_outputs_adds_range_metrics_baselines_and_fault_recall():
    truth = flags(200, (50, 79), (150, 159))
    scores = truth + np.random.default_rng(0).normal(0, 0.4, 200)
    pred = scores > 0.5
    kinds = pd.Series(np.where(truth, np.where(np.arange(200) < 100, "drift", "spike"), ""))
    result = evaluate_outputs(truth.astype(int), {"det": (scores, pred)}, fault_type=kinds, seed=3)
    assert set(result["metrics"]) == {"det", "baseline:random", "baseline:all-anomalous"}
    assert result["metrics"]["det"] == {**evaluate(truth, scores, pred), **range_report(truth, scores, pred, seed=3)}
    assert result["metrics"]["baseline:random"] == baselines(truth, seed=3)["random"]
    assert result["fault_recall"] == {"det": fault_recall(pred, kinds)}
    assert "fault_recall" not in evaluate_outputs(truth, {"det": (scores, pred)})
