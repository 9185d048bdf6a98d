"""Twin channels (anomaly.twins): a joint's commanded and measured position agree to a tiny
share of their spread; a following error parts them and is named, though no model sees it."""

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
from anomaly.twins import LIMIT_FACTOR, TwinGaps, fit_twin_limits, twin_gaps

RATE = 125


def joints(seed: int, minutes: float = 3.0, lag_from_s: float | None = None) -> pd.DataFrame:
    """Two joints at 125 Hz: commanded and measured position (1e-4 rad of noise), velocity and
    current; joint 1 lags its target by 0.01 rad from ``lag_from_s`` (shape (n, 8))."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE)
    t = np.arange(n) / RATE
    columns = {}
    for k in range(2):
        q = 0.5 * np.sin(2 * np.pi * t / 6.0 + k)
        actual = q + rng.normal(0, 1e-4, n)
        if lag_from_s is not None and k == 1:
            actual[t >= lag_from_s] -= 0.01
        qd = np.gradient(q, 1 / RATE)
        columns |= {f"target_q_{k}": q, f"actual_q_{k}": actual, f"actual_qd_{k}": qd + rng.normal(0, 1e-3, n),
                    f"actual_current_{k}": 0.8 * np.cos(q) + 0.3 * qd + rng.normal(0, 0.02, n)}
    index = pd.date_range("2026-05-01", periods=n, freq="8ms") + pd.Timedelta(days=seed)
    return pd.DataFrame(columns, index=index)


def test_twins_pair_commanded_and_measured_and_nothing_else():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2000, 1))
    parts = [np.hstack([base, base + rng.normal(0, 1e-3, (2000, 1)), base + rng.normal(0, 0.1, (2000, 1)), np.zeros((2000, 1)),
                        rng.normal(size=(2000, 1))])]
    twin, limits = fit_twin_limits(parts)
    assert twin.tolist() == [1, 0, -1, -1, -1]  # 10 % apart is no twin; a constant channel none
    gap = np.abs(parts[0][:, 0] - parts[0][:, 1]).max()
    assert limits[:2] == pytest.approx([LIMIT_FACTOR * gap] * 2) and not limits[2:].any()
    rows = parts[0][:10].copy()
    rows[5, 1] += 3 * limits[1]
    check = TwinGaps(limits, twin)
    check.push(rows[:4])
    check.push(rows[4:])
    ratios = check.take(10)
    assert np.flatnonzero(ratios.max(axis=1) >= 1).tolist() == [5] and ratios[5, :2].min() > 2.5
    assert twin_gaps(rows, twin)[:, 2:].max() == 0
    assert fit_twin_limits(parts, exclude=[1])[0].tolist() == [-1] * 5  # a condition channel is nobody's twin


@pytest.fixture(scope="module")
def fitted():
    return PCADetector().fit(joints(0))


def test_a_following_error_is_found_and_named_and_a_new_session_is_quiet(fitted, tmp_path):
    rules, level = model_rules(fitted), float(fitted.threshold_)
    assert fitted.twin_of_.tolist() == [1, 0, -1, -1, 5, 4, -1, -1]  # each joint's target_q and actual_q
    blind = fitted.without_sensor_checks(("twin",))
    for seed in (1, 3):  # a new session: the check adds no alarm to the model's own
        new = joints(seed)
        assert alarms(fitted.score(new).to_numpy(), level, rules) == alarms(blind.score(new).to_numpy(), level, rules)
    lagging = joints(2, lag_from_s=90.0)
    errors, scores, _ = fitted.evaluate_frame(lagging)
    raised = alarms(scores.to_numpy(), level, rules)
    assert any(a <= 90 * RATE and b == len(lagging) - 1 for a, b in raised)  # at once, for as long as it lasts
    assert set(errors.iloc[90 * RATE + 10].nlargest(2).index) == {"target_q_1", "actual_q_1"}  # the pair is named
    assert not [a for a, b in alarms(blind.score(lagging).to_numpy(), level, rules) if b >= 90 * RATE]  # the model alone misses it
    loaded = assert_paths_agree(fitted, lagging.iloc[10000:13000], tmp_path, chunk_rows=777)  # every path, saved and loaded
    np.testing.assert_array_equal(loaded.twin_of_, fitted.twin_of_)
    meta = json.loads((tmp_path / "model" / "detector.json").read_text())
    del meta["sensors"]["twin_of"], meta["sensors"]["twin_limits"]  # a model saved before twins: none watched
    (tmp_path / "model" / "detector.json").write_text(json.dumps(meta))
    old = load(tmp_path / "model")
    assert (old.twin_of_ == -1).all() and not old.twin_limits_.any()


def test_feedback_widens_a_twin_limit_a_reviewer_calls_normal(fitted):
    model = PCADetector().fit(joints(0))
    lagging = joints(2, lag_from_s=90.0)
    false = np.zeros(len(lagging), dtype=bool)
    false[90 * RATE : 95 * RATE] = True
    raised = raise_sensor_limits(model, [lagging], [false])
    assert set(raised["twin"]) == {"target_q_1", "actual_q_1"}
    assert all(after > 4 * before for before, after in raised["twin"].values())


def test_fit_names_the_twins_it_watches(tmp_path):
    joints(0).rename_axis("timestamp").to_csv(tmp_path / "train.csv")
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "train.csv"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "twin sensors: 2 pair(s) alarm when their gap is 4x wider than in training: actual_q_0 / target_q_0, actual_q_1 / target_q_1" \
        in " ".join(result.output.split())
