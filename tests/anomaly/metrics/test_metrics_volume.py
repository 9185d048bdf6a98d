"""Range-AUC and VUS: hand-worked examples, agreement with ROC-AUC/AP without buffers,
properties, and input checks (``benchmarks/vus_agreement.py`` compares with TSB-AD)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import flags
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from anomaly.errors import ConfigError, DataError
from anomaly.metrics.volume import range_auc, vus

label_pairs = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)))

TRUTH = flags(6, (2, 3))


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


@pytest.mark.parametrize("call, match", [
    (lambda: range_auc(TRUTH, [0, 1, np.nan, 0, 0, 0], 2), "scores: 1 NaN/inf"),
    (lambda: vus(TRUTH, np.zeros(7)), "length mismatch"),
    (lambda: vus(flags(6), np.zeros(6)), "no anomalous row"),
    (lambda: vus(np.ones(6, bool), np.zeros(6)), "every row is anomalous"),
])
def test_bad_input_is_a_data_error(call, match):
    with pytest.raises(DataError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: range_auc(TRUTH, np.zeros(6), -1), "window=-1"),
    (lambda: vus(TRUTH, np.zeros(6), max_window=2.5), "max_window=2.5"),
    (lambda: vus(TRUTH, np.zeros(6), steps=1), "steps=1"),
])
def test_bad_parameters_are_config_errors(call, match):
    with pytest.raises(ConfigError, match=match):
        call()
