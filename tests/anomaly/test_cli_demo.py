"""``anomaly demo`` (the README's first command) end to end, on a short run: the files it
promises exist, agree with each other and with the saved models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import anomaly
from anomaly.cli import app

DETECTORS = {"pca": "PCADetector", "dense-ae": "DenseAutoencoder"}
BASELINES = ("baseline:random", "baseline:all-anomalous")
FAULT_TYPES = {"collision", "encoder_drift", "friction", "gripper_slip", "noise_burst", "overheating", "payload_change", "sensor_freeze"}
#: The shortest faulty run that still fits every fault type once (the simulator refuses 120 s).
TRAIN_S, TEST_S, RATE_HZ = 60, 180, 100


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One short demo run: (CliRunner result, output folder)."""
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    args = ["demo", "-o", str(out), "--train-duration", str(TRAIN_S), "--test-duration", str(TEST_S), "--epochs", "2", "--seed", "0"]
    return CliRunner().invoke(app, args), out


def test_demo_exits_0_and_prints_the_metric_tables(demo):
    result, out = demo
    assert result.exit_code == 0, result.output
    assert f"wrote scores.parquet, summary.json, summary.md, models/ in {out}" in result.output
    for title in ("metrics", "fault_recall"):
        assert title in result.output
    for name in (*DETECTORS, *BASELINES):
        assert name in result.output


def test_summary_json_holds_every_detector_beside_the_baselines(demo):
    _, out = demo
    summary = json.loads((out / "summary.json").read_text())
    assert summary["train_rows"] == TRAIN_S * RATE_HZ and summary["test_rows"] == TEST_S * RATE_HZ
    assert len(summary["channels"]) == 28
    assert {f["kind"] for f in summary["faults"]} == FAULT_TYPES
    metrics = summary["metrics"]
    assert list(metrics) == [*DETECTORS, *BASELINES]
    for name, row in metrics.items():
        assert all(0.0 <= row[k] <= 1.0 for k in ("f1", "precision", "recall", "far", "auc_pr", "auc_roc")), (name, row)
    assert metrics["baseline:all-anomalous"]["recall"] == 1.0 and metrics["baseline:all-anomalous"]["far"] == 1.0
    for name in DETECTORS:
        # Real detection: well above the random baseline's ~0.5 AUC-ROC, few false alarms.
        assert metrics[name]["auc_roc"] > 0.7 and metrics[name]["auc_roc"] > metrics["baseline:random"]["auc_roc"] + 0.2
        assert metrics[name]["far"] < 0.1
        assert set(summary["fault_recall"][name]) == FAULT_TYPES
        assert summary["events"][name] and all({"start", "end"} <= set(event) for event in summary["events"][name])
        assert set(summary["timings"][name]) == {"fit_s", "score_s"}


def test_summary_md_has_a_table_row_per_detector(demo):
    _, out = demo
    markdown = (out / "summary.md").read_text()
    assert markdown.startswith("# Demo: simulated robot arm")
    assert "## metrics" in markdown and "## fault_recall" in markdown
    rows = [line.split("|")[1].strip() for line in markdown.splitlines() if line.startswith("| ")]
    for name in (*DETECTORS, *BASELINES):
        assert name in rows


def test_scores_have_one_row_per_simulated_row_and_match_the_saved_models(demo):
    _, out = demo
    summary = json.loads((out / "summary.json").read_text())
    scores = pd.read_parquet(out / "scores.parquet")
    assert len(scores) == summary["test_rows"] == TEST_S * RATE_HZ
    assert scores["timestamp"].is_monotonic_increasing and scores["timestamp"].is_unique
    assert scores["is_anomaly"].dtype == bool and 0 < scores["is_anomaly"].mean() < 1
    assert set(scores.loc[scores["is_anomaly"], "fault_type"]) == FAULT_TYPES
    channels = set(summary["channels"])
    for name, cls in DETECTORS.items():
        score, flag = scores[f"{name}:score"].to_numpy(), scores[f"{name}:flag"].to_numpy()
        assert np.isfinite(score).all() and flag.dtype == bool
        top = scores[f"{name}:top_channels"].str.split(";")
        assert top.map(len).eq(3).all() and set(top.explode()) <= channels
        # Faulty rows score higher than normal ones.
        assert score[scores["is_anomaly"]].mean() > score[~scores["is_anomaly"]].mean()
        model = anomaly.load(out / "models" / name)
        assert type(model).__name__ == cls
        np.testing.assert_array_equal(flag, score > model.threshold_)
