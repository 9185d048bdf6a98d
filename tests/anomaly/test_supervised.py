"""The supervised head: features, a threshold from out-of-fold probabilities, bad labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from anomaly.errors import ConfigError, DataError, ModelFileError
from anomaly.supervised import SupervisedDetector, load_supervised, window_features
from pipelines.stream.scorer import StreamScorer

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


@pytest.mark.parametrize("rows", [2, 5])
@pytest.mark.parametrize("newest", [1, 3])
def test_a_stream_steps_newest_window_features_are_those_of_the_whole_log(rows, newest):
    Z = np.random.default_rng(rows).standard_normal((40, 3)).astype(np.float32)
    Z[:, 2] = 0.5  # a constant channel: no range, no spread
    whole = window_features(Z, rows)
    step = Z[len(Z) - rows - newest:]  # what a stream step reads: the window and one row more
    assert_allclose(window_features(step, rows, newest=newest), whole[-newest:], rtol=1e-6, atol=1e-7)
    assert_allclose(window_features(Z, rows, newest=len(Z)), whole)  # too few rows before them: the rolling path


def test_flags_an_unseen_fault_and_stays_quiet_on_an_unseen_normal_log(fitted):
    frame, labels = _log(7, (1500, 2200))
    flags = fitted.predict(frame).to_numpy()
    assert flags[labels.to_numpy()].mean() > 0.8
    normal, _ = _log(8, None)
    assert fitted.predict(normal).mean() < 0.01
    assert 0.0 < fitted.threshold_ < 1.0
    assert fitted.validation_["false_alarms_per_hour"] <= 2.0


def test_the_novelty_path_flags_a_fault_the_labels_never_showed(fitted):
    frame, _ = _log(7, None)
    frame.iloc[1000:1600, 0] += 0.5  # channel a: no labelled fault moved it
    plain = SupervisedDetector(target_fa_per_hour=2.0, max_iter=50, folds=3, window=10, novelty=False)
    logs = [_log(s, None if s < 2 else (1000 + 100 * s, 1600 + 100 * s)) for s in range(6)]
    plain.fit([f for f, _ in logs], [y for _, y in logs])
    assert plain.novelty_scale_ is None and fitted.novelty_scale_ > 0
    with_path, without = fitted.predict(frame).to_numpy(), plain.predict(frame).to_numpy()
    assert with_path[1000:1600].mean() > max(0.3, 2 * without[1000:1600].mean())
    normal = fitted.predict(_log(8, None)[0]).to_numpy()
    assert normal.mean() < 0.01  # within the budget it shares with the classifier
    scores = fitted.evaluate_frame(frame)[1].to_numpy()
    detector = fitted.detector_.score(frame).to_numpy()
    assert_allclose(scores, np.maximum(fitted.predict_proba(frame).to_numpy(), detector / fitted.novelty_scale_), rtol=1e-5)


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


def test_a_fold_that_trains_on_one_class_is_refused():
    logs = [_log(s, None if s == 0 else (500, 900)) for s in range(2)]  # 2 logs, 3 folds: time blocks; the fault is in block 1 only
    with pytest.raises(DataError, match="fold 1 of 3 trains on one class"):
        SupervisedDetector(folds=3, max_iter=5).fit([f for f, _ in logs], [y for _, y in logs])
    with pytest.raises(ConfigError, match="folds"):
        SupervisedDetector(folds=1, max_iter=5).fit([f for f, _ in logs], [y for _, y in logs])
    with pytest.raises(ConfigError, match="window=1 must be an integer >= 2"):
        SupervisedDetector(window=1, max_iter=5).fit([f for f, _ in logs], [y for _, y in logs])


def test_one_log_is_split_into_time_ordered_folds():
    frame, labels = _log(3, None)
    y = labels.to_numpy().copy()
    for start in (400, 1400, 2400):
        y[start:start + 300] = True
        frame.iloc[start:start + 300, 1] *= 2.0
    head = SupervisedDetector(max_iter=30, folds=3, window=10).fit([frame], [y])
    assert head.validation_["logs_with_faults_flagged"] == 1.0
    test, test_labels = _log(11, (900, 1500))
    assert head.predict(test).to_numpy()[test_labels.to_numpy()].mean() > 0.5


def test_unlabelled_rows_are_left_out_and_text_labels_name_fault_types():
    logs, labels = [], []
    for seed in range(4):
        frame, _ = _log(seed, None)
        y = np.full(len(frame), "normal", dtype=object)
        frame.iloc[600:1000, 1] *= 2.5                      # "amplitude" fault on b
        y[600:1000] = "amplitude"
        frame.iloc[1800:2200, 2] += 1.5                     # "offset" fault on c
        y[1800:2200] = "offset"
        y[2600:2800] = None                                  # unreviewed stretch
        logs.append(frame)
        labels.append(y)
    head = SupervisedDetector(max_iter=30, window=10).fit(logs, labels)
    assert len(head.training_["labels"]) == 4 * (3000 - 200)
    assert set(head.training_["labels"]) == {"normal", "amplitude", "offset"}
    test, _ = _log(12, None)
    test.iloc[500:900, 2] += 1.5
    kinds = head.predict_type(test).to_numpy()
    assert (kinds[520:900] == "offset").mean() > 0.8
    assert head.predict(test).to_numpy()[520:900].mean() > 0.8


def test_fault_types_need_two_labels(fitted):
    with pytest.raises(ConfigError, match="one kind of fault"):
        fitted.predict_type(_log(9, None)[0])


def test_stream_scores_equal_batch_scores(fitted):
    frame, _ = _log(7, (1500, 2200))
    _, batch, flags = fitted.evaluate_frame(frame)
    values = frame.to_numpy(np.float32)
    rows = fitted.stream_rows(5)
    for end in (rows, 1600, 3000):
        errors, probability = fitted.score_newest(values[:end], 5)
        assert errors.shape == (5, 3)
        assert_allclose(probability, batch.to_numpy()[end - 5:end], rtol=1e-5, atol=1e-7)
    errors, probability = fitted.score_newest(values[:1600], 5, groups=30)  # a stream catching up
    assert errors.shape == (150, 3)
    assert_allclose(probability, batch.to_numpy()[1450:1600], rtol=1e-5, atol=1e-7)
    assert flags.equals(fitted.predict(frame).rename("flag"))


def test_save_and_load_predict_the_same_without_scikit_learn(fitted, tmp_path):
    import subprocess
    import sys

    frame, _ = _log(7, (1500, 2200))
    fitted.save(tmp_path / "head")
    loaded = load_supervised(tmp_path / "head")
    assert_allclose(loaded.predict_proba(frame).to_numpy(), fitted.predict_proba(frame).to_numpy(), rtol=1e-12)
    assert loaded.threshold_ == fitted.threshold_ and loaded.window == fitted.window
    assert loaded.novelty_scale_ == fitted.novelty_scale_
    assert_allclose(loaded.evaluate_frame(frame)[1].to_numpy(), fitted.evaluate_frame(frame)[1].to_numpy(), rtol=1e-12)
    assert_allclose(loaded.training_["X"], fitted.training_["X"])
    frame.to_csv(tmp_path / "frame.csv", index_label="timestamp")
    code = ("import sys, pandas as pd\nfrom anomaly.supervised import load_supervised\n"
            f"f = pd.read_csv(r'{tmp_path / 'frame.csv'}', index_col=0, parse_dates=True)\n"
            f"p = load_supervised(r'{tmp_path / 'head'}').predict_proba(f)\n"
            "print(float(p.sum()), 'sklearn' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) == pytest.approx(fitted.predict_proba(frame).sum(), rel=1e-6) and out[1:] == ["False", "False"]


def test_a_head_saved_before_the_novelty_path_scores_by_its_probability(fitted, tmp_path):
    import json

    fitted.save(tmp_path / "head")
    meta = json.loads((tmp_path / "head" / "supervised.json").read_text())
    del meta["novelty_scale"]
    meta["format_version"] = 2
    (tmp_path / "head" / "supervised.json").write_text(json.dumps(meta))
    old = load_supervised(tmp_path / "head")
    frame, _ = _log(7, (1500, 2200))
    assert old.novelty_scale_ is None and old.novelty is False
    assert_allclose(old.evaluate_frame(frame)[1].to_numpy(), fitted.predict_proba(frame).to_numpy(), rtol=1e-12)


def test_a_damaged_saved_head_raises_model_file_error(fitted, tmp_path):
    fitted.save(tmp_path / "head")
    (tmp_path / "head" / "supervised.json").write_text("{not json")
    with pytest.raises(ModelFileError):
        load_supervised(tmp_path / "head")


def test_a_stream_of_a_head_measures_set_point_channels_from_its_first_row():
    """A white-noise channel is a set-point channel of the detector under the head: batch and
    stream measure it against the same first rows."""
    def with_set_point(seed, fault):
        frame, labels = _log(seed, fault)
        noise = np.random.default_rng(100 + seed).standard_normal(len(frame))
        return frame.assign(temp=40.0 + seed + 0.05 * noise), labels  # another level in every log

    logs = [with_set_point(s, None if s < 2 else (1000 + 100 * s, 1600 + 100 * s)) for s in range(6)]
    head = SupervisedDetector(target_fa_per_hour=2.0, max_iter=20, folds=3, window=10)
    head.fit([f for f, _ in logs], [y for _, y in logs])
    assert [head.detector_.schema_.channels[i] for i in head.detector_.conditions_.setpoints] == ["temp"]
    frame = with_set_point(7, (1500, 2200))[0]
    batch = head.evaluate_frame(frame)[1].to_numpy()
    scorer, streamed = StreamScorer(head), []
    for timestamp, row in zip(frame.index, frame.to_numpy()):
        if (step := scorer.push(timestamp, row)) is not None:
            streamed.extend(step.scores)
    assert_allclose(streamed, batch[len(batch) - len(streamed):], rtol=1e-5, atol=1e-7)


def test_a_pause_starts_a_new_pass_of_the_head_in_batch_and_stream():
    """After a 10-minute pause the set-point channel sits at another level: batch and stream
    both measure it from the new session's first rows (the batch scores every row, the stream
    warms up again)."""
    def with_set_point(seed, fault, level):
        frame, labels = _log(seed, fault)
        noise = np.random.default_rng(100 + seed).standard_normal(len(frame))
        return frame.assign(temp=level + 0.05 * noise), labels

    logs = [with_set_point(s, None if s < 2 else (1000 + 100 * s, 1600 + 100 * s), 40.0 + s) for s in range(6)]
    head = SupervisedDetector(target_fa_per_hour=2.0, max_iter=20, folds=3, window=10)
    head.fit([f for f, _ in logs], [y for _, y in logs])
    first, second = with_set_point(7, None, 44.0)[0], with_set_point(8, (1500, 2200), 38.0)[0]
    second = second.set_axis(second.index - second.index[0] + first.index[-1] + pd.Timedelta(minutes=10))
    frame = pd.concat([first, second])
    batch = head.evaluate_frame(frame)[1].to_numpy()
    assert_allclose(batch[len(first):], head.evaluate_frame(second)[1].to_numpy(), rtol=1e-6)
    scorer, streamed = StreamScorer(head), np.full(len(frame), np.nan)
    for row, (timestamp, values) in enumerate(zip(frame.index, frame.to_numpy())):
        if (step := scorer.push(timestamp, values)) is not None:
            streamed[row] = step.scores[0]
    warm_up = head.stream_rows(1) - 1
    assert np.isnan(streamed[len(first) : len(first) + warm_up]).all()
    scored = np.isfinite(streamed)
    assert scored.sum() == len(frame) - 2 * warm_up
    assert_allclose(streamed[scored], batch[scored], rtol=1e-5, atol=1e-7)
