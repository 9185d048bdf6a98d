"""Fixed thresholds: Percentile, KSigma, SkabUCL, Sustained, QuietLogs (and the fit/apply contract they share)."""

import json

import numpy as np
import pandas as pd
import pytest

from anomaly.decisions import DEFAULT_RULES, events, rules_at
from anomaly.detectors.pca import PCADetector
from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds import KSigma, Percentile, QuietLogs, SkabUCL, Sustained, threshold_from_dict


@pytest.mark.parametrize("threshold, scores, expected", [
    (Percentile(50), [1, 2, 3, 4, 5], 3.0),
    (Percentile(90), np.arange(11), 9.0),
    (Percentile(100), [3, 1, 2], 3.0),
    (KSigma(2), [1.0, 3.0], 4.0),  # mean 2, population std 1
    (KSigma(0), [1.0, 3.0], 2.0),
    (SkabUCL(50), [0.0, 10.0], 7.5),  # 1.5 * median 5
    (SkabUCL(100, factor=2.0), [1.0, 4.0], 8.0),
])
def test_fit_hand_examples(threshold, scores, expected):
    assert threshold.fit(scores) is threshold
    assert isinstance(threshold.threshold_, float)
    assert threshold.threshold_ == pytest.approx(expected)


def test_defaults():
    assert Percentile().get_params() == {"q": 99.0}
    assert KSigma().get_params() == {"k": 3.0}
    assert SkabUCL().get_params() == {"q": 99.0, "factor": 1.5}


def test_factor_is_keyword_only():
    with pytest.raises(TypeError):
        SkabUCL(99, 2.0)


def test_apply_is_strictly_greater_and_keeps_series_index():
    threshold = Percentile(100).fit([0.0, 1.0, 2.0])
    np.testing.assert_array_equal(threshold.apply([1.0, 2.0, 2.5]), [False, False, True])
    series = pd.Series([3.0, 0.0], index=pd.date_range("2024", periods=2, freq="min"))
    flags = threshold.apply(series)
    assert isinstance(flags, pd.Series) and flags.dtype == bool
    pd.testing.assert_series_equal(flags, pd.Series([True, False], index=series.index))


def test_fit_accepts_series():
    assert Percentile(50).fit(pd.Series([1.0, 2.0, 3.0])).threshold_ == 2.0


def test_apply_before_fit_raises():
    with pytest.raises(NotFittedError, match=r"KSigma is not fitted: call fit\(normal_scores\) first"):
        KSigma().apply([1.0])


@pytest.mark.parametrize("threshold, match", [
    (Percentile(0), r"q=0 is not allowed: must be a finite number in \(0, 100\]"),
    (Percentile(100.5), r"q=100.5 is not allowed"),
    (Percentile("99"), r"q='99' is not allowed"),
    (KSigma(-1), r"k=-1 is not allowed: must be a finite number >= 0"),
    (KSigma(float("nan")), r"k=nan is not allowed"),
    (SkabUCL(factor=0), r"factor=0 is not allowed: must be a finite number > 0"),
    (SkabUCL(q=-5), r"q=-5 is not allowed"),
])
def test_bad_parameters_raise_on_fit(threshold, match):
    with pytest.raises(ConfigError, match=match):
        threshold.fit([1.0, 2.0])


@pytest.mark.parametrize("scores, match", [
    ([], r"scores: empty"),
    ([1.0, np.nan, np.inf], r"scores: 2 NaN/inf value\(s\), first at position 1"),
    ([[1.0, 2.0]], r"scores: expected a 1-D array, got shape \(1, 2\)"),
    (["a"], r"scores: expected numbers"),
])
def test_bad_scores(scores, match):
    with pytest.raises(DataError, match=match):
        Percentile().fit(scores)
    with pytest.raises(DataError, match=match):
        Percentile().fit([1.0]).apply(scores)


def test_sustained_is_the_lowest_level_the_rules_stay_quiet_at():
    scores = np.array([0.0, 9.0, 0.0, 3.0, 4.0, 5.0, 2.0, 0.0])
    assert Sustained(min_duration=1, merge_gap=0, exit_ratio=1.0).fit(scores).threshold_ == 9.0  # any row alarms
    assert Sustained(min_duration=3, merge_gap=0, exit_ratio=1.0).fit(scores).threshold_ == 3.0  # rows 3..5 above 2.x
    assert Sustained(min_duration=3, merge_gap=0, exit_ratio=1.0, factor=2.0).fit(scores).threshold_ == 6.0
    # merging: above 0, rows 1 and 3..6 (one row apart) merge into one event of 5 held rows; above 2
    # rows 1 and 3..5 merge too, but hold 4 rows (the gap does not count)
    assert Sustained(min_duration=5, merge_gap=1, exit_ratio=1.0).fit(scores).threshold_ == 2.0
    assert Sustained(min_duration=4, merge_gap=1, exit_ratio=1.0).fit(scores).threshold_ == 3.0
    assert Sustained(min_duration=3, merge_gap=2, exit_ratio=1.0).fit(scores).threshold_ == 4.0  # above 3: 1, 4, 5 merge
    # counting severe runs too: the lone 9 alarms at any level under 9 / 2
    assert Sustained(min_duration=3, merge_gap=0, exit_ratio=1.0, severe_ratio=2.0).fit(scores).threshold_ == 5.0


def test_sustained_raises_no_default_alarm_on_the_scores_it_was_fitted_on():
    scores = pd.Series(np.random.default_rng(0).gamma(2.0, size=20_000))
    rule = Sustained(min_duration=DEFAULT_RULES.min_duration).fit(scores)
    assert events(rule.apply(scores), scores=scores, threshold=rule.threshold_) == []
    percentile = Percentile(99).fit(scores)  # flags 1 % of these rows: the rules still find runs
    assert len(events(percentile.apply(scores), scores=scores, threshold=percentile.threshold_, min_duration=1)) > 0


@pytest.mark.parametrize("params, match", [({"min_duration": 0}, "min_duration"), ({"factor": 0.0}, "factor")])
def test_sustained_bad_parameters(params, match):
    with pytest.raises(ConfigError, match=match):
        Sustained(**params).fit(np.ones(10))


def test_sustained_takes_the_row_counts_of_the_rules_it_is_fitted_with():
    """A 10-row run: quiet under the 100 Hz counts (25 rows), an alarm under 20 Hz's (5 rows)."""
    scores = np.zeros(500)
    scores[200:210] = 3.0
    assert Sustained(exit_ratio=1.0).fit(scores).threshold_ == 0.0  # DEFAULT_RULES: no run of 25 held rows
    assert Sustained(exit_ratio=1.0).fit(scores, rules=rules_at(20.0)).threshold_ == 3.0
    assert Sustained(min_duration=25, exit_ratio=1.0).fit(scores, rules=rules_at(20.0)).threshold_ == 0.0  # given wins


def test_a_detector_fits_sustained_with_the_rules_at_its_rate():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(3000, 3))
    index = pd.date_range("2026-01-01", periods=3000, freq="50ms")  # 20 Hz
    frame = pd.DataFrame(values, columns=list("abc"), index=index)
    det = PCADetector(conditions=None, threshold=Sustained()).fit(frame)
    expected = Sustained().fit(det.decision_scores_, rules=rules_at(20.0)).threshold_
    assert det.threshold_ == pytest.approx(expected)
    assert det.threshold_ != pytest.approx(Sustained().fit(det.decision_scores_).threshold_)


def test_quiet_logs_keeps_the_median_log_quiet_and_is_at_least_the_percentile():
    """Three logs whose quiet levels are 3, 6 and 9: the median log's, 6, unless the percentile is higher."""
    rules = dict(min_duration=3, merge_gap=0, exit_ratio=1.0)
    logs = [np.zeros(2000) for _ in range(3)]
    for log, level in zip(logs, (3.0, 6.0, 9.0)):
        log[50:55] = level  # a 5-row run: the rules stay quiet at its level, alarm below
    scores = np.concatenate(logs)
    lengths = [len(log) for log in logs]
    assert QuietLogs(**rules).fit(scores, lengths=lengths).threshold_ == 6.0
    assert QuietLogs(share=1.0, **rules).fit(scores, lengths=lengths).threshold_ == 9.0  # every log: Sustained
    assert QuietLogs(share=1.0, **rules).fit(scores, lengths=lengths).threshold_ == Sustained(**rules).fit(scores).threshold_
    assert QuietLogs(share=0.2, **rules).fit(scores, lengths=lengths).threshold_ == 3.0
    assert QuietLogs(q=100, **rules).fit(scores, lengths=lengths).threshold_ == 9.0  # the largest score
    assert QuietLogs(**rules).fit(scores).threshold_ == 9.0  # one log: its quiet level


def test_quiet_logs_counts_each_log_for_its_length():
    """A short log (a 15 s test beside long production logs) cannot pull the level down: before,
    the median of 1, 3, 6 and 9 was the second, 3; by length, 6 of the long logs' median."""
    rules = dict(min_duration=3, merge_gap=0, exit_ratio=1.0)
    logs = [np.zeros(2000) for _ in range(3)] + [np.zeros(100)]
    for log, level in zip(logs, (3.0, 6.0, 9.0, 1.0)):
        log[50:55] = level
    scores = np.concatenate(logs)
    assert QuietLogs(**rules).fit(scores, lengths=[len(log) for log in logs]).threshold_ == 6.0


def test_quiet_logs_round_trip_and_bad_input():
    scores = np.random.default_rng(0).gamma(2.0, size=3000)
    rule = QuietLogs().fit(scores, lengths=[1000, 2000])
    restored = threshold_from_dict(json.loads(json.dumps(rule.to_dict())))
    assert type(restored) is QuietLogs and restored.threshold_ == rule.threshold_ and restored.get_params() == rule.get_params()
    with pytest.raises(DataError, match="log lengths"):
        QuietLogs().fit(scores, lengths=[1000, 1000])
    with pytest.raises(ConfigError, match="share"):
        QuietLogs(share=0.0).fit(scores)


def test_a_detector_fits_quiet_logs_per_training_log_by_default():
    rng = np.random.default_rng(2)
    index = pd.date_range("2026-01-01", periods=3000, freq="10ms")
    logs = [pd.DataFrame(rng.normal(size=(3000, 3)), columns=list("abc"), index=index) for _ in range(3)]
    det = PCADetector(conditions=None).fit(logs)
    assert isinstance(det.thresholder_, QuietLogs)
    expected = QuietLogs().fit(det.decision_scores_, rules=rules_at(100.0), lengths=[3000] * 3).threshold_
    assert det.threshold_ == pytest.approx(expected)
    assert det.threshold_ >= np.percentile(det.decision_scores_, 99) - 1e-9
