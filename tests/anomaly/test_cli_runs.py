"""``--runs COLUMN``: files that hold several runs (a unit or episode number, the clock restarting
at each), fitted and scored run by run, the output in the input's row order."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke, one_error_line

from anomaly import load
from pipelines.sources import read_runs

RUN_ROWS = 1500


def runs_frame(seed: int, units=(1, 2, 3), interleaved: bool = False, fault_in: int | None = None) -> pd.DataFrame:
    """Runs of 4 correlated channels at 20 Hz, each run's clock starting at 0 s (a ``time`` column
    in seconds), told apart by ``unit``; ``fault_in``: that unit gets a 2 s fault on ``c``."""
    rng = np.random.default_rng(seed)
    parts = []
    for unit in units:
        t = np.arange(RUN_ROWS) / 20.0
        base = np.sin(2 * np.pi * t / 3.0 + unit)
        values = np.column_stack([base, 0.8 * base, -base, 0.5 * base]) + 0.05 * rng.standard_normal((RUN_ROWS, 4))
        if unit == fault_in:
            values[800:840, 2] += 2.0
        parts.append(pd.DataFrame({"time": t, "unit": unit, **dict(zip("abcd", values.T))}))
    frame = pd.concat(parts, ignore_index=True)
    if interleaved:  # the logs of several robots written in one file, row by row
        frame = frame.iloc[np.argsort(np.tile(np.arange(RUN_ROWS), len(units)), kind="stable")].reset_index(drop=True)
    return frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs_frame(0).to_csv(root / "train.csv", index=False)
    result = invoke("fit", root / "train.csv", "--runs", "unit", "--condition", "none", "-o", root / "m")
    assert result.exit_code == 0, result.output
    return root, result.output


def test_fit_takes_each_run_as_a_log_and_records_the_run_column(fitted):
    root, output = fitted
    for unit in (1, 2, 3):
        assert f"train.csv [unit={unit}]: {RUN_ROWS:,} rows used" in output
    det = load(root / "m")
    assert det.schema_.channels == tuple("abcd") and det.schema_.runs == "unit" and "unit" in det.schema_.ignored
    assert det.schema_.sampling_rate == pytest.approx(20.0)
    info = invoke("info", root / "m")
    assert "runs told apart by unit: score and feedback split a file that has it into its runs" in info.output


def test_without_runs_the_restarting_clock_is_refused_with_the_option_named(tmp_path, fitted):
    root, _ = fitted
    message = one_error_line(invoke("fit", root / "train.csv", "--ignore", "unit", "-o", tmp_path / "m"))
    assert "the time restarts" in message and "--runs COLUMN" in message
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("interleaved", [False, True])
def test_score_splits_a_file_into_its_runs_by_the_models_column(tmp_path, fitted, interleaved):
    root, _ = fitted
    frame = runs_frame(1, units=(7, 8), interleaved=interleaved, fault_in=8)
    frame.to_csv(tmp_path / "test.csv", index=False)
    result = invoke("score", tmp_path / "test.csv", "-m", root / "m", "-o", tmp_path / "s.csv", "--alarms", tmp_path / "alarms.csv")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(tmp_path / "s.csv")
    assert list(scored.columns[:5]) == ["time", "unit", "score", "flag", "top_channels"]
    assert len(scored) == len(frame)
    np.testing.assert_array_equal(scored["unit"], frame["unit"])  # the input's row order
    np.testing.assert_allclose(scored["time"], frame["time"])
    det = load(root / "m")
    for unit in (7, 8):  # each run scored as a log of its own
        rows = frame[frame["unit"] == unit].set_index("time")[list("abcd")]
        np.testing.assert_allclose(scored.loc[scored["unit"] == unit, "score"], det.score(rows), rtol=1e-5, atol=1e-6)
    alarms = pd.read_csv(tmp_path / "alarms.csv")
    assert list(alarms.columns) == ["start", "end", "run", "label", "peak_score", "top_channels"]
    fault = alarms[(alarms["run"] == 8) & (alarms["start"] <= 42.0) & (alarms["end"] >= 40.0)]
    assert len(fault) == 1 and fault["top_channels"].iloc[0].split(";")[0] == "c"
    assert not ((alarms["run"] == 7) & (alarms["start"] < 42.0) & (alarms["end"] > 40.0)).any()


def test_score_out_folder_and_the_option_given(tmp_path, fitted):
    root, _ = fitted
    for seed in (2, 3):
        runs_frame(seed, units=(4, 5)).to_parquet(tmp_path / f"log{seed}.parquet")
    result = invoke("score", tmp_path, "-m", root / "m", "--out", tmp_path / "scores", "--runs", "unit")
    assert result.exit_code == 0, result.output
    for seed in (2, 3):
        scored = pd.read_parquet(tmp_path / "scores" / f"log{seed}.scores.parquet")
        assert len(scored) == 2 * RUN_ROWS and set(scored["unit"]) == {4, 5}


def test_a_file_without_the_models_run_column_is_one_run(tmp_path, fitted):
    root, _ = fitted
    runs_frame(4, units=(1,)).drop(columns="unit").to_csv(tmp_path / "one.csv", index=False)
    result = invoke("score", tmp_path / "one.csv", "-m", root / "m", "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(tmp_path / "s.csv")
    assert "unit" not in scored.columns and len(scored) == RUN_ROWS


def test_read_runs_checks_each_run_on_its_own(tmp_path):
    frame = runs_frame(5, units=(1, 2))
    frame.to_csv(tmp_path / "runs.csv", index=False)
    found = read_runs(tmp_path / "runs.csv", "unit", timestamp="time")
    assert [r.value for r in found] == [1, 2]
    assert [r.table.source for r in found] == [f"{tmp_path / 'runs.csv'} [unit={u}]" for u in (1, 2)]
    np.testing.assert_array_equal(found[1].positions, np.arange(RUN_ROWS, 2 * RUN_ROWS))
    assert list(found[0].table.frame.columns) == list("abcd")


@pytest.mark.parametrize("change,args,message", [
    (None, ["--runs", "nosuch"], "--runs 'nosuch': no such column"),
    ("empty", ["--runs", "unit"], "run column 'unit' has an empty cell at row 5"),
    ("duplicate", ["--runs", "unit"], "[unit=2]: duplicate timestamp"),
    (None, ["--runs", "time"], "is the timestamp column"),
])
def test_bad_runs_exit_2_with_one_line_and_write_nothing(tmp_path, fitted, change, args, message):
    root, _ = fitted
    frame = runs_frame(6, units=(1, 2))
    if change == "empty":
        frame = frame.astype({"unit": float})
        frame.loc[5, "unit"] = np.nan
    if change == "duplicate":
        frame.loc[RUN_ROWS + 10, "time"] = frame.loc[RUN_ROWS + 9, "time"]
    frame.to_csv(tmp_path / "bad.csv", index=False)
    timestamp = ["--timestamp", "time"] if "time" in args else []
    fit = invoke("fit", tmp_path / "bad.csv", *args, *timestamp, "-o", tmp_path / "m")
    assert message in one_error_line(fit) and not (tmp_path / "m").exists()
    scored = invoke("score", tmp_path / "bad.csv", "-m", root / "m", "-o", tmp_path / "s.csv", *args, *timestamp)
    assert message in one_error_line(scored) and not (tmp_path / "s.csv").exists()


def test_runs_are_scored_locally_not_on_dask(tmp_path, fitted):
    root, _ = fitted
    assert "scored locally" in one_error_line(
        invoke("score", root / "train.csv", "-m", root / "m", "--out", tmp_path / "o", "--executor", "dask"))


@pytest.mark.parametrize("source", ["column", "events"])
def test_a_supervised_head_learns_from_the_labels_of_each_run(tmp_path, source):
    """Labels from a column of the runs' rows, or from an events file whose run column says which
    run each event is in (the same times recur in every run)."""
    frame = pd.concat([runs_frame(8 + k, units=(2 * k + 1, 2 * k + 2), fault_in=2 * k + 2) for k in range(3)], ignore_index=True)
    frame["label"] = 0
    faulty = frame["unit"].isin([2, 4, 6]) & frame["time"].between(40.0, 41.95)
    frame.loc[faulty, "label"] = 1
    path = tmp_path / "labelled.csv"
    if source == "column":
        frame.to_csv(path, index=False)
        labels = "label"
    else:
        frame.drop(columns="label").to_csv(path, index=False)
        labels = tmp_path / "events.csv"
        rows = [(0.0, 74.95, unit, "normal") for unit in (1, 3, 5)] + [(40.0, 41.95, unit, "valve") for unit in (2, 4, 6)]
        pd.DataFrame(rows, columns=["start", "end", "run", "label"]).to_csv(labels, index=False)
    fit = invoke("fit", path, "--runs", "unit", "--labels", labels, "--unlabelled", "normal", "--condition", "none", "-o", tmp_path / "m")
    assert fit.exit_code == 0, fit.output
    report = json.loads((tmp_path / "m" / "training_report.json").read_text())
    assert [log["source"] for log in report["logs"]] == [f"{path} [unit={u}]" for u in range(1, 7)] and report["runs"] == "unit"
    fault_rows = {log["source"][-2]: log["labels"].get("valve", log["labels"].get("fault", 0)) for log in report["logs"]}
    assert fault_rows == {"1": 0, "2": 40, "3": 0, "4": 40, "5": 0, "6": 40}
    frame.drop(columns="label").to_csv(tmp_path / "again.csv", index=False)
    scored = invoke("score", tmp_path / "again.csv", "-m", tmp_path / "m", "-o", tmp_path / "s.csv")
    assert scored.exit_code == 0, scored.output
    flags = pd.read_csv(tmp_path / "s.csv")["flag"].to_numpy()
    assert flags[faulty.to_numpy()].mean() > 0.5 and flags[~faulty.to_numpy()].mean() < 0.02


def test_feedback_reads_the_reviewed_alarms_of_each_run(tmp_path, fitted):
    root, _ = fitted
    shutil.copytree(root / "m", tmp_path / "m")  # feedback rewrites the model: the module's stays as fitted
    root = tmp_path
    frame = runs_frame(7, units=(7, 8), interleaved=True, fault_in=8)
    frame.loc[frame["unit"] == 7, "a"] += np.where(np.arange(RUN_ROWS) // 20 == 30, 1.5, 0.0)  # a 1 s burst in run 7
    frame.to_csv(tmp_path / "test.csv", index=False)
    assert invoke("score", tmp_path / "test.csv", "-m", root / "m", "-o", tmp_path / "s.csv", "--alarms", tmp_path / "a.csv").exit_code == 0
    alarms = pd.read_csv(tmp_path / "a.csv", keep_default_na=False)
    assert set(alarms["run"]) == {7, 8}  # the burst and the fault, each in its own run at 40-42 s and 30 s
    alarms["label"] = np.where(alarms["run"] == 7, "false_alarm", "valve")
    alarms.to_csv(tmp_path / "reviewed.csv", index=False)
    fed = invoke("feedback", root / "m", tmp_path / "test.csv", "--events", tmp_path / "reviewed.csv", "--by", "ana")
    assert fed.exit_code == 0, fed.output
    assert "feedback round 1" in fed.output
    wrong = alarms.assign(run=9)  # an alarm of a run the file does not hold covers no row
    wrong.to_csv(tmp_path / "wrong.csv", index=False)
    assert "covers no row" in one_error_line(invoke("feedback", root / "m", tmp_path / "test.csv", "--events", tmp_path / "wrong.csv"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_stream_starts_a_new_pass_where_the_run_changes(tmp_path, fitted, fmt):
    """Messages that carry the model's run field: each run's clock restarts and nothing is skipped
    as out of order; every row scores as `anomaly score` scores its run."""
    root, _ = fitted
    frame = runs_frame(9, units=(7, 8), fault_in=8).iloc[np.r_[0:600, RUN_ROWS:RUN_ROWS + 900]]
    frame.to_csv(tmp_path / "test.csv", index=False)
    assert invoke("score", tmp_path / "test.csv", "-m", root / "m", "-o", tmp_path / "s.csv").exit_code == 0
    text = frame.to_csv(index=False) if fmt == "csv" else "".join(json.dumps(r) + "\n" for r in frame.to_dict(orient="records"))
    result = invoke("stream", "-m", root / "m", "--format", fmt, "--scores", "--timestamp", "time", input=text)
    assert result.exit_code == 0, result.output
    assert "1500 rows in, 1500 scored, 0 skipped" in result.output
    streamed = [json.loads(line) for line in result.output.splitlines() if line.startswith("{") and '"score"' in line]
    scores = [r["score"] for r in streamed if r["type"] == "score"]
    np.testing.assert_allclose(scores, pd.read_csv(tmp_path / "s.csv")["score"], rtol=1e-5, atol=1e-6)
    assert any(r["type"] == "alert" and 40.0 <= r["start"] <= 42.0 for r in streamed)


def test_compare_trains_on_the_first_runs_and_tests_each_other_run(tmp_path):
    frame = runs_frame(10, units=(1, 2, 3, 4), fault_in=4)
    frame["is_anomaly"] = ((frame["unit"] == 4) & frame["time"].between(40.0, 41.95)).astype(int)
    frame.to_csv(tmp_path / "labelled.csv", index=False)
    result = invoke("compare", "--dataset", tmp_path / "labelled.csv", "--runs", "unit", "--train-fraction", "0.5",
                    "--detectors", "pca", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    pca = json.loads((tmp_path / "out" / "results.json").read_text())["metrics"]["pca"]
    assert pca["tp"] + pca["fp"] + pca["fn"] + pca["tn"] == 2 * RUN_ROWS  # runs 3 and 4 tested, 1 and 2 trained
    assert pca["tp"] == 40 and pca["recall"] == 1.0
    timed = invoke("compare", "--dataset", tmp_path / "labelled.csv", "--runs", "time", "--detectors", "pca", "-o", tmp_path / "o2")
    assert "--runs 'time' is the timestamp column" in one_error_line(timed)
    frame[frame["unit"] == 1].to_csv(tmp_path / "one.csv", index=False)
    one = invoke("compare", "--dataset", tmp_path / "one.csv", "--runs", "unit", "--detectors", "pca", "-o", tmp_path / "o3")
    assert "finds 1 run: nothing to test on" in one_error_line(one)
