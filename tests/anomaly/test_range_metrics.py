"""Range metrics by hand: point adjustment, Tatbul range precision/recall, NAB."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.errors import ConfigError, DataError
from anomaly.range_metrics import nab_score, nab_scores, point_adjust, point_adjusted_report, range_precision_recall


def flags(n, *ranges):
    out = np.zeros(n, dtype=bool)
    for start, end in ranges:
        out[start : end + 1] = True
    return out


def test_point_adjust_by_hand():
    truth = flags(10, (2, 5))
    pred = flags(10, (4, 4), (8, 8))
    assert point_adjust(truth, pred).tolist() == flags(10, (2, 5), (8, 8)).tolist()


def test_point_adjusted_report_shows_the_inflation():
    truth = flags(1000, (100, 299), (500, 699))
    pred = flags(1000, (150, 150), (600, 600))  # two flagged rows
    report = point_adjusted_report(truth, pred.astype(float), pred)
    assert report["f1"] == pytest.approx(2 * 1.0 * (2 / 400) / (1 + 2 / 400))
    assert report["pa_f1"] == pytest.approx(1.0)
    assert 0.0 <= report["pa_f1_random"] <= 1.0


def test_range_precision_recall_flat_by_hand():
    truth = flags(10, (2, 5))  # 4 rows
    pred = flags(10, (4, 7))  # 4 rows, 2 overlap
    r = range_precision_recall(truth, pred)
    assert r["recall"] == pytest.approx(0.5) and r["precision"] == pytest.approx(0.5)
    assert range_precision_recall(truth, pred, alpha=1.0)["recall"] == 1.0  # existence only


def test_range_bias_by_hand():
    truth = flags(10, (2, 5))  # positions 1..4 in the range; overlap covers positions 3, 4
    pred = flags(10, (4, 7))
    assert range_precision_recall(truth, pred, bias="front")["recall"] == pytest.approx((2 + 1) / (4 + 3 + 2 + 1))
    assert range_precision_recall(truth, pred, bias="back")["recall"] == pytest.approx((3 + 4) / 10)
    assert range_precision_recall(truth, pred, bias="middle")["recall"] == pytest.approx((2 + 1) / (1 + 2 + 2 + 1))


def test_reciprocal_cardinality_penalises_fragments():
    truth = flags(12, (2, 9))
    pred = flags(12, (2, 3), (6, 7))
    assert range_precision_recall(truth, pred)["recall"] == pytest.approx(0.5)
    assert range_precision_recall(truth, pred, cardinality="reciprocal")["recall"] == pytest.approx(0.25)


def test_nab_perfect_null_early_late_and_false_positives():
    truth = flags(1000, (100, 199), (600, 699))
    assert nab_score(truth, flags(1000, (100, 100), (600, 600))) == pytest.approx(100.0)
    assert nab_score(truth, np.zeros(1000, bool)) == pytest.approx(0.0)
    early = nab_score(truth, flags(1000, (110, 110), (610, 610)))
    late = nab_score(truth, flags(1000, (190, 190), (690, 690)))
    assert 0 < late < early < 100
    noisy = nab_score(truth, flags(1000, (100, 100), (600, 600), (50, 50), (400, 400)))
    assert noisy < 100
    scores = nab_scores(truth, flags(1000, (100, 100), (600, 600), (50, 50)))  # all windows, one false positive
    # by hand: S = 2 x 0.9866 - A_FP, normalised between -A_FN x 2 and 2 x 0.9866
    perfect = 2 * (2 / (1 + np.exp(-5)) - 1)
    assert scores["standard"] == pytest.approx(100 * (perfect - 0.11 + 2) / (perfect + 2))
    assert scores["reward_low_FP_rate"] < scores["standard"] < scores["reward_low_FN_rate"]


def test_errors():
    with pytest.raises(DataError, match="length mismatch"):
        range_precision_recall([0, 1], [0, 1, 1])
    with pytest.raises(ConfigError, match="bias='edge'"):
        range_precision_recall([0, 1], [0, 1], bias="edge")
    with pytest.raises(ConfigError, match="profile='lenient'"):
        nab_score([0, 1], [0, 1], profile="lenient")
    with pytest.raises(ConfigError, match="at least one labelled anomaly window"):
        nab_score([0, 0], [0, 1])


def test_vus_perfect_random_and_ordering():
    from anomaly.range_metrics import vus

    truth = flags(2000, (500, 599), (1400, 1449))
    assert vus(truth, truth.astype(float)) == {"vus_roc": pytest.approx(1.0), "vus_pr": pytest.approx(1.0)}
    rng = np.random.default_rng(0)
    good = vus(truth, truth + rng.normal(0, 0.3, 2000))
    poor = vus(truth, truth + rng.normal(0, 3.0, 2000))
    assert good["vus_pr"] > poor["vus_pr"] and good["vus_roc"] > poor["vus_roc"]
    # a detection just before a range earns buffer credit: VUS rewards near-misses, plain AP does not
    early = np.roll(truth.astype(float), -20)
    assert vus(truth, early, sliding_window=100)["vus_pr"] > vus(truth, early, sliding_window=0)["vus_pr"]


def test_vus_errors():
    from anomaly.range_metrics import vus

    with pytest.raises(ConfigError, match="at least one labelled anomaly"):
        vus(np.zeros(10, bool), np.arange(10.0))
    with pytest.raises(ConfigError, match="thresholds=1"):
        vus(flags(10, (2, 3)), np.arange(10.0), thresholds=1)
