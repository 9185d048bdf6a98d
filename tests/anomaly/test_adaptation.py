"""Baseline adaptation: lasting offsets fade out, sudden faults stay, every scoring path agrees."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pass_checks import assert_paths_agree
from typer.testing import CliRunner

import anomaly
from anomaly.adaptation import Baseline, adapt_errors, block_rows
from anomaly.cli import app
from anomaly.errors import ConfigError
from datasets.robot_arm import simulate

CHANNELS = [f"c{i}" for i in range(5)]
TAU = 200


def _frame(rng, n, start):
    phase = np.arange(n)[:, None] / 50 + np.arange(len(CHANNELS))
    values = np.sin(phase) + 0.1 * rng.standard_normal((n, len(CHANNELS)))
    return pd.DataFrame(values, index=pd.date_range(start, periods=n, freq="10ms"), columns=CHANNELS)


@pytest.fixture(scope="module")
def logs():
    """A normal log, and a test log with a lasting +2 offset on c0 and a fault on c2 (rows 4000-4299)."""
    rng = np.random.default_rng(0)
    train, test = _frame(rng, 6000, "2026-01-01"), _frame(rng, 6000, "2026-01-02")
    test["c0"] += 2.0
    test.iloc[4000:4300, 2] += 3.0
    return train, test


@pytest.fixture(scope="module")
def adapted(logs):
    return anomaly.PCADetector(statistic="spe", adapt=TAU).fit(logs[0])


def test_a_lasting_offset_fades_out_and_a_later_fault_still_alarms(logs, adapted):
    plain = anomaly.PCADetector(statistic="spe").fit(logs[0])
    assert plain.predict(logs[1]).mean() > 0.99  # the offset floods every row
    flags = adapted.predict(logs[1]).to_numpy()
    assert flags[:TAU].mean() > 0.5  # frozen: a new offset first alarms for about tau rows
    assert flags[3 * TAU : 4000].mean() < 0.02  # then it is the new normal
    assert flags[4000:4300].mean() > 0.6  # a sudden fault alarms before the baseline moves, which then freezes
    assert flags[4600:].mean() < 0.02
    errors = adapted.errors(logs[1])
    assert errors["c0"].iloc[3 * TAU : 4000].mean() < 3 * errors["c1"].iloc[3 * TAU : 4000].mean()


def test_a_fault_held_for_less_than_tau_is_not_learnt(logs, adapted):
    test = logs[0].copy()
    test.index = logs[1].index
    test.iloc[1000:1000 + TAU, 3] += 3.0
    flags = adapted.predict(test).to_numpy()
    assert flags[1000:1000 + TAU].mean() > 0.9
    assert flags[1000 + TAU + 50 :].mean() < 0.02  # and nothing was learnt from it


def test_batch_chunks_stream_and_a_reload_agree(logs, adapted, tmp_path):
    loaded = assert_paths_agree(adapted, logs[1], tmp_path, chunk_rows=777)
    assert loaded.head_.adapt == TAU
    assert_array_equal(loaded.head_.reference_, adapted.head_.reference_)


def test_each_score_call_is_a_new_pass(logs, adapted):
    first = adapted.score(logs[1]).to_numpy()
    assert_array_equal(adapted.score(logs[1]).to_numpy(), first)


def test_without_adapt_nothing_changes(logs):
    plain = anomaly.PCADetector().fit(logs[0])
    state = plain.start_pass()  # the stuck channels' runs only
    assert state.baseline is None and state.stuck is not None and plain.head_.reference_ is None
    errors, scores = plain.errors_and_scores_scaled(plain.scaler_.transform(logs[1].to_numpy(np.float32)))
    assert_allclose(scores, plain.score(logs[1]).to_numpy())


def test_the_extra_statistic_is_adapted_as_one_more_channel(logs):
    t2 = anomaly.PCADetector(adapt=TAU, statistic="t2").fit(logs[0])
    assert t2.head_.reference_.shape == (len(CHANNELS) + 1,)
    assert t2.head_.reference_[-1] == pytest.approx(t2.n_components_, rel=0.05)  # mean T-squared
    combined = anomaly.PCADetector(adapt=TAU).fit(logs[0])  # its statistic is the combined score itself
    unadapted = anomaly.PCADetector().fit(logs[0])
    assert combined.head_.reference_[-1] == pytest.approx(unadapted.decision_scores_.mean(), rel=1e-4)


def test_baseline_moves_block_by_block_towards_a_quiet_level():
    tau, reference = 100, np.array([1.0, 2.0])
    baseline = Baseline(reference, tau, exit_level=np.inf)
    errors = np.tile([4.0, 2.0], (tau, 1))
    adapted, scores = adapt_errors(errors, None, lambda e, _: e.mean(axis=1), baseline)
    blocks = tau // block_rows(tau)
    assert_allclose(baseline.level, [4.0 - 3.0 * (1 - block_rows(tau) / tau) ** blocks, 2.0])
    assert_allclose(adapted[: block_rows(tau), 0], 4.0)  # the first block sees the reference
    assert adapted[-1, 0] < 4.0 and (adapted[:, 1] == 2.0).all()
    assert_allclose(scores, adapted.mean(axis=1))


def test_alarm_freezes_the_baseline_until_it_lasts_tau_rows():
    tau, reference = 100, np.array([1.0])
    baseline = Baseline(reference, tau, exit_level=2.0)
    adapt_errors(np.full((tau, 1), 5.0), None, lambda e, _: e[:, 0], baseline)
    assert_allclose(baseline.level, reference)  # frozen for tau rows
    adapt_errors(np.full((tau, 1), 5.0), None, lambda e, _: e[:, 0], baseline)
    assert baseline.level[0] > 2.0  # then the lasting alarm is learnt


@pytest.mark.parametrize("tau", [1, 0, 2.5, "10"])
def test_bad_adapt_is_refused_before_training(logs, tau):
    with pytest.raises(ConfigError, match="adapt"):
        anomaly.DenseAutoencoder(window=4, epochs=50, adapt=tau).fit(logs[0])


def test_a_cooler_day_fades_out_of_the_simulated_arm():
    train, cool = simulate(30, seed=0, ambient_c=28.0).frame, simulate(30, seed=3, ambient_c=24.0).frame
    plain = anomaly.PCADetector(statistic="spe", conditions=None).fit(train)
    adapted = anomaly.PCADetector(statistic="spe", conditions=None, adapt=500).fit(train)
    assert plain.predict(cool).mean() > 0.95
    assert adapted.predict(cool).iloc[2000:].mean() < 0.05


def test_cli_fit_adapt(logs, tmp_path):
    logs[0].to_csv(tmp_path / "normal.csv", index_label="timestamp")
    runner = CliRunner()
    result = runner.invoke(app, ["fit", str(tmp_path / "normal.csv"), "-d", "pca", "--adapt", str(TAU), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    head = json.loads((tmp_path / "m" / "detector.json").read_text())["head"]
    assert head["adapt"] == TAU and len(head["reference"]) == len(CHANNELS) + 1
    bad = runner.invoke(app, ["fit", str(tmp_path / "normal.csv"), "-d", "pca", "--adapt", "1", "-o", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "adapt" in bad.output
    assert not (tmp_path / "bad").exists()
