"""Stuck channels (anomaly.stuck): limits from the training runs, run lengths that do not depend
on how a pass is cut, and a frozen sensor that alarms and is named first on every scoring path."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke, one_error_line
from pass_checks import assert_paths_agree

from anomaly import PCADetector, load, sensor_checks
from anomaly.feedback import new_round, review, save_round
from anomaly.stuck import LIMIT_FACTOR, MIN_LIMIT_ROWS, RunLengths, fit_stuck_limits, run_lengths


def arm_like(n: int, seed: int, start="2026-01-01") -> pd.DataFrame:
    """``n`` rows at 100 Hz: four noisy channels driven by one motion, a vibration (noise), a switch and a constant."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    motion = np.sin(2 * np.pi * 0.3 * t + seed)
    frame = pd.DataFrame({f"ch{i}": (i + 1) * motion + 0.05 * rng.normal(size=n) for i in range(4)},
                         index=pd.date_range(start, periods=n, freq="10ms"))
    frame["vibration"] = rng.normal(size=n)  # noise, unrelated to the motion
    frame["switch"] = (motion > 0).astype(float)  # holds its value for 1.7 s at a time
    frame["constant"] = 5.0
    return frame


def frozen(frame: pd.DataFrame, channel: str, start: int, stop: int, value: float | None = None) -> pd.DataFrame:
    """``frame`` with ``channel`` repeating ``value`` (default: its reading before ``start``) over rows ``start:stop``."""
    out = frame.copy()
    out.iloc[start:stop, out.columns.get_loc(channel)] = out[channel].iloc[start - 1] if value is None else value
    return out


def test_longest_runs_and_which_channels_qualify():
    values = np.array([[1, 0, 7], [1, 1, 7], [2, 1, 7], [3, 1, 7], [4, 0, 7]], dtype=float)
    assert run_lengths(values).max(axis=0).tolist() == [2, 3, 5]
    noisy = np.random.default_rng(0).normal(size=(500, 1))
    held = np.repeat(np.arange(50.0), 10)[:, None]  # a topic at a tenth of the rate, held
    limits = fit_stuck_limits([np.hstack([noisy, held, np.zeros((500, 1))])], 100.0)
    assert limits[0] == 100.0  # 4 x 1 row is below the floor of 1 s at 100 Hz
    assert limits[1] == 0.0 and limits[2] == 0.0  # most rows repeat: never called stuck
    runs = np.repeat(noisy, np.resize([1, 1, 3], len(noisy)), axis=0)  # runs of up to 3 rows (2 in 5 rows repeat)
    assert fit_stuck_limits([runs], None)[0] == max(LIMIT_FACTOR * 3, MIN_LIMIT_ROWS)  # no timestamps: 100 rows
    assert fit_stuck_limits([runs], 1.0)[0] == LIMIT_FACTOR * 3  # at 1 Hz the floor is 1 row


def past(ratios, n: int) -> np.ndarray:
    """Ratios (n, c) where a run reaches its limit, else 0 (what ``take`` guarantees; None: none)."""
    return np.zeros((n, 2), np.float32) if ratios is None else np.where(ratios >= 1.0, ratios, 0.0)


def test_run_lengths_do_not_depend_on_the_cut(monkeypatch):
    rng = np.random.default_rng(1)
    rows = np.repeat(rng.integers(0, 3, size=(60, 2)).astype(float), rng.integers(1, 8, size=60), axis=0)
    limits = np.array([4.0, 0.0])
    runs = np.ones(len(rows))  # the runs of channel 0, row by row
    for t in range(1, len(rows)):
        runs[t] = runs[t - 1] + 1 if rows[t, 0] == rows[t - 1, 0] else 1
    assert runs.max() >= 6
    whole = RunLengths(limits)
    whole.push(rows)
    expected = whole.take(len(rows))
    np.testing.assert_array_equal(expected[:, 0], np.where(runs >= 4, runs / 4, 0))
    assert (expected[:, 1] == 0).all()  # a channel without a limit never counts
    cut = RunLengths(limits)
    parts = []
    for lo, hi in ((0, 1), (1, 2), (2, 7), (7, 8), (8, 100), (100, len(rows))):  # pieces of one row too (the stream's)
        cut.push(rows[lo:hi])
        parts.append(past(cut.take(hi - lo), hi - lo))
    np.testing.assert_array_equal(np.concatenate(parts), past(expected, len(rows)))
    for block in (7, 3):  # a whole pass worked through in blocks, some too short to reach the limit
        monkeypatch.setattr(sensor_checks, "PUSH_BLOCK", block)
        blocks = RunLengths(limits)
        blocks.push(rows)
        np.testing.assert_array_equal(past(blocks.take(len(rows)), len(rows)), past(expected, len(rows)))
    quiet = RunLengths(np.array([100.0, 0.0]))
    quiet.push(rows)
    assert quiet.take(len(rows)) is None  # no run reaches 100 rows: nothing worked out row by row
    skipping = RunLengths(limits)
    skipping.push(rows[:10])
    skipping.skip_to(7)
    np.testing.assert_array_equal(past(skipping.take(3), 3), past(expected[7:10], 3))
    with pytest.raises(ValueError, match="1 rows scored, but 0 pushed"):
        skipping.take(1)


@pytest.fixture(scope="module")
def detector():
    return PCADetector().fit([arm_like(3000, seed) for seed in (1, 2, 3)])


def test_fit_learns_limits_for_the_noisy_channels_only(detector):
    limits = dict(zip(detector.schema_.channels, detector.stuck_limits_))
    assert all(limits[name] == 100.0 for name in ("ch0", "ch1", "ch2", "ch3", "vibration"))  # runs of 1-2 rows: the 1 s floor
    assert limits["switch"] == 0.0 and limits["constant"] == 0.0
    assert detector.sensor_scale_ == detector.threshold_


def test_a_frozen_channel_alarms_and_is_named_first(detector):
    stuck = frozen(arm_like(2000, 7, start="2026-01-02"), "vibration", 800, 1400, value=0.0)  # 6 s frozen at its usual level
    errors_f, scores_f, flags_f = detector.evaluate_frame(stuck)
    blind = copy.deepcopy(detector)
    blind.stuck_limits_ = np.zeros_like(detector.stuck_limits_)
    _, scores_blind, flags_blind = blind.evaluate_frame(stuck)
    np.testing.assert_allclose(scores_f.to_numpy()[:899], scores_blind.to_numpy()[:899], rtol=1e-6)  # within its limit: unchanged
    assert flags_blind.iloc[900:1400].mean() < 0.1  # the model alone misses the freeze
    past = slice(900, 1400)  # the run reaches its limit of 100 rows at row 899
    assert flags_f.iloc[past].all()
    assert (errors_f.iloc[past].idxmax(axis=1) == "vibration").all()
    assert scores_f.iloc[1399] == pytest.approx(detector.sensor_scale_ * 600 / 100, rel=1e-5)  # grows with the run (600 rows)
    np.testing.assert_array_equal(flags_f.iloc[1400:], flags_blind.iloc[1400:])  # the sensor reads again: the model alone decides


@pytest.mark.parametrize("spec, stuck_on, noise_on", [("noise", False, True), ("stuck", True, False), ("none", False, False),
                                                      ("stuck,noise", True, True)])
def test_fit_turns_sensor_checks_off_and_the_saved_model_keeps_them_off(spec, stuck_on, noise_on, tmp_path):
    train = pd.concat([arm_like(3000, 1), arm_like(3000, 2, start="2026-01-01 00:10")])
    train.rename_axis("timestamp").to_csv(tmp_path / "train.csv")
    result = invoke("fit", tmp_path / "train.csv", "-o", tmp_path / "m", "--sensor-checks", spec)
    assert result.exit_code == 0, result.output
    assert ("stuck sensors: off" in result.output) != stuck_on and ("noisy sensors: off" in result.output) != noise_on
    model = load(tmp_path / "m")
    assert (model.stuck_limits_ > 0).any() == stuck_on and (model.noise_limits_ > 0).any() == noise_on
    frozen(arm_like(2000, 7, start="2026-01-02"), "vibration", 800, 1400, value=0.0).rename_axis("timestamp").to_csv(tmp_path / "stuck.csv")
    assert invoke("score", tmp_path / "stuck.csv", "-m", tmp_path / "m", "-o", tmp_path / "s.csv").exit_code == 0
    assert (pd.read_csv(tmp_path / "s.csv")["flag"].iloc[900:1400].mean() > 0.9) == stuck_on


def test_an_unknown_sensor_check_is_one_line_and_writes_nothing(tmp_path):
    arm_like(3000, 1).rename_axis("timestamp").to_csv(tmp_path / "train.csv")
    line = one_error_line(invoke("fit", tmp_path / "train.csv", "-o", tmp_path / "m", "--sensor-checks", "stuk"))
    assert "--sensor-checks 'stuk'" in line and "stuck, noise" in line and not (tmp_path / "m").exists()


def test_every_scoring_path_sees_the_same_runs(detector, tmp_path):
    test = frozen(arm_like(1500, 8, start="2026-01-03"), "ch0", 300, 700)
    loaded = assert_paths_agree(detector, test, tmp_path, chunk_rows=97)
    np.testing.assert_array_equal(loaded.stuck_limits_, detector.stuck_limits_)
    assert detector.predict(test).iloc[450:700].all()


def test_a_run_starts_again_after_a_pause(detector, tmp_path):
    blind = copy.deepcopy(detector)
    blind.stuck_limits_ = np.zeros_like(detector.stuck_limits_)
    first = frozen(arm_like(600, 9, start="2026-01-04 00:00"), "vibration", 520, 600, value=0.0)  # 80 rows at the end
    for gap, past_limit in (("10min", False), ("10ms", True)):  # after a pause; right after (one run of 160 rows)
        second = frozen(arm_like(600, 10, start=first.index[-1] + pd.Timedelta(gap)), "vibration", 0, 80, value=0.0)
        test = pd.concat([first, second])
        same = np.allclose(detector.score(test).to_numpy(), blind.score(test).to_numpy(), rtol=1e-6)
        assert same != past_limit, gap
    assert_paths_agree(detector, pd.concat([first, frozen(arm_like(600, 10, start="2026-01-04 00:10"), "vibration", 0, 80, value=0.0)]),
                       tmp_path, chunk_rows=64)


def test_models_saved_before_the_sensor_checks_have_none(detector, tmp_path):
    detector.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "detector.json").read_text())
    del meta["sensors"]
    (tmp_path / "m" / "detector.json").write_text(json.dumps(meta))
    old = load(tmp_path / "m")
    assert not old.stuck_limits_.any() and not old.noise_limits_.any() and old.start_pass().stuck is None
    stuck = frozen(arm_like(2000, 7, start="2026-01-02"), "vibration", 800, 1400)
    assert not old.predict(stuck).iloc[900:1400].all()


def test_a_hold_reviewed_as_normal_raises_that_channels_limit_not_the_threshold(detector, tmp_path):
    detector.save(tmp_path / "m")
    model = load(tmp_path / "m")
    log = frozen(arm_like(2000, 11, start="2026-01-05"), "vibration", 800, 1300, value=0.0)  # a 5 s hold, normal says the reviewer
    labels = np.full(len(log), None, dtype=object)
    labels[800:1300] = "normal"
    before = model.threshold_
    model, counts = review(model, [log], [labels])
    at = model.schema_.channels.index("vibration")
    assert counts["sensor_limits_raised"] == {"stuck": {"vibration": [100.0, LIMIT_FACTOR * 500]}}
    assert model.stuck_limits_[at] == LIMIT_FACTOR * 500 and detector.stuck_limits_[at] == 100.0
    assert counts["threshold_after"] < 1.5 * before  # the 5 s hold scored 5x the threshold: not what was raised
    again = frozen(arm_like(2000, 12, start="2026-01-06"), "vibration", 800, 1300, value=0.0)
    blind = copy.deepcopy(model)
    blind.stuck_limits_ = np.zeros_like(model.stuck_limits_)
    np.testing.assert_allclose(model.score(again).to_numpy(), blind.score(again).to_numpy(), rtol=1e-6)
    assert model.predict(frozen(again, "ch3", 1500, 1700)).iloc[1610:1700].all()  # another channel's freeze still alarms
    save_round(tmp_path / "m", model, new_round(tmp_path / "m", by="test", events_file="reviewed.csv", logs=["log.csv"],
                                                false_alarms=1, faults={}, counts=counts))
    assert load(tmp_path / "m").stuck_limits_[at] == LIMIT_FACTOR * 500
    assert load(tmp_path / "m" / "history" / "round-1").stuck_limits_[at] == 100.0
