"""Dead bands of set-point channels read in steps (anomaly.conditions.deadbands)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from pass_checks import assert_paths_agree

import anomaly
from anomaly.conditions import ConditionChannels, deadbands, relative_graph, slow_channels, within_deadband
from anomaly.scaling import shared_resolution


def test_a_dead_band_is_one_step_where_the_scale_sits_at_half_a_step():
    assert_allclose(deadbands([0.5, 0.5, 0.1, 0.0], [0.25, 0.3, 0.06, 1.0]), [2.0, 0.0, 0.0, 0.0])


def test_within_the_band_is_zero_beyond_it_loses_the_band_signed():
    values = np.array([[0.5, -1.9, 3.0], [-2.5, 2.0, -0.1]], dtype=np.float32)
    band = np.array([1.0, 2.0, 0.0], dtype=np.float32)
    expected = [[0.0, 0.0, 3.0], [-1.5, 0.0, -0.1]]
    assert_allclose(within_deadband(values, band, np), expected)
    import keras

    assert_allclose(keras.ops.convert_to_numpy(within_deadband(keras.ops.convert_to_tensor(values), band, keras.ops)), expected)


def test_a_temperature_that_never_changed_takes_the_finest_step_of_the_others():
    spread = [1.0, 0.2, 0.4, 1.0, 1.0]  # the second and third sit on one or two levels
    assert_allclose(shared_resolution([0.0, 0.5, 1.0, 0.0, 0.0], [True, True, True, False, True], spread), [0.5, 0.5, 1.0, 0.0, 0.5])
    assert_allclose(shared_resolution([0.0, 0.2], [True, False], [1.0, 0.05]), [0.0, 0.2])  # no other temperature: unknown
    # the others read finely (their smallest change is noise's, far below their spread): unknown
    assert_allclose(shared_resolution([0.0, 1e-4, 2e-4], [True, True, True], [1.0, 0.05, 0.05]), [0.0, 1e-4, 2e-4])


def conveyor(seed: int, minutes: float, *, temp_c: float, heat_c: float = 0.0) -> pd.DataFrame:
    """10 Hz: a load cycle in current and speed and two steady temperatures read in half
    degrees; the motor's sits ``temp_c`` above 40 (0.05 degC of noise before rounding) and heats
    by ``heat_c`` a minute over the log's second half."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 600)
    t = np.arange(n) / 10.0
    load = np.sin(2 * np.pi * t / 8.0 + seed)
    heat = heat_c * np.clip(t - t[-1] / 2, 0.0, None) / 60.0
    temps = np.column_stack([40 + temp_c + heat, np.full(n, 30.1)]) + 0.05 * rng.normal(size=(n, 2))
    frame = pd.DataFrame({"current": 4 + load + 0.05 * rng.normal(size=n), "speed": 1500 - 50 * load + rng.normal(size=n)},
                         index=pd.date_range(f"2026-03-0{seed}", periods=n, freq="100ms", name="timestamp"))
    frame[["motor_temp", "bearing_temp"]] = np.round(temps * 2) / 2
    return frame


@pytest.fixture(scope="module")
def drive():
    return anomaly.PCADetector().fit([conveyor(1, 10, temp_c=0.1), conveyor(2, 10, temp_c=0.1)])


def test_a_steady_temperature_flickering_more_often_is_normal_and_a_heating_still_alarms(drive, tmp_path):
    conditions, channels = drive.conditions_, drive.schema_.channels
    band = dict(zip((channels[i] for i in conditions.setpoints), conditions.deadband))
    assert band["motor_temp"] == pytest.approx(2.0) and band["bearing_temp"] == pytest.approx(2.0)
    from anomaly.cli.fit import conditions_lines

    assert any(line.startswith("set-point channels read in steps") and line.endswith(": motor_temp (0.5), bearing_temp (0.5)")
               for line in conditions_lines(drive))
    flickering = conveyor(3, 10, temp_c=0.2)  # a day 0.1 degC warmer: a flicker to 40.5 every few seconds
    assert drive.predict(flickering).mean() < 0.01
    blind = anomaly.PCADetector().fit([conveyor(1, 10, temp_c=0.1), conveyor(2, 10, temp_c=0.1)])
    blind.conditions_ = ConditionChannels(**{**conditions.to_dict(), "deadband": []})  # as before dead bands
    assert blind.predict(flickering).mean() > 0.05
    heating = conveyor(4, 10, temp_c=0.1, heat_c=1.0)  # two steps a minute from the middle
    flags = drive.predict(heating)
    assert flags.iloc[:3000].mean() < 0.02 and flags.iloc[4500:].mean() > 0.95  # alarmed from 2.5 minutes in
    loaded = assert_paths_agree(drive, flickering.iloc[:4000], tmp_path, chunk_rows=777)
    assert_allclose(loaded.conditions_.deadband, conditions.deadband)


def test_a_temperature_constant_in_training_flickering_later_is_normal(drive, caplog):
    logs = [conveyor(1, 10, temp_c=0.1), conveyor(2, 10, temp_c=0.1)]
    for log in logs:
        log["bearing_temp"] = 30.0  # one level through training: its step is the motor's
    det = anomaly.PCADetector().fit(logs)
    assert "1 channel(s) are constant in the fitting data, centred and not scaled unless said: bearing_temp (scaled by half " \
           "the other temperatures' step, 0.5)" in caplog.text
    at = det.schema_.channels.index("bearing_temp")
    assert det.scaler_.scale_[at] == pytest.approx(0.25)
    assert det.conditions_.deadband[list(det.conditions_.setpoints).index(at)] == pytest.approx(2.0)
    assert det.channel_limits_[at] > 1e-3  # a move past the band is measured against one unit, not against 0
    later = conveyor(3, 10, temp_c=0.1)
    later["bearing_temp"] = np.where(np.arange(len(later)) % 97 < 5, 30.5, 30.0)  # flickers to the next half degree
    assert det.predict(later).mean() < 0.01
    later["bearing_temp"] = np.where(np.arange(len(later)) < 3000, 30.0, 31.5)  # three steps up at once: past the band
    assert det.predict(later).iloc[3000:3500].mean() > 0.95  # (until the slow-drift follower catches up, after a minute)


def test_a_constant_temperature_beside_finely_read_ones_keeps_its_placeholder_scale():
    logs = [conveyor(1, 5, temp_c=0.1), conveyor(2, 5, temp_c=0.1)]
    for log in logs:
        log["motor_temp"] = 40.1 + 0.05 * np.random.default_rng(len(log)).normal(size=len(log))  # read finely
        log["bearing_temp"] = 30.0
    det = anomaly.PCADetector().fit(logs)
    at = det.schema_.channels.index("bearing_temp")
    assert det.scaler_.scale_[at] == 1.0 and not det.conditions_.deadband.any()


def test_a_reading_that_dwells_on_one_level_and_dips_to_the_next_is_not_slow():
    n, lag = 30_000, 1000  # 300 s at 100 Hz, a 10 s horizon
    dwell = np.full(n, 31.5)
    dwell[29_500:29_600] = 31.0  # one held reading a second long at the next half degree, near the end (the
    # centred moving average of the slowness test does not reach it: all the log's variance looked slow)
    warming = np.round(np.linspace(30.0, 32.0, n) * 2) / 2  # five levels: a warm-up read in half degrees
    assert slow_channels([np.column_stack([dwell, warming])], lag).tolist() == [1]


def test_a_dip_in_training_leaves_a_stepped_temperature_a_set_point(drive):
    logs = [conveyor(1, 10, temp_c=0.1), conveyor(2, 10, temp_c=0.1)]
    for log in logs:
        log["bearing_temp"] = 30.0
    logs[0].iloc[5960:5990, logs[0].columns.get_loc("bearing_temp")] = 30.5  # 3 s at the next level, near the end
    det = anomaly.PCADetector().fit(logs)
    at = det.schema_.channels.index("bearing_temp")
    assert at in det.conditions_.setpoints and at not in det.conditions_.indices  # not a condition channel
    later = conveyor(3, 10, temp_c=0.1)
    later["bearing_temp"] = np.where(np.arange(len(later)) % 197 < 10, 30.5, 30.0)  # a second at 30.5 every 20 s
    assert det.predict(later).mean() < 0.01


def test_networks_keep_the_flickers_of_steps():
    logs = [conveyor(1, 2, temp_c=0.1), conveyor(2, 2, temp_c=0.1)]
    for log in logs:
        log["bearing_temp"] = 30.0
    det = anomaly.DenseAutoencoder(window=2, hidden=(8,), latent=2, epochs=1).fit(logs)
    assert not det.conditions_.deadband.any() and len(det.conditions_.setpoints)  # set-point channels, no dead band
    assert det.scaler_.scale_[det.schema_.channels.index("bearing_temp")] == 1.0  # constant: no step taken from others


def test_models_saved_before_dead_bands_have_none():
    old = ConditionChannels.from_dict({"indices": [], "n_channels": 4, "lag": 0, "setpoints": [0, 2], "reference_rows": 50})
    assert_allclose(old.deadband, [0.0, 0.0]) and old.start_reference().deadband is None


def test_the_differentiable_score_has_the_dead_band_too(drive):
    from anomaly.generative.differentiable import score_graph

    frame = conveyor(5, 2, temp_c=0.2)
    Z = drive.scaler_.transform(frame.to_numpy(np.float32))
    assert_allclose(relative_graph(Z, drive.conditions_, np), drive.conditions_.relative(Z), rtol=1e-5, atol=1e-5)
    graph = np.asarray(score_graph(drive, len(frame))(Z))
    assert_allclose(graph, drive.without_sensor_checks().score(frame).to_numpy(), rtol=1e-4, atol=1e-5)
