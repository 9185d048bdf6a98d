"""The guard's flood note: a run inside every channel's range that the model floods is named by
the channel that leads its flagged rows (a battery whose level changes by session), or by the
set-point channels carried past their training level together (temperatures on a drifting
ambient that the model does not know as temperatures by name)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomaly import make_detector
from anomaly.cli import app
from anomaly.guard import FLOOD_SHARE, condition_option, flood_leaders, flood_note, led_rows, over_rows, run_flood
from pipelines.compare import Split, detection_tables, flight_detection, run_detectors

CHANNELS = ("speed", "current", "battery_v")


def session(seed: int, battery: float, minutes: float = 4.0) -> pd.DataFrame:
    """A vehicle at 10 Hz: speed set points, a current that follows them and a battery voltage
    that sags with the current around a level that changes by session (shape (n, 3))."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 600)
    steps = np.repeat(rng.choice([0.0, 0.5, 1.0, 1.5], size=n // 50 + 1), 50)[:n]
    speed = pd.Series(steps).ewm(span=10).mean().to_numpy() + rng.normal(0, 0.01, n)
    current = 2.0 + 3.0 * speed + rng.normal(0, 0.1, n)
    volts = battery - 0.2 * current + rng.normal(0, 0.02, n)
    index = pd.date_range("2026-05-01 08:00", periods=n, freq="100ms", tz="UTC", name="timestamp") + pd.Timedelta(days=seed)
    return pd.DataFrame({"speed": speed, "current": current, "battery_v": volts}, index=index)


def test_led_rows_counts_the_flagged_rows_each_channel_leads():
    ranked = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 9.0]])
    assert led_rows(ranked, np.array([True, True, True, False])).tolist() == [2, 1, 0]
    assert led_rows(ranked, np.zeros(4, dtype=bool)).tolist() == [0, 0, 0]


@pytest.mark.parametrize("led, level, named", [
    ([2, 3, 35], [True, True, True], True),
    ([0, 0, int(FLOOD_SHARE * 100) - 1], [True, True, True], False),  # not a flood
    ([15, 10, 15], [True, True, True], False),  # no channel leads most flagged rows
    ([2, 3, 35], [True, True, False], False),  # led by a condition or set-point channel (a temperature)
])
def test_flood_note_names_a_level_channel_that_leads_a_flood(led, level, named):
    note = flood_note(np.array(led), 100, CHANNELS, np.array(level))
    assert bool(note) == named
    assert flood_leaders(np.array(led), 100, np.array(level)) == ([2] if named else [])
    if named:
        assert note.startswith("40% of rows flagged, 88% of them led by battery_v, inside its training range")
        assert "--condition auto,battery_v" in note


@pytest.mark.parametrize("led, over, setpoints, leaders", [
    ([2, 3, 35], [0, 30, 38], [False, True, True], [2, 1]),  # set points lead: every one over its limit in a quarter of them
    ([2, 3, 35], [0, 5, 38], [False, True, True], []),  # one over its limit (an overheating joint): not named
    ([2, 3, 35], [0, 5, 38, 12], [False, True, True, True], [2, 3]),  # two: named, the one over in an eighth not
    ([15, 3, 22], [0, 30, 38], [False, True, False], []),  # a condition channel leads, the set point an eighth: no one's
    ([2, 3, 35], [0, 30, 38], [False, False, False], []),  # no set-point channel (a condition channel leads)
])
def test_a_flood_the_set_point_channels_lead_names_each_one_beyond_its_span(led, over, setpoints, leaders):
    c = len(setpoints)
    led, level = np.array(led + [0] * (c - len(led))), np.array([True] + [False] * (c - 1))
    assert flood_leaders(led, 100, level, np.array(setpoints), np.array(over)) == leaders
    note = flood_note(led, 100, CHANNELS + ("temp_b",), level, np.array(setpoints), np.array(over), declared=["speed"])
    assert bool(note) == bool(leaders)
    if leaders == [2, 1]:
        assert note.startswith("40% of rows flagged, 95% of them led by battery_v, current, set-point channels beyond the span")
        assert "fit again with --condition auto,speed,battery_v,current (modelled by their change)" in note  # speed kept


def test_over_rows_counts_the_flagged_rows_a_channel_is_over_its_limit_in():
    ranked = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.5], [5.0, 0.0, 0.0], [0.0, 0.0, 9.0]])
    assert over_rows(ranked, np.array([True, True, True, False])).tolist() == [2, 1, 1]


def test_the_refit_option_keeps_the_declared_condition_channels_once():
    assert condition_option(["b"]) == "--condition auto,b"
    assert condition_option(["b", "a"], ["a"]) == "--condition auto,a,b"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("flood")
    session(0, 24.0).to_csv(root / "train.csv")
    session(1, 23.7).to_csv(root / "lower.csv")  # 0.3 V lower: inside the range, not beside the current
    session(2, 24.0).to_csv(root / "same.csv")
    return root


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_score_names_the_channel_behind_a_flood_inside_the_envelope(files):
    fitted = invoke("fit", files / "train.csv", "-d", "pca", "-o", files / "m")
    assert fitted.exit_code == 0, fitted.output
    lines = []
    for chunk_rows in (100_000, 500):  # the file in one block and in many: the same line
        scored = invoke("score", files / "lower.csv", "-m", files / "m", "-o", files / "lower.parquet", "--chunk-rows", chunk_rows)
        assert scored.exit_code == 0, scored.output
        assert pd.read_parquet(files / "lower.parquet")["flag"].mean() >= FLOOD_SHARE
        lines.append(next(line for line in scored.output.splitlines() if line.startswith("warning:")))
    assert lines[0] == lines[1]
    assert "of rows flagged" in lines[0] and "led by battery_v, inside its training range" in lines[0]
    assert "operating envelope" not in lines[0]  # every channel's median is inside its range
    same = invoke("score", files / "same.csv", "-m", files / "m", "-o", files / "same.parquet")
    assert same.exit_code == 0 and "warning" not in same.output  # a session at the training level: no note


def test_a_file_read_whole_gets_the_same_note(files):
    det = make_detector("pca").fit(session(0, 24.0))
    errors, _, flags = det.evaluate_frame(session(1, 23.7))
    note, channel = run_flood(det, errors, flags)
    assert "led by battery_v" in note and channel == "battery_v"
    assert run_flood(det, *det.evaluate_frame(session(2, 24.0))[::2]) == ("", None)


def test_stream_emits_one_drift_record_naming_the_channel_behind_a_flood(files):
    assert invoke("fit", files / "train.csv", "-d", "pca", "-o", files / "stream-model").exit_code == 0
    drift = {}
    for name in ("lower", "same"):
        done = subprocess.run([sys.executable, "-m", "anomaly.cli", "stream", "--model", str(files / "stream-model"), "--format", "csv"],
                              input=(files / f"{name}.csv").read_text(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        drift[name] = [r for r in map(json.loads, done.stdout.splitlines()) if r["type"] == "drift"]
    assert len(drift["lower"]) == 1  # four 60 s windows flood: said once
    record = drift["lower"][0]
    assert "led by battery_v, inside its training range" in record["message"] and record["channels"] == {}
    assert list(record["led_by"]) == ["battery_v"] and record["led_by"]["battery_v"] >= 0.5
    assert drift["same"] == []  # a session at the training level


def test_compare_names_the_channel_behind_a_flood_before_the_onset():
    train = session(0, 24.0)
    splits = []
    for name, battery in (("lower", 23.7), ("same", 24.0)):
        test = session(1, battery)
        test.iloc[1800:, 1] += 3.0  # the current jumps at the onset, the voltage does not sag with it
        labels = np.arange(len(test)) >= 1800
        splits.append(Split(name, train, test, labels, pd.Series(np.where(labels, "current", "")), onset=1800))
    runs = run_detectors(splits, {"pca": {}})
    detection = flight_detection(splits, runs)
    flights = {r["flight"]: r for r in detection["flights"]["pca"]}
    assert flights["lower"]["flood_channel"] == "battery_v" and flights["lower"]["outside_channels"] == []
    assert "led by battery_v, inside its training range" in flights["lower"]["outside_envelope"]
    assert flights["same"]["flood_channel"] is None and flights["same"]["outside_envelope"] == ""
    table = detection_tables({"detection": detection})["flights"]
    assert table.loc["lower", "pca outside envelope"] == "flood led by battery_v" and table.loc["same", "pca outside envelope"] == ""


def anonymous_arm(tmp_path):
    """Three 300 s logs of the simulated arm warming up from cold and a 600 s run on an ambient
    rising 6 degC an hour (20 Hz), as six joint temperatures and four joint currents named
    ``ch<k>`` (the temperatures ch3, ch7, ..., ch23): file paths ``(train, test)``."""
    from datasets.robot_arm.conditions import TEST_SEEDS, conditions_scenario

    names = None
    train = []
    for seed in (0, 1, 2):
        frame = conditions_scenario("cold-start", duration_s=300, seed=seed, rate_hz=20).frame
        if names is None:
            kept = [c for c in frame.columns if c.endswith("_temp")] + [c for c in frame.columns if c.endswith("_current")][:4]
            names = {c: f"ch{frame.columns.get_loc(c)}" for c in kept}
        train.append(tmp_path / f"train{seed}.parquet")
        frame[list(names)].rename(columns=names).to_parquet(train[-1])
    test = tmp_path / "drift.parquet"
    conditions_scenario("warm-drift", duration_s=600, seed=TEST_SEEDS[0], rate_hz=20).frame[list(names)].rename(columns=names).to_parquet(test)
    return train, test


def test_temperatures_without_their_names_flooding_on_an_ambient_drift_are_named_with_the_refit(tmp_path):
    train, test = anonymous_arm(tmp_path)
    assert invoke("fit", *train, "-o", tmp_path / "m").exit_code == 0
    temperatures = {"ch3", "ch7", "ch11", "ch15", "ch19", "ch23"}
    lines = []
    for chunk_rows in (100_000, 3000):  # read in one block and in many: the same line
        scored = invoke("score", test, "-m", tmp_path / "m", "-o", tmp_path / "s.parquet", "--chunk-rows", chunk_rows)
        assert scored.exit_code == 0, scored.output
        lines.append(next(line for line in scored.output.splitlines() if line.startswith("warning:")))
    assert lines[0] == lines[1]
    assert pd.read_parquet(tmp_path / "s.parquet")["flag"].mean() > 0.5  # the flood
    assert "set-point channels beyond the span between their level at the run's start and their training level" in lines[0]
    option = lines[0].split("fit again with ")[1].split(" ")[:2]
    assert option[0] == "--condition" and set(option[1].split(",")) == {"auto"} | temperatures  # every temperature at once
    refit = invoke("fit", *train, *option, "-o", tmp_path / "refit")
    assert refit.exit_code == 0, refit.output
    scored = invoke("score", test, "-m", tmp_path / "refit", "-o", tmp_path / "s2.parquet")
    assert scored.exit_code == 0 and "warning" not in scored.output, scored.output
    assert pd.read_parquet(tmp_path / "s2.parquet")["flag"].mean() < 0.05  # the refit follows the drift


def test_the_stream_names_the_set_point_channels_behind_a_flood_once(tmp_path):
    train, test = anonymous_arm(tmp_path)
    assert invoke("fit", *train, "-o", tmp_path / "m").exit_code == 0
    done = subprocess.run([sys.executable, "-m", "anomaly.cli", "stream", "--model", str(tmp_path / "m"), "--format", "csv", "--hop", "20"],
                          input=pd.read_parquet(test).to_csv(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    floods = [r for r in map(json.loads, done.stdout.splitlines()) if r["type"] == "drift" and "led_by" in r]
    assert len(floods) == 1, floods  # said once, while the flood lasts
    assert "set-point channels beyond the span between their level at the run's start" in floods[0]["message"]
    assert len(floods[0]["led_by"]) >= 2 and set(floods[0]["led_by"]) <= {"ch3", "ch7", "ch11", "ch15", "ch19", "ch23"}
