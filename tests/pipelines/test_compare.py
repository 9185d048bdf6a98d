"""`anomaly compare`: same split and threshold for all detectors, a self-contained report."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomaly.cli import app
from anomaly.errors import ConfigError, DataError
from pipelines.compare import condition_splits, dataset_splits
from pipelines.report.charts import envelope

runner = CliRunner()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    result = runner.invoke(app, ["compare", "--dataset", "robot-arm", "--detectors", "pca,dense-ae", "--epochs", "1", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    return folder, result.output


def test_report_folder_contents(report):
    folder, output = report
    assert {p.name for p in folder.iterdir()} == {"report.html", "results.json", "results.md", "charts"}
    assert {p.name for p in (folder / "charts").iterdir()} == {
        "pr_curves.png", "timeline_pca.png", "timeline_dense-ae.png", "heatmap_pca.png", "heatmap_dense-ae.png"}
    results = json.loads((folder / "results.json").read_text())
    assert {"pca", "dense-ae", "baseline:random", "baseline:all-anomalous"} <= set(results["metrics"])
    assert results["metadata"]["detectors"]["dense-ae"]["epochs"] == 1
    assert "| baseline:all-anomalous |" in (folder / "results.md").read_text()
    assert "## range_metrics" in (folder / "results.md").read_text()
    pca = results["metrics"]["pca"]
    assert 0 < pca["vus_pr"] <= 1 and pca["pa_f1"] >= pca["f1"] and "pa_f1_random" in pca
    hits = results["hit_rates"]
    assert set(hits) == {"pca", "dense-ae", "random ranking"}
    assert hits["pca"]["hitrate@150%"] >= hits["pca"]["hitrate@100%"] > hits["random ranking"]["hitrate@100%"]
    assert "baseline:random" in output


def test_report_is_self_contained(report):
    page = (report[0] / "report.html").read_text()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)  # nothing fetched from the network
    assert "<script" not in page
    assert page.count("data:image/png;base64,") == 5
    assert "Run metadata" in page and "Recall per fault type" in page and "Attribution: HitRate" in page


def test_envelope_keeps_single_sample_spikes():
    values = np.zeros(100_000)
    values[54_321] = 7.0
    _, lo, hi = envelope(values, 500)
    assert len(hi) == 500 and hi.max() == 7.0 and lo.max() == 0.0


def test_file_dataset_split(tmp_path):
    n = 1000
    frame = pd.DataFrame({"a": np.sin(np.arange(n) / 10), "b": np.cos(np.arange(n) / 10), "label": 0})
    frame.loc[100:120, "label"] = 1
    frame.loc[800:850, "label"] = 1
    frame.to_csv(tmp_path / "f.csv", index=False)
    (split,) = dataset_splits(str(tmp_path / "f.csv"), train_fraction=0.3)
    assert len(split.train) == 300 - 21 and len(split.test) == 700 and split.labels.sum() == 51


def test_a_file_with_a_text_column_compares_with_ignore(tmp_path):
    n = 1000
    frame = pd.DataFrame({"a": np.sin(np.arange(n) / 10), "b": np.cos(np.arange(n) / 10), "label": 0,
                          "mode": np.where(np.arange(n) % 200 < 100, "pick", "place")})
    frame.loc[800:850, "label"] = 1
    frame.loc[800:850, "a"] += 3.0
    frame.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(DataError, match="column 'mode'"):  # a text column is no channel
        dataset_splits(str(tmp_path / "f.csv"))
    (split,) = dataset_splits(str(tmp_path / "f.csv"), ignore=("mode",))
    assert list(split.train.columns) == ["a", "b"] and list(split.test.columns) == ["a", "b"]
    with pytest.raises(DataError, match=r"--ignore: column\(s\) \['moed'\] not in"):
        dataset_splits(str(tmp_path / "f.csv"), ignore=("mode", "moed"))
    with pytest.raises(ConfigError, match="--ignore and --runs are for a labelled file"):
        dataset_splits("skab", ignore=("mode",))
    out = tmp_path / "r"
    result = runner.invoke(app, ["compare", "--dataset", str(tmp_path / "f.csv"), "--detectors", "pca", "--ignore", "mode",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("dataset, kwargs, error, message", [
    ("mars", {}, ConfigError, "unknown dataset 'mars'"),
    ("smd", {"entity": "machine-9-9"}, ConfigError, "entity 'machine-9-9' is not one of"),
])
def test_bad_datasets(dataset, kwargs, error, message):
    with pytest.raises(error, match=message):
        dataset_splits(dataset, **kwargs)


def test_file_without_labels(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(DataError, match="no label column"):
        dataset_splits(str(tmp_path / "f.csv"))


def test_unknown_detector_exits_2(tmp_path):
    result = runner.invoke(app, ["compare", "--detectors", "pca,magic", "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "unknown detector(s) ['magic']" in result.output
    assert not (tmp_path / "r").exists()


def test_session_splits_train_on_a_warm_up_and_test_the_session_conditions():
    splits = dataset_splits("session")
    assert [s.name for s in splits] == ["reference", "cold", "warm-drift"]
    warming = splits[0].train_logs[0]["j2_temp"]
    assert warming.iloc[-1000:].mean() - warming.iloc[:1000].mean() > 0.5  # the joints warm up in training
    assert all(s.train_logs is splits[0].train_logs for s in splits)


def test_mixed_sessions_train_on_a_warm_up_and_two_warm_runs():
    splits = dataset_splits("mixed-sessions")
    assert [s.name for s in splits] == ["reference", "cold", "warm-drift"]
    logs = splits[0].train_logs
    rise = [log["j2_temp"].iloc[-1000:].mean() - log["j2_temp"].iloc[:1000].mean() for log in logs]
    assert rise[0] > 0.5 and abs(rise[1]) < 0.1 and abs(rise[2]) < 0.1  # one warms up, two are warm


def test_condition_splits_share_one_model_and_start_each_test_with_normal_operation():
    splits = condition_splits()
    assert [s.name for s in splits][:2] == ["reference", "cold"] and len(splits) == 9
    assert all(s.train_logs is splits[0].train_logs and len(s.train_logs) == 3 for s in splits)
    for split in splits:
        assert len(split.test) == len(split.labels) == 90_000  # 300 s normal + 600 s with faults, 100 Hz
        assert split.onset > 30_000 and not split.labels[: split.onset].any() and split.labels[split.onset]
        assert all(seg.start >= 30_000 for seg in split.segments)
    cold, reference = splits[1].test, splits[0].test
    assert (cold["j1_temp"].iloc[:30_000].mean() - reference["j1_temp"].iloc[:30_000].mean()) == pytest.approx(-4.0, abs=0.2)


def test_detector_variants_are_rows_of_their_own(tmp_path):
    out = tmp_path / "r"
    result = runner.invoke(app, ["compare", "--dataset", "robot-arm", "--detectors", "pca,pca:changes=2:n_components=0.9",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert {"pca", "pca:changes=2:n_components=0.9"} <= set(results["metrics"])
    assert results["metadata"]["detectors"]["pca:changes=2:n_components=0.9"] == {"changes": 2, "n_components": 0.9}
    assert results["metrics"]["pca"]["f1"] != results["metrics"]["pca:changes=2:n_components=0.9"]["f1"]
    assert {"timeline_pca_changes_2_n_components_0.9.png", "timeline_pca.png"} <= {p.name for p in (out / "charts").iterdir()}


@pytest.mark.parametrize("detectors, message", [
    ("pca,pca", "names a detector twice"),
    ("pca:changes", "'changes' must look like name=value"),
    ("pca:window=8", "'pca' has no parameter(s) ['window']"),
    ("magic:changes=2", "unknown detector(s) ['magic']"),
])
def test_bad_detector_variants_exit_2(tmp_path, detectors, message):
    result = runner.invoke(app, ["compare", "--detectors", detectors, "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "r").exists()
