"""HitRate@P% by hand, segment ends in every convention, the random baseline."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from anomaly.errors import ConfigError, DataError
from anomaly.metrics.attribution import Segment, hit_rate, hit_rate_report, random_hit_rate
from datasets.robot_arm import FaultEvent, segments_from_faults
from datasets.smd import load_asd, load_smd


@pytest.fixture
def errors():
    # rows 0-1 rank b > c > d > a; rows 2-3 rank a > d > c > b
    return pd.DataFrame({"a": [0, 0, 9, 9], "b": [9, 9, 0, 0], "c": [5, 5, 1, 1], "d": [1, 1, 5, 5]}, dtype=float)


def test_hit_rate_by_hand(errors):
    causes = Segment(0, 2, ("b", "d"))
    assert hit_rate(errors, [causes], p=1.0) == 0.5  # top-2 {b, c} holds one of the two causes
    assert hit_rate(errors, [causes], p=1.5) == 1.0  # top-3 {b, c, d} holds both
    assert hit_rate(errors, [Segment(0, 2, ("b", "c"))]) == 1.0
    assert hit_rate(errors, [Segment(2, 4, ("d",))], p=1.5) == 0.0  # floor(1.5 x 1) = 1: only a
    assert hit_rate(errors, [Segment(2, 4, ("d",))], p=2.0) == 1.0  # top-2 {a, d}


def test_k_is_capped_at_the_number_of_channels(errors):
    report = hit_rate_report(errors, [(0, 2, ("a", "b"))], p=3.0)
    assert report["hit_rate"] == 1.0 and report["segments"][0]["k"] == 4


def test_steps_are_averaged_within_a_segment_then_segments_equally(errors):
    assert hit_rate(errors, [(1, 3, ("a",))]) == 0.5  # row 1 misses, row 2 hits
    report = hit_rate_report(errors, [(0, 1, ("b",)), (1, 4, "a")])  # 1.0 and (0 + 1 + 1) / 3
    assert [s["hit_rate"] for s in report["segments"]] == pytest.approx([1.0, 2 / 3])
    assert report["hit_rate"] == pytest.approx(5 / 6)  # not the pooled 3 / 4
    assert report["segments"][1] == {"start": 1, "end": 4, "channels": ["a"], "k": 1, "rows": 3,
                                     "hit_rate": pytest.approx(2 / 3)}
    assert (report["p"], report["n_segments"], report["skipped"]) == (1.0, 2, 0)


def test_ties_share_the_remaining_places():
    tied = pd.DataFrame({"a": [9.0], "b": [5.0], "c": [5.0], "d": [0.0]})
    assert hit_rate(tied, [(0, 1, ("c",))], p=2.0) == 0.5  # a, then b or c for the second place
    flat = pd.DataFrame(np.zeros((3, 4)), columns=list("abcd"))
    assert hit_rate(flat, [(0, 3, ("d",))]) == 0.25 == random_hit_rate(4, [(0, 3, ("d",))])


def test_smd_exclusive_and_asd_inclusive_ends_give_the_same_segment(tmp_path):
    # the cause m1 leads only on row 3, the last row of the segment: a wrong end loses it
    for subfolder, name, line in (("smd/ServerMachineDataset", "machine-t", "2-4:1"), ("asd/ASD", "omi-t", "2-3:1")):
        root = tmp_path / subfolder
        for folder, text in (("train", "0,0\n" * 5), ("test", "0,0\n" * 5), ("test_label", "0\n0\n1\n1\n0\n"),
                             ("interpretation_label", line + "\n")):
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{name}.txt").write_text(text)
    smd, asd = load_smd("machine-t", tmp_path), load_asd("omi-t", tmp_path)
    assert smd.segments == asd.segments == [Segment(2, 4, ("m1",))]
    errors = pd.DataFrame({"m1": [0, 0, 1, 3, 0], "m2": [0, 0, 2, 1, 0]}, dtype=float)
    assert hit_rate(errors, smd.segments) == hit_rate(errors, asd.segments) == 0.5


def test_segments_from_faults_turn_inclusive_timestamps_into_positions():
    index = pd.date_range("2026-01-01", periods=5, freq="10ms", name="timestamp")
    run = SimpleNamespace(frame=pd.DataFrame({"m1": np.zeros(5)}, index=index),
                          faults=[FaultEvent("collision", index[2], index[3], ("m1",))])
    assert segments_from_faults(run) == [Segment(2, 4, ("m1",))]
    run.faults = [FaultEvent("collision", index[2], pd.Timestamp("2030-01-01"), ("m1",))]
    with pytest.raises(DataError, match="not in the run's index"):
        segments_from_faults(run)


def test_random_baseline_matches_a_simulation():
    rng = np.random.default_rng(0)
    channels = [f"c{i}" for i in range(10)]
    noise = pd.DataFrame(rng.random((20_000, 10)), columns=channels)
    segments = [(0, 20_000, ("c0",)), (0, 20_000, ("c1", "c2", "c3"))]
    for p in (1.0, 1.5):
        assert hit_rate(noise, segments, p=p) == pytest.approx(random_hit_rate(10, segments, p=p), abs=0.01)
    assert random_hit_rate(10, segments, p=1.5) == pytest.approx((1 / 10 + 4 / 10) / 2)


def test_segments_without_channels_are_skipped(errors):
    report = hit_rate_report(errors, [(0, 2, ()), (0, 2, ("b",))])
    assert report["skipped"] == 1 and report["n_segments"] == 1 and report["hit_rate"] == 1.0
    with pytest.raises(DataError, match="no segment with cause channels"):
        hit_rate(errors, [(0, 2, ())])


@pytest.mark.parametrize("segment, message", [
    ((0, 9, ("a",)), "outside the 4 rows"),
    ((2, 2, ("a",)), "empty or outside"),
    ((0, 2, ("z",)), r"names channels \['z'\]"),
    ((0, 2), "expected \\(start, end_exclusive, channels\\)"),
])
def test_bad_segments(errors, segment, message):
    with pytest.raises(DataError, match=message):
        hit_rate(errors, [segment])


def test_bad_errors_and_p(errors):
    with pytest.raises(DataError, match="NaN"):
        hit_rate(errors.assign(a=np.nan), [(0, 2, ("a",))])
    with pytest.raises(ConfigError, match="p=0"):
        hit_rate(errors, [(0, 2, ("a",))], p=0)
