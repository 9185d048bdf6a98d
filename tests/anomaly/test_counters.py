"""Counters (a row number, a cycle count, a clock) are left out of the model (anomaly.conditions.counter_channels)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pass_checks import assert_paths_agree

import anomaly
from anomaly.conditions import ConditionChannels, counter_channels
from anomaly.supervised import SupervisedDetector


def cell_log(seed: int, rows: int, *, first_row: int = 1, first_cycle: int = 1) -> pd.DataFrame:
    """A robot cell logged at 1 Hz: joint currents and speeds on a 60 s cycle, a steady temperature,
    the logger's row number ``Num`` and the cycle count (as the UR3 CobotOps logs have them)."""
    rng = np.random.default_rng(seed)
    phase = np.arange(rows) % 60 / 60 * 2 * np.pi
    index = pd.date_range("2026-03-01", periods=rows, freq="1s") + pd.Timedelta(days=seed)
    frame = pd.DataFrame({"Num": np.arange(first_row, first_row + rows, dtype=float)}, index=index)
    for j in range(3):
        frame[f"current_j{j}"] = np.sin(phase + j) * (1 + 0.3 * j) + rng.normal(0, 0.05, rows)
        frame[f"speed_j{j}"] = np.cos(phase + j) + rng.normal(0, 0.02, rows)
    frame["tool_temp"] = 31.0 + rng.normal(0, 0.05, rows)
    frame["cycle"] = first_cycle + np.arange(rows) // 60
    return frame


@pytest.fixture(scope="module")
def cell():
    return anomaly.PCADetector().fit(cell_log(0, 3000))


def test_counters_never_turn_back_and_take_many_values():
    rng = np.random.default_rng(0)
    n = 400
    log = np.column_stack([
        np.arange(n),  # a row number
        np.arange(n) // 30,  # a cycle count: 14 values
        100.0 - 0.01 * np.arange(n),  # a countdown (remaining charge without noise)
        np.cumsum(rng.normal(0, 1, n)),  # a random walk turns back
        np.r_[np.zeros(200), np.ones(200)],  # a flag set once: two values
        np.arange(n) // 50,  # 8 values: too few to tell from a mode switched a few times
        rng.normal(0, 1, n),  # noise
    ]).astype(np.float32)
    assert_array_equal(counter_channels([log], lag=10), [0, 1, 2])
    assert_array_equal(counter_channels([log, log[::-1].copy()], lag=10), [0, 1, 2])  # counting down in another log too
    turned = log.copy()
    turned[300:, 0] = np.arange(100)  # reset half-way in one log: not a counter
    assert_array_equal(counter_channels([log, turned], lag=10), [1, 2])
    assert len(counter_channels([log[:20]], lag=10)) == 0  # too short to tell
    assert_array_equal(counter_channels([log, log[:20, ::-1].copy()], lag=10), [0, 1, 2])  # a short log says nothing


def test_a_temperature_read_in_steps_that_only_warmed_up_is_no_counter():
    """Half-degree readings of a warm-up never turn back in a log: by name it stays a temperature,
    in the model, so overheating still shows."""
    logs = []
    for seed in (0, 1):
        log = cell_log(seed, 1200).drop(columns=["Num", "cycle"])
        log["tool_temp"] = np.round((25.0 + 8.0 * (1 - np.exp(-np.arange(1200) / 400.0))) * 2) / 2
        logs.append(log)
    det = anomaly.PCADetector().fit(logs)
    assert len(det.conditions_.counters) == 0 and (det.conditions_.keep == 1).all()
    hot = logs[1].copy()
    hot.iloc[600:700, hot.columns.get_loc("tool_temp")] += 4.0
    assert det.predict(hot).iloc[600:620].mean() > 0.9  # still watched (its onset; then its follower takes it)


def test_a_later_log_scores_as_the_same_log_recorded_first(cell, capsys):
    """The row number and cycle count of a log recorded after the training one are past anything
    in training; before counters were left out, every row of such a normal log was flagged."""
    first, later = cell_log(5, 1200), cell_log(5, 1200, first_row=40_001, first_cycle=700)
    assert_array_equal(cell.conditions_.counters, [0, 8])
    assert_allclose(cell.score(later).to_numpy(), cell.score(first).to_numpy(), rtol=1e-5, atol=1e-6)
    assert cell.predict(later).mean() < 0.02
    assert cell.check_envelope(later) == []  # the guard does not name them either
    errors = cell.errors(later)
    assert (errors[["Num", "cycle"]].to_numpy() == 0).all()  # never blamed


def test_a_fault_still_shows_and_a_counter_that_stops_is_a_stuck_sensor(cell):
    later = cell_log(6, 1200, first_row=9_001)
    faulty = later.copy()
    faulty.iloc[600:630, faulty.columns.get_loc("current_j1")] += 3.0
    assert cell.predict(faulty).iloc[600:630].mean() > 0.9
    frozen = later.copy()
    frozen.iloc[600:, frozen.columns.get_loc("Num")] = frozen["Num"].iloc[600]  # the logger stopped counting
    assert cell.predict(frozen).iloc[620:].mean() > 0.9 and cell.predict(frozen).iloc[:600].mean() < 0.02


def test_every_path_and_a_reload_agree(cell, tmp_path):
    loaded = assert_paths_agree(cell, cell_log(7, 900, first_row=5_001, first_cycle=90), tmp_path, chunk_rows=333)
    assert_array_equal(loaded.conditions_.counters, [0, 8])
    meta = json.loads((tmp_path / "model" / "detector.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert meta["conditions"]["counters"] == [0, 8]
    assert meta["envelope"]["low"][0] is None and meta["envelope"]["high"][8] is None  # unbounded, in strict JSON
    assert loaded.check_envelope(cell_log(7, 900, first_row=10**9)) == []


def test_models_saved_before_counters_have_none():
    state = ConditionChannels([1], 4, 10).to_dict()
    del state["counters"]
    old = ConditionChannels.from_dict(state)
    assert len(old.counters) == 0 and (old.keep == 1).all()


def test_counters_are_left_out_beside_declared_conditions_not_without_conditions():
    log = cell_log(0, 600)
    assert_array_equal(anomaly.PCADetector(conditions=["tool_temp"]).fit(log).conditions_.counters, [0, 8])
    assert len(anomaly.PCADetector(conditions=None).fit(log).conditions_.counters) == 0


def test_a_network_leaves_them_out_too():
    det = anomaly.DenseAutoencoder(window=8, hidden=(16,), latent=4, epochs=1, random_state=0).fit(cell_log(0, 600))
    first, later = cell_log(5, 300), cell_log(5, 300, first_row=70_001, first_cycle=999)
    assert_allclose(det.score(later).to_numpy(), det.score(first).to_numpy(), rtol=1e-4, atol=1e-5)


def test_a_supervised_head_takes_no_feature_of_their_level():
    logs = [cell_log(0, 1500), cell_log(1, 1500)]
    labels = [np.zeros(1500, dtype=int), np.zeros(1500, dtype=int)]
    for frame, y in zip(logs, labels):  # the normal pieces the detector is fitted on are 700 rows or longer: 12 cycles
        frame.iloc[700:740, frame.columns.get_loc("current_j0")] += 2.5
        y[700:740] = 1
    head = SupervisedDetector(anomaly.PCADetector(), window=10, folds=2).fit(logs, labels)
    assert_array_equal(head.detector_.conditions_.counters, [0, 8])
    later = cell_log(2, 900, first_row=50_001, first_cycle=400)
    first = cell_log(2, 900)
    assert_allclose(head.features(later), head.features(first), rtol=1e-5, atol=1e-6)


def test_from_the_command_line_a_later_export_raises_no_alarm(tmp_path):
    """A CSV as a cobot's logger exports it (row number first, quoted ISO timestamps, a True/False
    column): fit names the counters; the export of a later shift scores as the first one did."""
    from typer.testing import CliRunner

    from anomaly.cli import app

    def export(frame: pd.DataFrame, path):
        out = frame.copy()
        out.insert(1, "Timestamp", [f'"{t.isoformat(timespec="milliseconds")}Z"' for t in out.index])
        out["grip_lost"] = "False"
        out.to_csv(path, index=False, quoting=3)

    export(cell_log(0, 3000), tmp_path / "shift1.csv")
    export(cell_log(5, 1200, first_row=3001, first_cycle=51), tmp_path / "shift2.csv")
    runner = CliRunner()
    fitted = runner.invoke(app, ["fit", str(tmp_path / "shift1.csv"), "-o", str(tmp_path / "m")])
    assert fitted.exit_code == 0, fitted.output
    assert "counters, left out of the model (they never turn back in any training log" in fitted.output
    assert "still watched for a stuck value): Num, cycle" in fitted.output
    scored = runner.invoke(app, ["score", str(tmp_path / "shift2.csv"), "-m", str(tmp_path / "m"), "-o", str(tmp_path / "s.csv"),
                                 "--alarms", str(tmp_path / "alarms.csv")])
    assert scored.exit_code == 0, scored.output
    assert "0 alarm(s) to review" in scored.output and "operating envelope" not in scored.output
