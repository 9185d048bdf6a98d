"""A model's severe ratio (anomaly.decisions.rules.fitted_severe_ratio): normal one-row spikes in
training (a controller's execution time) raise no alarm in a new session; a collision still does."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomaly import PCADetector, load
from anomaly.cli import app
from anomaly.decisions import DEFAULT_RULES, model_rules
from anomaly.decisions.rules import SEVERE_MARGIN, fitted_severe_ratio, share_level
from anomaly.feedback import alarms
from pipelines.stream.scorer import StreamScorer

RATE = 125


def session(seed: int, minutes: float = 4.0, collision_at_s: float | None = None) -> pd.DataFrame:
    """A joint at 125 Hz (position, velocity, current) beside the controller's execution time,
    which spikes for one row about once in 1000 (shape (n, 4))."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE)
    t = np.arange(n) / RATE
    q = 0.5 * np.sin(2 * np.pi * t / 6.0)
    qd = np.gradient(q, 1 / RATE)
    current = 0.8 * np.cos(q) + 0.3 * qd + rng.normal(0, 0.02, n)
    if collision_at_s is not None:
        at = int(collision_at_s * RATE)
        current[at : at + 6] += 30.0  # 50 ms, twice as far past its spread as any normal spike of the execution time
    spikes = (rng.random(n) < 0.001) * rng.exponential(2.0, n)
    index = pd.date_range("2026-04-01", periods=n, freq="8ms") + pd.Timedelta(days=seed)
    return pd.DataFrame({"q": q + rng.normal(0, 1e-4, n), "qd": qd + rng.normal(0, 1e-3, n), "current": current,
                         "execution_time": 0.3 + 0.02 * rng.random(n) + spikes}, index=index)


def test_fitted_severe_ratio_is_the_default_unless_normal_scores_spiked_past_it():
    quiet = [np.array([0.5, 1.0, 2.0]), np.array([0.2, 3.0])]
    assert fitted_severe_ratio(quiet, 1.0) == DEFAULT_RULES.severe_ratio  # 2 x 3.0 < 10
    spiky = [np.array([0.5, 40.0, 1.0]), np.array([0.5, 1.0, 100.0, 1.0]), np.array([1.0, 900.0])]
    # the median log by rows is the one whose largest score is 100: logs holding half the rows are below it
    assert fitted_severe_ratio(spiky, 2.0) == pytest.approx(SEVERE_MARGIN * 100.0 / 2.0)
    assert fitted_severe_ratio(spiky, 0.0) == DEFAULT_RULES.severe_ratio
    assert fitted_severe_ratio([], 1.0) == DEFAULT_RULES.severe_ratio


def test_share_level_is_the_level_of_the_log_that_covers_the_share_of_rows():
    assert share_level([5.0, 1.0, 3.0], [10, 10, 10], 0.5) == 3.0
    assert share_level([5.0, 1.0, 3.0], [100, 1, 1], 0.5) == 5.0  # a short log counts for its length
    assert share_level([5.0, 1.0, 3.0], [10, 10, 10], 1.0) == 5.0


@pytest.fixture(scope="module")
def fitted():
    return PCADetector().fit(session(0))


def test_normal_spikes_raise_no_alarm_in_a_new_session_and_a_collision_still_does(fitted, tmp_path):
    rules, level = model_rules(fitted), float(fitted.threshold_)
    assert rules.severe_ratio == fitted.severe_ratio_ > DEFAULT_RULES.severe_ratio
    new = session(1)
    scores = fitted.score(new).to_numpy()
    assert alarms(scores, level, rules) == []
    assert len(alarms(scores, level, replace(rules, severe_ratio=DEFAULT_RULES.severe_ratio))) >= 5  # before: every spike
    at = 60 * RATE
    for collision, expected in ((None, False), (60.0, True)):  # the 50 ms collision alarms, at once; without it nothing there
        raised = alarms(fitted.score(session(2, collision_at_s=collision)).to_numpy(), level, rules)
        assert any(a <= at + 6 and b >= at for a, b in raised) == expected
    loaded = load(fitted.save(tmp_path / "m"))
    assert loaded.severe_ratio_ == pytest.approx(fitted.severe_ratio_) and model_rules(loaded) == rules
    scorer = StreamScorer(loaded)  # the stream alerts with the same rules
    assert scorer.logic.severe == pytest.approx(rules.severe_ratio * level)
    meta = json.loads((tmp_path / "m" / "detector.json").read_text())
    del meta["severe_ratio"]  # a model saved before it: the default rules' ratio
    (tmp_path / "m" / "detector.json").write_text(json.dumps(meta))
    assert model_rules(load(tmp_path / "m")).severe_ratio == DEFAULT_RULES.severe_ratio


def test_fit_says_when_the_severe_level_rose_and_not_otherwise(tmp_path):
    spiky = session(0, minutes=2.0)
    spiky.rename_axis("timestamp").to_csv(tmp_path / "spiky.csv")
    spiky.drop(columns="execution_time").rename_axis("timestamp").to_csv(tmp_path / "quiet.csv")
    said = {}
    for name in ("spiky", "quiet"):
        result = CliRunner().invoke(app, ["fit", str(tmp_path / f"{name}.csv"), "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        said[name] = "so a short run alarms at once only above" in " ".join(result.output.split())
    assert said == {"spiky": True, "quiet": False}
