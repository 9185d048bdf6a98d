"""The conventions every metric shares: the 0/0 = 0 rule and input checks with their messages."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.errors import ConfigError, DataError
from anomaly.metrics.common import check_choice, f1_of, labels_and_flags, ratio
from anomaly.metrics.events import event_metrics
from anomaly.metrics.point import auc_pr, auc_roc, point_metrics


def test_ratio_and_f1_with_zero_denominators():
    assert ratio(1, 4) == 0.25 and ratio(0, 0) == 0.0 and ratio(3, 0) == 0.0
    assert f1_of(0.5, 0.5) == 0.5 and f1_of(0.0, 0.0) == 0.0


def test_labels_and_flags_and_choice():
    truth, pred = labels_and_flags([0, 1], [1.0, 0.0])
    assert truth.tolist() == [False, True] and pred.tolist() == [True, False]
    check_choice("bias", "flat", ("flat", "front"))
    with pytest.raises(ConfigError, match=r"bias='edge' is not allowed: must be one of \['flat', 'front'\]"):
        check_choice("bias", "edge", ("flat", "front"))


@pytest.mark.parametrize("y_true, other, match", [
    ([], [], r"y_true: empty"),
    ([0, 1, 1], [0, 1], r"length mismatch: y_true has 3 rows, y_pred has 2 rows"),
    ([0, 2], [0, 1], r"y_true: non-binary value 2 at position 1; expected bool or 0/1"),
    ([0, 1], [0.0, 0.7], r"y_pred: non-binary value 0.7 at position 1"),
    ([[0, 1]], [0, 1], r"y_true: expected a 1-D array, got shape \(1, 2\)"),
])
@pytest.mark.parametrize("func", [point_metrics, event_metrics, labels_and_flags])
def test_flag_metrics_bad_input(func, y_true, other, match):
    with pytest.raises(DataError, match=match):
        func(y_true, other)


@pytest.mark.parametrize("scores, match", [
    ([0.1, np.nan], r"scores: 1 NaN/inf value\(s\), first at position 1"),
    ([0.1], r"length mismatch: y_true has 2 rows, scores has 1 rows"),
    (["a", "b"], r"scores: expected numbers"),
])
@pytest.mark.parametrize("func", [auc_roc, auc_pr])
def test_score_metrics_bad_input(func, scores, match):
    with pytest.raises(DataError, match=match):
        func([0, 1], scores)
