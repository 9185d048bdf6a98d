"""Score smoothing and the scoring pass: one state from the first to the last row, on every path."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from pass_checks import assert_paths_agree
from typer.testing import CliRunner

import anomaly
from anomaly.cli import app
from anomaly.errors import ConfigError
from anomaly.passes import MovingAverage

CHANNELS = ["a", "b", "c", "d"]
SMOOTH = 50


def _frame(values, day):
    return pd.DataFrame(values, index=pd.date_range(f"2026-01-0{day}", periods=len(values), freq="10ms"), columns=CHANNELS)


@pytest.fixture(scope="module")
def logs():
    """A normal log; a test log with one-row spikes every 100 rows and a 300-row fault (rows 2000-2299)."""
    rng = np.random.default_rng(1)
    phase = np.arange(4000)[:, None] / 40 + np.arange(4)
    train = _frame(np.sin(phase) + 0.1 * rng.standard_normal((4000, 4)), 1)
    test = _frame(np.sin(phase) + 0.1 * rng.standard_normal((4000, 4)), 2)
    test.iloc[50::100, 1] += 0.5
    test.iloc[2000:2300, 3] += 0.8
    return train, test


def test_moving_average_fed_in_pieces_equals_a_rolling_mean():
    x = np.random.default_rng(0).random(300)
    average = MovingAverage(7)
    pieces = np.concatenate([average(x[:3]), average(x[3:4]), average(x[4:150]), average(x[150:])])
    assert_allclose(pieces, pd.Series(x).rolling(7, min_periods=1).mean())


def test_smoothed_scores_are_the_rolling_mean_and_the_threshold_is_fitted_on_them(logs):
    plain = anomaly.PCADetector(statistic="spe").fit(logs[0])
    smoothed = anomaly.PCADetector(statistic="spe", smooth=SMOOTH, threshold=anomaly.Percentile(99.0)).fit(logs[0])
    expected = plain.score(logs[1]).rolling(SMOOTH, min_periods=1).mean()
    assert_allclose(smoothed.score(logs[1]).to_numpy(), expected.to_numpy(), rtol=1e-6)
    training = pd.Series(plain.decision_scores_).rolling(SMOOTH, min_periods=1).mean()
    assert smoothed.threshold_ == pytest.approx(np.percentile(training, 99.0))


def test_spikes_stop_alarming_and_a_lasting_fault_still_does(logs):
    rules = {"min_duration": 1, "merge_gap": 0, "cooldown": 0}
    plain = anomaly.PCADetector(statistic="spe").fit(logs[0])
    smoothed = anomaly.PCADetector(statistic="spe", smooth=SMOOTH).fit(logs[0])
    plain_events = anomaly.decisions.events(plain.predict(logs[1]), None, plain.score(logs[1]), threshold=plain.threshold_, **rules)
    scores = smoothed.score(logs[1])
    smooth_events = anomaly.decisions.events(smoothed.predict(logs[1]), None, scores, threshold=smoothed.threshold_, **rules)
    fault = (logs[1].index[2000], logs[1].index[2299])
    spikes = len([e for e in plain_events if e.end < fault[0] or e.start > fault[1]])
    assert spikes >= 30
    assert len([e for e in smooth_events if e.end < fault[0] or e.start > fault[1]]) <= spikes / 4
    assert any(e.start <= fault[1] and e.end >= fault[0] for e in smooth_events)


@pytest.mark.parametrize("params", [{"smooth": SMOOTH}, {"smooth": SMOOTH, "adapt": 300}])
def test_batch_chunks_stream_and_a_reload_agree(logs, params, tmp_path):
    assert_paths_agree(anomaly.PCADetector(**params).fit(logs[0]), logs[1], tmp_path, chunk_rows=333)


def test_window_detector_smooths_its_row_scores(logs):
    params = {"window": 8, "hidden": (16,), "latent": 4, "epochs": 1, "random_state": 0}
    plain = anomaly.DenseAutoencoder(**params).fit(logs[0])
    smoothed = anomaly.DenseAutoencoder(**params, smooth=SMOOTH).fit(logs[0])
    expected = plain.score(logs[1]).rolling(SMOOTH, min_periods=1).mean()
    assert_allclose(smoothed.score(logs[1]).to_numpy(), expected.to_numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("smooth", [0, 1.5, "3"])
def test_bad_smooth_is_refused(logs, smooth):
    with pytest.raises(ConfigError, match="smooth"):
        anomaly.PCADetector(smooth=smooth).fit(logs[0])


def test_cli_fit_smooth(logs, tmp_path):
    logs[0].to_csv(tmp_path / "normal.csv", index_label="timestamp")
    runner = CliRunner()
    ok = runner.invoke(app, ["fit", str(tmp_path / "normal.csv"), "-d", "pca", "--smooth", str(SMOOTH), "-o", str(tmp_path / "m")])
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "m" / "detector.json").read_text())["head"]["smooth"] == SMOOTH
    bad = runner.invoke(app, ["fit", str(tmp_path / "normal.csv"), "-d", "pca", "--smooth", "0", "-o", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "smooth" in bad.output and not (tmp_path / "bad").exists()
