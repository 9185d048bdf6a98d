"""``anomaly fit`` on many logs (files, folders, globs) and ``anomaly score`` on gzipped CSV with ``%time``:
the training report, the leading-rows note, and bad input as one line with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke, one_error_line
from test_leading_rows import LEAD, write_flight

from anomaly import load


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Three normal logs (gzipped CSV, %time, empty first rows) in two folders, and one faulty log."""
    root = tmp_path_factory.mktemp("logs")
    for folder, seeds in (("day1", (1, 2)), ("day2", (3,))):
        (root / folder).mkdir()
        for seed in seeds:
            write_flight(root / folder / f"flight{seed}.csv.gz", n=400, seed=seed, fault_rows=0)
    faulty = write_flight(root / "faulty.csv.gz", n=400, seed=9)
    frame = pd.read_csv(root / "faulty.csv.gz")
    frame.loc[300:, "ch1"] += 4.0
    frame.to_csv(root / "faulty.csv.gz", index=False, compression="gzip")
    return root, faulty


@pytest.fixture(scope="module")
def model(logs):
    root, _ = logs
    result = invoke("fit", root / "day1", f"{root}/day2/*.csv.gz", "-d", "pca", "--timestamp", "%time", "--nan-policy", "ffill",
                    "-o", root / "model")
    assert result.exit_code == 0, result.output
    return root / "model", result.output


def test_fit_on_folders_and_globs_reports_every_log(logs, model):
    root, _ = logs
    path, output = model
    assert f"note: dropped {3 * LEAD} leading rows before every channel had a value in 3 of 3 logs" in output
    assert output.count(f"rows used, {LEAD} dropped ({LEAD} leading); ") == 3
    report = json.loads((path / "training_report.json").read_text())
    assert [log["source"].rsplit("/", 1)[-1] for log in report["logs"]] == ["flight1.csv.gz", "flight2.csv.gz", "flight3.csv.gz"]
    assert all(log["rows"] == 400 and log["rows_used"] == 400 - LEAD and log["gaps"] == 0 for log in report["logs"])
    assert report["rows_used"] == 3 * (400 - LEAD) and report["channels"] == 5
    det = load(path)
    assert det.schema_.channels == tuple(f"ch{i}" for i in range(5)) and det.nan_policy == "ffill"


def test_a_neural_fit_on_several_logs_says_its_threshold_saw_held_out_logs(logs, tmp_path):
    root, _ = logs
    result = invoke("fit", root / "day1", root / "day2", "-d", "dense-ae", "--window", "4", "--epochs", "1", "--timestamp",
                    "%time", "--nan-policy", "ffill", "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert "(on held-out scores: each of the 3 logs scored by a model of other logs)" in " ".join(result.output.split())


def test_fit_reports_gaps_and_drops_labelled_rows(logs, tmp_path):
    root, _ = logs
    frame = pd.read_csv(root / "day1" / "flight1.csv.gz")
    frame = frame.drop(index=range(200, 230))  # a 1.5 s gap in 100 Hz rows
    frame.to_csv(tmp_path / "gappy.csv.gz", index=False, compression="gzip")
    result = invoke("fit", tmp_path / "gappy.csv.gz", root / "faulty.csv.gz", "--nan-policy", "ffill", "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    logs_ = json.loads((tmp_path / "m" / "training_report.json").read_text())["logs"]
    assert logs_[0]["gaps"] == 1 and logs_[0]["largest_gap_s"] == pytest.approx(0.31) and len(logs_[0]["gap_list"]) == 1
    assert logs_[0]["pauses"] == 0  # a gap, not a pause: one session
    assert logs_[1]["anomalous_rows_dropped"] == 10  # field.data > 0 in the last 10 rows
    assert "1 gap (largest 0.31 s)" in result.output and "10 labelled anomalous" in result.output


def test_a_fault_column_is_a_label_in_fit_and_score(tmp_path):
    """A log with a 0/1 ``fault`` column (or a fault code) beside the channels: fit drops the
    faulty rows, score ignores the column (it was an unexpected channel, exit 2)."""
    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-01", periods=1000, freq="10ms", name="timestamp")
    frame = pd.DataFrame(rng.normal(size=(1000, 3)), columns=["a", "b", "c"], index=index)
    frame["fault"] = (np.arange(1000) >= 950).astype(int) * 3
    frame.to_csv(tmp_path / "train.csv")
    result = invoke("fit", tmp_path / "train.csv", "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "training_report.json").read_text())["logs"][0]["anomalous_rows_dropped"] == 50
    assert load(tmp_path / "m").schema_.channels == ("a", "b", "c")
    frame.rename(columns={"fault": "Failure"}).to_csv(tmp_path / "test.csv")
    assert invoke("score", tmp_path / "test.csv", "-m", tmp_path / "m", "-o", tmp_path / "s.csv").exit_code == 0


def test_score_gzip_csv_keeps_the_input_timestamps(logs, model, tmp_path):
    root, faulty = logs
    result = invoke("score", root / "faulty.csv.gz", "--model", model[0], "--timestamp", "%time", "--nan-policy", "ffill",
                    "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    assert f"note: {root / 'faulty.csv.gz'}: dropped {LEAD} leading rows before every channel had a value" in result.output
    out = pd.read_csv(tmp_path / "s.csv")
    raw = pd.read_csv(root / "faulty.csv.gz")
    assert out["timestamp"].tolist() == raw["%time"].iloc[LEAD:].tolist()  # the same text, row for row
    flags = out["flag"].to_numpy()
    assert flags[300 - LEAD :].mean() > 0.9 and flags[: 300 - LEAD].mean() < 0.1


def test_score_folder_of_gzip_logs_with_out(logs, model, tmp_path):
    root, _ = logs
    result = invoke("score", root / "day1", "--model", model[0], "--out", tmp_path / "outs")
    assert result.exit_code == 0, result.output
    assert result.output.count("dropped 12 leading rows") == 2  # the model's ffill policy drops them
    assert sorted(p.name for p in (tmp_path / "outs").iterdir()) == ["flight1.scores.parquet", "flight2.scores.parquet"]


def test_score_rejects_a_bad_nan_policy(logs, model, tmp_path):
    root, _ = logs
    line = one_error_line(invoke("score", root / "faulty.csv.gz", "--model", model[0], "--nan-policy", "zero", "-o", tmp_path / "s.csv"))
    assert "--nan-policy 'zero' is not one of" in line


def test_channels_that_differ_name_the_file_and_the_channels(logs, tmp_path):
    root, _ = logs
    frame = pd.read_csv(root / "day1" / "flight1.csv.gz").rename(columns={"ch2": "ch2_renamed"})
    frame.to_csv(tmp_path / "other.csv.gz", index=False, compression="gzip")
    line = one_error_line(invoke("fit", root / "day1", tmp_path / "other.csv.gz", "--nan-policy", "ffill", "-o", tmp_path / "m"))
    assert (f"error: {tmp_path / 'other.csv.gz'}: channels differ from those of {root / 'day1' / 'flight1.csv.gz'}: "
            "it lacks ['ch2'] and has ['ch2_renamed'] besides") in line
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("pattern, message", [("*.nothing", "no logs match this pattern"),
                                              ("*.txt2", "no logs match this pattern")])
def test_a_glob_that_matches_nothing(tmp_path, pattern, message):
    line = one_error_line(invoke("fit", f"{tmp_path}/{pattern}", "-o", tmp_path / "m"))
    assert f"{tmp_path}/{pattern}: {message}" in line
    assert not (tmp_path / "m").exists()


def test_an_empty_folder_and_a_glob_of_non_logs(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no logs in this folder" in one_error_line(invoke("fit", tmp_path / "empty", "-o", tmp_path / "m"))
    (tmp_path / "notes.md").write_text("x")
    assert "no logs among the files this pattern matches" in one_error_line(invoke("fit", f"{tmp_path}/*.md", "-o", tmp_path / "m"))
    assert not (tmp_path / "m").exists()


def test_a_bad_log_among_many_is_named(logs, tmp_path):
    root, _ = logs
    frame = pd.read_csv(root / "day1" / "flight1.csv.gz")
    frame.loc[50, "ch0"] = np.nan
    frame.to_csv(tmp_path / "holey.csv.gz", index=False, compression="gzip")
    line = one_error_line(invoke("fit", root / "day1", tmp_path / "holey.csv.gz", "-o", tmp_path / "m"))  # nan_policy raise
    assert f"{root / 'day1' / 'flight1.csv.gz'}: column" in line and "NaN/inf" in line  # the first log with NaN is named
    line = one_error_line(invoke("fit", tmp_path / "holey.csv.gz", root / "missing.csv", "--nan-policy", "ffill", "-o", tmp_path / "m"))
    assert "missing.csv: no such file or folder" in line
    assert not (tmp_path / "m").exists()
