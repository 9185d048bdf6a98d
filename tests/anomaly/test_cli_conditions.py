"""Operating conditions from the command line: fit --condition/--aggregate, the guard in score and stream."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from battery_logs import battery_log
from typer.testing import CliRunner

from anomaly.cli import app
from datasets.robot_arm import simulate

TEMPS = [f"j{i}_temp" for i in range(1, 7)]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Normal logs: 60 s at a steady 28 degC, 3 min of the arm warming up from 28 degC, and 80 s
    at 24 degC (a cooler day, as Parquet and CSV)."""
    root = tmp_path_factory.mktemp("conditions")
    simulate(60, seed=0, ambient_c=28.0).frame.to_parquet(root / "steady.parquet")
    simulate(180, seed=0, ambient_c=28.0, cold_start=True).frame.to_parquet(root / "normal.parquet")
    cool = simulate(80, seed=3, ambient_c=24.0).frame
    cool.to_parquet(root / "cool.parquet")
    cool.to_csv(root / "cool.csv")
    return root


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def flagged(logs, model, name):
    scored = invoke("score", logs / "cool.parquet", "-m", logs / model, "-o", logs / name)
    assert scored.exit_code == 0, scored.output
    return scored.output, pd.read_parquet(logs / name)["flag"].mean()


def test_condition_channels_stop_the_flood_and_the_guard_says_why(logs):
    # steady temperatures are noise around a set point: auto measures them against each file's start
    steady = invoke("fit", logs / "steady.parquet", "-d", "pca", "-o", logs / "steady")
    assert steady.exit_code == 0 and "condition channels: none is slow in the training logs" in steady.output
    assert ("set-point channels, normal between their mean over the first 1000 rows of each log (a file, a run) or stream and their "
            f"training level (noise around a steady or slowly drifting level in every training log, or a temperature that is not slow): {', '.join(TEMPS)}") in steady.output
    assert ("set-point temperatures, measured against their common move (the ambient: their median change, "
            f"averaged over 1000 rows): {', '.join(TEMPS)}") in steady.output
    assert "note: the temperatures are steady in every training log: a run that warms up from cold is normal" in steady.output
    assert "refit with" not in steady.output  # no temperature is left at its absolute level
    assert json.loads((logs / "steady" / "detector.json").read_text())["conditions"]["setpoints"] == [3, 7, 11, 15, 19, 23]
    output, share = flagged(logs, "steady", "steady-scores.parquet")
    assert "model outside its operating envelope: j" in output and "_temp -" in output  # said once, not flagged
    assert share < 0.05
    # the level model (no condition channels) floods the cooler day's first minute, then re-centres
    plain = invoke("fit", logs / "steady.parquet", "-d", "pca", "--condition", "none", "-o", logs / "plain")
    assert plain.exit_code == 0 and "condition channels: none\n" in plain.output
    output, share = flagged(logs, "plain", "plain.parquet")
    assert 0.74 < share < 0.77  # 60 s of 80 s
    assert "_temp scored around their own level after a minute outside" in " ".join(output.split())
    assert invoke("fit", logs / "steady.parquet", "-d", "pca", "--condition", "none", "--no-recentre", "-o",
                  logs / "level").exit_code == 0
    assert json.loads((logs / "level" / "detector.json").read_text())["recentre_rows"] == 0
    assert flagged(logs, "level", "level.parquet")[1] > 0.95
    # declared, they are modelled by their change
    fitted = invoke("fit", logs / "steady.parquet", "-d", "pca", "--condition", ",".join(TEMPS), "--aggregate", "calibrated",
                    "-o", logs / "declared")
    assert fitted.exit_code == 0, fitted.output
    output, share = flagged(logs, "declared", "declared.parquet")
    assert "operating envelope" in output and share < 0.05
    # temperatures that warm up in training are slow: the default (auto) takes them
    auto = invoke("fit", logs / "normal.parquet", "-d", "pca", "-o", logs / "auto")
    assert auto.exit_code == 0
    assert ("condition channels, modelled by their change over 1000 rows (slow in the training logs): "
            + ", ".join(f"j{i}_temp" for i in range(1, 7))) in auto.output
    meta = json.loads((logs / "auto" / "detector.json").read_text())
    assert meta["params"]["conditions"] == "auto" and len(meta["conditions"]["indices"]) == 6
    assert flagged(logs, "auto", "auto.parquet")[1] < 0.05
    assert invoke("fit", logs / "normal.parquet", "-d", "pca", "--condition", "none", "-o", logs / "none").exit_code == 0
    assert json.loads((logs / "none" / "detector.json").read_text())["params"]["conditions"] == []


@pytest.mark.parametrize("args, message", [
    (["--condition", "ambient"], "condition channel(s) ['ambient'] not in the data"),
    (["--condition", ","], "names no channel"),
    (["--condition", "auto,ambient"], "condition channel(s) ['ambient'] not in the data"),
    (["--aggregate", "median"], "aggregate='median' is not one of"),
])
def test_bad_condition_options_exit_2_and_write_nothing(logs, args, message):
    result = invoke("fit", logs / "normal.parquet", "-d", "pca", *args, "-o", logs / "bad")
    assert result.exit_code == 2 and message in result.output
    assert not (logs / "bad").exists()


def test_score_says_which_refit_models_a_flooding_level_by_its_change(tmp_path):
    """Training logs too short for a battery's discharge to show: it keeps its level, a session on
    a less charged battery floods, and score names the refit that adds it to auto's choice."""
    for seed in (0, 1):
        battery_log(seed, minutes=3.0).to_csv(tmp_path / f"train{seed}.csv", index_label="timestamp")
    battery_log(5, minutes=3.0, charge_v=24.4).to_csv(tmp_path / "low.csv", index_label="timestamp")
    assert invoke("fit", tmp_path / "train0.csv", tmp_path / "train1.csv", "-o", tmp_path / "m").exit_code == 0
    scored = invoke("score", tmp_path / "low.csv", "-m", tmp_path / "m", "-o", tmp_path / "s.csv")
    assert scored.exit_code == 0 and "fit again with --condition auto,battery_v" in " ".join(scored.output.split())
    assert "battery_v scored around its own level after a minute outside" in " ".join(scored.output.split())
    assert pd.read_csv(tmp_path / "s.csv")["flag"].mean() > 0.3  # the first minute of three, and more
    fitted = invoke("fit", tmp_path / "train0.csv", tmp_path / "train1.csv", "--condition", "auto,battery_v", "-o", tmp_path / "m2")
    assert fitted.exit_code == 0 and "or declared: battery_v): battery_v" in " ".join(fitted.output.split())
    scored = invoke("score", tmp_path / "low.csv", "-m", tmp_path / "m2", "-o", tmp_path / "s2.csv")
    assert scored.exit_code == 0 and "fit again" not in scored.output
    assert pd.read_csv(tmp_path / "s2.csv")["flag"].mean() < 0.05
    for model, refit in (("m", ["--condition auto,battery_v"]), ("m2", [])):  # the stream says it in its drift record
        done = subprocess.run([sys.executable, "-m", "anomaly.cli", "stream", "--model", str(tmp_path / model), "--format", "csv"],
                              input=(tmp_path / "low.csv").read_text(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        drift = [r for r in map(json.loads, done.stdout.splitlines()) if r["type"] == "drift"]
        assert len(drift) == 1 and [r["refit"] for r in drift if "refit" in r] == refit


def test_score_and_stream_say_when_a_battery_is_followed_inside_its_range(tmp_path):
    """A 20-minute session at full charge on a model of two 3-minute logs: the battery discharges
    inside its range but away from what the currents predict, and re-centring follows it from the
    9th minute; the score line and one stream record say so (what the alarms no longer cover)."""
    for seed in (0, 1):
        battery_log(seed, minutes=3.0).to_csv(tmp_path / f"train{seed}.csv", index_label="timestamp")
    battery_log(7, minutes=20.0).to_csv(tmp_path / "long.csv", index_label="timestamp")
    assert invoke("fit", tmp_path / "train0.csv", tmp_path / "train1.csv", "-o", tmp_path / "m").exit_code == 0
    said = "battery_v drifted from what the other channels predict inside its range and is scored around its drifting level"
    for chunk in ("100000", "1000"):  # read whole, and in blocks that end inside a window
        scored = invoke("score", tmp_path / "long.csv", "-m", tmp_path / "m", "-o", tmp_path / "s.csv", "--chunk-rows", chunk)
        line = " ".join(scored.output.split())
        assert scored.exit_code == 0 and said in line and "from 2026-04-01 00:08:59.900 (55% of the rows; by up to -0.4" in line
    done = subprocess.run([sys.executable, "-m", "anomaly.cli", "stream", "--model", str(tmp_path / "m"), "--format", "csv", "--hop", "70"],
                          input=(tmp_path / "long.csv").read_text(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    followed = [r for r in map(json.loads, done.stdout.splitlines()) if r["type"] == "drift" and "followed" in r]
    assert len(followed) == 1 and list(followed[0]["followed"]) == ["battery_v"] and followed[0]["message"].startswith(said)
    assert followed[0]["timestamp"] == "2026-04-01T00:08:59.900000"  # the row that ended the window, inside a group of 70
    assert -0.3 < followed[0]["followed"]["battery_v"] < 0


def test_stream_emits_one_drift_record_on_a_cooler_day(logs):
    assert invoke("fit", logs / "normal.parquet", "-d", "pca", "-o", logs / "stream-model").exit_code == 0
    done = subprocess.run([sys.executable, "-m", "anomaly.cli", "stream", "--model", str(logs / "stream-model"), "--format", "csv"],
                          input=(logs / "cool.csv").read_text(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    drift = [r for r in records if r["type"] == "drift"]
    assert len(drift) == 1  # 80 s = one 60 s guard window outside the envelope, said once
    assert drift[0]["message"].startswith("model outside its operating envelope: ")
    assert drift[0]["channels"] and set(drift[0]["channels"]) <= set(TEMPS)  # below the warm-up's start
    deltas = drift[0]["channels"].values()
    assert all(-4.5 < delta < 0 for delta in deltas) and min(deltas) < -2.0


def test_top_channels_rank_calibrated_errors_with_a_calibrated_head(logs):
    fitted = invoke("fit", logs / "normal.parquet", "-d", "pca", "--aggregate", "calibrated", "--param", "statistic=spe",
                    "-o", logs / "calibrated")
    assert fitted.exit_code == 0, fitted.output
    scored = invoke("score", logs / "cool.parquet", "-m", logs / "calibrated", "-o", logs / "calibrated.parquet", "--with-errors")
    assert scored.exit_code == 0, scored.output
    table = pd.read_parquet(logs / "calibrated.parquet")
    errors = table.filter(like="err:").rename(columns=lambda c: c[4:])
    scale = json.loads((logs / "calibrated" / "detector.json").read_text())["head"]["scale"]
    calibrated = errors / scale
    first = [row.split(";")[0] for row in table["top_channels"]]
    assert first == list(calibrated.idxmax(axis=1))


def test_score_names_a_file_sampled_at_another_rate(logs):
    assert invoke("fit", logs / "steady.parquet", "-d", "pca", "-o", logs / "rate-model").exit_code == 0
    pd.read_parquet(logs / "cool.parquet").iloc[::2].to_parquet(logs / "cool-50hz.parquet")
    note = "sampled at 50 Hz, the model at 100 Hz (its alert rules and condition channels count rows at the model's rate)"
    for extra in ((), ("--chunk-rows", 700)):  # the file read whole, and block by block
        half = invoke("score", logs / "cool-50hz.parquet", "-m", logs / "rate-model", "-o", logs / "half.parquet", *extra)
        assert half.exit_code == 0 and note in " ".join(half.output.split())
    same = invoke("score", logs / "cool.parquet", "-m", logs / "rate-model", "-o", logs / "same.parquet")
    assert same.exit_code == 0 and "sampled at" not in same.output
    import anomaly
    from anomaly.cli.score import _whole_result  # the path of supervised heads, bags and topic folders
    outside = _whole_result(anomaly.load(logs / "rate-model"), logs / "cool-50hz.parquet", None, step=lambda _: None, top_k=3,
                            with_errors=False)[2]
    assert note in outside


def test_rate_note_tolerates_ten_percent_and_unknown_rates():
    from anomaly.guard import rate_note
    assert rate_note(100.0, 105.0) == "" and rate_note(100.0, None) == "" and rate_note(None, 50.0) == ""
    assert rate_note(100.0, 50.0).startswith("sampled at 50 Hz, the model at 100 Hz")
    assert rate_note(20.0, 25.0).startswith("sampled at 25 Hz")
