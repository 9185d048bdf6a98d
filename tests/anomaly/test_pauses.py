"""A pause in the timestamps starts a new scoring pass, on every path, in fitting too."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke
from numpy.testing import assert_allclose
from pass_checks import assert_paths_agree

import anomaly
from anomaly.errors import DataError
from anomaly.pauses import is_pause, pass_slices, pause_length
from datasets.robot_arm import simulate
from pipelines.batch import iter_scores
from pipelines.stream.scorer import StreamScorer

PAUSE = pd.Timedelta(minutes=10)


def after_a_pause(first: pd.DataFrame, second: pd.DataFrame, pause=PAUSE) -> pd.DataFrame:
    """One log: ``first``, then ``second`` moved to start ``pause`` after the last row of ``first``."""
    second = second.set_axis(second.index - second.index[0] + first.index[-1] + pause)
    return pd.concat([first, second])


@pytest.fixture(scope="module")
def sessions():
    """A warm session and, after a 10-minute cool-down, a session that starts cold (ambient 28 degC)."""
    warm = simulate(60, seed=3, ambient_c=28.0).frame
    cold = simulate(60, seed=4, ambient_c=28.0, cold_start=True).frame
    return warm, cold


@pytest.fixture(scope="module")
def pca():
    return anomaly.PCADetector().fit([simulate(120, seed=s, ambient_c=28.0).frame for s in (0, 1)])


def test_pass_slices_split_at_a_minute_and_a_hundred_periods():
    index = pd.DatetimeIndex(["2026-01-01 00:00:00", "2026-01-01 00:00:00.01", "2026-01-01 00:00:59.99",
                              "2026-01-01 00:01:59.99", "2026-01-01 00:02:00"])
    assert pass_slices(index, 100.0) == [slice(0, 3), slice(3, 5)]  # 59.98 s is no pause, 60 s is
    assert pass_slices(index, 1.0) == [slice(0, 5)]  # at 1 Hz a pause is 100 s
    assert pass_slices(index, None) == [slice(0, 5)]
    assert pass_slices(pd.RangeIndex(5), 100.0) == [slice(0, 5)]
    pause = pause_length(100.0)
    assert pause == pd.Timedelta(seconds=60) and pause_length(1.0) == pd.Timedelta(seconds=100) and pause_length(None) is None
    assert is_pause(index[2], index[3], pause) and not is_pause(index[1], index[2], pause)
    assert not is_pause(None, index[0], pause) and not is_pause(0, 10_000, pause) and not is_pause(index[0], index[4], None)
    # numbers that are times: epoch nanoseconds, seconds with a fraction; step numbers are not
    assert is_pause(index[2].value, index[3].value, pause) and not is_pause(index[1].value, index[2].value, pause)
    assert is_pause(0.5, 60.5, pause) and not is_pause(0.5, 60.0, pause) and not is_pause(0, 10_000, pause)
    seconds = pd.Index((index - index[0]).total_seconds() + 0.5, name="time")
    assert pass_slices(seconds, 100.0) == [slice(0, 3), slice(3, 5)]


def test_a_session_after_a_cool_down_is_scored_as_a_file_of_its_own(pca, sessions):
    """Before, the set-point temperatures of the cold session were measured against the warm
    session's start: its whole second half was in alarm."""
    warm, cold = sessions
    log = after_a_pause(warm, cold)
    alone = np.concatenate([pca.score(warm).to_numpy(), pca.score(cold).to_numpy()])
    assert_allclose(pca.score(log).to_numpy(), alone, rtol=1e-6)
    assert pca.predict(log).mean() < 0.02
    # a short stop (30 s) is not a pause: one pass, the cold rows against the warm start
    assert pca.predict(after_a_pause(warm, cold, pd.Timedelta(seconds=30))).iloc[len(warm):].mean() > 0.5


@pytest.mark.parametrize("params", [{}, {"smooth": 50, "adapt": 300}])
def test_every_path_starts_a_new_pass_at_the_pause(params, sessions, tmp_path):
    det = anomaly.PCADetector(**params).fit([simulate(120, seed=s, ambient_c=28.0).frame for s in (0, 1)])
    log = after_a_pause(*sessions)
    assert_paths_agree(det, log, tmp_path, chunk_rows=2500)  # the pause inside a block
    assert_paths_agree(det, log, tmp_path, chunk_rows=len(sessions[0]))  # the pause between two blocks


def test_a_threshold_with_state_restarts_at_the_pause(sessions, tmp_path):
    """Dynamic's EWMA of the scores starts afresh in each session, in batch and block by block:
    before, a high score just before the pause still raised the smoothed level after it."""
    det = anomaly.PCADetector(threshold=anomaly.thresholds.Dynamic(window=500)).fit(
        [simulate(120, seed=s, ambient_c=28.0).frame for s in (0, 1)])
    warm, cold = sessions
    log = after_a_pause(warm, cold)
    alone = np.concatenate([det.predict(warm).to_numpy(), det.predict(cold).to_numpy()])
    np.testing.assert_array_equal(det.predict(log).to_numpy(), alone)
    np.testing.assert_array_equal(det.evaluate_frame(log)[2].to_numpy(), alone)
    path = tmp_path / "log.csv"
    log.to_csv(path)
    for rows in (2500, len(warm)):  # the pause inside a block, between two blocks
        blocks = np.concatenate([flags.to_numpy() for _, _, flags in iter_scores(det, path, chunk_rows=rows)])
        np.testing.assert_array_equal(blocks, alone)


def test_a_window_model_warms_up_again_after_the_pause(sessions, tmp_path):
    """Sessions shorter than one window (a stray row an hour before the training log, three rows
    after the test log's last pause) are no error: their rows get error 0, the stream skips them."""
    warm, cold = sessions
    training = simulate(60, seed=0, ambient_c=28.0).frame
    det = anomaly.DenseAutoencoder(window=8, hidden=(16,), latent=4, epochs=1, random_state=0).fit(
        after_a_pause(training.iloc[:1], training.iloc[1:], pd.Timedelta(hours=1)))
    log = after_a_pause(after_a_pause(warm, cold), cold.iloc[:3])
    streamed = det.score_stream(log).to_numpy()
    assert np.isnan(streamed[len(warm) : len(warm) + 7]).all() and np.isfinite(streamed[len(warm) + 7])
    assert np.isnan(streamed[-3:]).all()
    scorer, pushed = StreamScorer(det), np.full(len(log), np.nan)
    for row, (timestamp, values) in enumerate(zip(log.index, log.to_numpy())):
        if (step := scorer.push(timestamp, values)) is not None:
            pushed[row] = step.scores[0]
    assert_allclose(pushed, streamed, rtol=1e-5, atol=1e-7)
    whole = det.score(log).to_numpy()
    alone = [det.score(warm).to_numpy(), det.score(cold).to_numpy(), np.zeros(3)]
    assert_allclose(whole, np.concatenate(alone), rtol=1e-5, atol=1e-7)
    with pytest.raises(DataError, match="fewer than one window of 8 rows"):
        det.score(cold.iloc[:3])  # a whole input shorter than one window is an error
    with pytest.raises(DataError, match="every training log is shorter than one window of 8 rows"):
        anomaly.DenseAutoencoder(window=8, epochs=1).fit([training.iloc[:5], training.iloc[5:10]])
    log.to_csv(tmp_path / "log.csv", index_label="timestamp")
    chunked = [s for _, s, _ in iter_scores(det, tmp_path / "log.csv", timestamp="timestamp", chunk_rows=1001)]
    assert_allclose(pd.concat(chunked).to_numpy(), whole, rtol=1e-5, atol=1e-7)


def test_a_training_log_with_a_pause_fits_as_two_sessions(sessions):
    warm, cold = sessions
    joined = anomaly.PCADetector().fit(after_a_pause(warm, cold))
    separate = anomaly.PCADetector().fit([warm, cold])
    assert joined.threshold_ == pytest.approx(separate.threshold_)
    assert_allclose(joined.decision_scores_, separate.decision_scores_, rtol=1e-6)


def test_cli_fit_names_the_sessions_and_score_keeps_the_second_quiet(sessions, tmp_path):
    warm, cold = sessions
    after_a_pause(warm, cold).to_csv(tmp_path / "paused.csv", index_label="timestamp")
    result = invoke("fit", tmp_path / "paused.csv", "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert "1 gap (largest 600 s), 1 of them a pause: fitted as 2 sessions" in result.output
    assert json.loads((tmp_path / "m" / "training_report.json").read_text())["logs"][0]["pauses"] == 1
    simulate(120, seed=0, ambient_c=28.0).frame.to_csv(tmp_path / "normal.csv", index_label="timestamp")
    result = invoke("fit", tmp_path / "normal.csv", "-o", tmp_path / "m0")
    assert result.exit_code == 0 and "(sampled at 100 Hz)" in result.output, result.output
    result = invoke("score", tmp_path / "paused.csv", "-m", tmp_path / "m0", "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "s.csv")["flag"].mean() < 0.02


def test_numeric_timestamps_score_as_datetimes_do(pca, sessions, tmp_path):
    """Epoch seconds in a ``time`` column: the same rate, passes and scores as the datetimes,
    and the score file keeps the numbers."""
    log = after_a_pause(*sessions)
    numeric = log.set_axis(pd.Index(log.index.asi8 / 1e9, name="time"))
    assert_allclose(pca.score(numeric).to_numpy(), pca.score(log).to_numpy(), rtol=1e-6)
    fitted = anomaly.PCADetector().fit(numeric)
    assert fitted.schema_.sampling_rate == pytest.approx(100.0, rel=1e-4)
    assert fitted.threshold_ == pytest.approx(anomaly.PCADetector().fit(log).threshold_, rel=1e-6)
    assert_paths_agree(pca, numeric, tmp_path, chunk_rows=2500)
    numeric.to_csv(tmp_path / "numeric.csv")
    pca.save(tmp_path / "m")
    result = invoke("score", tmp_path / "numeric.csv", "-m", tmp_path / "m", "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "s.csv")
    assert_allclose(written["time"].to_numpy(), numeric.index.to_numpy())
    assert "sampled at" not in result.output  # the rate is the model's


def _two_sessions_of_scores(high_first, high_second) -> pd.Series:
    """Scores of two 300-row sessions at 100 Hz, 10 minutes apart: 2.0 on the given rows of each, else 0.1."""
    first = pd.date_range("2026-01-01", periods=300, freq="10ms")
    second = pd.date_range(first[-1] + PAUSE, periods=300, freq="10ms")
    values = np.full(600, 0.1)
    values[list(high_first)] = 2.0
    values[[300 + i for i in high_second]] = 2.0
    return pd.Series(values, index=first.append(second), name="score")


@pytest.mark.parametrize("high_first, high_second, expected", [
    (range(250, 300), range(0, 40), [(250, 299), (300, 339)]),  # before: one alarm across the pause (merge gap)
    (range(100, 150), range(50, 90), [(100, 149), (350, 389)]),  # before: the second held back by the cooldown
])
def test_an_alarm_ends_at_a_pause_and_neither_merge_gap_nor_cooldown_reach_across(high_first, high_second, expected):
    scores = _two_sessions_of_scores(high_first, high_second)
    found = anomaly.decisions.events(scores > 1.0, scores=scores, threshold=1.0)
    assert [(scores.index.get_loc(e.start), scores.index.get_loc(e.end)) for e in found] == expected
    logic = anomaly.decisions.AlertLogic.at_level(1.0)
    assert [(a, b) for a, b, _ in logic.alerts(scores.to_numpy(), passes=pass_slices(scores.index, 100.0))] == expected
    logic.reset()
    opened, closed = [], []
    for position, value in enumerate(scores.to_numpy()):
        if position == 300 and (change := logic.pause()) is not None:
            closed.append(change.end)
        change = logic.push(value)
        if change is not None:
            (opened if change.kind == "opened" else closed).append(change.start if change.kind == "opened" else change.end)
    if (change := logic.finish()) is not None:
        closed.append(change.end)
    assert [e for _, e in expected] == closed and len(opened) == len(expected)


def faults_across_a_pause(det, sessions, offset: float):
    """The warm session with ``offset`` A on ``j2_current`` over its last 10 s, the log of it and
    the cold session (the same offset over its first 5 s) after a pause, and the log's events
    under the model's rules: ``(warm, log, events)``."""
    warm, cold = (frame.copy() for frame in sessions)
    warm.iloc[-1000:, warm.columns.get_loc("j2_current")] += offset
    cold.iloc[:500, cold.columns.get_loc("j2_current")] += offset
    log = after_a_pause(warm, cold)
    errors, scores, flags = det.evaluate_frame(log)
    return warm, log, anomaly.decisions.events(flags, errors, scores, threshold=det.threshold_,
                                               **asdict(anomaly.decisions.model_rules(det)))


def test_a_stream_ends_an_alarm_at_a_pause_as_score_alarms_lists_it(pca, sessions, tmp_path):
    """A fault over the last 10 s of the warm session and the first 5 s after the pause: two
    alarms, the first ending at the warm session's last row, in the batch events, the stream's
    "end" messages and ``anomaly score --alarms`` alike (before: one alarm across the pause)."""
    warm, log, found = faults_across_a_pause(pca, sessions, 5.0)
    assert [e.end for e in found][:1] == [warm.index[-1]] and found[1].start > warm.index[-1]
    scorer, ends = StreamScorer(pca), []
    for timestamp, values in zip(log.index, log.to_numpy()):
        if (step := scorer.push(timestamp, values)) is not None:
            ends += [a.end for a in step.alerts if a.kind == "end"]
    ends += [a.end for a in [scorer.finish()] if a is not None]
    assert ends == [e.end for e in found]
    log.to_csv(tmp_path / "log.csv", index_label="timestamp")
    pca.save(tmp_path / "m")
    result = invoke("score", tmp_path / "log.csv", "-m", tmp_path / "m", "-o", tmp_path / "s.csv", "--alarms", tmp_path / "a.csv")
    assert result.exit_code == 0, result.output
    listed = pd.read_csv(tmp_path / "a.csv", parse_dates=["start", "end"])
    assert listed["end"].tolist() == [e.end for e in found]


def test_a_feedback_round_silences_the_false_alarms_of_each_session(pca, sessions):
    """The alarms at the end of one session and the start of the next, reviewed as false
    alarms, are two alarms (as ``score --alarms`` lists them); the round silences both."""
    from anomaly.feedback import review

    warm, log, raised = faults_across_a_pause(pca, sessions, 1.0)
    assert any(e.end <= warm.index[-1] for e in raised) and any(e.start > warm.index[-1] for e in raised)
    labels = np.full(len(log), None, dtype=object)
    for event in raised:
        labels[log.index.get_loc(event.start) : log.index.get_loc(event.end) + 1] = "normal"
    model = anomaly.PCADetector().fit([simulate(120, seed=s, ambient_c=28.0).frame for s in (0, 1)])
    model, counts = review(model, [log], [labels])
    assert counts["false_alarms_left"] == 0  # the on-delay, the threshold or both: the round changed one
    assert (counts["threshold_after"], counts["min_duration_after"]) != (counts["threshold_before"], counts["min_duration_before"])
