"""The supervised head: features, a threshold from out-of-fold probabilities, bad labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from anomaly.errors import ConfigError, DataError, ModelFileError
from anomaly.supervised import SupervisedDetector, load_supervised, window_features

CHANNELS = ["a", "b", "c"]
RATE = 10.0


def _log(seed: int, fault: tuple[int, int] | None):
    """A 10 Hz log of 3 channels; a fault doubles channel b's amplitude and shifts c."""
    rng = np.random.default_rng(seed)
    n = 3000
    phase = np.arange(n)[:, None] / 15 + np.arange(3)
    values = np.sin(phase) + 0.1 * rng.standard_normal((n, 3))
    labels = np.zeros(n, dtype=bool)
    if fault is not None:
        lo, hi = fault
        values[lo:hi, 1] *= 2.0
        values[lo:hi, 2] += 0.8
        labels[lo:hi] = True
    index = pd.date_range(f"2026-01-{seed + 1:02d}", periods=n, freq="100ms")
    return pd.DataFrame(values, index=index, columns=CHANNELS), pd.Series(labels, index=index)


@pytest.fixture(scope="module")
def fitted():
    logs = [_log(s, None if s < 2 else (1000 + 100 * s, 1600 + 100 * s)) for s in range(6)]
    head = SupervisedDetector(target_fa_per_hour=2.0, max_iter=50, folds=3, window=10)
    return head.fit([f for f, _ in logs], [y for _, y in logs])


def test_window_features_are_causal_and_shaped():
    Z = np.random.default_rng(0).standard_normal((50, 3))
    full = window_features(Z, 5)
    assert full.shape == (50, 12)
    assert_allclose(window_features(Z[:30], 5), full[:30], rtol=1e-6)  # later rows change nothing
    assert_allclose(full[10, :3], Z[6:11].mean(axis=0), rtol=1e-5)


def test_flags_an_unseen_fault_and_stays_quiet_on_an_unseen_normal_log(fitted):
    frame, labels = _log(7, (1500, 2200))
    flags = fitted.predict(frame).to_numpy()
    assert flags[labels.to_numpy()].mean() > 0.8
    normal, _ = _log(8, None)
    assert fitted.predict(normal).mean() < 0.01
    assert 0.0 < fitted.threshold_ < 1.0
    assert fitted.validation_["false_alarms_per_hour"] <= 2.0


def test_probabilities_are_aligned_and_bounded(fitted):
    frame, _ = _log(9, (100, 400))
    p = fitted.predict_proba(frame)
    assert p.index.equals(frame.index) and ((p >= 0) & (p <= 1)).all()


@pytest.mark.parametrize("labels, message", [
    ([np.zeros(3000, bool)] * 4, "one class"),
    ([np.zeros(10, bool)] * 4, "one value per row"),
])
def test_bad_labels_are_refused(labels, message):
    logs = [_log(s, None)[0] for s in range(4)]
    with pytest.raises(DataError, match=message):
        SupervisedDetector(max_iter=5).fit(logs, labels)


def test_too_many_folds_are_refused():
    logs = [_log(s, None if s == 0 else (500, 900)) for s in range(2)]
    with pytest.raises(ConfigError, match="folds"):
        SupervisedDetector(folds=3, max_iter=5).fit([f for f, _ in logs], [y for _, y in logs])


def test_save_and_load_predict_the_same_without_scikit_learn(fitted, tmp_path):
    import subprocess
    import sys

    frame, _ = _log(7, (1500, 2200))
    fitted.save(tmp_path / "head")
    loaded = load_supervised(tmp_path / "head")
    assert_allclose(loaded.predict_proba(frame).to_numpy(), fitted.predict_proba(frame).to_numpy(), rtol=1e-12)
    assert loaded.threshold_ == fitted.threshold_ and loaded.window == fitted.window
    frame.to_csv(tmp_path / "frame.csv", index_label="timestamp")
    code = ("import sys, pandas as pd\nfrom anomaly.supervised import load_supervised\n"
            f"f = pd.read_csv(r'{tmp_path / 'frame.csv'}', index_col=0, parse_dates=True)\n"
            f"p = load_supervised(r'{tmp_path / 'head'}').predict_proba(f)\n"
            "print(float(p.sum()), 'sklearn' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) == pytest.approx(fitted.predict_proba(frame).sum(), rel=1e-6) and out[1:] == ["False", "False"]


def test_a_damaged_saved_head_raises_model_file_error(fitted, tmp_path):
    fitted.save(tmp_path / "head")
    (tmp_path / "head" / "supervised.json").write_text("{not json")
    with pytest.raises(ModelFileError):
        load_supervised(tmp_path / "head")
