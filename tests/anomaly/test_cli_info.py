"""``anomaly info``: a saved model described from its directory, as lines and as JSON."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomaly import load
from anomaly.cli import app


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A PCA model of two 20 Hz logs (channels a..d, a mode column left out) after one feedback
    round that marked a 0.4 s burst a false alarm."""
    root = tmp_path_factory.mktemp("info")
    rng = np.random.default_rng(3)
    index = pd.date_range("2026-02-01", periods=3000, freq="50ms", name="timestamp")
    for name in ("one", "two"):
        frame = pd.DataFrame(rng.standard_normal((3000, 4)), columns=list("abcd"), index=index).assign(mode=1)
        frame.to_csv(root / f"{name}.csv")
    busy = pd.DataFrame(rng.standard_normal((3000, 4)), columns=list("abcd"), index=index).assign(mode=1)
    busy.iloc[1000:1008, :4] += [3.0, -3.0, 3.0, -3.0]
    busy.to_csv(root / "busy.csv")
    assert invoke("fit", root / "one.csv", root / "two.csv", "--ignore", "mode", "--condition", "none", "-o", root / "m").exit_code == 0
    assert invoke("score", root / "busy.csv", "-m", root / "m", "-o", root / "s.csv", "--alarms", root / "alarms.csv").exit_code == 0
    pd.read_csv(root / "alarms.csv", keep_default_na=False).assign(label="false_alarm").to_csv(root / "reviewed.csv", index=False)
    fed = invoke("feedback", root / "m", root / "busy.csv", "--events", root / "reviewed.csv", "--by", "ana")
    assert fed.exit_code == 0, fed.output
    return root / "m", next(line for line in fed.output.splitlines() if line.startswith("feedback round 1"))


def test_info_says_what_the_model_expects_and_decides(model):
    path, round_line = model
    result = invoke("info", path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    det = load(path)
    assert lines[0] == f"{path}: pca (model format {json.loads((path / 'detector.json').read_text())['format_version']}, package 0.1.0, runtime numpy)"
    assert lines[1] == "channels (4), sampled at 20 Hz: a, b, c, d"
    assert lines[2] == "left out, not channels (score, stream and feedback drop them): mode"
    assert lines[3].startswith(f"flagged when score > {det.threshold_:.6g}; alert rules: on-delay 0.45 s, merge gap 1 s, cooldown 5 s")  # the round's on-delay
    assert any(line.startswith("condition channels: none") for line in lines)
    assert any(line.startswith("stuck sensors: ") for line in lines)
    assert "re-centring: a channel outside its training range from a run's start, or drifting out of it, is scored around its own level after a window of 60 s" in lines
    assert "fitted on 2 logs, 6,000 rows:" in lines and any(line.strip().endswith("one.csv: 3,000 rows used, 0 dropped; 0 gaps") for line in lines)
    assert lines[-1].startswith(round_line + " (at 20")  # the round as `anomaly feedback` said it, and when


def test_info_json_holds_the_same(model):
    path, _ = model
    result = invoke("info", path, "--json")
    assert result.exit_code == 0, result.output
    described = json.loads(result.output)
    det = load(path)
    assert described["detector"] == "pca" and described["channels"] == ["a", "b", "c", "d"] and described["ignored_columns"] == ["mode"]
    assert described["runs_column"] is None
    assert described["threshold"] == pytest.approx(det.threshold_) and described["sampling_rate_hz"] == pytest.approx(20.0)
    assert described["alert_rules"]["min_duration"] == 9 and described["alert_rules"]["seconds"]["min_duration"] == pytest.approx(0.45)
    assert described["recentre_rows"] == 1200 and len(described["training_logs"]) == 2
    assert [r["by"] for r in described["feedback_rounds"]] == ["ana"]


def test_info_on_a_missing_or_corrupt_model_is_one_error_line(tmp_path, model):
    missing = invoke("info", tmp_path / "nowhere")
    assert missing.exit_code == 2 and missing.output.strip() == f"error: {tmp_path / 'nowhere'}: model directory not found"
    broken = tmp_path / "broken"
    shutil.copytree(model[0], broken)
    (broken / "detector.json").write_text("{")
    result = invoke("info", broken)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: ")


def test_info_describes_a_supervised_head(tmp_path):
    rng = np.random.default_rng(0)
    logs = []
    for k in range(3):
        index = pd.date_range(f"2026-03-0{k + 1}", periods=2000, freq="50ms", name="timestamp")
        frame = pd.DataFrame(rng.standard_normal((2000, 3)), columns=list("abc"), index=index)
        fault = np.zeros(2000, dtype=bool)
        fault[1000 + 100 * k: 1300 + 100 * k] = True
        frame.loc[fault, "a"] += 3.0
        logs.append(tmp_path / f"lab{k}.csv")
        frame.assign(fault=fault.astype(int)).to_csv(logs[-1])
    fitted = invoke("fit", *logs, "--labels", "fault", "-o", tmp_path / "head")
    assert fitted.exit_code == 0, fitted.output
    said = next(line for line in fitted.output.splitlines() if line.startswith("fitted a supervised head"))
    rule = said.split("; threshold ", 1)[1].split(" (out of fold")[0]  # as `fit --labels` said it
    lines = invoke("info", tmp_path / "head").output.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'head'}: a supervised head on pca (model format ")
    assert lines[2].startswith(f"flagged when {rule}; alert rules: ")
    assert "re-centring: off (every channel at its level)" in lines  # a head scores its features without it
    assert any(line.strip() == "lab0.csv: 2,000 rows; labels: normal 1,700, fault 300".replace("lab0.csv", str(logs[0])) for line in lines)
