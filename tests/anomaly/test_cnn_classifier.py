"""CNNClassifier and the event sequences it learns from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from anomaly.cnn_classifier import CNNClassifier, segment_sequences
from anomaly.errors import ConfigError, DataError, ModelFileError, NotFittedError

KINDS = np.array(["spike", "ramp", "wave"])


def three_kinds(n, seed, steps=32):
    """Noise plus a spike on channel 0, a ramp on channel 1 or a sine on channel 2."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, n)
    t = np.linspace(0, 1, steps)
    X = 0.3 * rng.standard_normal((n, steps, 3))
    for i, k in enumerate(codes):
        if k == 0:
            at = rng.integers(4, steps - 4)
            X[i, at - 2 : at + 2, 0] += 3
        elif k == 1:
            X[i, :, 1] += 3 * t
        else:
            X[i, :, 2] += np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6))
    return X.astype(np.float32), KINDS[codes]


@pytest.fixture(scope="module")
def fitted():
    X, y = three_kinds(60, seed=0)
    return CNNClassifier((8, 16), (5, 3), epochs=20, random_state=0).fit(X, y)


def test_learns_an_easy_three_class_problem(fitted):
    X, y = three_kinds(30, seed=1)
    assert (fitted.predict(X) == y).mean() >= 0.9
    proba = fitted.predict_proba(X)
    assert proba.shape == (30, 3) and list(fitted.classes_) == sorted(KINDS)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert fitted.predict(X[:1]).shape == (1,)


def test_save_load_gives_identical_predictions(fitted, tmp_path):
    X, _ = three_kinds(10, seed=2)
    loaded = CNNClassifier.load(fitted.save(tmp_path / "clf"))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.get_params() == fitted.get_params() and list(loaded.classes_) == list(fitted.classes_)
    assert sorted(p.name for p in (tmp_path / "clf").iterdir()) == ["classifier.json", "model.keras"]


def test_augmentation_is_seeded_and_multiplies_training_events(monkeypatch):
    import anomaly.cnn_classifier as module

    sizes, original = [], module.expand

    def recording_expand(x, y, **kwargs):
        out = original(x, y, **kwargs)
        sizes.append((len(x), len(out[0]), kwargs["methods"]))
        return out

    monkeypatch.setattr(module, "expand", recording_expand)
    X, y = three_kinds(12, seed=3)
    runs = [CNNClassifier((4,), (3,), epochs=2, augment=("jitter", "time_warp"), augment_copies=2).fit(X, y)
            for _ in range(2)]
    assert sizes == [(12, 36, ("jitter", "time_warp"))] * 2
    assert runs[0].history_ == runs[1].history_
    np.testing.assert_array_equal(runs[0].predict_proba(X), runs[1].predict_proba(X))


def test_segment_sequences_by_hand():
    errors = pd.DataFrame({"a": [0.0, np.e - 1, np.e - 1, 0.0, 0.0], "b": [0.0] * 5})
    scaled = pd.DataFrame({"a": [0.0, 2.0, 4.0, 6.0, 8.0], "b": [1.0] * 5})
    long_, short = segment_sequences(errors, scaled, [(0, 4), (1, 3)], length=2)
    # (0, 4): two spans of two rows, averaged; features log1p(error a, b), signal a, b, log10(rows)
    np.testing.assert_allclose(long_, [[0.5, 0, 1, 1, np.log10(4)], [0.5, 0, 5, 1, np.log10(4)]], rtol=1e-6)
    np.testing.assert_allclose(short[:, 2], [2.0, 4.0])  # two rows into two steps: each row once
    assert segment_sequences(errors, scaled, [(0, 1)], length=3, signals=False).shape == (1, 3, 3)


@pytest.mark.parametrize("segments, match", [([(3, 9)], "outside"), ([(2, 2)], "outside"), ([], "no segments")])
def test_segment_sequences_rejects_bad_segments(segments, match):
    frame = pd.DataFrame({"a": np.zeros(5)})
    with pytest.raises(DataError, match=match):
        segment_sequences(frame, frame, segments)


@pytest.mark.parametrize("X, y, match", [
    (np.zeros((4, 8)), list("aabb"), "shape"),
    (np.full((4, 8, 2), np.nan), list("aabb"), "NaN"),
    (np.zeros((4, 8, 2)), list("aab"), "one label per sequence"),
    (np.zeros((4, 8, 2)), list("aaaa"), "two fault types"),
    (np.array([[["x"]]]), ["a"], "numeric"),
])
def test_fit_rejects_bad_data(X, y, match):
    with pytest.raises(DataError, match=match):
        CNNClassifier(epochs=1).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"filters": (8, 16), "kernel_sizes": (3,)}, "equal length"),
    ({"filters": 8}, "equal length"),
    ({"filters": (0,), "kernel_sizes": (3,)}, "filters=0"),
    ({"dropout": 1.0}, "dropout=1.0"),
    ({"epochs": 0}, "epochs=0"),
    ({"learning_rate": 0.0}, "learning_rate=0.0"),
    ({"augment": ("flip",)}, "flip"),
    ({"augment_copies": -1}, "augment_copies=-1"),
])
def test_bad_parameters_raise_config_error(params, match):
    X, y = three_kinds(6, seed=0)
    with pytest.raises(ConfigError, match=match):
        CNNClassifier(**params).fit(X, y)


def test_predict_checks_fitted_and_shape(fitted):
    with pytest.raises(NotFittedError):
        CNNClassifier().predict(np.zeros((1, 32, 3)))
    with pytest.raises(DataError, match=r"\(16, 3\).*\(32, 3\)"):
        fitted.predict(np.zeros((1, 16, 3)))


def test_load_rejects_bad_directories(fitted, tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        CNNClassifier.load(tmp_path / "nothing")
    path = fitted.save(tmp_path / "clf")
    meta = json.loads((path / "classifier.json").read_text())
    (path / "classifier.json").write_text(json.dumps({**meta, "center": [0.0]}))
    with pytest.raises(ModelFileError, match="malformed"):
        CNNClassifier.load(path)
    (path / "classifier.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ModelFileError, match="format 99"):
        CNNClassifier.load(path)
    (path / "classifier.json").write_text(json.dumps(meta))
    (path / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="cannot load Keras model"):
        CNNClassifier.load(path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("x")
    with pytest.raises(ModelFileError, match="refusing to overwrite"):
        fitted.save(tmp_path / "data")
    assert (tmp_path / "data" / "keep.txt").exists()
