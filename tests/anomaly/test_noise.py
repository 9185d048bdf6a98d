"""Noisy channels (anomaly.noise): the windowed second difference, limits from the training
sessions, the same levels however a pass is cut, and a noise burst that alarms and is named
first on every scoring path; a burst reviewed as normal raises that channel's limit."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pass_checks import assert_paths_agree
from test_stuck import arm_like

from anomaly import PCADetector
from anomaly.feedback import review
from anomaly.noise import LIMIT_FACTOR, WINDOW, NoiseLevels, fit_noise_limits, rough


def burst(frame, channel: str, start: int, stop: int, scale: float = 8.0, seed: int = 0):
    """``frame`` with ``scale`` (in the channel's units) of white noise added to ``channel`` over rows ``start:stop``."""
    out = frame.copy()
    column = out.columns.get_loc(channel)
    out.iloc[start:stop, column] += scale * np.random.default_rng(seed).normal(size=stop - start)
    return out


def test_rough_is_the_windowed_rms_of_the_second_difference():
    ramp = np.arange(100.0)[:, None]
    assert not rough(ramp).any()  # a smooth motion: no second difference
    zigzag = np.where(np.arange(100) % 2, 1.0, -1.0)[:, None]  # second difference +-4
    levels = rough(zigzag)
    assert not levels[: WINDOW + 1].any() and np.allclose(levels[WINDOW + 1 :], 4.0)
    limits = fit_noise_limits([np.hstack([zigzag, ramp, np.zeros((100, 1))])])
    assert limits.tolist() == [LIMIT_FACTOR * 4.0, 0.0, 0.0]  # a smooth or constant channel is not watched


def past(ratios, n, c):
    return np.zeros((n, c)) if ratios is None else np.where(ratios >= 1.0, ratios, 0.0)


def test_noise_levels_do_not_depend_on_the_cut():
    rng = np.random.default_rng(2)
    rows = np.cumsum(rng.normal(size=(400, 3)), axis=0)
    rows[200:260, 1] += rng.normal(scale=6.0, size=60)  # a burst
    limits = np.array([4.0, 4.0, 0.0])
    expected = np.where(rough(rows) / 4.0 >= 1.0, rough(rows) / 4.0, 0.0)
    expected[:, 2] = 0.0
    assert expected[:, 1].any() and not expected[:200, 1].any()
    for cuts in ([400], [1, 1, 1, 30, 167, 200], [1] * 400):  # whole, pieces, a stream's rows
        levels, parts, at = NoiseLevels(limits), [], 0
        for size in cuts:
            levels.push(rows[at : at + size])
            parts.append(past(levels.take(size), size, 3))
            at += size
        np.testing.assert_allclose(np.concatenate(parts), expected, rtol=1e-6)


@pytest.fixture(scope="module")
def detector():
    return PCADetector().fit([arm_like(3000, seed) for seed in (1, 2, 3)])


def test_a_noise_burst_alarms_and_is_named_first(detector, tmp_path):
    test = burst(arm_like(2000, 7, start="2026-01-02"), "ch3", 800, 1400, scale=1.0)
    watched = dict(zip(detector.schema_.channels, detector.noise_limits_))
    assert watched["ch3"] > 0 and watched["constant"] == 0 and watched["switch"] > 0
    errors, scores, flags = detector.evaluate_frame(test)
    blind = copy.deepcopy(detector)
    blind.noise_limits_ = np.zeros_like(detector.noise_limits_)
    _, scores_blind, flags_blind = blind.evaluate_frame(test)
    np.testing.assert_allclose(scores.to_numpy()[:800], scores_blind.to_numpy()[:800], rtol=1e-6)
    inside = slice(830, 1400)
    assert flags.iloc[inside].mean() > 0.9 > flags_blind.iloc[inside].mean()
    assert (errors.iloc[inside][flags.iloc[inside]].idxmax(axis=1) == "ch3").mean() > 0.9
    assert_paths_agree(detector, test, tmp_path, chunk_rows=113)


def test_a_burst_reviewed_as_normal_raises_that_channels_noise_limit(detector):
    model = copy.deepcopy(detector)
    log = burst(arm_like(2000, 11, start="2026-01-05"), "ch3", 800, 1300, scale=1.0)
    labels = np.full(len(log), None, dtype=object)
    labels[800:1330] = "normal"
    at = model.schema_.channels.index("ch3")
    before = model.noise_limits_[at]
    model, counts = review(model, [log], [labels])
    assert list(counts["sensor_limits_raised"]["noise"]) == ["ch3"] and model.noise_limits_[at] > before
    assert not model.predict(burst(arm_like(2000, 12, start="2026-01-06"), "ch3", 800, 1300, scale=1.0)).iloc[830:1300].mean() > 0.5
