"""Printable tables: metric_table, the tables of an evaluate_outputs result, Markdown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import flags

from anomaly.errors import ConfigError, DataError
from anomaly.metrics.evaluation import baselines, evaluate_outputs
from anomaly.metrics.point import point_metrics
from anomaly.metrics.report import DEFAULT_COLUMNS, RANGE_COLUMNS, metric_table, tables, to_markdown
from anomaly.metrics.summary import evaluate

Y_TRUE = [0, 1, 1, 1, 0, 0, 1, 1, 0, 0]
Y_PRED = [0, 0, 1, 0, 1, 0, 0, 1, 1, 0]
SCORES = np.arange(10.0)


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


def test_tables_of_an_evaluation():
    truth = flags(120, (30, 49))
    scores = truth + np.random.default_rng(0).normal(0, 0.3, 120)
    kinds = pd.Series(np.where(truth, "drift", ""))
    result = evaluate_outputs(truth, {"a": (scores, scores > 0.5), "b": (-scores, scores < 0)}, fault_type=kinds)
    result["robustness"] = {"a": {"n_excerpts": 4.0, "missed_unperturbed": 1.0, "not_evaded": 2.0, "evasion": 0.25}}
    out = tables(result)
    assert set(out) == {"metrics", "range_metrics", "fault_recall", "robustness"}
    assert out["metrics"].shape == (4, len(DEFAULT_COLUMNS))
    assert list(out["range_metrics"].index) == ["a", "b"] and tuple(out["range_metrics"].columns) == RANGE_COLUMNS
    assert out["fault_recall"].loc["a", "drift"] == result["fault_recall"]["a"]["drift"]
    assert out["robustness"].loc["a"].tolist() == ["4", "1", "2", 0.25]  # counts shown as integers
    assert set(tables({"metrics": baselines(truth)})) == {"metrics"}  # no detector: no range table


def test_to_markdown():
    table = pd.DataFrame({"f1": [0.5, 1 / 3], "n": ["3", "4"]}, index=pd.Index(["a", "b"], name="name"))
    assert to_markdown(table) == "| name | f1 | n |\n|---|---|---|\n| a | 0.500 | 3 |\n| b | 0.333 | 4 |"
    assert to_markdown(table, digits=1).splitlines()[3] == "| b | 0.3 | 4 |"
