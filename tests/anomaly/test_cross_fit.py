"""Neural detectors fitted on several logs take their threshold from held-out logs: each fold of
logs is scored by a network trained on the other folds (``Detector._held_out_outputs``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly import DenseAutoencoder
from anomaly.decisions.rules import rules_at
from anomaly.progress import observe_stages
from anomaly.thresholds import QuietLogs

PARAMS = {"window": 8, "hidden": (32,), "latent": 2, "epochs": 6, "conditions": None, "random_state": 0}


def _sessions(n_logs: int, rows: int = 1500, seed: int = 0) -> list[pd.DataFrame]:
    """Logs of 4 channels driven by 2 cycles, each session at its own offsets, at 100 Hz."""
    rng = np.random.default_rng(seed)
    logs = []
    mixing = np.array([[1.0, 0.5, 0.0, 0.3], [0.0, 0.4, 1.0, -0.6]])
    t = np.arange(rows) / 100
    for k in range(n_logs):
        cycles = np.c_[np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6)), np.sin(2 * np.pi * 0.13 * t + rng.uniform(0, 6))]
        values = cycles @ mixing + rng.normal(scale=0.05, size=(rows, 4)) + rng.normal(scale=0.3, size=4)
        index = pd.date_range(f"2026-01-0{k + 1}", periods=rows, freq="10ms")
        logs.append(pd.DataFrame(values.astype(np.float32), columns=list("abcd"), index=index))
    return logs


@pytest.fixture
def trainings(monkeypatch):
    """The lengths of the logs each network of a fit trained on, in order."""
    seen = []
    real = DenseAutoencoder._fit

    def spy(self, parts, **kwargs):
        seen.append([len(Z) for Z in parts])
        return real(self, parts, **kwargs)

    monkeypatch.setattr(DenseAutoencoder, "_fit", spy)
    return seen


def test_logs_are_dealt_to_three_folds_and_each_scored_by_a_network_of_the_others(trainings):
    logs = [log.iloc[: 1000 + 100 * k] for k, log in enumerate(_sessions(4))]  # lengths tell the logs apart
    stages = []
    with observe_stages(stages.append):
        det = DenseAutoencoder(**PARAMS).fit(logs)
    assert det.held_out_logs_ == 4
    # the full network, then folds {log 0, log 3}, {log 1}, {log 2} held out in turn
    assert trainings == [[1000, 1100, 1200, 1300], [1100, 1200], [1000, 1200, 1300], [1000, 1100, 1300]]
    assert stages == [f"held-out scores: model {k} of 3" for k in (1, 2, 3)]
    # the threshold saw every row of each held-out log (not only its validation end), scored by
    # another network than the one that scores it now
    lengths = [len(log) for log in logs]
    assert len(det.decision_scores_) == sum(lengths)
    expected = QuietLogs().fit(det.decision_scores_, rules=rules_at(100.0), lengths=lengths).threshold_
    assert det.threshold_ == pytest.approx(expected)
    assert not np.allclose(det.decision_scores_[:1000], det.score(logs[0]).to_numpy(), rtol=0.05)


def test_two_logs_make_two_folds_and_one_log_none(trainings):
    logs = _sessions(2)
    assert DenseAutoencoder(**PARAMS).fit(logs).held_out_logs_ == 2
    assert trainings == [[1500, 1500], [1500], [1500]]
    trainings.clear()
    det = DenseAutoencoder(**PARAMS).fit(logs[0])
    assert det.held_out_logs_ == 0 and trainings == [[1500]]  # one log: its own held-out end (validation part)


def test_the_cli_progress_opens_a_line_per_cross_fitted_network_and_none_for_pca():
    from anomaly.cli.progress import epochs_progress
    from anomaly.progress import report_stage

    lines = []

    def step(description, total=None):
        lines.append((description, total))
        return lambda n=1: None

    with epochs_progress(step, "fitting dense-ae", 6):
        report_stage("held-out scores: model 1 of 3")
    with epochs_progress(step, "fitting pca", None):
        report_stage("held-out scores: model 1 of 9")
    assert lines == [("fitting dense-ae", 6), ("held-out scores: model 1 of 3", 6), ("fitting pca", None)]


def test_logs_too_short_to_split_are_named_once_per_network(caplog):
    logs = [log.iloc[:600] for log in _sessions(2)]  # a validation part needs 1,000 rows at 10 %
    with caplog.at_level("WARNING", logger="anomaly.detectors.keras_window"):
        DenseAutoencoder(**PARAMS).fit(logs)
    messages = [r.getMessage() for r in caplog.records if "validation split" in r.getMessage()]
    assert messages == ["too little data for a validation split in 2 of 2 logs (600 rows at most); training on all of their rows",
                        *["too little data for a validation split in 1 of 1 logs (600 rows at most); training on all of their rows"] * 2]
