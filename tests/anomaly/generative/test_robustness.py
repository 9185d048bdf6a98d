"""Median evasion epsilon: excerpt choice, summary by hand, `anomaly compare --robustness`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("keras")

from conftest import make_frame  # noqa: E402

from anomaly import PCADetector  # noqa: E402
from anomaly.cli import app  # noqa: E402
from anomaly.errors import ConfigError, DataError  # noqa: E402
from anomaly.generative.adversarial import smallest_epsilon  # noqa: E402
from anomaly.generative.robustness import evasion_robustness, fault_excerpts, labelled_segments, summarise  # noqa: E402


def test_labelled_segments():
    assert labelled_segments([0, 1, 1, 0, 0, 1, 0, 1]) == [(1, 3), (5, 6), (7, 8)]
    assert labelled_segments(np.zeros(4, bool)) == []


def test_excerpts_centre_on_the_peak_and_stay_inside():
    scores = np.zeros(100)
    labels = np.zeros(100, bool)
    labels[[*range(2, 10), *range(40, 60), *range(95, 100)]] = True
    scores[[3, 50, 99]] = [5.0, 7.0, 1.0]
    assert fault_excerpts(scores, labels, 10) == [(0, 10), (45, 55), (90, 100)]
    assert fault_excerpts(scores, labels, 10, max_excerpts=2) == [(0, 10), (90, 100)]  # first and last, evenly spread
    with pytest.raises(ConfigError, match="length=101"):
        fault_excerpts(scores, labels, 101)
    with pytest.raises(DataError, match="equal length"):
        fault_excerpts(scores[:50], labels, 10)


def test_summary_by_hand():
    records = [{"status": "evaded", "epsilon": 0.5}, {"status": "evaded", "epsilon": 1.5},
               {"status": "not_evaded", "epsilon": None}, {"status": "missed_unperturbed", "epsilon": None}]
    # detected: 0.5, 1.5, inf -> median 1.5; the missed excerpt is not counted
    assert summarise(records) == {"median_evasion_epsilon": 1.5, "n_excerpts": 4, "missed_unperturbed": 1, "not_evaded": 1}
    mostly_robust = [{"status": "not_evaded", "epsilon": None}] * 2 + [{"status": "evaded", "epsilon": 0.1}]
    assert summarise(mostly_robust)["median_evasion_epsilon"] is None
    assert summarise([])["median_evasion_epsilon"] is None


def test_evasion_robustness_matches_a_direct_attack():
    det = PCADetector(n_components=2).fit(make_frame(n=1500, channels=4))
    frame = make_frame(n=300, channels=4, seed=5, start="2026-02-01")
    frame.iloc[100:140, 1] += 2.0
    labels = np.zeros(300, bool)
    labels[100:140] = True
    result = evasion_robustness(det, frame, labels, length=32, rtol=0.1)
    (record,) = result["excerpts"]
    a = record["start"]
    assert 100 - 32 < a < 140 and record["status"] == "evaded"
    assert record["epsilon"] == smallest_epsilon(det, frame.iloc[a : a + 32], rtol=0.1).epsilon
    assert result["median_evasion_epsilon"] == record["epsilon"] and result["n_excerpts"] == 1


def labelled_csv(path):
    frame = make_frame(n=1200, channels=3).reset_index()
    frame["label"] = 0
    for lo in (500, 800, 1000):
        frame.loc[lo : lo + 40, "ch1"] += 2.0
        frame.loc[lo : lo + 40, "label"] = 1
    frame.to_csv(path, index=False)
    return path


def test_compare_with_robustness(tmp_path):
    data = labelled_csv(tmp_path / "run.csv")
    args = ["compare", "--dataset", str(data), "--detectors", "pca", "--train-fraction", "0.4", "-o"]
    result = CliRunner().invoke(app, [*args, str(tmp_path / "plain")])
    assert result.exit_code == 0, result.output
    assert "robustness" not in json.loads((tmp_path / "plain" / "results.json").read_text())

    result = CliRunner().invoke(app, [*args, str(tmp_path / "out"), "--robustness"])
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "out" / "results.json").read_text())
    pca = out["robustness"]["pca"]
    assert pca["n_excerpts"] == 3 and pca["missed_unperturbed"] + pca["not_evaded"] < 3
    assert 0 < pca["median_evasion_epsilon"] < out["metadata"]["robustness"]["max_epsilon"]
    assert "## robustness" in (tmp_path / "out" / "results.md").read_text()
    assert "Robustness: median evasion epsilon" in (tmp_path / "out" / "report.html").read_text()
    assert "median_evasion_epsilon" in result.output
