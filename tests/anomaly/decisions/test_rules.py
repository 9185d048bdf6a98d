"""One set of default rules: batch events and stream alerts agree on the same scores."""

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from anomaly.decisions import DEFAULT_RULES, AlertLogic, DecisionRules, events, model_rules, rules_at
from anomaly.detectors.pca import PCADetector
from anomaly.errors import ConfigError
from anomaly.thresholds import Percentile


def robot_like_scores(seed: int, n: int = 30_000) -> pd.Series:
    """100 Hz-like scores: noise with blips (a few rows), faults (hundreds of rows, with dips
    below the threshold) and scores hovering between the exit level and the threshold."""
    rng = np.random.default_rng(seed)
    scores = rng.gamma(2.0, size=n)
    for start in rng.integers(0, n - 10, size=60):  # blips: shorter than min_duration
        scores[start : start + rng.integers(1, 10)] += 8.0
    for start in rng.integers(0, n - 900, size=8):  # faults, some within the cooldown of another
        length = int(rng.integers(50, 800))
        scores[start : start + length] += rng.uniform(4.0, 10.0)
        dips = start + rng.integers(0, length, size=5)
        scores[dips] = 0.1  # a fault that dips below the threshold for a row
    for start in rng.integers(0, n - 300, size=6):  # hovering just below the threshold
        scores[start : start + 200] = rng.uniform(7.5, 8.5, size=200)
    return pd.Series(scores, index=pd.date_range("2026-01-01", periods=n, freq="10ms"))


@pytest.mark.parametrize("seed", range(5))
def test_default_batch_events_equal_default_stream_alerts(seed):
    scores = robot_like_scores(seed)
    rule = Percentile(99).fit(np.random.default_rng(100 + seed).gamma(2.0, size=5000))
    flags = rule.apply(scores)

    batch = events(flags, scores=scores, threshold=rule.threshold_)  # default rules

    logic = AlertLogic.from_threshold(rule)  # default rules
    changes = [logic.push(s) for s in scores.to_numpy().tolist()] + [logic.finish()]
    stream = [(scores.index[c.start], scores.index[c.end]) for c in changes if c is not None and c.kind == "closed"]
    assert [(e.start, e.end) for e in batch] == stream
    assert [e.score for e in batch] == [c.peak for c in changes if c is not None and c.kind == "closed"]
    # the rules did something: blips dropped, runs merged
    raw = events(flags, min_duration=1, merge_gap=0, cooldown=0)
    assert 0 < len(batch) < len(raw)


def test_default_rules():
    assert DEFAULT_RULES == DecisionRules(min_duration=25, merge_gap=100, cooldown=500, exit_ratio=0.8, severe_ratio=10.0)
    assert DEFAULT_RULES.cooldown > DEFAULT_RULES.merge_gap  # else the cooldown could never act
    assert DecisionRules() == DecisionRules(1, 0, 0, 1.0, None)  # every flagged run is an event


def test_a_rule_set_passes_to_both_sides():
    rules = DecisionRules(min_duration=2, merge_gap=1, cooldown=5, exit_ratio=0.5)
    scores = pd.Series([0.0, 5.0, 3.0, 0.0, 5.0, 0.0, 0.0, 0.0, 5.0, 5.0, 0.0, 5.0, 5.0])
    rule = Percentile(50).fit([0.0, 4.0, 4.0])  # threshold 4, exit level 2
    found = [(e.start, e.end) for e in events(rule.apply(scores), scores=scores, threshold=rule.threshold_, **asdict(rules))]
    # 1 opens, 2 holds (3 > 2), 4 returns after a 1-row gap; after the end 4 rows 5-9 are quiet,
    # so the run 8-12 (merged across row 10) opens at its first row above 4 after that: 11
    assert found == [(1, 4), (11, 12)]
    assert [(a, b) for a, b, _ in AlertLogic.from_threshold(rule, **asdict(rules)).alerts(scores)] == found


@pytest.mark.parametrize("field, value, message", [
    ("min_duration", 0, r"min_duration=0 is not allowed: must be an integer >= 1"),
    ("merge_gap", -1, r"merge_gap=-1 is not allowed"),
    ("cooldown", 1.5, r"cooldown=1.5 is not allowed"),
    ("exit_ratio", 1.5, r"exit_ratio=1.5 is not allowed: must be a finite number in \(0.0, 1.0\]"),
])
def test_bad_rules(field, value, message):
    with pytest.raises(ConfigError, match=message):
        DecisionRules(**{field: value})


@pytest.mark.parametrize("rate, counts", [(100.0, (25, 100, 500)), (20.0, (5, 20, 100)), (50.0, (12, 50, 250)),
                                          (500.0, (125, 500, 2500))])
def test_rules_at_keep_the_same_times_at_20_hz_and_above(rate, counts):
    rules = rules_at(rate)
    assert (rules.min_duration, rules.merge_gap, rules.cooldown) == counts
    assert rules.counts() == dict(zip(("min_duration", "merge_gap", "cooldown"), counts))
    assert (rules.exit_ratio, rules.severe_ratio) == (DEFAULT_RULES.exit_ratio, DEFAULT_RULES.severe_ratio)


@pytest.mark.parametrize("rate", [10.0, 1.0, 0.1])
def test_below_20_hz_the_rules_keep_their_20_hz_row_counts(rate):
    """At 1 Hz, 0.25 s would be under one row: every single sample over the threshold an alarm."""
    assert rules_at(rate) == rules_at(20.0)
    assert (rules_at(rate).min_duration, rules_at(rate).merge_gap, rules_at(rate).cooldown) == (5, 20, 100)


def test_a_1_hz_model_alarms_on_five_samples_over_its_threshold_not_on_fewer():
    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-01", periods=3000, freq="1s")
    det = PCADetector(conditions=None).fit(pd.DataFrame(rng.normal(size=(3000, 3)), columns=list("abc"), index=index))
    rules = model_rules(det)
    assert rules == rules_at(20.0)
    scores = pd.Series(0.0, index=index[:600])
    scores.iloc[100:104] = 2.0  # 4 samples, 4 s
    scores.iloc[400:405] = 2.0  # 5 samples
    found = events(scores > 1.0, None, scores, threshold=1.0, **asdict(rules))
    assert [(e.start, e.end) for e in found] == [(index[400], index[404])]


@pytest.mark.parametrize("rate", [None, float("nan"), 0.0, -5.0])
def test_rules_without_a_rate_are_the_row_defaults(rate):
    assert rules_at(rate) == DEFAULT_RULES


def test_model_rules_follow_the_training_rate():
    def frame(freq: str) -> pd.DataFrame:
        values = np.random.default_rng(0).normal(size=(600, 3))
        return pd.DataFrame(values, columns=list("abc"), index=pd.date_range("2026-01-01", periods=600, freq=freq))

    assert model_rules(PCADetector(conditions=None).fit(frame("50ms"))) == rules_at(20.0)
    assert model_rules(PCADetector(conditions=None).fit(frame("10ms"))) == DEFAULT_RULES
    unstamped = frame("10ms").reset_index(drop=True)
    assert model_rules(PCADetector(conditions=None).fit(unstamped)) == DEFAULT_RULES


def test_a_20_hz_blip_of_a_third_of_a_second_is_an_alarm_at_its_rate_only():
    """7 rows at 20 Hz last 0.35 s, over the 0.25 s minimum; the 100 Hz row counts (25) drop them."""
    scores = np.zeros(400)
    scores[100:107] = 2.0
    at_20_hz = rules_at(20.0)
    assert len(AlertLogic.at_level(1.0, min_duration=at_20_hz.min_duration, merge_gap=at_20_hz.merge_gap,
                                   cooldown=at_20_hz.cooldown).alerts(scores)) == 1
    assert AlertLogic.at_level(1.0).alerts(scores) == []
