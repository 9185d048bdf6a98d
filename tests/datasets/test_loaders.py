"""Benchmark loaders against the real files in ../shared/datasets (skipped when absent)."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.errors import DataError
from datasets.skab import CHANNELS, load_skab
from datasets.smd import ASD_STEP, load_asd, load_smd, timed


def test_skab_valve_files(shared_data):
    files = load_skab(shared_data)
    assert len(files) == 20
    assert [f.name for f in files[:3]] == ["valve1/0", "valve1/1", "valve1/2"]
    assert sum(int(f.anomaly.sum()) for f in files) == 7826
    assert sum(len(f.frame) for f in files) == 22472
    for f in files:
        assert tuple(f.frame.columns) == CHANNELS
        assert f.frame.index.is_monotonic_increasing
        assert not f.anomaly.iloc[:400].any()  # SKAB's protocol relies on this


def test_skab_from_environment(shared_data, monkeypatch):
    monkeypatch.setenv("ANOMALY_DATA_DIR", str(shared_data))
    assert len(load_skab(groups=("anomaly-free",))[0].frame) == 9405


def test_missing_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ANOMALY_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="ANOMALY_DATA_DIR"):
        load_skab()
    with pytest.raises(DataError, match="data folder not found"):
        load_skab(tmp_path)


def test_smd_machine_and_exclusive_segment_ends(shared_data):
    m = load_smd("machine-1-6", shared_data)
    assert m.train.shape == (23688, 38) and m.test.shape == (23689, 38)
    assert int(m.labels.sum()) == 3708
    first = m.segments[0]
    assert (first.start, first.end) == (246, 252)  # "246-252" is exclusive in SMD
    assert first.channels[:3] == ("m1", "m2", "m3")
    assert m.train.dtypes.eq(np.float32).all()


def test_asd_inclusive_segment_ends(shared_data):
    e = load_asd("omi-1", shared_data)
    assert e.train.shape == (8640, 19) and e.test.shape == (4320, 19)
    assert int(e.labels.sum()) == 441
    raw = (shared_data / "asd/ASD/interpretation_label/omi-1.txt").read_text().split()[0]
    start, end = (int(v) for v in raw.split(":")[0].split("-"))
    assert (e.segments[0].start, e.segments[0].end) == (start, end + 1)


def test_asd_on_its_time_step(shared_data):
    e = load_asd("omi-1", shared_data)
    t = timed(e, ASD_STEP)
    assert t.train.index[0] == np.datetime64("2020-01-01") and t.train.index[1] - t.train.index[0] == ASD_STEP
    assert t.test.index[0] - t.train.index[-1] == ASD_STEP  # the test period follows the training period
    assert np.array_equal(t.test.to_numpy(), e.test.to_numpy()) and t.labels is e.labels
