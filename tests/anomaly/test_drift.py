"""The slow-drift follower of set-point temperatures (anomaly.drift)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from pass_checks import assert_paths_agree

import anomaly
from anomaly.conditions import ConditionChannels, PassReference, relative_graph
from anomaly.drift import FOLLOW_PER_MINUTE, SlewFollower, follow_blocks, follower_graph


def test_blocks_are_seconds_and_the_limit_is_per_block():
    assert follow_blocks(10.0) == (10, pytest.approx(FOLLOW_PER_MINUTE / 60))
    assert follow_blocks(100.0) == (100, pytest.approx(FOLLOW_PER_MINUTE / 60))
    assert follow_blocks(0.5) == (1, pytest.approx(FOLLOW_PER_MINUTE / 30))  # a row every 2 s
    assert follow_blocks(None) == (0, 0.0) and follow_blocks(float("nan")) == (0, 0.0)


def test_a_slow_ramp_is_followed_a_fast_one_left_behind():
    t = np.arange(600.0)  # 600 blocks of one row
    slow, fast = 0.5 * 0.05 * t, 3.0 * 0.05 * t  # half the limit per block, three times it
    references = SlewFollower(2, 1, 0.05)(np.stack([slow, fast], axis=1))
    assert references[0, 0] == 0 and references[1, 0] == 0  # the first row is its own reference, then the follower
    assert_allclose(references[2:, 0], slow[1:-1])  # followed, one block behind
    assert_allclose(fast[1:] - references[1:, 1], 0.10 * t[1:] + 0.05, rtol=1e-9)  # falls behind by the excess


def test_the_first_block_is_a_running_mean_then_block_means_move_at_most_the_limit():
    values = np.array([[1.0], [3.0], [5.0], [7.0], [20.0], [20.0], [20.0], [20.0]])
    references = SlewFollower(1, 2, 0.5)(values)
    assert_allclose(references[:, 0], [1.0, 2.0, 2.0, 2.0, 2.5, 2.5, 3.0, 3.0])


def test_the_follower_is_the_same_however_the_pass_is_cut_and_its_graph_agrees():
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.normal(size=(997, 3)), axis=0) * 0.1
    whole = SlewFollower(3, 10, 0.2)(values)
    follower, pieces = SlewFollower(3, 10, 0.2), []
    for lo in range(0, len(values), 37):
        pieces.append(follower(values[lo : lo + 37]))
    assert_allclose(np.concatenate(pieces), whole, rtol=1e-12)
    assert_allclose(follower_graph(values.astype(np.float32), 10, 0.2, np), whole, rtol=1e-5, atol=1e-5)


def followed(n_channels=4, setpoints=(0, 2), follow=(2,)) -> ConditionChannels:
    return ConditionChannels([], n_channels, 0, setpoints, 50, follow=follow, follow_rows=10, follow_limit=0.2)


def test_pass_reference_with_a_follower_is_the_same_however_the_pass_is_cut():
    rng = np.random.default_rng(1)
    drift = np.linspace(0.0, 6.0, 500)[:, None].astype(np.float32)  # 0.12 per block of 10 rows: slower than the limit
    Z = rng.normal(size=(500, 4)).astype(np.float32) * np.float32(0.3) + drift
    conditions = followed()
    whole = conditions.relative(Z)
    plain = PassReference([0, 2], 50)(Z)
    assert_allclose(whole[:, [0, 1, 3]], plain[:, [0, 1, 3]])  # only the followed channel changes
    assert np.abs(whole[300:, 2]).mean() < 0.2 * np.abs(plain[300:, 2]).mean()  # its drift is followed
    pieces, reference = [], conditions.start_reference()
    for lo in range(0, 500, 37):
        pieces.append(reference(Z[lo : lo + 37]))
    assert_allclose(np.concatenate(pieces), whole, rtol=1e-6, atol=1e-6)
    reference, newest = conditions.start_reference(), []  # a stream: the last 8 rows, one of them new
    newest.append(reference(Z[:8])[-1])
    for end in range(9, 501):
        newest.append(reference(Z[end - 8 : end], 1)[-1])
    assert_allclose(np.array(newest), whole[7:], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="follower"):
        reference(Z[:100], 1)  # more rows given as seen than the follower has kept (the last 8)
    assert_allclose(relative_graph(Z, conditions, np), whole, rtol=1e-5, atol=1e-5)


def conveyor(seed: int, minutes: float, *, drift_c: float = 0.0, heat_c: float = 0.0, heat_from_s: float = 0.0) -> pd.DataFrame:
    """10 Hz: a load cycle in current and speed, two steady temperatures (0.05 degC noise) that
    drift by ``drift_c`` over the log; one heats by ``heat_c`` a minute from ``heat_from_s``."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 600)
    t = np.arange(n) / 10.0
    load = np.sin(2 * np.pi * t / 8.0 + seed)
    heat = heat_c * np.clip(t - heat_from_s, 0.0, None) / 60.0
    return pd.DataFrame({"current": 4 + load + 0.05 * rng.normal(size=n), "speed": 1500 - 50 * load + rng.normal(size=n),
                         "motor_temp": 40 + drift_c * t / t[-1] + heat + 0.05 * rng.normal(size=n),
                         "bearing_temp": 30 + drift_c * t / t[-1] + 0.05 * rng.normal(size=n)},
                        index=pd.date_range(f"2026-03-0{seed}", periods=n, freq="100ms", name="timestamp"))


@pytest.fixture(scope="module")
def drive():
    return anomaly.PCADetector().fit([conveyor(1, 10), conveyor(2, 10)])


def test_two_steady_temperatures_follow_a_drift_and_still_alarm_on_a_fast_heating(drive, tmp_path):
    conditions, channels = drive.conditions_, drive.schema_.channels
    assert [channels[i] for i in conditions.follow] == ["motor_temp", "bearing_temp"] and not len(conditions.ambient)
    from anomaly.cli.fit import conditions_lines

    assert conditions_lines(drive)[-1].startswith("set-point temperatures also normal up to a slow-drift follower")
    assert conditions_lines(drive)[-1].endswith(": motor_temp, bearing_temp")
    drifting = conveyor(3, 20, drift_c=-0.4)  # 8 training deviations over 20 minutes: a cooling day
    assert drive.predict(drifting).mean() < 0.02
    blind = anomaly.PCADetector().fit([conveyor(1, 10), conveyor(2, 10)])
    blind.conditions_ = ConditionChannels(**{**conditions.to_dict(), "follow": []})  # as before the follower
    assert blind.predict(drifting).mean() > 0.2
    heating = conveyor(4, 10, heat_c=1.0, heat_from_s=300)  # 20 training deviations a minute
    assert drive.predict(heating).iloc[3300:].mean() > 0.9
    loaded = assert_paths_agree(drive, drifting.iloc[:4000], tmp_path, chunk_rows=777)
    assert list(loaded.conditions_.follow) == list(conditions.follow)


def test_models_saved_before_the_follower_follow_nothing():
    old = ConditionChannels.from_dict({"indices": [], "n_channels": 4, "lag": 0, "setpoints": [0, 2], "reference_rows": 50})
    assert not len(old.follow) and old.follow_rows == 0 and old.start_reference()._follower is None


def test_the_differentiable_score_follows_too(drive):
    from anomaly.generative.differentiable import score_graph

    frame = conveyor(5, 2, drift_c=-0.3)
    Z = drive.scaler_.transform(frame.to_numpy(np.float32))
    graph = np.asarray(score_graph(drive, len(frame))(Z))
    assert_allclose(graph, drive.without_sensor_checks().score(frame).to_numpy(), rtol=1e-4, atol=1e-5)
