"""Model directories: atomic save, clear errors for missing, truncated, corrupted or newer files; no pickle."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from detector_checks import fitted_detector

import anomaly
from anomaly.errors import ModelFileError, NotFittedError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def saved(tmp_path, normal_frame):
    return anomaly.PCADetector().fit(normal_frame).save(tmp_path / "model")


def test_saved_directory_layout(saved):
    assert sorted(p.name for p in saved.iterdir()) == ["arrays.npz", "detector.json"]
    meta = json.loads((saved / "detector.json").read_text())
    assert meta["format_version"] == 1 and meta["class"] == "PCADetector"
    assert meta["schema"]["channels"] == [f"ch{i}" for i in range(5)]


def test_a_loaded_detector_saves_again_with_the_same_metadata(saved, tmp_path, normal_frame):
    again = anomaly.load(saved).save(tmp_path / "again")
    first, second = (json.loads((d / "detector.json").read_text()) for d in (saved, again))
    assert second == first
    assert anomaly.load(again).score(normal_frame).equals(anomaly.load(saved).score(normal_frame))


def test_missing_directory(tmp_path):
    with pytest.raises(ModelFileError, match="model directory not found"):
        anomaly.load(tmp_path / "nothing")


def test_truncated_metadata(saved):
    text = (saved / "detector.json").read_text()
    (saved / "detector.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        anomaly.load(saved)


def test_newer_format_is_refused(saved):
    meta = json.loads((saved / "detector.json").read_text())
    meta["format_version"] = 99
    (saved / "detector.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="saved with model format 99.*upgrade"):
        anomaly.load(saved)


def test_truncated_arrays(saved):
    data = (saved / "arrays.npz").read_bytes()
    (saved / "arrays.npz").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match="arrays.npz: unreadable or truncated"):
        anomaly.load(saved)


def test_unknown_class(saved):
    meta = json.loads((saved / "detector.json").read_text())
    meta["class"] = "os.system"
    (saved / "detector.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="unknown detector 'os.system'"):
        anomaly.load(saved)


def test_corrupted_keras_model(tmp_path):
    path = fitted_detector("dense-ae").save(tmp_path / "ae")
    (path / "model.keras").write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(ModelFileError, match="cannot load Keras model"):
        anomaly.load(path)


def test_unfitted_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        anomaly.PCADetector().save(tmp_path / "m")


def test_refuses_to_overwrite_a_non_model_directory(tmp_path, normal_frame):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("keep me")
    with pytest.raises(ModelFileError, match="refusing to overwrite"):
        anomaly.PCADetector().fit(normal_frame).save(tmp_path / "docs")
    assert (tmp_path / "docs" / "notes.txt").read_text() == "keep me"


def test_no_pickle_anywhere_in_the_packages():
    found = subprocess.run(
        ["grep", "-rlE", r"import (pickle|joblib|dill|cloudpickle)|allow_pickle=True", "anomaly", "pipelines", "datasets"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert found.stdout == ""


def test_object_arrays_in_a_model_file_are_refused(saved):
    import numpy as np

    np.savez(saved / "arrays.npz", mean=np.array([object()], dtype=object), components=np.zeros((1, 5)),
             explained_variance=np.ones(1), limits=np.ones(2))
    with pytest.raises(ModelFileError, match="arrays.npz: unreadable"):
        anomaly.load(saved)
