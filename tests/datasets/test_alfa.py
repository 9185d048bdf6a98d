"""ALFA: the loader, ``anomaly compare --dataset alfa``, and the CLI reading the flight files and the raw
topic folder as a user would (real data in ../shared/datasets/alfa; skipped when absent)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from typer.testing import CliRunner

import anomaly
from anomaly.cli import app
from anomaly.errors import DataError
from datasets.alfa import FAULT_KINDS, fault_kind, load_alfa, read_flight
from pipelines.compare import dataset_splits, evaluate_runs, run_detectors
from pipelines.rostopic import is_rostopic_folder
from pipelines.sources import read_table

runner = CliRunner()
FLIGHT = "carbonZ_2018-07-18-15-53-31_1_engine_failure"
SCORED = "carbonZ_2018-09-11-15-06-34_1_rudder_right_failure"  # 1 leading row, onset at row 1110 of 1405


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def alfa():
    root = SHARED_DATA / "alfa"
    if not root.is_dir():
        pytest.skip(f"ALFA not found at {root}")
    return root


@pytest.mark.parametrize("name, kind", [
    ("carbonZ_2018-07-18-15-53-31_1_engine_failure", "engine"),
    ("carbonZ_2018-09-11-14-52-54_left_aileron__right_aileron__failure", "aileron"),
    ("carbonZ_2018-09-11-15-06-34_1_rudder_right_failure", "rudder"),
    ("carbonZ_2018-09-11-14-41-51_elevator_failure", "elevator"),
    ("carbonZ_2018-10-05-16-04-46_engine_failure_with_emr_traj", "engine"),
    ("carbonZ_2018-10-05-14-37-22_1_no_failure", None),
])
def test_fault_kind_from_the_file_name(name, kind):
    assert fault_kind(name) == kind


def test_unknown_fault_kind():
    with pytest.raises(DataError, match="no fault kind"):
        fault_kind("carbonZ_2018_propeller_failure")


def test_read_flight_drops_leading_rows_and_forward_fills(tmp_path):
    path = tmp_path / "x_rudder_left_failure.csv.gz"
    text = ("%time,a,field.data,b\n2018-07-18 19:56:50.900,,0,1\n2018-07-18 19:56:50.950,2,0,\n"
            "2018-07-18 19:56:51.000,,0,3\n2018-07-18 19:56:51.050,4,2,\n")
    with gzip.open(path, "wt") as handle:
        handle.write(text)
    flight = read_flight(path)
    assert flight.leading_rows_dropped == 1 and flight.fault == "rudder"
    assert flight.frame.to_numpy().tolist() == [[2, 3], [2, 3], [4, 3]]  # as --nan-policy ffill fills them
    assert flight.labels.tolist() == [False, False, True] and flight.onset == pd.Timestamp("2018-07-18 19:56:51.050")


def test_load_alfa(alfa, monkeypatch):
    monkeypatch.setenv("ANOMALY_DATA_DIR", str(alfa.parent))
    normal, faulty = load_alfa()
    assert len(normal) == 9 and len(faulty) == 19
    assert sum(len(f.frame) + f.leading_rows_dropped for f in normal) == 10620
    channels = list(normal[0].frame.columns)
    assert len(channels) == 25 and "field.data" not in channels and "%time" not in channels
    for flight in normal + faulty:
        assert list(flight.frame.columns) == channels
        assert isinstance(flight.frame.index, pd.DatetimeIndex) and flight.frame.index.is_monotonic_increasing
        assert not flight.frame.isna().any().any() and flight.leading_rows_dropped >= 1
        assert flight.labels.index.equals(flight.frame.index)
    assert not any(f.labels.any() or f.fault or f.onset for f in normal)
    assert {f.fault for f in faulty} == set(FAULT_KINDS)
    for flight in faulty:
        assert flight.onset == flight.labels.index[flight.onset_row] and not flight.labels.iloc[: flight.onset_row].any()
    first = next(f for f in faulty if f.name == FLIGHT)
    assert (len(first.frame), first.leading_rows_dropped, first.onset_row) == (2644, 2, 2323)


def test_compare_splits_share_one_model_and_report_detection(alfa):
    splits = dataset_splits("alfa", data_dir=alfa.parent)
    assert len(splits) == 19 and all(s.train_logs is splits[0].train_logs and len(s.train_logs) == 9 for s in splits)
    runs = run_detectors(splits, {"pca": {}})
    assert len(set(runs[0].thresholds)) == 1  # fitted once
    result = evaluate_runs(splits, runs)
    summary = result["detection"]["summary"]["pca"]
    # threshold on held-out flights (QuietLogs: the median flight's quiet level, at least the 99th
    # percentile), channel limits and rules at 20 Hz: 8 flights at about 4 false alarms an hour
    # (with Percentile(99) and no channel limits 8 at about 8; in-sample: 16 at 102)
    assert summary["flights"] == 19 and summary["detected"] >= 5 and 0 < summary["false_alarms_per_hour"] < 5
    assert summary["normal_hours"] == pytest.approx(sum(s.onset for s in splits) / 20 / 3600, rel=1e-3)
    assert 0 <= summary["median_delay_s"] < 10
    assert result["detection"]["rules"] == {"rate_hz": pytest.approx(20.0), "min_duration": 5, "merge_gap": 20,
                                            "cooldown": 100, "exit_ratio": 0.8}
    flights = result["detection"]["flights"]["pca"]
    assert [f["flight"] for f in flights] == [s.name for s in splits]
    assert all((f["delay_s"] is None) != f["detected"] for f in flights)
    assert set(result["fault_recall"]["pca"]) == set(FAULT_KINDS)


@pytest.fixture(scope="module")
def cli_model(alfa, tmp_path_factory):
    root = tmp_path_factory.mktemp("alfa")
    result = invoke("fit", alfa / "normal", "-d", "pca", "--timestamp", "%time", "--nan-policy", "ffill", "-o", root / "m")
    assert result.exit_code == 0, result.output
    return root / "m", result.output


def test_cli_fit_on_the_normal_folder(cli_model):
    model, output = cli_model
    report = json.loads((model / "training_report.json").read_text())
    assert len(report["logs"]) == 9 and report["channels"] == 25
    assert sum(log["rows"] for log in report["logs"]) == 10620
    assert all(log["leading_rows_dropped"] >= 1 and log["gaps"] == 0 for log in report["logs"])
    assert "note: dropped 51 leading rows before every channel had a value in 9 of 9 logs" in output
    assert output.count("no_failure.csv.gz: ") == 9


def test_cli_score_one_faulty_flight(alfa, cli_model, tmp_path):
    path = alfa / "faulty" / f"{SCORED}.csv.gz"
    result = invoke("score", path, "--model", cli_model[0], "--timestamp", "%time", "--nan-policy", "ffill", "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    assert "dropped 1 leading row before every channel had a value" in result.output
    out = pd.read_csv(tmp_path / "s.csv")
    raw = pd.read_csv(path)
    assert len(out) == len(raw) - 1 == 1404
    assert out["timestamp"].tolist() == raw["%time"].iloc[1:].tolist()  # the input's timestamps, as written
    onset = int(np.argmax(raw["field.data"].to_numpy() > 0)) - 1
    assert out["flag"].iloc[onset:].sum() > 20
    assert out["flag"].iloc[onset:].mean() > 3 * out["flag"].iloc[:onset].mean()
    # `anomaly score` reads in chunks: the same rows and scores as reading the file whole, at any chunk size
    det = anomaly.load(cli_model[0])
    whole = det.evaluate_frame(read_table(path, timestamp="%time", drop_leading=True).frame)[1]
    small = tmp_path / "small.csv"
    assert invoke("score", path, "--model", cli_model[0], "--nan-policy", "ffill", "--chunk-rows", 97, "-o", small).exit_code == 0
    for scores in (out["score"], pd.read_csv(small)["score"]):
        np.testing.assert_allclose(scores, whole.to_numpy(), rtol=1e-5, atol=1e-6)
    evaluated = invoke("evaluate", path, "--model", cli_model[0])  # labels: field.data > 0
    assert evaluated.exit_code == 0 and "PCADetector" in evaluated.output, evaluated.output


def test_raw_topic_folder(alfa, tmp_path):
    raw = alfa / "raw_topics_one_flight"
    assert is_rostopic_folder(raw) and not is_rostopic_folder(alfa / "normal")
    topics = ["/mavros/imu/data", "/mavros/nav_info/errors", "/mavros/local_position/velocity"]
    table = read_table(raw, topics=topics, rate_hz=20)
    assert table.frame.shape[1] == 4 + 3 + 3 + 4 + 6  # orientation xyzw, angular velocity, acceleration, errors, twist
    assert table.metadata["alignment"]["rate_hz"] == 20 and len(table.frame) > 2000
    options = [a for t in topics for a in ("--topic", t)] + ["--rate", 20]
    fitted = invoke("fit", raw, *options, "-o", tmp_path / "m")
    assert fitted.exit_code == 0, fitted.output
    scored = invoke("score", raw, "--model", tmp_path / "m", *options, "-o", tmp_path / "s.parquet")
    assert scored.exit_code == 0, scored.output
    out = pd.read_parquet(tmp_path / "s.parquet")
    assert len(out) == len(table.frame) and out["timestamp"].equals(pd.Series(table.frame.index, name="timestamp"))
