"""Re-centring (anomaly.recentring): a run that starts outside the training envelope is scored
around its own level after its first window instead of being flagged from end to end."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from battery_logs import battery_log

from anomaly import recentring as recentring_module
from anomaly.errors import ModelFileError
from anomaly.guard import relation_note
from anomaly.recentring import MIN_WINDOW_ROWS, LevelModel, Recentring, recentre_rows
from anomaly.registry import load, make_detector
from pipelines.compare import Split, detection_tables, flight_detection, run_detectors

WINDOW = 50


def two_channels(offset: float, n: int = 300, seed: int = 0) -> np.ndarray:
    """Scaled rows (n, 2): channel 0 noise around ``offset``, channel 1 noise around 0."""
    rows = np.random.default_rng(seed).normal(0.0, 0.5, (n, 2)).astype(np.float32)
    rows[:, 0] += offset
    return rows


def recentring() -> Recentring:
    return Recentring(low=[-2.0, -2.0], high=[2.0, 2.0], median=[0.0, 0.0], rows=WINDOW)


def test_a_channel_outside_from_the_start_is_shifted_after_each_window():
    Z = two_channels(10.0)
    out = recentring()(Z)
    assert np.array_equal(out[:WINDOW], Z[:WINDOW])  # the first window is scored at its level
    np.testing.assert_array_equal(out[:, 1], Z[:, 1])  # inside: untouched
    medians = [np.median(Z[k * WINDOW : (k + 1) * WINDOW, 0].astype(np.float64)) for k in range(len(Z) // WINDOW)]
    rows = slice(WINDOW, 2 * WINDOW)  # after one window outside: its offset
    np.testing.assert_allclose(out[rows, 0], Z[rows, 0] - medians[0], atol=1e-5)
    for k in range(2, len(Z) // WINDOW):  # after two or more: the line through the last two offsets
        position = np.arange(k * WINDOW, (k + 1) * WINDOW)
        line = medians[k - 1] + (medians[k - 1] - medians[k - 2]) / WINDOW * (position - (k - 0.5) * WINDOW)
        np.testing.assert_allclose(out[k * WINDOW : (k + 1) * WINDOW, 0], Z[k * WINDOW : (k + 1) * WINDOW, 0] - line, atol=1e-4)
    assert abs(np.median(out[WINDOW:, 0])) < 0.2


def test_a_channel_that_leaves_in_the_middle_of_a_run_keeps_its_level():
    Z = two_channels(0.0)
    Z[2 * WINDOW :, 0] += 10.0  # a fault from the third window on: stays an alarm
    np.testing.assert_array_equal(recentring()(Z), Z)


def test_a_channel_that_drifts_out_is_recentred_from_the_window_it_crossed():
    Z = two_channels(0.0)
    Z[:, 0] += np.linspace(0.0, 4.0, len(Z), dtype=np.float32)  # medians 0.3, 1.0, 1.7, 2.3 (outside), ...
    out = recentring()(Z)
    np.testing.assert_array_equal(out[: 4 * WINDOW], Z[: 4 * WINDOW])
    assert np.abs(out[4 * WINDOW :, 0]).max() < 2.0
    assert abs(np.median(out[5 * WINDOW :, 0])) < 0.35  # followed along its line, not a window's drift (0.67) behind
    stepped = two_channels(0.0)
    stepped[3 * WINDOW :, 0] += 3.0  # a step of 3 from 0: more than a quarter of the width (4) in one window
    np.testing.assert_array_equal(recentring()(stepped), stepped)


def test_once_back_inside_a_channel_is_scored_at_its_level_for_the_rest_of_the_pass():
    Z = two_channels(10.0)
    Z[2 * WINDOW : 3 * WINDOW, 0] -= 10.0  # back inside for the third window
    out = recentring()(Z)
    assert np.abs(out[WINDOW : 3 * WINDOW, 0] - Z[WINDOW : 3 * WINDOW, 0]).min() > 5  # shifted while outside
    np.testing.assert_array_equal(out[3 * WINDOW :], Z[3 * WINDOW :])  # outside again later: at its level


@pytest.mark.parametrize("median_rows", [1000, 16])  # 16: the medians over every 4th row of a window
def test_pieces_and_a_stream_get_the_rows_of_a_whole_pass(monkeypatch, median_rows):
    monkeypatch.setattr(recentring_module, "MEDIAN_ROWS", median_rows)
    Z = two_channels(10.0)
    Z[:, 0] += np.linspace(0.0, 3.0, len(Z), dtype=np.float32)  # drifting: offsets and slopes both move
    whole = recentring()(Z)
    assert np.abs(whole[WINDOW:, 0] - Z[WINDOW:, 0]).min() > 5  # shifted from the second window on
    pieces, state = [], recentring()
    for lo in range(0, len(Z), 7):
        pieces.append(state(Z[lo : lo + 7]))
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    stream, state = [], recentring()
    stream.append(state(Z[:3])[-1])  # first call: every row is new
    for t in range(3, len(Z)):
        stream.append(state(Z[t - 3 : t + 1], 1)[-1])  # three rows already seen, the newest new
    np.testing.assert_array_equal(np.array(stream), whole[2:])
    state = recentring()
    state(Z[:5])
    with pytest.raises(ValueError, match="9 rows given as seen, but the pass has seen 5"):
        state(Z[:10], 1)


def test_the_window_is_a_minute_of_rows_and_at_least_twenty():
    assert recentre_rows(100.0) == 6000 and recentre_rows(None) == 1000
    assert recentre_rows(1 / 300) == MIN_WINDOW_ROWS  # five-minute steps


@pytest.fixture(scope="module")
def battery_model():
    """PCA on two 3-minute logs of a battery drive at 10 Hz: too short for the discharge to show,
    so the battery is modelled at its level."""
    return make_detector("pca").fit([battery_log(seed, minutes=3.0) for seed in (0, 1)])


def test_a_less_charged_battery_is_scored_around_its_own_level_after_the_first_minute(battery_model):
    low = battery_log(5, minutes=6.0, charge_v=24.4)
    assert battery_model.recentre_rows_ == 600 and "battery_v" in {e.channel for e in battery_model.check_envelope(low)}
    flags = battery_model.predict(low).to_numpy()
    assert flags[:300].all()  # the first window is flagged: nothing has told the model yet
    assert flags[600:].mean() < 0.02  # measured 0.4 %
    median_only = copy.copy(battery_model)
    median_only.level_model_ = None  # the window's median follows the load it drew: 38 % flagged
    assert median_only.predict(low).to_numpy()[600:].mean() > 0.2
    assert battery_model.without_recentring().predict(low).mean() > 0.95  # the flood it ends
    faulty = low.copy()
    faulty.iloc[2400:2600, 0] += 0.8  # a binding left drive for 20 s in the fifth minute
    assert battery_model.predict(faulty).to_numpy()[2400:2600].mean() > 0.9
    scores, stream = battery_model.score(low).to_numpy(), battery_model.score_stream(low).to_numpy()
    np.testing.assert_allclose(stream, scores, rtol=1e-5, atol=1e-6)


def test_a_saved_model_keeps_its_window_and_an_older_one_loads_without(battery_model, tmp_path):
    low = battery_log(5, minutes=3.0, charge_v=24.4)
    path = battery_model.save(tmp_path / "m")
    loaded = load(path)
    assert loaded.recentre_rows_ == 600
    np.testing.assert_array_equal(loaded.predict(low), battery_model.predict(low))
    meta = json.loads((path / "detector.json").read_text())
    del meta["recentre_rows"], meta["envelope"]["median"], meta["level_model"]  # saved before re-centring
    (path / "detector.json").write_text(json.dumps(meta))
    assert load(path).recentre_rows_ == 0 and load(path).level_model_ is None and load(path).predict(low).mean() > 0.95
    meta["recentre_rows"] = -3
    (path / "detector.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="recentre_rows -3 is not a row count"):
        load(path)


def test_the_level_model_estimates_a_channel_from_the_channels_inside():
    rng = np.random.default_rng(0)
    load_ = rng.uniform(-1, 1, 5000)
    Z = np.column_stack([load_, -0.8 * load_ + rng.normal(0, 0.05, 5000), rng.normal(0, 1, 5000)])
    model = LevelModel().fit([Z[:1000], Z[1000:]])  # logs one at a time
    rows = Z[:200].copy()
    rows[:, 1] -= 3.0  # an offset of the channel that follows the load
    offsets = model.offsets(rows, np.array([1]), np.array([0, 2]))
    assert offsets.shape == (200, 1) and abs(np.median(offsets) + 3.0) < 0.02 and offsets.std() < 0.1
    alone = model.offsets(rows, np.array([1]), np.array([], dtype=np.int64))  # nothing inside: from its mean
    assert abs(np.median(alone) + 3.0) < 0.3 and alone.std() > 0.3
    np.testing.assert_allclose(model.covariance_, np.cov(Z, rowvar=False), rtol=1e-9, atol=1e-12)
    again = LevelModel.from_dict(json.loads(json.dumps(model.to_dict())), 3)
    np.testing.assert_array_equal(again.covariance_, model.covariance_)
    with pytest.raises(ValueError, match="for 4 channels"):
        LevelModel.from_dict(model.to_dict(), 4)


def test_a_battery_discharging_inside_its_envelope_is_recentred_once_it_drifts_from_the_currents(battery_model):
    """A 20-minute session at full charge discharges 0.48 V: inside the range the 3-minute logs'
    sag covered, but away from where the currents put the voltage."""
    full = battery_log(7, minutes=20.0)
    assert battery_model.check_envelope(full) == []
    flags = battery_model.predict(full).to_numpy()
    assert flags[10 * 600 :].mean() < 0.02  # measured 0 (minutes 4-8 flagged, followed from the 9th)
    blind = copy.copy(battery_model)
    blind.level_model_ = copy.copy(battery_model.level_model_)
    blind.level_model_.relation_bound_ = None  # no relation bounds (a model saved before them)
    assert blind.predict(full).to_numpy()[10 * 600 :].mean() > 0.95
    faulty = full.copy()
    faulty.iloc[9000:9200, 0] += 0.8  # a binding left drive for 20 s in the 16th minute
    assert battery_model.predict(faulty).to_numpy()[9000:9200].mean() > 0.9
    np.testing.assert_allclose(battery_model.score_stream(full).to_numpy(), battery_model.score(full).to_numpy(), rtol=1e-5, atol=1e-6)


def _followers(load_: np.ndarray, rng, shift=0.0) -> np.ndarray:
    """Scaled rows (n, 3): a load and two channels following it (0.5 x and -0.8 x), the last
    plus ``shift``."""
    return np.column_stack([load_, 0.5 * load_ + rng.normal(0, 0.05, len(load_)),
                            -0.8 * load_ + rng.normal(0, 0.05, len(load_)) + shift]).astype(np.float32)


def _follower_and_model():
    """A level model of :func:`_followers` and its relation bounds from 8 training windows."""
    rng = np.random.default_rng(0)
    Z = _followers(rng.uniform(-1, 1, 8 * WINDOW), rng)
    model = LevelModel().fit([Z])
    return model, recentring_module.relation_bounds(model, [Z], np.array([0, 1, 2]), WINDOW, np.full(3, 0.2))


def test_relation_bounds_are_three_times_the_largest_window_median_plus_a_floor():
    model, bounds = _follower_and_model()
    assert np.all(np.isfinite(bounds)) and np.all(bounds > recentring_module.RELATION_FLOOR) and np.all(bounds < 0.2)
    unwatched = recentring_module.relation_bounds(model, [np.zeros((10, 3))], np.array([0, 1, 2]), WINDOW, np.full(3, 0.2))
    assert np.isinf(unwatched).all()  # no full window in training
    wide = recentring_module.relation_bounds(model, [np.zeros((10 * WINDOW, 3))], np.array([0, 1]), WINDOW, np.full(3, 4.0))
    np.testing.assert_array_equal(wide, [0.6, 0.6, np.inf])  # at least 15 % of the width; channel 2 not watched


def test_a_relation_that_drifts_apart_is_followed_and_one_broken_in_a_step_or_from_the_start_is_not():
    model, bounds = _follower_and_model()
    rng = np.random.default_rng(1)
    load_ = rng.uniform(-1, 1, 24 * WINDOW)
    box = dict(low=[-3.0] * 3, high=[3.0] * 3, median=[0.0] * 3, rows=WINDOW, model=model)

    drift = _followers(load_, rng, np.linspace(0.0, 1.2, len(load_)))  # inside the envelope (+-3) all along, 0.05 a window (under its bound, 0.11)
    out = Recentring(**box, relation=bounds)(drift)
    np.testing.assert_array_equal(out[:, :2], drift[:, :2])  # the channels that kept their relation: untouched
    last = slice(-2 * WINDOW, None)
    assert abs(np.median(out[last, 2] + 0.8 * out[last, 0])) < 0.1 < abs(np.median(drift[last, 2] + 0.8 * drift[last, 0]))
    # a fault: 2.0 at once, more than a quarter of the envelope's width (6) in one window
    step = _followers(load_, rng, np.where(np.arange(len(load_)) >= 6 * WINDOW, 2.0, 0.0))
    np.testing.assert_array_equal(Recentring(**box, relation=bounds)(step), step)
    # a step of 0.5: under a quarter of the width (1.5), but 4-6 times the bound: a fault too
    small = _followers(load_, rng, np.where(np.arange(len(load_)) >= 6 * WINDOW, 0.5, 0.0))
    np.testing.assert_array_equal(Recentring(**box, relation=bounds)(small), small)
    start = _followers(load_, rng, 1.0)  # broken from the pass's first window
    np.testing.assert_array_equal(Recentring(**box, relation=bounds)(start), start)
    np.testing.assert_array_equal(Recentring(**box)(drift), drift)  # no bounds: no relation is watched


def test_recentring_records_each_channel_its_relation_rule_followed_once():
    model, bounds = _follower_and_model()
    rng = np.random.default_rng(1)
    load_ = rng.uniform(-1, 1, 24 * WINDOW)
    drift = _followers(load_, rng, np.linspace(0.0, 1.2, len(load_)))
    follower = Recentring(low=[-3.0] * 3, high=[3.0] * 3, median=[0.0] * 3, rows=WINDOW, model=model, relation=bounds)
    follower(drift[: 6 * WINDOW])
    first = follower.take_new()
    follower(drift[6 * WINDOW :])
    assert follower.take_new() == []  # reported once, when it is first followed
    (followed,) = follower.followed()
    assert first == [followed] and followed.channel == 2 and followed.row % WINDOW == WINDOW - 1  # the end of a window
    assert followed.row < 6 * WINDOW and followed.windows == (len(drift) - 1 - followed.row) // WINDOW + 1  # each to the last
    assert 0.9 < followed.shift < 1.3  # the distance reached in the last window (the shift grows 0.1 a window)
    step = _followers(load_, rng, np.where(np.arange(len(load_)) >= 6 * WINDOW, 2.0, 0.0))
    stepped = Recentring(low=[-3.0] * 3, high=[3.0] * 3, median=[0.0] * 3, rows=WINDOW, model=model, relation=bounds)
    stepped(step)
    assert stepped.followed() == [] and stepped.take_new() == []  # a fault is not followed, so not reported


def test_relation_drifts_name_the_battery_followed_and_when(battery_model):
    """What the score line and the stream say: the channel, from when, on how many rows, by how much (volts)."""
    full = battery_log(7, minutes=20.0)
    (drift,) = battery_model.relation_drifts(full)
    assert drift.channel == "battery_v" and drift.start == full.index[9 * 600 - 1]  # followed from the 9th minute
    assert drift.rows == len(full) - 9 * 600 and -0.6 < drift.shift < -0.3  # discharged 0.48 V over 20 minutes
    assert battery_model.without_recentring().relation_drifts(full) == []
    assert battery_model.relation_drifts(battery_log(8, minutes=3.0)) == []  # a session like training
    line = relation_note([drift], len(full))
    assert line.startswith("battery_v drifted from what the other channels predict inside its range")
    assert "from 2026-04-01 00:08:59.900 (55% of the rows; by up to -0.4" in line


def test_relation_bounds_are_saved_and_an_older_level_model_loads_without(battery_model, tmp_path):
    path = battery_model.save(tmp_path / "m")
    loaded = load(path)
    np.testing.assert_array_equal(loaded.level_model_.relation_bound_, battery_model.level_model_.relation_bound_)
    meta = json.loads((path / "detector.json").read_text())
    del meta["level_model"]["relation"]  # saved before relation bounds
    (path / "detector.json").write_text(json.dumps(meta))
    assert load(path).level_model_.relation_bound_ is None


def test_compare_lists_the_channels_followed_by_their_relation_per_split():
    logs = [battery_log(seed, minutes=3.0) for seed in (0, 1)]
    test = battery_log(7, minutes=20.0)
    test.iloc[11000:, 0] += 0.8  # a binding left drive from the 19th minute
    labels = np.arange(len(test)) >= 11000
    split = Split("long", pd.concat(logs), test, labels, pd.Series(np.where(labels, "binding", "")), train_logs=logs, onset=11000)
    detection = flight_detection([split], run_detectors([split], {"pca": {}}))
    (flight,) = detection["flights"]["pca"]
    assert flight["detected"] and flight["followed_channels"] == ["battery_v"]
    assert "battery_v drifted from what the other channels predict inside its range" in flight["outside_envelope"]
    assert detection_tables({"detection": detection})["flights"].loc["long", "pca outside envelope"].endswith("followed battery_v")
