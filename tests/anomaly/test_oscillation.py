"""Oscillating channels (anomaly.oscillation): a gripper current that swings at a few hertz around
a level it only passes through in training is found and named, though a steady model
reconstructs the level; steps and louder noise are not swings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pass_checks import assert_paths_agree
from typer.testing import CliRunner

from anomaly import PCADetector, load
from anomaly.cli import app
from anomaly.decisions import model_rules
from anomaly.feedback import alarms, raise_sensor_limits
from anomaly.oscillation import MIN_LIMIT, Swings, fit_oscillation_limits, noise_sigma, swing_counts

RATE = 100


def cell(seed: int, seconds: float = 240.0, slip_from_s: float | None = None) -> pd.DataFrame:
    """A pick-and-place cell at 100 Hz: a joint's position, velocity and current over 6 s cycles
    and a gripper current that holds 0.9 A for the middle half of each cycle, 0.05 A open (0.005 A
    of noise); from ``slip_from_s`` the holding current drops to 55 % and swings by 0.08 A at 4 Hz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    phase = (t % 6.0) / 6.0
    holding = (phase > 0.25) & (phase < 0.75)
    grip = np.where(holding, 0.9, 0.05)
    if slip_from_s is not None:
        slip = holding & (t >= slip_from_s)
        grip[slip] = 0.9 * 0.55 + 0.08 * np.sin(2 * np.pi * 4.0 * t[slip])
    q = np.sin(2 * np.pi * t / 6.0)
    qd = np.gradient(q, 1 / RATE)
    columns = {"q": q + rng.normal(0, 1e-3, n), "qd": qd + rng.normal(0, 1e-2, n),
               "current": 0.5 * qd + rng.normal(0, 0.01, n), "gripper_current": grip + rng.normal(0, 0.005, n)}
    index = pd.date_range("2026-05-01", periods=n, freq="10ms") + pd.Timedelta(days=seed)
    return pd.DataFrame(columns, index=index)


def test_swings_are_counted_steps_and_louder_noise_are_not():
    rng = np.random.default_rng(0)
    n = 3000
    t = np.arange(n) / RATE
    quiet = rng.normal(0, 0.01, (n, 3))
    bands = 5 * noise_sigma([quiet])
    assert bands == pytest.approx([0.05] * 3, rel=0.15)
    rows = quiet.copy()
    rows[1000:2000, 0] += 0.2 * np.sin(2 * np.pi * 4.0 * t[1000:2000])  # a 4 Hz swing
    rows[1000:, 1] += np.where((t[1000:] % 3.0) < 1.5, 1.0, 0.0)  # steps up and down every 1.5 s
    rows[1000:, 2] *= 10  # ten times the noise
    counts = swing_counts(rows, bands)
    assert counts[1200:2000, 0].min() >= 7 and counts[2200:, 0].max() == 0  # 8 swings a second while it lasts
    assert counts[:, 1].max() <= 2  # a step is one excursion
    assert counts[1200:, 2].max() < MIN_LIMIT and counts[:, 2].max() <= MIN_LIMIT  # louder noise: at most the limit at its onset
    assert counts[:100].max() == 0  # the window's noise is known from the pass's 100th row on
    _, limits = fit_oscillation_limits([quiet])
    assert limits.tolist() == [MIN_LIMIT] * 3  # no swing in training: the floor


def test_counts_do_not_depend_on_how_the_pass_is_cut():
    rng = np.random.default_rng(1)
    rows = rng.normal(0, 0.01, (2000, 2))
    rows[500:900, 1] += 0.1 * np.sin(np.arange(400) * 2 * np.pi / 20)
    bands = np.array([0.05, 0.05])
    whole = swing_counts(rows, bands)
    check = Swings([1.0, 1.0], bands)
    cuts = [0, 1, 3, 60, 61, 700, 1999, 2000]
    assert np.array_equal(np.concatenate([check.counts(rows[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]), whole)
    one = Swings([1.0, 1.0], bands)
    assert np.array_equal(np.concatenate([one.counts(rows[i:i + 1]) for i in range(len(rows))]), whole)


@pytest.fixture(scope="module")
def fitted():
    return PCADetector().fit(cell(0))


def test_a_slipping_grip_is_found_and_named_and_a_new_session_is_quiet(fitted, tmp_path):
    rules, level = model_rules(fitted), float(fitted.threshold_)
    watched = dict(zip(fitted.schema_.channels, fitted.oscillation_limits_))
    assert watched["gripper_current"] == MIN_LIMIT  # it never swings in training
    blind = fitted.without_sensor_checks(("oscillation",))
    for seed in (1, 3):  # a new session: no alarm from the check
        new = cell(seed)
        assert alarms(fitted.score(new).to_numpy(), level, rules) == alarms(blind.score(new).to_numpy(), level, rules)
    slipping = cell(2, slip_from_s=120.0)
    errors, scores, flags = fitted.evaluate_frame(slipping)
    t = np.arange(len(slipping)) / RATE
    phase = (t % 6.0) / 6.0
    swinging = (t >= 120.0) & (phase > 0.25 + 1 / 6) & (phase < 0.75)  # a second into each slipping hold
    assert flags.to_numpy()[swinging].mean() > 0.9  # found while it swings
    assert (errors.to_numpy()[swinging].argmax(axis=1) == 3).mean() > 0.9  # and named
    plain = blind.predict(slipping).to_numpy()
    assert np.array_equal(flags.to_numpy()[t < 120.0], plain[t < 120.0])  # nothing added before it
    assert plain[swinging].mean() < 0.6  # the model alone: a level it passes through at every grasp
    loaded = assert_paths_agree(fitted, slipping.iloc[11000:14000], tmp_path, chunk_rows=777)  # every path, saved and loaded
    np.testing.assert_array_equal(loaded.oscillation_bands_, fitted.oscillation_bands_)
    meta = json.loads((tmp_path / "model" / "detector.json").read_text())
    del meta["sensors"]["oscillation_limits"], meta["sensors"]["oscillation_bands"]  # a model saved before: none watched
    (tmp_path / "model" / "detector.json").write_text(json.dumps(meta))
    old = load(tmp_path / "model")
    assert not old.oscillation_limits_.any() and old.start_pass().oscillation is None


def test_feedback_widens_an_oscillation_limit_a_reviewer_calls_normal():
    model = PCADetector().fit(cell(0))
    slipping = cell(2, slip_from_s=120.0)
    false = np.zeros(len(slipping), dtype=bool)
    false[121 * RATE : 130 * RATE] = True
    raised = raise_sensor_limits(model, [slipping], [false])
    before, after = raised["oscillation"]["gripper_current"]
    assert before == MIN_LIMIT and after >= 2 * 7


def test_fit_says_which_channels_it_watches_for_swings(tmp_path):
    cell(0).rename_axis("timestamp").to_csv(tmp_path / "train.csv")
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "train.csv"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert ("oscillating sensors: 4 of 4 alarm when one swings back and forth around its moving level more than 2x as often "
            "as anywhere in training (at least 5 times in 100 rows)") in " ".join(result.output.split())
    off = CliRunner().invoke(app, ["fit", str(tmp_path / "train.csv"), "-o", str(tmp_path / "m2"), "--sensor-checks", "stuck,noise,twin"])
    assert off.exit_code == 0 and "oscillating sensors: off" in " ".join(off.output.split())
    assert not load(tmp_path / "m2").oscillation_limits_.any()
