"""Operating conditions of the simulated robot arm: ambient and its drift, payload, speed override,
program, sensor spread, cold start; the named scenario set; the ``anomaly simulate`` options."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import datasets.robot_arm as ra
from anomaly import AnomalyError, ConfigError
from anomaly.cli import app
from datasets.robot_arm import (
    BIAS_SPEC,
    CHANNELS,
    CONDITIONS,
    FAULT_TYPES,
    NOISE_STD,
    SIGNIFICANCE,
    TEST_SEEDS,
    TRAIN_SEEDS,
    TRAINING_CONDITION,
    UNSEEN_CONDITIONS,
    condition_settings,
    conditions_scenario,
    simulate,
    training_runs,
)
from datasets.robot_arm.conditions import SCENARIOS, SETTINGS
from datasets.robot_arm.cycles import MAX_HOLD_S, PROGRAMS, holding_runs

RATE = 100.0
DUR = 300.0
SEED = TEST_SEEDS[0]
TEMPS = [f"j{k}_temp" for k in range(1, 7)]
CURRENTS = [f"j{k}_current" for k in range(1, 7)]
VELS = [f"j{k}_vel" for k in range(1, 7)]
NON_TEMP = [c for c in CHANNELS if c not in TEMPS]
NOISE = dict(zip(CHANNELS, NOISE_STD))
THR = {c: SIGNIFICANCE * s for c, s in NOISE.items()}
DEFAULTS = dict(ambient_drift_c_per_h=0.0, payload_kg=0.8, speed_override=1.0, program="A", sensor_bias=False, cold_start=False)


@functools.cache
def scenario(name: str, seed: int = SEED, duration: float = DUR, faults: tuple[str, ...] | str = ()) -> ra.SimulatedRun:
    return conditions_scenario(name, duration_s=duration, faults=faults, seed=seed)


def f64(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(np.float64)


def peak_velocities(run: ra.SimulatedRun) -> pd.Series:
    """Median over cycles (grip to grip) of each joint's peak speed (rad/s)."""
    starts = holding_runs(run.frame["gripper_current"].to_numpy() > 0.7)[:, 0]
    v = run.frame[VELS].abs().to_numpy(np.float64)
    return pd.Series(np.median([v[a:b].max(axis=0) for a, b in zip(starts[:-1], starts[1:])], axis=0), index=VELS)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Bit-identical readings."""
    assert a.shape == b.shape and np.array_equal(a.to_numpy(), b.to_numpy())


# --------------------------------------------------------------------------------- defaults


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(duration_s=150.0, seed=0),
        dict(duration_s=300.0, seed=3, faults="all", ambient_c=28.0),
        dict(duration_s=60.0, seed=1, faults=("collision", "sensor_freeze"), rate_hz=50.0),
    ],
)
def test_defaults_unchanged(kwargs):
    """Every condition at its default, given explicitly, is the run without them, bit for bit."""
    plain = simulate(**kwargs)
    for explicit in (DEFAULTS, {**DEFAULTS, "sensor_bias": 0.0}):
        run = simulate(**kwargs, **explicit)
        assert_same(run.frame, plain.frame)
        pd.testing.assert_frame_equal(run.labels, plain.labels)
        assert run.faults == plain.faults
    c = plain.conditions
    assert c["ambient_drift_c_per_h"] == 0.0 and c["payload_kg"] == 0.8 and c["speed_override"] == 1.0
    assert c["program"] == "A" and c["sensor_bias"] == 0.0 and c["cold_start"] is False
    assert np.array_equal(c["sensor_offset"], np.zeros(28)) and np.array_equal(c["noise_std"], NOISE_STD)
    if "ambient_c" in kwargs:
        assert c["ambient_c"] == kwargs["ambient_c"]
    else:  # drawn from the seed
        assert 25.0 <= c["ambient_c"] < 32.0


def test_reference_is_the_plain_simulator_at_28_degc():
    ref = scenario("reference")
    plain = simulate(DUR, seed=SEED, ambient_c=28.0)
    assert_same(ref.frame, plain.frame)
    assert ref.conditions["ambient_c"] == 28.0


# ------------------------------------------------------------------------ each condition


def test_cold_lowers_every_temperature_by_4_degc_and_nothing_else():
    ref, cold = scenario("reference"), scenario("cold")
    assert_same(cold.frame[NON_TEMP], ref.frame[NON_TEMP])
    d = f64(cold.frame[TEMPS]) - f64(ref.frame[TEMPS])
    assert np.allclose(d.to_numpy(), -4.0, atol=1e-5)


def test_ambient_drift_raises_temperatures_over_the_run_but_nothing_else():
    ref, warm = scenario("reference", duration=600.0), scenario("warm-drift", duration=600.0)
    assert_same(warm.frame[NON_TEMP], ref.frame[NON_TEMP])
    d = f64(warm.frame[TEMPS]) - f64(ref.frame[TEMPS])
    first, last = d.iloc[:6000].mean(), d.iloc[-6000:].mean()
    # steady ramp of 6 degC/h: the joints lag the ambient by a constant amount, so the gap grows
    # by 6 degC/h x 540 s between the first and the last minute
    assert np.allclose((last - first).to_numpy(), 6.0 * 540.0 / 3600.0, atol=0.01)
    assert (first < 0).all() and (last > 0).all()  # lag 6 degC/h x (3-6 min) below, then above
    assert warm.conditions["ambient_drift_c_per_h"] == 6.0


def test_an_hour_of_drift_moves_the_joints_with_the_ambient():
    kw = dict(rate_hz=5.0, seed=1, ambient_c=24.0)
    ref, run = simulate(3600.0, **kw).frame, simulate(3600.0, ambient_drift_c_per_h=6.0, **kw).frame
    d = f64(run[TEMPS]) - f64(ref[TEMPS])
    rise = d.iloc[-300:].mean() - d.iloc[:300].mean()  # last and first minute
    assert np.allclose(rise.to_numpy(), 6.0 * 3540.0 / 3600.0, atol=0.05)
    cooling = simulate(3600.0, ambient_drift_c_per_h=-6.0, **kw).frame
    assert (f64(cooling[TEMPS]).iloc[-300:].mean() < f64(ref[TEMPS]).iloc[-300:].mean() - 5.0).all()


def test_speed_80_lowers_peak_velocities_by_20_percent():
    ref, slow = scenario("reference", duration=600.0), scenario("slow-80", duration=600.0)
    ratio = (peak_velocities(slow) / peak_velocities(ref))[["j1_vel", "j2_vel", "j3_vel", "j5_vel", "j6_vel"]]
    assert np.allclose(ratio.to_numpy(), 0.8, atol=0.03), ratio
    # the same poses are visited, more slowly: about 0.8x as many cycles
    pos = ["j1_pos", "j2_pos", "j3_pos"]
    assert np.allclose(f64(slow.frame[pos]).min(), f64(ref.frame[pos]).min(), atol=0.03)
    assert np.allclose(f64(slow.frame[pos]).max(), f64(ref.frame[pos]).max(), atol=0.03)
    n_ref = len(holding_runs(ref.frame["gripper_current"].to_numpy() > 0.7))
    n_slow = len(holding_runs(slow.frame["gripper_current"].to_numpy() > 0.7))
    assert 0.75 <= n_slow / n_ref <= 0.9
    # less inertial and viscous current on the base, nothing labelled
    assert f64(slow.frame["j1_current"]).std() < 0.85 * f64(ref.frame["j1_current"]).std()
    assert not slow.labels["is_anomaly"].any()


def test_heavier_payload_raises_currents_only_while_holding():
    ref, heavy = scenario("reference"), scenario("heavy")
    holding = ref.frame["gripper_current"].to_numpy() > 0.7
    # same plan, same noise: everything but the payload-dependent channels is bit-identical
    assert_same(heavy.frame[[c for c in NON_TEMP if c not in CURRENTS]], ref.frame[[c for c in NON_TEMP if c not in CURRENTS]])
    d = f64(heavy.frame[CURRENTS]) - f64(ref.frame[CURRENTS])
    for c in ("j2_current", "j3_current"):
        assert d.loc[holding, c].mean() > 1.5 * NOISE[c], c
    empty = ref.frame["gripper_current"].to_numpy() < 0.3
    assert (d.loc[empty] == 0.0).all().all()  # no part, no change
    assert (f64(heavy.frame[["j2_temp", "j3_temp"]]).mean() > f64(ref.frame[["j2_temp", "j3_temp"]]).mean() + 0.05).all()


def test_program_b_visits_other_positions():
    a, b = scenario("reference", duration=600.0), scenario("program-b", duration=600.0)
    ja, jb = f64(a.frame["j1_pos"]), f64(b.frame["j1_pos"])
    assert ja.min() < -0.55 and ja.max() < 0.75  # A: pick at -0.6 rad, place at +0.7
    assert jb.min() > -0.35 and jb.max() > 0.8  # B: pick at +0.85 rad, place at -0.25
    # positions where the gripper closes on a part differ by program
    grips = {}
    for name, run in (("A", a), ("B", b)):
        starts = holding_runs(run.frame["gripper_current"].to_numpy() > 0.7)[:, 0]
        grips[name] = f64(run.frame["j1_pos"]).iloc[starts].median()
    assert grips["A"] == pytest.approx(PROGRAMS["A"].pick[0], abs=0.05)
    assert grips["B"] == pytest.approx(PROGRAMS["B"].pick[0], abs=0.05)
    assert not b.labels["is_anomaly"].any() and np.isfinite(b.frame.to_numpy()).all()
    assert (f64(b.frame[TEMPS]).mean() - f64(a.frame[TEMPS]).mean()).abs().max() < 0.5  # same kind of duty


def test_sensor_bias_shifts_means_and_noise_within_spec():
    ref, biased = scenario("reference", duration=600.0), scenario("sensor-bias", duration=600.0)
    offset, noise_std = biased.conditions["sensor_offset"], biased.conditions["noise_std"]
    assert (np.abs(offset) <= BIAS_SPEC).all() and np.abs(offset).max() > 0
    assert (noise_std >= NOISE_STD / 1.25 - 1e-12).all() and (noise_std <= NOISE_STD * 1.25 + 1e-12).all()
    assert (noise_std != NOISE_STD).all()
    # the same truth and noise stream: the difference is the offset plus the change of noise scale
    d = f64(biased.frame) - f64(ref.frame)
    cols = [j for j, c in enumerate(CHANNELS) if not c.endswith("_pos")]  # positions are quantised
    mean = d.mean().to_numpy()
    assert np.allclose(mean[cols], offset[cols], atol=0.02 * NOISE_STD[cols] + 1e-5)
    changed = [j for j in cols if abs(noise_std[j] / NOISE_STD[j] - 1.0) > 0.05]  # float32 rounding aside
    assert len(changed) > 10
    gain = d.std().to_numpy() / np.abs(noise_std - NOISE_STD)
    assert np.allclose(gain[changed], 1.0, atol=0.05)
    pos = [j for j, c in enumerate(CHANNELS) if c.endswith("_pos")]
    assert np.allclose(mean[pos], offset[pos], atol=ra.sensors.ENC_Q)
    # half the scale, half the offsets (same draws)
    half = conditions_scenario("sensor-bias", duration_s=10.0, seed=SEED, sensor_bias=0.5).conditions
    assert np.allclose(half["sensor_offset"], offset / 2)
    assert not biased.labels["is_anomaly"].any()


def test_cold_start_warms_up_towards_the_steady_state():
    ref, cold = scenario("reference", duration=600.0), scenario("cold-start", duration=600.0)
    assert_same(cold.frame[NON_TEMP], ref.frame[NON_TEMP])
    t = f64(cold.frame[TEMPS])
    assert np.allclose(t.iloc[:10].mean(), 28.0, atol=0.1)  # starts at ambient
    gap_start = (f64(ref.frame[TEMPS]).iloc[:600].mean() - t.iloc[:600].mean()).to_numpy()
    gap_end = (f64(ref.frame[TEMPS]).iloc[-600:].mean() - t.iloc[-600:].mean()).to_numpy()
    assert (gap_start > 0.3).all() and (gap_end < 0.35 * gap_start).all()
    assert (t.iloc[-600:].mean() > t.iloc[:600].mean() + 0.3).all()


def test_combined_moves_temperatures_speed_and_currents():
    ref, comb = scenario("reference"), scenario("combined")
    assert (f64(comb.frame[TEMPS]).mean() < f64(ref.frame[TEMPS]).mean() - 3.0).all()
    ratio = peak_velocities(comb) / peak_velocities(ref)
    assert ratio[["j1_vel", "j2_vel", "j3_vel"]].between(0.77, 0.83).all(), ratio
    c = comb.conditions
    assert (c["ambient_c"], c["ambient_drift_c_per_h"], c["speed_override"], c["payload_kg"], c["sensor_bias"]) == (24.0, 6.0, 0.8, 1.2, 1.0)
    assert not comb.labels["is_anomaly"].any()


def test_speed_does_not_change_the_noise_free_poses_of_program_a():
    """Only timing changes: waypoints come from the same distribution (plan stream length aside)."""
    for speed in (0.6, 0.8):
        run = simulate(300.0, seed=2, ambient_c=28.0, speed_override=speed)
        assert np.isfinite(run.frame.to_numpy()).all() and run.conditions["speed_override"] == speed


# ------------------------------------------------------------------------- faults under conditions


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_faults_stay_sudden_labelled_events_in_every_condition(name):
    base = scenario(name)
    run = scenario(name, faults="all")
    assert {e.kind for e in run.faults} == set(FAULT_TYPES)
    lab = run.labels
    idx = run.frame.index
    windows = [slice(idx.get_loc(e.start), idx.get_loc(e.end) + 1) for e in run.faults]
    assert lab["is_anomaly"].sum() == sum(w.stop - w.start for w in windows)
    for e, w in zip(run.faults, windows):
        assert (lab["fault_type"].iloc[w] == e.kind).all()
        assert (lab["fault_channels"].iloc[w] == ";".join(e.channels)).all()
        diff = np.abs(f64(run.frame[list(e.channels)].iloc[w]) - f64(base.frame[list(e.channels)].iloc[w])).max()
        if e.kind == "sensor_freeze":
            assert run.frame[e.channels[0]].iloc[w].nunique() == 1  # a flat line
        else:  # every attributed channel moves by more than half its noise
            assert (diff > pd.Series(THR)[list(e.channels)]).all(), (name, e.kind, diff)
    # normal rows: identical to the same condition's fault-free run (temperatures: heat below the label bound)
    first = windows[0].start
    assert_same(run.frame.iloc[:first], base.frame.iloc[:first])
    normal = ~lab["is_anomaly"].to_numpy()
    assert_same(run.frame.loc[normal, NON_TEMP], base.frame.loc[normal, NON_TEMP])
    dtemp = np.abs(f64(run.frame.loc[normal, TEMPS]) - f64(base.frame.loc[normal, TEMPS])).to_numpy().max()
    assert dtemp < 0.25 + 0.01


@pytest.mark.parametrize("program", ["A", "B"])
def test_holding_faults_at_the_lowest_speed(program):
    """Holding phases at 60 % outlast their full-speed bound; faults acting on them still fit and label them whole."""
    kw = dict(seed=4, speed_override=0.6, program=program)
    run = simulate(300.0, faults=("payload_change", "gripper_slip", "payload_change"), **kw)
    base = simulate(300.0, **kw)
    holds = holding_runs(base.frame["gripper_current"].to_numpy() > 0.7)
    assert (holds[:, 1] - holds[:, 0]).max() / RATE > MAX_HOLD_S
    assert sorted({e.kind for e in run.faults}) == ["gripper_slip", "payload_change"]
    # every row whose currents or gripper current the faults change is labelled
    moved = (run.frame[CURRENTS + ["gripper_current"]] != base.frame[CURRENTS + ["gripper_current"]]).any(axis=1)
    assert moved.sum() > 1000 and run.labels["is_anomaly"][moved].all()


# ------------------------------------------------------------------------------ the scenario set


def test_scenario_set_is_fixed_and_documented():
    assert TRAINING_CONDITION == "reference" and TRAINING_CONDITION not in UNSEEN_CONDITIONS
    assert set(UNSEEN_CONDITIONS) | {TRAINING_CONDITION} == set(CONDITIONS)
    assert {"cold", "warm-drift", "slow-80", "heavy", "program-b", "sensor-bias", "combined"} <= set(UNSEEN_CONDITIONS)
    assert not set(TRAIN_SEEDS) & set(TEST_SEEDS) and len(TRAIN_SEEDS) >= 3 and len(TEST_SEEDS) >= 3
    for name, settings in CONDITIONS.items():
        assert set(settings) == set(SETTINGS), name
        assert name in ra.conditions.__doc__
    ref = CONDITIONS["reference"]
    assert CONDITIONS["cold"]["ambient_c"] == ref["ambient_c"] - 4.0
    assert CONDITIONS["slow-80"]["speed_override"] == 0.8 and CONDITIONS["heavy"]["payload_kg"] > ref["payload_kg"]
    got = condition_settings("cold")
    got["ambient_c"] = 0.0
    assert CONDITIONS["cold"]["ambient_c"] == 24.0  # a copy


@pytest.mark.parametrize("name", ["reference", "sensor-bias", "combined", "program-b"])
def test_scenarios_are_deterministic_per_seed(name):
    a = conditions_scenario(name, duration_s=30.0, seed=TEST_SEEDS[1])
    b = conditions_scenario(name, duration_s=30.0, seed=TEST_SEEDS[1])
    assert_same(a.frame, b.frame)
    assert np.array_equal(a.conditions["sensor_offset"], b.conditions["sensor_offset"])
    c = conditions_scenario(name, duration_s=30.0, seed=TEST_SEEDS[2])
    assert not np.array_equal(a.frame.to_numpy(), c.frame.to_numpy())
    if CONDITIONS[name]["sensor_bias"]:
        assert not np.array_equal(a.conditions["sensor_offset"], c.conditions["sensor_offset"])
    direct = simulate(30.0, seed=TEST_SEEDS[1], **CONDITIONS[name])
    assert_same(a.frame, direct.frame)


def test_scenario_overrides():
    run = conditions_scenario("cold", duration_s=20.0, seed=1, payload_kg=1.0, ambient_c=20.0)
    assert run.conditions["payload_kg"] == 1.0 and run.conditions["ambient_c"] == 20.0


# ------------------------------------------------------------------------------------ bad values


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ambient_drift_c_per_h=25.0), "ambient_drift_c_per_h must be a number in [-20, 20] degC/h"),
        (dict(ambient_drift_c_per_h=float("nan")), "ambient_drift_c_per_h"),
        (dict(ambient_drift_c_per_h="6"), "ambient_drift_c_per_h"),
        (dict(payload_kg=-0.1), "payload_kg must be a number in [0, 5] kg"),
        (dict(payload_kg=6.0), "payload_kg"),
        (dict(speed_override=80), "speed_override must be a number in [0.6, 1]"),
        (dict(speed_override=0.5), "speed_override"),
        (dict(speed_override=True), "speed_override"),
        (dict(program="C"), "program must be one of ['A', 'B']"),
        (dict(program="a"), "program"),
        (dict(sensor_bias=1.5), "sensor_bias must be a number in [0, 1]"),
        (dict(sensor_bias=-0.1), "sensor_bias"),
        (dict(cold_start="yes"), "cold_start must be True or False"),
    ],
)
def test_bad_conditions_raise_config_error(kwargs, message):
    with pytest.raises(ConfigError) as info:
        simulate(10.0, **kwargs)
    assert message in str(info.value) and isinstance(info.value, AnomalyError) and isinstance(info.value, ValueError)


def test_existing_errors_keep_their_messages_as_config_errors():
    with pytest.raises(ConfigError, match="unknown fault type 'meteor'"):
        simulate(10.0, faults="meteor")
    with pytest.raises(ConfigError, match="duration_s must be a positive number"):
        simulate(-1.0)
    with pytest.raises(ConfigError, match="duration_s must be a positive number"):
        conditions_scenario("cold", duration_s=0.0)


def test_training_runs_of_one_condition_or_one_per_run():
    same = training_runs("reference", duration_s=5.0)
    assert len(same) == len(TRAIN_SEEDS)
    pd.testing.assert_frame_equal(same[1], conditions_scenario("reference", duration_s=5.0, seed=TRAIN_SEEDS[1]).frame)
    mixed = training_runs(SCENARIOS["mixed-sessions"][0], duration_s=5.0)
    pd.testing.assert_frame_equal(mixed[0], conditions_scenario("cold-start", duration_s=5.0, seed=TRAIN_SEEDS[0]).frame)
    pd.testing.assert_frame_equal(mixed[2], same[2])
    with pytest.raises(ConfigError, match="2 training conditions for 3 training runs"):
        training_runs(("reference", "cold"), duration_s=5.0)


def test_bad_scenario_name_or_setting():
    with pytest.raises(ConfigError, match="unknown condition 'hot'; expected one of reference, cold"):
        conditions_scenario("hot")
    with pytest.raises(ConfigError, match="not an operating-condition setting: colour"):
        conditions_scenario("cold", colour="red")


# ---------------------------------------------------------------------------------------- CLI

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_cli_condition_and_options(tmp_path):
    out = tmp_path / "cold.parquet"
    result = invoke("simulate", "-o", out, "--duration", 20, "--faults", "none", "--seed", SEED, "--condition", "cold")
    assert result.exit_code == 0, result.output
    assert "conditions: ambient 24.0 degC, payload 0.8 kg, speed 100 %, program A" in result.output
    frame = pd.read_parquet(out)
    assert_same(frame[CHANNELS], conditions_scenario("cold", duration_s=20.0, seed=SEED).frame)

    out = tmp_path / "mix.csv"
    args = ["--ambient", 25, "--ambient-drift", 6, "--payload", 1.1, "--speed", 80, "--program", "b", "--sensor-bias", 0.5, "--cold-start"]
    result = invoke("simulate", "-o", out, "--duration", 20, "--faults", "none", "--seed", 3, *args)
    assert result.exit_code == 0, result.output
    expected = simulate(
        20.0, seed=3, ambient_c=25.0, ambient_drift_c_per_h=6.0, payload_kg=1.1, speed_override=0.8, program="B", sensor_bias=0.5, cold_start=True
    )
    assert np.allclose(pd.read_csv(out, index_col=0)[CHANNELS].to_numpy(), expected.frame.to_numpy(), rtol=1e-6, atol=1e-6)
    assert "(+6 degC/h)" in result.output and "cold start" in result.output

    # options override the named condition
    out = tmp_path / "override.parquet"
    assert invoke("simulate", "-o", out, "--duration", 20, "--faults", "none", "--condition", "combined", "--speed", 100).exit_code == 0
    assert_same(pd.read_parquet(out)[CHANNELS], conditions_scenario("combined", duration_s=20.0, seed=0, speed_override=1.0).frame)


def test_cli_without_condition_options_is_unchanged(tmp_path):
    out = tmp_path / "plain.parquet"
    result = invoke("simulate", "-o", out, "--duration", 20, "--faults", "none", "--seed", 2, "--ambient", 28)
    assert result.exit_code == 0 and "conditions:" not in result.output
    assert_same(pd.read_parquet(out)[CHANNELS], simulate(20.0, seed=2, ambient_c=28.0).frame)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--speed", 50], "--speed must be a percentage in [60, 100], got 50"),
        (["--speed", 0.8], "--speed must be a percentage in [60, 100], got 0.8"),
        (["--payload", -1], "payload_kg must be a number in [0, 5] kg"),
        (["--ambient-drift", 100], "ambient_drift_c_per_h must be a number in [-20, 20]"),
        (["--program", "C"], "program must be one of ['A', 'B']"),
        (["--sensor-bias", 2], "sensor_bias must be a number in [0, 1]"),
        (["--condition", "hot"], "unknown condition 'hot'"),
    ],
)
def test_cli_bad_values_exit_2_with_one_line(tmp_path, args, message):
    out = tmp_path / "x.csv"
    result = invoke("simulate", "-o", out, "--duration", 20, "--faults", "none", *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not out.exists()
