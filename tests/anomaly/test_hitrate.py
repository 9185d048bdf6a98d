"""HitRate@P% by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.errors import DataError
from anomaly.hitrate import CauseSegment, hit_rate, hit_rate_report, random_hit_rate
from datasets.smd import Segment


@pytest.fixture
def errors():
    # rows 0-1: channel b is worst then c; rows 2-3: a worst, then d
    return pd.DataFrame({"a": [0, 0, 9, 9], "b": [9, 9, 0, 0], "c": [5, 5, 1, 1], "d": [1, 1, 5, 5]}, dtype=float)


def test_hit_rate_by_hand(errors):
    seg = CauseSegment(0, 2, ("b", "d"))  # top-2 at rows 0-1 is {b, c}: one of two causes
    assert hit_rate(errors, [seg], p=1.0) == pytest.approx(0.5)
    assert hit_rate(errors, [seg], p=1.5) == 1.0  # floor(1.5 * 2) = 3 channels: {b, c, d} holds both causes
    assert hit_rate(errors, [CauseSegment(0, 2, ("b", "c"))]) == 1.0
    report = hit_rate_report(errors, [CauseSegment(0, 2, ("b",)), CauseSegment(2, 4, ("d",))], p=1.0)
    assert report["segments"] == [1.0, 0.0] and report["hit_rate"] == 0.5
    assert hit_rate(errors, [CauseSegment(2, 4, ("d",))], p=2.0) == 1.0  # top-2 at rows 2-3 is {a, d}


def test_segments_from_smd_loader_type(errors):
    assert hit_rate(errors, [Segment(2, 4, ("a", "d"))]) == 1.0


def test_exclusive_end_is_respected(errors):
    # rows 1-2 straddle both regimes: row 1 ranks b first, row 2 ranks a first
    assert hit_rate(errors, [CauseSegment(1, 3, ("a",))]) == pytest.approx(0.5)


def test_random_baseline():
    assert random_hit_rate(4, [CauseSegment(0, 1, ("a",))]) == 0.25
    assert random_hit_rate(4, [CauseSegment(0, 1, ("a", "b"))], p=1.5) == 0.75


@pytest.mark.parametrize("segment, message", [
    (CauseSegment(0, 9, ("a",)), "outside the 4 rows"),
    (CauseSegment(0, 2, ("z",)), r"names channels \['z'\]"),
])
def test_bad_segments(errors, segment, message):
    with pytest.raises(DataError, match=message):
        hit_rate(errors, [segment])


def test_measured_on_a_detector():
    from anomaly import PCADetector
    from anomaly.hitrate import segments_from_faults
    from datasets.robot_arm import simulate

    det = PCADetector().fit(simulate(60, seed=0, ambient_c=28.0).frame)
    run = simulate(120, faults=("collision", "overheating"), seed=1, ambient_c=28.0)
    segments = segments_from_faults(run)
    rate = hit_rate(det.errors(run.frame), segments, p=1.5)
    assert rate > random_hit_rate(28, segments, p=1.5)
