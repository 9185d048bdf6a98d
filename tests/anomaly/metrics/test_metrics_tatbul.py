"""Range precision/recall: hand-worked examples, a literal transcription of Tatbul et al.'s
pseudocode, and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import flags
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly.decisions import event_ranges
from anomaly.errors import ConfigError, DataError
from anomaly.metrics.events import event_metrics
from anomaly.metrics.tatbul import range_precision_recall

label_pairs = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)))

TRUTH = flags(6, (2, 3))


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


@pytest.mark.parametrize("call, match", [
    (lambda: range_precision_recall([0, 2, 1], [0, 1, 1]), "y_true: non-binary value 2"),
    (lambda: range_precision_recall([], []), "y_true: empty"),
])
def test_bad_input_is_a_data_error(call, match):
    with pytest.raises(DataError, match=match):
        call()


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": 1.5}, "alpha=1.5"),
    ({"cardinality": "half"}, "cardinality='half'"),
    ({"bias": "edge"}, "bias='edge'"),
])
def test_bad_parameters_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        range_precision_recall(TRUTH, TRUTH, **kwargs)
