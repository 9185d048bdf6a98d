"""Range metrics: hand-worked examples, a literal transcription of Tatbul et al.'s pseudocode,
properties, and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from anomaly.errors import ConfigError, DataError
from anomaly.events import event_ranges
from anomaly.metrics import event_metrics, point_metrics
from anomaly.range_metrics import (
    nab_score,
    nab_scores,
    point_adjust,
    point_adjusted_f1,
    point_adjusted_report,
    range_auc,
    range_precision_recall,
    range_report,
    vus,
)


def flags(n, *ranges):
    """(n,) bool, True on each inclusive (start, end)."""
    out = np.zeros(n, dtype=bool)
    for start, end in ranges:
        out[start : end + 1] = True
    return out


def sigmoid(y):
    """NAB's scaled sigmoid."""
    return -1.0 if y >= 3 else 2 / (1 + math.exp(5 * y)) - 1


label_pairs = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)))


# ----------------------------------------------------------------------------
# Point adjustment
# ----------------------------------------------------------------------------


def test_point_adjust_and_f1_by_hand():
    truth = flags(12, (2, 5), (9, 10))
    pred = flags(12, (4, 4), (7, 7))  # hits the first range, misses the second, one false flag
    assert point_adjust(truth, pred).tolist() == flags(12, (2, 5), (7, 7)).tolist()
    # adjusted: tp 4, fp 1, fn 2 -> precision 4/5, recall 4/6
    assert point_adjusted_f1(truth, pred) == pytest.approx(2 * 0.8 * (2 / 3) / (0.8 + 2 / 3))


def test_point_adjusted_report_shows_the_inflation():
    truth = flags(1000, (100, 299), (500, 699))
    pred = flags(1000, (150, 150), (600, 600))  # two flagged rows
    report = point_adjusted_report(truth, pred.astype(float), pred)
    assert report["f1"] == pytest.approx(2 * (2 / 400) / (1 + 2 / 400))
    assert report["pa_f1"] == 1.0
    # two random flags: each lands in a range with probability 0.4, so PA-F1 is often high too
    assert 0.0 <= report["pa_f1_random"] <= 1.0
    assert point_adjusted_report(truth, pred, pred, seed=1) == point_adjusted_report(truth, pred, pred, seed=1)
    none = point_adjusted_report(truth, np.zeros(1000), np.zeros(1000, bool))
    assert none == {"f1": 0.0, "pa_f1": 0.0, "pa_f1_random": 0.0}


def test_point_adjusted_random_baseline_flags_at_the_same_rate():
    truth = flags(10, (0, 0))
    pred = flags(10, (4, 6))
    # 3 random flags: PA-F1 0.5 if one is on row 0 (tp 1, fp 2), else 0 (2 or 4 flags would give 2/3, 0.4)
    values = {point_adjusted_report(truth, np.zeros(10), pred, seed=seed)["pa_f1_random"] for seed in range(20)}
    assert values == {0.0, 0.5}


@settings(max_examples=80, deadline=None)
@given(label_pairs)
def test_point_adjustment_only_adds_flags_inside_ranges(pair):
    truth, pred = (np.array(v) for v in pair)
    adjusted = point_adjust(truth, pred)
    assert (adjusted >= pred).all() and not (adjusted & ~pred & ~truth).any()
    assert point_adjusted_f1(truth, pred) >= point_metrics(truth, pred)["f1"] - 1e-12


# ----------------------------------------------------------------------------
# Range precision / recall
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, precision, recall", [
    # true [2, 5], predicted [4, 7]: the overlap is rows 4, 5 = positions 3, 4 of the true
    # range and positions 1, 2 of the predicted one; weights over positions 1..4:
    ({}, 2 / 4, 2 / 4),  # flat 1, 1, 1, 1
    ({"bias": "front"}, (4 + 3) / 10, (2 + 1) / 10),  # 4, 3, 2, 1
    ({"bias": "back"}, (1 + 2) / 10, (3 + 4) / 10),  # 1, 2, 3, 4
    ({"bias": "middle"}, (1 + 2) / 6, (2 + 1) / 6),  # 1, 2, 2, 1
    ({"alpha": 0.5}, 0.5, 0.5 * 1 + 0.5 * 0.5),  # existence reward in recall only
    ({"alpha": 1.0}, 0.5, 1.0),
])
def test_range_precision_recall_by_hand(kwargs, precision, recall):
    r = range_precision_recall(flags(10, (2, 5)), flags(10, (4, 7)), **kwargs)
    assert r["precision"] == pytest.approx(precision) and r["recall"] == pytest.approx(recall)
    assert r["f1"] == pytest.approx(2 * precision * recall / (precision + recall))


def test_reciprocal_cardinality_by_hand():
    truth = flags(12, (2, 9))  # one 8-row range cut into two predicted fragments of 2 rows
    pred = flags(12, (2, 3), (6, 7))
    one = range_precision_recall(truth, pred)
    assert one["recall"] == pytest.approx(4 / 8) and one["precision"] == 1.0
    reciprocal = range_precision_recall(truth, pred, cardinality="reciprocal")
    assert reciprocal["recall"] == pytest.approx(4 / 8 / 2) and reciprocal["precision"] == 1.0
    # one predicted range spanning two true ranges: precision is halved instead
    wide = range_precision_recall(flags(8, (1, 2), (5, 6)), flags(8, (0, 7)), cardinality="reciprocal")
    assert wide == {"precision": pytest.approx(4 / 8 / 2), "recall": 1.0, "f1": pytest.approx(0.4)}


def test_range_precision_recall_empty_sides_are_zero():
    assert range_precision_recall(flags(5), flags(5, (1, 2))) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert range_precision_recall(flags(5, (1, 2)), flags(5)) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def tatbul_literal(truth, pred, alpha, cardinality, bias):
    """The paper's pseudocode, loop for loop."""
    def delta(i, length):
        return {"flat": 1, "front": length - i + 1, "back": i,
                "middle": i if i <= length / 2 else length - i + 1}[bias]

    def omega(rng, overlap):
        length = rng[1] - rng[0] + 1
        my = top = 0.0
        for i in range(1, length + 1):
            top += delta(i, length)
            if rng[0] + i - 1 in overlap:
                my += delta(i, length)
        return my / top

    def reward(rng, others, a):
        hits = [o for o in others if o[0] <= rng[1] and o[1] >= rng[0]]
        gamma = 1.0 if len(hits) <= 1 or cardinality == "one" else 1 / len(hits)
        overlap = gamma * sum(omega(rng, set(range(max(rng[0], o[0]), min(rng[1], o[1]) + 1))) for o in hits)
        return a * (len(hits) > 0) + (1 - a) * overlap

    real, found = event_ranges(truth).tolist(), event_ranges(pred).tolist()
    recall = np.mean([reward(r, found, alpha) for r in real]) if real else 0.0
    precision = np.mean([reward(p, real, 0.0) for p in found]) if found else 0.0
    return precision, recall


@settings(max_examples=100, deadline=None)
@given(label_pairs, st.sampled_from([0.0, 0.3, 1.0]), st.sampled_from(["one", "reciprocal"]),
       st.sampled_from(["flat", "front", "back", "middle"]))
def test_range_precision_recall_matches_the_papers_pseudocode(pair, alpha, cardinality, bias):
    truth, pred = (np.array(v) for v in pair)
    got = range_precision_recall(truth, pred, alpha=alpha, cardinality=cardinality, bias=bias)
    precision, recall = tatbul_literal(truth, pred, alpha, cardinality, bias)
    assert got["precision"] == pytest.approx(precision) and got["recall"] == pytest.approx(recall)
    if alpha == 1.0:  # existence only = event recall
        assert got["recall"] == pytest.approx(event_metrics(truth, pred)["event_recall"])


# ----------------------------------------------------------------------------
# Range-AUC and VUS
# ----------------------------------------------------------------------------


def test_range_auc_by_hand():
    # one labelled row (2); window 2 buffers rows 1 and 3 with b = sqrt(1 - 1/2)
    truth = flags(6, (2, 2))
    scores = np.array([0.0, 0.2, 0.5, 0.9, 0.1, 0.3])  # the top score is in the buffer
    b = math.sqrt(0.5)
    # top threshold flags row 3 only: TP = b, P = 1 + b/2, existence 1; 6 thresholds in all
    tpr1, fpr1 = b / (1 + b / 2), (1 - b) / (5 - b / 2)
    # next flags row 2 as well: TPR capped at 1, FPR unchanged; TPR stays 1 after that
    got = range_auc(truth, scores, 2)
    assert got["range_auc_roc"] == pytest.approx(fpr1 * tpr1 / 2 + (1 - fpr1))
    assert got["range_auc_pr"] == pytest.approx(tpr1 * b + (1 - tpr1) * (1 + b) / 2)
    # without a buffer row 3 is a false positive, as in ordinary ROC/AP
    plain = range_auc(truth, scores, 0)
    assert plain == {"range_auc_roc": pytest.approx(0.8), "range_auc_pr": pytest.approx(0.5)}


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 60).flatmap(lambda n: st.tuples(
    st.integers(0, n - 2), st.integers(1, n - 1), st.lists(st.integers(0, 5), min_size=n, max_size=n))))
def test_range_auc_without_buffer_is_roc_auc_and_ap_for_one_range(case):
    start, length, scores = case
    n = len(scores)
    truth = flags(n, (start, min(start + length, n) - 1))
    if truth.all():
        return
    got = range_auc(truth, np.array(scores, float), 0)  # n <= steps: every score is a threshold
    assert got["range_auc_roc"] == pytest.approx(roc_auc_score(truth, scores))
    assert got["range_auc_pr"] == pytest.approx(average_precision_score(truth, scores))


@settings(max_examples=60, deadline=None)
@given(label_pairs, st.integers(0, 2**32 - 1))
def test_range_auc_without_buffer_is_at_most_roc_auc(pair, seed):
    truth = np.array(pair[0])
    if truth.all() or not truth.any():
        return
    scores = np.random.default_rng(seed).integers(0, 4, len(truth)).astype(float)
    assert range_auc(truth, scores, 0)["range_auc_roc"] <= roc_auc_score(truth, scores) + 1e-12


def test_vus_perfect_constant_and_slices():
    truth = flags(2000, (0, 99), (500, 599), (1400, 1449), (1990, 1999))  # ranges at both ends
    assert vus(truth, truth.astype(float)) == {"vus_roc": pytest.approx(1.0), "vus_pr": pytest.approx(1.0)}
    constant = vus(truth, np.ones(2000))
    assert constant["vus_roc"] == pytest.approx(0.5, abs=0.02)
    assert range_auc(truth, np.ones(2000), 0) == {"range_auc_roc": 0.5, "range_auc_pr": pytest.approx(truth.mean())}
    scores = truth + np.random.default_rng(0).normal(0, 0.5, 2000)
    slices = [range_auc(truth, scores, w, steps=50) for w in range(11)]
    assert vus(truth, scores, max_window=10, steps=50) == {
        "vus_roc": pytest.approx(np.mean([s["range_auc_roc"] for s in slices])),
        "vus_pr": pytest.approx(np.mean([s["range_auc_pr"] for s in slices]))}


def test_vus_ranks_detectors_and_rewards_near_misses():
    truth = flags(2000, (500, 599), (1400, 1449))
    rng = np.random.default_rng(0)
    good = vus(truth, truth + rng.normal(0, 0.3, 2000))
    poor = vus(truth, truth + rng.normal(0, 3.0, 2000))
    assert good["vus_pr"] > poor["vus_pr"] and good["vus_roc"] > poor["vus_roc"]
    early = np.roll(truth.astype(float), -20)  # fires 20 rows before each range
    assert vus(truth, early)["vus_pr"] > vus(truth, early, max_window=0)["vus_pr"]


@settings(max_examples=40, deadline=None)
@given(label_pairs, st.integers(0, 2**32 - 1), st.integers(0, 8))
def test_vus_is_in_unit_interval(pair, seed, window):
    truth = np.array(pair[0])
    if truth.all() or not truth.any():
        return
    scores = np.random.default_rng(seed).normal(size=len(truth))
    got = vus(truth, scores, max_window=window, steps=20)
    assert 0.0 <= got["vus_roc"] <= 1.0 and 0.0 <= got["vus_pr"] <= 1.0


# ----------------------------------------------------------------------------
# NAB
# ----------------------------------------------------------------------------


def test_nab_perfect_null_early_and_late():
    truth = flags(1000, (100, 199), (600, 699))
    assert nab_score(truth, flags(1000, (100, 100), (600, 600))) == pytest.approx(100.0)
    assert nab_score(truth, np.zeros(1000, bool)) == 0.0
    early = nab_score(truth, [110, 610])
    late = nab_score(truth, [190, 690])
    assert 0 < late < early < 100
    # first alarm 10 rows into a 100-row window: position -(199 - 110 + 1) / 100 = -0.9
    assert early == pytest.approx(100 * (2 * sigmoid(-0.9) / sigmoid(-1) + 2) / 4)
    assert late == pytest.approx(100 * (2 * sigmoid(-0.1) / sigmoid(-1) + 2) / 4)
    assert nab_score(truth, [110, 150, 610]) == early  # later alarms in a window count nothing


def test_nab_false_positives_and_profiles_by_hand():
    truth = flags(1000, (100, 199), (600, 699))
    # one false alarm before any window costs a full A_FP; S_null = -2 A_FN, S_perfect = 2 A_TP
    scores = nab_scores(truth, [50, 100, 600])
    assert scores == {"standard": pytest.approx(100 * (2 - 0.11 + 2) / 4),
                      "reward_low_FP_rate": pytest.approx(100 * (2 - 0.22 + 2) / 4),
                      "reward_low_FN_rate": pytest.approx(100 * (2 - 0.11 + 4) / 6)}
    # after a window: A_FP * S(distance / (width - 1)); from 3 widths on, a full -A_FP
    near = nab_score(truth, [100, 232, 600])
    assert near == pytest.approx(100 * (2 + 0.11 * sigmoid(33 / 99) + 2) / 4)
    assert nab_score(truth, [100, 199 + 3 * 99, 600]) == pytest.approx(100 * (2 - 0.11 + 2) / 4)
    # a missed window
    assert nab_score(truth, [100], profile="reward_low_FN_rate") == pytest.approx(100 * (1 - 2 + 4) / 6)
    # one-row window: any later false alarm costs a full A_FP
    assert nab_score(flags(50, (10, 10)), [10, 11]) == pytest.approx(100 * (1 - 0.11 + 1) / 2)


def test_nab_flags_alarm_at_run_starts_cut_at_window_edges():
    truth = flags(1000, (100, 199))
    # a run held into the window: false alarm at 90, detection at 100
    assert nab_score(truth, flags(1000, (90, 150))) == pytest.approx(100 * (1 - 0.11 + 1) / 2)
    # a run held past the window's end: detection at 150, one false alarm at 200
    past = nab_score(truth, flags(1000, (150, 260)))
    assert past == pytest.approx(100 * (sigmoid(-0.5) / sigmoid(-1) + 0.11 * sigmoid(1 / 99) + 1) / 2)
    # NAB's own counting: every flagged row is an alarm
    rowwise = nab_score(truth, np.flatnonzero(flags(1000, (150, 260))))
    assert rowwise == pytest.approx(100 * (sigmoid(-0.5) / sigmoid(-1)
                                           + 0.11 * sum(sigmoid(d / 99) for d in range(1, 62)) + 1) / 2)
    assert nab_score(truth, flags(1000, (150, 260)).astype(int)) == past  # 0/1 of length n are flags


@settings(max_examples=80, deadline=None)
@given(label_pairs)
def test_nab_is_at_most_100_and_non_negative_without_false_alarms(pair):
    truth, pred = (np.array(v) for v in pair)
    if not truth.any():
        return
    assert nab_score(truth, pred) <= 100 + 1e-9
    assert 0.0 <= nab_score(truth, pred & truth) <= 100 + 1e-9


# ----------------------------------------------------------------------------
# Report and input checks
# ----------------------------------------------------------------------------


def test_range_report():
    truth = flags(300, (100, 149))
    report = range_report(truth, truth.astype(float), truth)
    assert report == {"vus_pr": 1.0, "vus_roc": 1.0, "range_precision": 1.0, "range_recall": 1.0, "range_f1": 1.0,
                      "nab_standard": 100.0, "pa_f1": 1.0, "pa_f1_random": report["pa_f1_random"]}
    assert all(math.isnan(v) for v in range_report(flags(5), np.zeros(5), flags(5)).values())
    everything = range_report(np.ones(5, bool), np.zeros(5), np.ones(5, bool))
    assert math.isnan(everything["vus_roc"]) and everything["range_f1"] == 1.0


TRUTH = flags(6, (2, 3))


@pytest.mark.parametrize("call, match", [
    (lambda: point_adjusted_f1(TRUTH, TRUTH[:5]), "length mismatch"),
    (lambda: point_adjusted_report(TRUTH, np.zeros(5), TRUTH), "length mismatch"),
    (lambda: point_adjusted_report(TRUTH, [0, 0, np.nan, 0, 0, 0], TRUTH), "scores: 1 NaN/inf"),
    (lambda: range_precision_recall([0, 2, 1], [0, 1, 1]), "y_true: non-binary value 2"),
    (lambda: range_precision_recall([], []), "y_true: empty"),
    (lambda: range_auc(TRUTH, [0, 1, np.nan, 0, 0, 0], 2), "scores: 1 NaN/inf"),
    (lambda: vus(TRUTH, np.zeros(7)), "length mismatch"),
    (lambda: vus(flags(6), np.zeros(6)), "no anomalous row"),
    (lambda: vus(np.ones(6, bool), np.zeros(6)), "every row is anomalous"),
    (lambda: nab_score(flags(6), [1]), "no anomalous row"),
    (lambda: nab_score(TRUTH, TRUTH[:5]), "length mismatch"),
    (lambda: nab_score(TRUTH, [0, 1, 1, 0, 1]), "positions must increase strictly"),  # 0/1 of the wrong length
    (lambda: nab_score(TRUTH, [3, 1]), "positions must increase strictly"),
    (lambda: nab_score(TRUTH, [6]), r"within \[0, 5\]"),
    (lambda: nab_score(TRUTH, [1.5]), "integer array of positions"),
])
def test_bad_input_is_a_data_error(call, match):
    with pytest.raises(DataError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: point_adjusted_report(TRUTH, np.zeros(6), TRUTH, seed=-1), "seed=-1"),
    (lambda: range_precision_recall(TRUTH, TRUTH, alpha=1.5), "alpha=1.5"),
    (lambda: range_precision_recall(TRUTH, TRUTH, cardinality="half"), "cardinality='half'"),
    (lambda: range_precision_recall(TRUTH, TRUTH, bias="edge"), "bias='edge'"),
    (lambda: range_auc(TRUTH, np.zeros(6), -1), "window=-1"),
    (lambda: vus(TRUTH, np.zeros(6), max_window=2.5), "max_window=2.5"),
    (lambda: vus(TRUTH, np.zeros(6), steps=1), "steps=1"),
    (lambda: nab_score(TRUTH, TRUTH, profile="lenient"), "profile='lenient'"),
])
def test_bad_parameters_are_config_errors(call, match):
    with pytest.raises(ConfigError, match=match):
        call()
