"""Condition channels read in steps: a slowly warming temperature in tenths of a degree ticks to
the next level now and then, and that change of one step is normal (anomaly.conditions.change_bands)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
import pytest

from anomaly import PCADetector, load
from anomaly.conditions import TICKS_LEARNED, ConditionChannels, change_bands
from anomaly.decisions import model_rules
from anomaly.feedback import alarms

RATE = 125.0


def cobot(seed: int, minutes: float, heat_from_s: float | None = None) -> pd.DataFrame:
    """A cobot log at 125 Hz (three joints: position, velocity, current, and a motor temperature
    warming 0.12 degC a minute from a level drawn per session, read in tenths of a degree)."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE)
    t = np.arange(n) / RATE
    columns = {}
    for k in range(3):
        q = 0.5 * np.sin(2 * np.pi * t / 6.0 + k)
        qd = np.gradient(q, 1 / RATE)
        temp = 30 + k + rng.normal(0, 0.2) + 0.002 * t
        if heat_from_s is not None and k == 1:
            temp += np.clip(t - heat_from_s, 0, None) / 60.0  # heating 1 degC a minute
        columns |= {f"q{k}": q + rng.normal(0, 1e-4, n), f"qd{k}": qd + rng.normal(0, 1e-3, n),
                    f"current{k}": 0.8 * np.cos(q) + 0.3 * qd + rng.normal(0, 0.02, n),
                    f"temp{k}": np.round(temp, 1)}
    index = pd.date_range("2026-03-01", periods=n, freq="8ms") + pd.Timedelta(days=seed)
    return pd.DataFrame(columns, index=index)


def test_change_bands_are_one_step_of_a_channel_that_ticks_a_few_times_in_training():
    ticking = np.repeat([30.0, 30.1, 30.2, 30.3], 50)
    smooth = np.linspace(30.0, 30.3, 200) + np.random.default_rng(0).normal(0, 0.01, 200)
    flickering = np.round(30.05 + np.random.default_rng(1).normal(0, 0.05, 200), 1)  # ticks learned as noise
    assert np.count_nonzero(np.diff(flickering)) >= TICKS_LEARNED
    bands = change_bands(np.c_[ticking, smooth, flickering], [0.05, 0.1, 0.05])
    assert bands[0] == pytest.approx(0.1 / 0.05) and bands[1] == 0.0 and bands[2] == 0.0


def test_a_change_within_the_band_is_zero_and_a_larger_one_loses_it():
    conditions = ConditionChannels([1], 2, 2, change_band=[1.0])
    Z = np.array([[5.0, 0.0], [5.0, 0.0], [5.0, 1.0], [5.0, 3.5], [5.0, -1.0]], dtype=np.float32)
    out = conditions.transform(Z)
    np.testing.assert_allclose(out, [[5.0, 0.0], [5.0, 2.5], [5.0, -1.0]])  # changes 1, 3.5, -2
    from keras import ops  # the differentiable graph's path gives the same

    np.testing.assert_allclose(ops.convert_to_numpy(conditions.transform(ops.convert_to_tensor(Z), ops)), out)


@pytest.fixture(scope="module")
def fitted():
    return PCADetector().fit(cobot(0, 3.0))


def test_a_new_session_of_a_slowly_ticking_temperature_is_no_alarm_a_heating_joint_is(fitted, tmp_path):
    steps = {fitted.schema_.channels[i]: band * fitted.scaler_.scale_[i]
             for i, band in zip(fitted.conditions_.indices, fitted.conditions_.change_band)}
    assert set(steps) == {"temp0", "temp1", "temp2"} and all(v == pytest.approx(0.1, rel=1e-4) for v in steps.values())
    rules, level = model_rules(fitted), float(fitted.threshold_)
    normal = [cobot(seed, 2.0) for seed in (2, 4)]
    assert sum(len(alarms(fitted.score(f).to_numpy(), level, rules)) for f in normal) == 0
    with mock.patch.object(ConditionChannels, "with_change_band", lambda self, values, scale: self):  # as before the band
        unbanded = PCADetector().fit(cobot(0, 3.0))
    assert sum(len(alarms(unbanded.score(f).to_numpy(), float(unbanded.threshold_), model_rules(unbanded))) for f in normal) >= 3
    heating = cobot(4, 2.0, heat_from_s=60.0)
    raised = alarms(fitted.score(heating).to_numpy(), level, rules)
    assert any(a >= 60 * RATE and a <= 75 * RATE for a, _ in raised)  # found within 15 s
    loaded = load(fitted.save(tmp_path / "m"))  # saved with the model
    np.testing.assert_array_equal(loaded.conditions_.change_band, fitted.conditions_.change_band)
    np.testing.assert_allclose(loaded.score(heating).to_numpy(), fitted.score(heating).to_numpy(), rtol=1e-6)


def test_a_banded_channel_has_no_t_squared_share_and_its_limit_is_half_a_step_past_the_band(fitted):
    at = fitted.conditions_.indices
    assert not fitted.t2_map_[:, at].any()  # no loading: reconstructing it alone changes T-squared by nothing
    band = fitted.conditions_.change_band
    np.testing.assert_allclose(fitted.channel_limits_[at], fitted._unit_errors()[at] * (band / 2) ** 2, rtol=1e-5)
