"""Condition channels, the calibrated head and the validity guard, on every scoring path."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from battery_logs import battery_log
from numpy.testing import assert_allclose
from pass_checks import assert_paths_agree

import anomaly
from anomaly.conditions import (
    ConditionChannels,
    PassReference,
    ambient_channels,
    auto_and_declared,
    setpoint_channels,
    slow_channels,
    temperature_channels,
)
from anomaly.errors import ConfigError, SchemaError
from anomaly.guard import Envelope, describe
from anomaly.head import CONTRIBUTION_CAP, ScoreHead
from datasets.robot_arm import simulate
from pipelines.batch import iter_scores

TEMPS = [f"j{i}_temp" for i in range(1, 7)]


@pytest.fixture(scope="module")
def runs():
    """Normal training log at 28 degC, a normal test log at 24 degC and one at 28 degC (30 s each)."""
    return (simulate(30, seed=0, ambient_c=28.0).frame, simulate(30, seed=3, ambient_c=24.0).frame,
            simulate(30, seed=3, ambient_c=28.0).frame)


@pytest.fixture(scope="module")
def conditioned(runs):
    return anomaly.PCADetector(conditions=TEMPS).fit(runs[0])


def test_declared_temperatures_are_changes_over_10_s(conditioned):
    assert [conditioned.schema_.channels[i] for i in conditioned.conditions_.indices] == TEMPS
    assert conditioned.scoring_context().history == 1000  # 10 s at 100 Hz


def test_auto_is_the_default_and_picks_temperatures_that_warm_up():
    warming = simulate(180, seed=0, ambient_c=28.0, cold_start=True).frame  # 0.2-1.3 degC over 3 min
    det = anomaly.PCADetector().fit(warming)
    assert det.conditions == "auto"
    assert [det.schema_.channels[i] for i in det.conditions_.indices] == TEMPS


def test_auto_measures_steady_temperatures_against_the_pass_start(runs):
    """At steady state a temperature is sensor noise around one level: a set-point channel, not a slow one."""
    det = anomaly.PCADetector().fit(runs[0])
    assert len(det.conditions_.indices) == 0 and det.scoring_context().history == 0
    assert [det.schema_.channels[i] for i in det.conditions_.setpoints] == TEMPS
    assert det.conditions_.reference_rows == 1000  # 10 s at 100 Hz
    plain = anomaly.PCADetector(conditions=None).fit(runs[0])
    assert plain.conditions_.lag == 0 and len(plain.conditions_.setpoints) == 0
    assert len(anomaly.PCADetector(conditions=TEMPS).fit(runs[0]).conditions_.setpoints) == 0  # declared: only those


def test_setpoint_channels_are_white_noise_around_a_level():
    rng = np.random.default_rng(0)
    t = np.arange(3000) / 100.0
    noise = rng.normal(size=3000)
    smooth = np.convolve(noise, np.ones(10) / 10, mode="same")
    columns = {"set point": 5 + noise, "motion": np.sin(2 * np.pi * t / 3.0), "filtered": smooth,
               "warm-up": 1 - np.exp(-t / 20.0) + 0.05 * noise, "constant": np.zeros(3000)}
    log = np.column_stack(list(columns.values()))
    # noise around a level that stays or moves slowly over the 10 s horizon (the warm-up; as a
    # slow channel it is modelled by its change, which fit_conditions prefers)
    assert [list(columns)[i] for i in setpoint_channels([log], 1000)] == ["set point", "warm-up"]
    assert [list(columns)[i] for i in setpoint_channels([log], 3000)] == ["set point"]  # a horizon beyond the log: its mean
    moving = log.copy()
    moving[:, 0] = columns["motion"]
    assert [list(columns)[i] for i in setpoint_channels([log, moving], 1000)] == ["warm-up"]  # white in every log
    assert [list(columns)[i] for i in setpoint_channels([log, moving[:10]], 1000)] == ["set point", "warm-up"]  # a short log says nothing


def test_a_temperature_following_a_gently_drifting_ambient_is_a_set_point():
    """Runs in which the ambient drifts by 2 degC/h: the temperatures rise by about 0.14 degC
    over 300 s (3 x their noise), neither slow nor white around one fixed level, so they kept
    their level and a 4 degC cooler day was 100 % flagged."""
    det = anomaly.PCADetector().fit([simulate(300, seed=s, ambient_c=28.0, ambient_drift_c_per_h=2.0).frame for s in (0, 1)])
    assert [det.schema_.channels[i] for i in det.conditions_.setpoints] == TEMPS
    assert det.predict(simulate(60, seed=3, ambient_c=24.0).frame).mean() < 0.05


def test_a_set_point_held_between_its_samples_is_judged_at_its_own_rate():
    """A sensor sampled at 1 Hz and held on a 100 Hz grid (multi-rate alignment) is white at its
    own rate; a switch that flips between two levels is not a set point however it flips."""
    rng = np.random.default_rng(2)
    held = np.repeat(rng.normal(size=60), 100)  # 60 s: one sample a second, held
    switch = np.repeat(rng.integers(0, 2, size=60), 100).astype(float)
    stepped = held + 0.01 * rng.normal(size=6000)  # steps with a little noise: neither held nor white
    log = np.column_stack([held, switch, stepped, rng.normal(size=6000)])
    assert list(setpoint_channels([log], 1000)) == [0, 3]
    assert list(setpoint_channels([log[:1500]], 1000)) == [3]  # 15 updates say nothing about channel 0


def test_held_temperatures_at_steady_state_are_set_points():
    """Before, held temperatures were neither white nor slow: a 2 degC cooler day was 100 % flagged."""
    def held(frame):
        out = frame.copy()
        out[TEMPS] = out[TEMPS].iloc[::100].reindex(out.index).ffill()  # 1 Hz samples on the 100 Hz grid
        return out
    det = anomaly.PCADetector().fit([held(simulate(120, seed=s, ambient_c=28.0).frame) for s in (0, 1)])
    assert [det.schema_.channels[i] for i in det.conditions_.setpoints] == TEMPS
    assert det.predict(held(simulate(60, seed=3, ambient_c=26.0).frame)).mean() < 0.05


def rounded_temperatures(frame, step):
    out = frame.copy()
    out[TEMPS] = (out[TEMPS] / step).round() * step  # as drives that report whole or half degrees
    return out


def test_temperatures_read_in_whole_degrees_do_not_flood_a_normal_run():
    """Before, a temperature that flickered between two whole degrees a few dozen times in
    training had a spread of 0.03 degC, so each flicker of a normal run was a 37-sigma event
    (332 false alarms/h); one that held one level was left at its level, so a cooler day
    flagged every row."""
    det = anomaly.PCADetector().fit([rounded_temperatures(simulate(120, seed=s, ambient_c=28.0).frame, 1.0) for s in (0, 1)])
    temps = [det.schema_.channels.index(c) for c in TEMPS]
    assert set(temps) <= set(det.conditions_.setpoints.tolist())
    assert (det.scaler_.scale_[temps] >= 0.5).all()  # half a step at least
    for ambient in (28.0, 24.0):
        assert det.predict(rounded_temperatures(simulate(60, seed=3, ambient_c=ambient).frame, 1.0)).mean() < 0.01


def test_temperatures_read_in_steps_score_alike_on_every_path_and_after_a_reload(tmp_path):
    det = anomaly.PCADetector().fit([rounded_temperatures(simulate(120, seed=s, ambient_c=28.0).frame, 1.0) for s in (0, 1)])
    assert det.conditions_.history == 0 and len(det.conditions_.setpoints) == 6  # no slow channel: no history rows
    cooler = rounded_temperatures(simulate(30, seed=3, ambient_c=25.0).frame, 1.0)
    loaded = assert_paths_agree(det, cooler.iloc[:1600], tmp_path, chunk_rows=333)
    assert_allclose(loaded.scaler_.scale_, det.scaler_.scale_)
    assert list(loaded.conditions_.setpoints) == list(det.conditions_.setpoints)
    short = anomaly.PCADetector().fit([rounded_temperatures(simulate(60, seed=s, ambient_c=28.0).frame, 0.5) for s in (0, 1)])
    temps = {short.schema_.channels.index(c) for c in short.schema_.channels if c.endswith("_temp")}
    # a few long flickers between two levels are no drift: set points (with a dead band), not conditions
    assert not len(short.conditions_.indices) and temps <= set(short.conditions_.setpoints.tolist())


def test_only_temperatures_that_say_nothing_become_set_points():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"motor_temp": np.r_[np.full(1990, 40.0), np.full(10, 41.0)], "mode": np.r_[np.zeros(1990), np.ones(10)],
                          "x": rng.normal(size=2000), "y": rng.normal(size=2000)},
                         index=pd.date_range("2026-01-01", periods=2000, freq="10ms"))
    det = anomaly.PCADetector().fit(frame)
    assert det.conditions_.setpoints.tolist() == [0, 2, 3]  # the temperature, not the flag that held one level
    assert det.scaler_.scale_[0] == pytest.approx(0.5) and det.scaler_.scale_[1] < 0.1


def test_pass_reference_is_the_same_however_the_pass_is_cut():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(500, 4)).astype(np.float32) + np.float32(3.0)  # a set point 3 above the training level
    whole = PassReference([0, 2], 50)(Z)
    assert_allclose(whole[:, [1, 3]], Z[:, [1, 3]])  # other channels untouched
    assert whole[0, 0] == 0  # the first row is its own reference

    def spanned(shift, level):  # distance from the span between the reference and the training level (0)
        return np.where(shift * level > 0, np.sign(shift) * np.minimum(np.abs(shift), np.abs(level)), 0.0)

    z0, z2 = Z[:, 0].astype(np.float64), Z[:, 2].astype(np.float64)
    assert_allclose(whole[100:, 0], spanned(z0[100:] - z0[:50].mean(), z0[100:]), rtol=1e-6, atol=1e-6)
    assert_allclose(whole[:50, 2], spanned(z2[:50] - np.cumsum(z2[:50]) / np.arange(1, 51), z2[:50]), rtol=1e-6, atol=1e-6)
    assert (whole[100:, 0] >= 0).all() and (whole[100:, 0] > 0).mean() > 0.4  # below the reference: towards training
    drop = PassReference([0], 50)(np.concatenate([Z[:100], Z[100:] - np.float32(8.0)]))  # falls past the training level
    assert_allclose(drop[150:, 0], z0[150:] - 8.0, rtol=1e-5, atol=1e-5)  # its distance beyond the nearer end (0)
    pieces, reference = [], PassReference([0, 2], 50)
    for lo in range(0, 500, 37):  # pieces of a file
        pieces.append(reference(Z[lo : lo + 37]))
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    reference, newest = PassReference([0, 2], 50), []  # a stream: the last 8 rows, one of them new
    newest.append(reference(Z[:8])[-1])
    for end in range(9, 501):
        newest.append(reference(Z[end - 8 : end], 1)[-1])
    np.testing.assert_array_equal(np.array(newest), whole[7:])
    with pytest.raises(ValueError, match="seen"):
        reference(np.concatenate([Z, Z]), 1)  # more rows given as seen than the pass has had


def test_pass_reference_removes_the_ambient_common_move_however_the_pass_is_cut():
    rng = np.random.default_rng(2)
    n, scale = 600, np.array([0.05, 0.1, 0.05, 0.02])
    ambient = np.linspace(0.0, 2.0, n)[:, None]  # degC: the same move in every temperature
    raw = 30.0 + ambient + rng.normal(scale=0.05, size=(n, 4)) * np.array([1, 2, 1, 0.4])
    raw[400:, 1] += 1.0  # one of them heats by 1 degC
    Z = ((raw - 30.0) / scale).astype(np.float32)
    whole = PassReference([0, 1, 2, 3], 50, [0, 1, 2, 3], scale, 10)(Z)
    plain = PassReference([0, 1, 2, 3], 50)(Z)
    late = slice(100, 390)
    assert np.abs(plain[late]).mean() > 15  # the ambient's 2 degC: 20-100 x the noise
    assert np.abs((whole[late] * scale).mean(axis=0)).max() < 0.05  # cancelled: a 2 degC ramp leaves its lag over 10 rows, 0.02 degC
    assert (whole[420:, 1] * scale[1]).mean() > 0.9 and np.abs((whole[420:, [0, 2, 3]] * scale[[0, 2, 3]]).mean(axis=0)).max() < 0.05
    pieces, reference = [], PassReference([0, 1, 2, 3], 50, [0, 1, 2, 3], scale, 10)
    for lo in range(0, n, 37):  # pieces of a file
        pieces.append(reference(Z[lo : lo + 37]))
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    reference, newest = PassReference([0, 1, 2, 3], 50, [0, 1, 2, 3], scale, 10), []  # a stream
    newest.append(reference(Z[:8]))
    for end in range(11, n + 1, 3):  # the last 8 rows, 3 of them new
        newest.append(reference(Z[end - 8 : end], 3)[-3:])
    np.testing.assert_array_equal(np.concatenate(newest), whole[: len(np.concatenate(newest))])
    hop1 = PassReference([0, 1, 2, 3], 50, [0, 1, 2, 3], scale, 10)  # one new row a call: the scalar path
    np.testing.assert_array_equal(np.concatenate([hop1(Z[:1])] + [hop1(Z[end - 2 : end], 1)[-1:] for end in range(2, n + 1)]), whole)
    with pytest.raises(ValueError, match="common move"):
        reference(Z[:20], 1)  # more seen rows than the pass keeps


def test_ambient_channels_are_three_or_more_set_point_temperatures():
    names = ("j1_temp", "j2_temp", "motorTemperature", "j1_current", "pressure")
    assert list(ambient_channels(names, [0, 1, 2, 3, 4])) == [0, 1, 2]
    assert list(ambient_channels(names, [0, 1, 3, 4])) == []  # two: one heating joint would move the median
    assert list(ambient_channels(names[3:], [0, 1])) == []


def test_an_ambient_drift_within_the_pass_is_not_a_fault_one_joint_heating_is(runs):
    """Trained on a steady run, scored on runs whose ambient rises by 12 degC/h (every temperature
    about 0.4 degC up in 2 min, 8 x its noise): the common move cancels; one joint's does not."""
    det = anomaly.PCADetector().fit(runs[0])
    assert [det.schema_.channels[i] for i in det.conditions_.ambient] == TEMPS
    drifting = simulate(120, seed=3, ambient_c=28.0, ambient_drift_c_per_h=12.0).frame
    assert det.predict(drifting).mean() < 0.05
    heating = drifting.copy()
    heating.iloc[6000:, heating.columns.get_loc("j5_temp")] += 0.5  # 10 x its noise
    assert det.predict(heating).to_numpy()[6000:].mean() > 0.95


def test_a_warm_up_from_cold_is_not_a_fault_heating_past_the_training_level_is(runs):
    """Trained on a steady run, scored on the arm switched on cold (each joint warms from the
    ambient towards its training level, by 0.2-1.3 degC in 2 min, 4-26 x its noise, not together):
    between its start and its training level a temperature is normal; 2 degC past it is not."""
    det = anomaly.PCADetector().fit(runs[0])
    cold = simulate(120, seed=3, ambient_c=28.0, cold_start=True).frame
    assert det.predict(cold).mean() < 0.05  # every row's level model: 73 % flagged
    heating = cold.copy()
    heating.iloc[6000:, heating.columns.get_loc("j5_temp")] += 2.0
    assert det.predict(heating).to_numpy()[6000:].mean() > 0.95


def test_a_shift_within_the_pass_is_found_a_shifted_day_is_not(runs):
    det = anomaly.PCADetector().fit(runs[0])
    assert det.predict(runs[1]).mean() < 0.05  # 4 degC cooler from the first row: a condition
    assert [e.channel for e in det.check_envelope(runs[1])][:1] and set(e.channel for e in det.check_envelope(runs[1])) <= set(TEMPS)
    heating = runs[2].copy()
    heating.iloc[1500:, heating.columns.get_loc("j3_temp")] += 1.0  # 1 degC within the run: 20 x its noise
    flags = det.predict(heating).to_numpy()
    assert flags[1500:].mean() > 0.95 and flags[:1500].mean() < 0.05


def test_setpoint_paths_agree_and_survive_a_reload(runs, tmp_path):
    det = anomaly.PCADetector(adapt=200, smooth=5).fit(runs[0])
    assert len(det.conditions_.setpoints) == 6
    loaded = assert_paths_agree(det, runs[1].iloc[:1600], tmp_path, chunk_rows=333)
    assert list(loaded.conditions_.setpoints) == list(det.conditions_.setpoints)
    old = ConditionChannels.from_dict({"indices": [], "n_channels": 28, "lag": 0})  # saved before set-point channels
    assert old.start_reference() is None and old.reference_rows == 0


def test_a_temperature_that_ripples_with_the_load_is_a_set_point_channel():
    """A motor temperature that follows its load over a few samples is neither slow nor white
    noise: it kept its absolute level, so a cooler day was a fault. Now it is normal between the
    start of a pass and its training level; heating past that level still alarms."""
    from anomaly.cli.fit import conditions_lines

    def log(seed: int, offset: float = 0.0, heat: float = 0.0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        load = rng.normal(size=3000)
        ripple = np.convolve(load, np.ones(10) / 10, mode="same")  # steady, not white
        temp = 40 + 3 * ripple + offset + heat * (np.arange(3000) >= 2000)
        return pd.DataFrame({"motor_temp": temp, "current": load + 0.1 * rng.normal(size=3000)},
                            index=pd.date_range(f"2026-01-0{seed}", periods=3000, freq="10ms"))

    det = anomaly.PCADetector().fit([log(1), log(2)])
    lines = conditions_lines(det)
    assert lines[0] == "condition channels: none is slow in the training logs"
    assert "set-point channels" in lines[1] and lines[1].endswith(": motor_temp, current")
    assert len(lines) == 3 and lines[2].endswith("follower (too few for a common move; it moves at most 3 training standard "
                                                 "deviations a minute, so an ambient drifting through a session is followed and "
                                                 "a faster heating is not): motor_temp")
    assert det.predict(log(3, offset=-5.0)).mean() < 0.01  # a cooler day (5 degC, 5 training standard deviations)
    assert det.predict(log(4, offset=-5.0, heat=11.0)).iloc[2100:].mean() > 0.9  # 6 degC past its training level


def test_auto_takes_no_slow_channel_when_most_channels_are_slow(tmp_path):
    """A server's metrics a minute apart: slowness is the data's, so every channel keeps its level."""
    from anomaly.cli.fit import conditions_lines

    rng = np.random.default_rng(4)
    t = np.arange(3000)
    trend = lambda k: np.sin(2 * np.pi * t / (1500 + 100 * k)) + 0.05 * rng.normal(size=3000)  # noqa: E731
    frame = pd.DataFrame({f"m{k}": trend(k) for k in range(3)} | {"fast": rng.normal(size=3000)})
    det = anomaly.PCADetector().fit(frame)  # numbered rows: a 100-row horizon
    assert det.conditions_.indices.tolist() == [] and det.conditions_.slow_left.tolist() == [0, 1, 2]
    assert conditions_lines(det)[0].startswith("condition channels: none; 3 of 4 channels are slow in the training logs")
    det.save(tmp_path / "m")
    assert anomaly.load(tmp_path / "m").conditions_.slow_left.tolist() == [0, 1, 2]
    fewer = anomaly.PCADetector().fit(frame.assign(fast2=rng.normal(size=3000), fast3=rng.normal(size=3000)))
    assert fewer.conditions_.indices.tolist() == [0, 1, 2]  # 3 of 6: a minority of half, still conditions
    assert anomaly.PCADetector(conditions=["m0", "m1", "m2"]).fit(frame).conditions_.indices.tolist() == [0, 1, 2]  # declared


def test_a_log_a_minute_apart_keeps_a_10_row_horizon():
    """Below 1 Hz the change horizon keeps 1 Hz's 10 rows: over one row every channel looked slow."""
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame({"drift": np.cumsum(rng.normal(size=n)) * 0.05 + 0.01 * rng.normal(size=n)}
                         | {f"load{k}": rng.normal(size=n) for k in range(3)},
                         index=pd.date_range("2024-01-01", periods=n, freq="1min"))
    det = anomaly.PCADetector().fit(frame)
    assert det.scoring_context().history == 10
    assert [det.schema_.channels[i] for i in det.conditions_.indices] == ["drift"]
    assert det.conditions_.slow_left.tolist() == []
    numbered = anomaly.PCADetector().fit(frame.reset_index(drop=True))  # the same rows numbered: 100 rows
    assert [numbered.schema_.channels[i] for i in numbered.conditions_.indices] == ["drift"]


def test_temperature_names():
    names = ("j1_temp", "Temperature", "motorTemp", "field.temperature", "tempo", "attempt", "Thermocouple", "TEMP_2", "x",
             "motortemp", "jointtemperature", "contempt", "tmp_j1", "motorTmp", "thermal_2", "thermo", "tmpl", "winding_RTD",
             "ntc3", "stator_celsius", "oilKelvin", "rtdx", "fahrenheit_f", "motor_temps_l", "attempts", "jointTemperatures", "Motortemperatur",
             "temperatura_motor", "Température_moteur")
    assert temperature_channels(names) == ["j1_temp", "Temperature", "motorTemp", "field.temperature", "Thermocouple", "TEMP_2",
                                           "motortemp", "jointtemperature", "tmp_j1", "motorTmp", "thermal_2", "winding_RTD", "ntc3",
                                           "stator_celsius", "oilKelvin", "fahrenheit_f", "motor_temps_l", "jointTemperatures",
                                           "Motortemperatur", "temperatura_motor", "Température_moteur"]


def test_slow_channels_is_about_the_share_of_slow_variance():
    rng = np.random.default_rng(0)
    t = np.arange(6000) / 100.0  # 60 s at 100 Hz; horizon 1000 rows
    noise = rng.normal(size=6000)
    columns = {
        "set point": noise,
        "motion": np.sin(2 * np.pi * t / 3.0),  # 3 s cycles
        "warm-up": 1 - np.exp(-t / 20.0) + 0.05 * noise,
        "staircase": np.floor(t / 15.0),
        "constant": np.zeros(6000),
    }
    log = np.column_stack(list(columns.values()))
    assert [list(columns)[i] for i in slow_channels([log], 1000)] == ["warm-up", "staircase"]
    # another session in which the warm-up is only sensor noise around a level keeps it slow
    # (logs of a warm-up and of an already warm arm); a log in which it moves otherwise vetoes it
    steady, cyclic = log.copy(), log.copy()
    steady[:, 2] = 3.0 + noise
    cyclic[:, 2] = columns["motion"]
    assert [list(columns)[i] for i in slow_channels([log, steady], 1000)] == ["warm-up", "staircase"]
    assert [list(columns)[i] for i in slow_channels([log, cyclic], 1000)] == ["staircase"]
    assert len(slow_channels([steady], 1000)) == 1  # noise alone is never slow (only the staircase is)
    assert [list(columns)[i] for i in slow_channels([log, log[:1500]], 1000)] == ["warm-up", "staircase"]  # a short log says nothing
    assert len(slow_channels([log[:1500]], 1000)) == 0


def test_a_drift_under_a_fast_load_is_slow_by_its_line():
    """A battery's voltage discharges (a line through the log) and sags with every load: the sag
    holds more than a quarter of its variance, so its fast part alone would not call it slow."""
    log = battery_log(0)
    x = ((log - log.mean()) / log.std()).to_numpy()
    fast = x - pd.DataFrame(x).rolling(100, center=True).mean().to_numpy()
    assert np.nanvar(fast[:, 3]) > 0.25  # not slow by its fast part
    assert [log.columns[i] for i in slow_channels([x], 100)] == ["battery_v"]  # the currents and speed have no line


def test_a_channel_slow_by_its_line_does_not_make_the_data_slow_as_a_whole():
    """Two motor temperatures warming up and a battery among four channels: three slow, but only
    two slow by their fast part, so the data is not slow as a whole and all three are conditions
    (counted together, more than half were slow and none was taken)."""
    logs = []
    for seed in (0, 1):
        log = battery_log(seed).drop(columns=["speed"])
        warming = 3.0 * (1.0 - np.exp(-np.arange(len(log)) / 6000.0))
        noise = np.random.default_rng(seed).normal(0, 0.03, (len(log), 2))
        logs.append(log.assign(left_temp=30.0 + warming + noise[:, 0], right_temp=30.0 + warming + noise[:, 1]))
    det = anomaly.PCADetector().fit(logs)
    assert sorted(det.schema_.channels[i] for i in det.conditions_.indices) == ["battery_v", "left_temp", "right_temp"]
    assert len(det.conditions_.slow_left) == 0


def test_auto_with_names_beside_it_adds_them_to_its_choice():
    short = [battery_log(0, minutes=3.0), battery_log(1, minutes=3.0)]  # too short for the discharge to show
    assert len(anomaly.PCADetector().fit(short).conditions_.indices) == 0
    det = anomaly.PCADetector(conditions=["auto", "battery_v"]).fit(short)
    assert [det.schema_.channels[i] for i in det.conditions_.indices] == ["battery_v"]
    assert det.predict(battery_log(5, minutes=3.0, charge_v=24.4)).mean() < 0.05
    assert auto_and_declared("auto") == (True, []) and auto_and_declared(None) == (False, [])
    assert auto_and_declared(["battery_v"]) == (False, ["battery_v"])
    with pytest.raises(SchemaError, match="not in the data"):
        anomaly.PCADetector(conditions=["auto", "voltage"]).fit(short)


def test_white_noise_around_a_line_is_slow_unless_it_is_a_temperature():
    """A temperature following a drifting ambient stays a set point (the follower keeps up with
    it, and a slow overheating still shows past its level); any other channel has no follower,
    so a battery whose sag looks white at 1 Hz is taken by its line."""
    rng = np.random.default_rng(0)
    line = np.linspace(0.0, 1.0, 6000) + 0.25 * rng.normal(size=6000)  # the line holds about 57 % of the variance
    log = np.column_stack([line, rng.normal(size=6000)])
    assert slow_channels([log], 100).tolist() == [0]
    assert slow_channels([log], 100, temperatures=[0]).tolist() == []
    assert setpoint_channels([log], 100).tolist() == [0, 1]  # white around its moving level, as the noise


def test_a_session_on_a_less_charged_battery_is_not_a_fault():
    train = [battery_log(0), battery_log(1)]
    det = anomaly.PCADetector().fit(train)
    assert [det.schema_.channels[i] for i in det.conditions_.indices] == ["battery_v"]
    for charge in (25.2, 24.4):  # the training charge; 0.8 V less (before: every row flagged)
        assert det.predict(battery_log(5, charge_v=charge)).mean() < 0.01
    faulty = battery_log(5, charge_v=24.4)
    faulty.iloc[3000:3100, 0] += 0.5  # the left drive binds for 10 s
    flags = det.predict(faulty)
    assert flags.iloc[3000:3100].mean() > 0.5 and flags.drop(flags.index[2990:3200]).mean() < 0.01


def test_logs_of_a_warm_up_and_of_a_warm_arm_make_the_temperatures_conditions():
    """Two kinds of session in the training logs: the temperatures warm up in one and are sensor
    noise around a level in the other. Kept at their level they made a cooler day 100 % alarm."""
    warming = simulate(180, seed=0, ambient_c=28.0, cold_start=True).frame
    warm = simulate(60, seed=1, ambient_c=28.0).frame
    det = anomaly.PCADetector().fit([warming, warm])
    assert [det.schema_.channels[i] for i in det.conditions_.indices] == TEMPS
    assert len(det.conditions_.setpoints) == 0
    cooler = simulate(60, seed=3, ambient_c=24.0).frame
    assert det.predict(cooler).mean() < 0.05


def test_declared_conditions_and_bad_names(runs):
    det = anomaly.PCADetector(conditions=["j2_temp"]).fit(runs[0])
    assert list(det.conditions_.indices) == [det.schema_.channels.index("j2_temp")]
    with pytest.raises(SchemaError, match="ambient"):
        anomaly.PCADetector(conditions=["ambient"]).fit(runs[0])
    with pytest.raises(ConfigError, match="conditions"):
        anomaly.PCADetector(conditions="slow").fit(runs[0])


def test_a_cooler_day_floods_the_level_model_but_not_the_change_model(runs, conditioned):
    plain = anomaly.PCADetector(conditions=None).fit(runs[0])
    assert plain.predict(runs[1]).mean() > 0.95
    assert conditioned.predict(runs[1]).mean() < 0.05
    # the same run at the training ambient scores alike: conditions cost nothing there
    assert conditioned.predict(runs[2]).mean() < 0.05


def test_history_rows_score_zero_and_paths_agree(runs, conditioned, tmp_path):
    frame = runs[1].iloc[:1600]
    errors, scores, _ = conditioned.evaluate_frame(frame)
    assert (scores.iloc[:1000] == 0).all() and (errors.iloc[:1000].to_numpy() == 0).all()
    assert_allclose(conditioned.score_stream(frame, hop=1).to_numpy()[1000:], scores.to_numpy()[1000:], rtol=1e-5)
    newest = conditioned.score_newest(frame.to_numpy(np.float32), 1)[1]
    assert newest[0] == pytest.approx(scores.iloc[-1], rel=1e-5)
    waiting = conditioned.score_newest(frame.to_numpy(np.float32), 1, groups=40)[1]  # rows a stream caught up on
    assert_allclose(waiting, scores.to_numpy()[-40:], rtol=1e-5)
    path = tmp_path / "run.parquet"
    frame.to_parquet(path)
    chunked = np.concatenate([s.to_numpy() for _, s, _ in iter_scores(conditioned, path, chunk_rows=333)])
    assert_allclose(chunked, scores.to_numpy(), rtol=1e-5)


def test_save_and_load_keep_conditions_calibration_and_envelope(runs, tmp_path):
    det = anomaly.PCADetector(conditions=TEMPS, aggregate="calibrated", statistic="spe").fit(runs[0])
    loaded = anomaly.load(det.save(tmp_path / "m"))
    assert_allclose(loaded.score(runs[1]).to_numpy(), det.score(runs[1]).to_numpy())
    assert list(loaded.conditions_.indices) == list(det.conditions_.indices)
    assert [e.channel for e in loaded.check_envelope(runs[1])] == [e.channel for e in det.check_envelope(runs[1])]


@pytest.mark.parametrize("conditions", [TEMPS, "auto"])
def test_pca_statistics_follow_the_condition_transforms(runs, conditions):
    det = anomaly.PCADetector(conditions=conditions, statistic="t2").fit(runs[0])
    frame = runs[1].iloc[:1500]
    assert_allclose(det.t_squared(frame), det.score(frame).to_numpy(), rtol=1e-6)
    spe_model = anomaly.PCADetector(conditions=conditions, statistic="spe").fit(runs[0])  # its errors are squared residuals
    assert_allclose(det.spe(frame), spe_model.errors(frame).to_numpy().sum(axis=1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("conditions", [TEMPS, "auto"])
def test_differentiable_score_follows_the_condition_transforms(runs, conditions):
    from anomaly.generative.differentiable import score_graph

    det = anomaly.PCADetector(conditions=conditions).fit(runs[0])
    frame = runs[1].iloc[:1200]
    Z = det.scaler_.transform(frame.to_numpy(np.float32))
    graph = np.asarray(score_graph(det, len(frame))(Z))
    assert_allclose(graph, det.score(frame).to_numpy(), rtol=1e-4, atol=1e-5)


def test_calibrated_head_stops_one_quiet_channel_from_dominating():
    rng = np.random.default_rng(0)
    normal = np.abs(rng.standard_normal((5000, 4))).astype(np.float32) * np.array([1.0, 1.0, 1.0, 1e-3], np.float32)
    mean, calibrated = ScoreHead().calibrate(normal), ScoreHead(aggregate="calibrated").calibrate(normal)
    runaway = np.array([[0.1, 0.1, 0.1, 1e6]], np.float32)  # the quiet channel jumps by nine orders of magnitude
    broad = np.array([[12.0, 12.0, 12.0, 0.0]], np.float32)  # three channels at ~5x their normal 99th percentile
    assert mean.reduce(runaway)[0] > mean.reduce(broad)[0]
    assert calibrated.reduce(runaway)[0] < calibrated.reduce(broad)[0]
    assert calibrated.reduce(runaway)[0] <= (CONTRIBUTION_CAP + 1) / 4 / calibrated.norm_  # capped, not 1e6
    assert np.percentile(calibrated.reduce(normal), 99) == pytest.approx(1.0, rel=1e-6)


def test_guard_names_the_channels_outside_the_envelope(runs, conditioned):
    excursions = conditioned.check_envelope(runs[1])
    assert sorted(e.channel for e in excursions) == TEMPS
    line = describe(excursions)
    assert line.startswith("model outside its operating envelope: ") and line.endswith("and 1 more")
    assert " -3." in line or " -4." in line  # about 4 degC below the training range
    assert describe(conditioned.check_envelope(runs[2])) == ""
    assert conditioned.check_envelope(pd.concat([runs[0]])) == []


def test_guard_names_level_channels_that_often_leave_their_range():
    rng = np.random.default_rng(4)
    train = rng.normal(size=(5000, 3))
    envelope = Envelope().fit(train, ("a", "b", "c"))
    run = rng.normal(size=(1000, 3))
    run[:150, 0] += 20.0  # 15 % of the rows far outside, the median inside
    run[:50, 1] += 20.0  # 5 %: a short event, not a new condition
    run[:, 2] -= 30.0  # the median outside
    level = np.array([True, True, True])
    found = envelope.check(run, level)
    assert [(e.channel, e.share) for e in found] == [("c", None), ("a", 0.15)]
    assert found[1].delta == 0.0 and found[0].delta < -20
    assert describe(found).startswith("model outside its operating envelope: c -") and ", a 15% of rows outside (training " in describe(found)
    assert [e.channel for e in envelope.check(run, np.array([False, True, True]))] == ["c"]  # a not modelled at its level
    line = describe(found, limit=1)  # one channel shown: the medians give way to a share
    assert ": a 15% of rows outside" in line and line.endswith("and 1 more")
    line = describe(found * 3, limit=5)  # three of each: three medians, two shares
    assert line.count("of rows outside") == 2 and line.endswith("and 1 more")
    assert [e.channel for e in envelope.check(run)] == ["c"]  # without the level mask: medians only


def test_guard_names_the_poses_of_a_program_never_trained_on(runs, tmp_path):
    det = anomaly.PCADetector().fit(runs[0])
    assert not det.level_channels()[det.conditions_.setpoints].any() and det.level_channels().sum() == 22
    other = simulate(60, seed=3, ambient_c=28.0, program="B").frame
    found = det.check_envelope(other)
    assert found and all(e.share is not None and e.share >= 0.1 and e.channel.endswith(("_pos", "_vel")) for e in found)
    assert det.check_envelope(runs[2]) == []
    whole = describe(found)
    stats, path = {}, tmp_path / "program-b.parquet"
    other.to_parquet(path)
    for _ in iter_scores(det, path, chunk_rows=777, stats=stats):
        pass
    assert stats["outside_envelope"] == whole  # the chunked reader counts the same rows
    from pipelines.stream.drift import EnvelopeWatch

    watch = EnvelopeWatch(det)  # a stream: one drift record per 60 s window first outside
    records = [r for r in map(watch.push, other.to_numpy(np.float32)) if r is not None]
    assert len(records) == 1 and records[0]["channels"] == {}
    assert set(records[0]["outside_share"]) == {e.channel for e in found}


def test_a_model_saved_before_the_guard_loads_and_scores_with_an_unbounded_envelope(runs, tmp_path):
    det = anomaly.PCADetector(conditions=None).fit(runs[0])  # that format had no condition channels
    path = det.save(tmp_path / "old")
    meta = json.loads((path / "detector.json").read_text())
    for key in ("envelope", "conditions", "head"):  # what a model of the previous format lacks
        del meta[key]
    (path / "detector.json").write_text(json.dumps(meta))
    old = anomaly.load(path)
    assert old.check_envelope(runs[1]) == []  # an unbounded envelope: nothing to report
    assert_allclose(old.score(runs[1]).to_numpy(), det.score(runs[1]).to_numpy())
