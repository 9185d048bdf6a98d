"""ErrorClassifier and the event features it learns from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.classify import EVENT_STATISTICS, ErrorClassifier, detector_event_features, event_features, segment_features
from anomaly.detectors.pca import PCADetector
from anomaly.errors import ConfigError, DataError, NotFittedError


def frames(n=200, c=3, seed=0):
    rng = np.random.default_rng(seed)
    cols = [f"c{i}" for i in range(c)]
    return pd.DataFrame(rng.random((n, c)), columns=cols), pd.DataFrame(rng.standard_normal((n, c)), columns=cols)


def test_features_by_hand():
    errors = pd.DataFrame({"a": [0.0, 1.0, 3.0, 0.0], "b": [0.0, 1.0, 1.0, 0.0]})
    scaled = pd.DataFrame({"a": [0.0, 2.0, 4.0, 0.0], "b": [0.0, 1.0, 1.0, 0.0]})
    row = segment_features(errors, scaled, [(1, 3)]).iloc[0]
    assert row["error_mean:a"] == 2.0 and row["error_peak:a"] == 3.0
    assert row["error_share:a"] == pytest.approx(4 / 6) and row["error_share:b"] == pytest.approx(2 / 6)
    assert row["signal_mean:a"] == 3.0 and row["signal_std:a"] == 1.0 and row["length"] == 2
    ranked = segment_features(errors, scaled, [(1, 3)], ranked=1).iloc[0]
    assert list(ranked.index) == [f"{s}:rank1" for s in ("error_mean", "error_peak", "error_share", "signal_mean", "signal_std")] + ["length"]
    assert ranked["error_mean:rank1"] == 2.0


def test_ranked_features_do_not_depend_on_which_channel():
    errors, scaled = frames()
    swapped = segment_features(errors[["c1", "c0", "c2"]].set_axis(errors.columns, axis=1),
                               scaled[["c1", "c0", "c2"]].set_axis(scaled.columns, axis=1), [(10, 50)], ranked=3)
    np.testing.assert_allclose(swapped.to_numpy(), segment_features(errors, scaled, [(10, 50)], ranked=3).to_numpy())


def test_classifier_learns_separable_fault_types():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((120, 4)), columns=list("wxyz"))
    y = np.where(X["w"] > 0, "collision", "friction")
    clf = ErrorClassifier().fit(X.iloc[:80], y[:80])
    assert (clf.predict(X.iloc[80:]) == y[80:]).mean() > 0.9
    assert clf.predict_proba(X.iloc[80:]).shape == (40, 2) and list(clf.classes_) == ["collision", "friction"]


def test_errors():
    X = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(NotFittedError):
        ErrorClassifier().predict(X)
    with pytest.raises(DataError, match="at least two fault types"):
        ErrorClassifier().fit(X, ["x", "x"])
    with pytest.raises(DataError, match="as many labels"):
        ErrorClassifier().fit(X, ["x"])
    errors, scaled = frames()
    with pytest.raises(DataError, match="outside the 200 rows"):
        segment_features(errors, scaled, [(190, 210)])
    clf = ErrorClassifier().fit(pd.DataFrame({"a": [0.0, 1.0, 0.1, 0.9]}), ["x", "y", "x", "y"])
    with pytest.raises(DataError, match="feature columns differ"):
        clf.predict(pd.DataFrame({"b": [0.5]}))


def one_event(calibrated, scaled, segment=(6, 10), **options):
    return event_features(pd.DataFrame(calibrated), pd.DataFrame(scaled), [segment], **options).iloc[0]


def test_event_features_by_hand():
    n = 12
    calibrated = {"a": [0.5] * 6 + [1.0, 2.0, 3.0, 4.0] + [0.0] * 2, "b": [0.0] * n}
    # a: level 1 before the event, a ramp 2, 4, 6, 8 in it; b: noise that freezes in the event
    scaled = {"a": [1.0] * 6 + [2.0, 4.0, 6.0, 8.0] + [0.0] * 2, "b": [1.0, -1.0] * 3 + [0.0] * 6}
    row = one_event(calibrated, scaled, window=2, before=4, history=6)
    assert row["error_mean:a"] == 2.5 and row["error_peak:a"] == 4.0 and row["error_last:a"] == 3.5
    assert row["error_change:a"] == pytest.approx(2.5 - 0.5)  # against the 4 rows before the start
    assert row["error_trend:a"] == pytest.approx(3.0)  # 1 -> 4 over the event
    assert row["error_history_mean:a"] == pytest.approx(0.5) and row["error_history_peak:a"] == pytest.approx(0.5)
    # window level (2 rows): 1.5, 3, 5, 7 in the event; last 7; baseline 1
    assert row["level_change:a"] == pytest.approx(4.125 - 1.0) and row["level_last_change:a"] == pytest.approx(6.0)
    assert row["slope_last:a"] == pytest.approx(1.0) and row["range_peak:a"] == pytest.approx(2.0)
    assert row["trend:a"] == pytest.approx(6.0)  # 2 -> 8
    before_std = np.std(np.diff([1.0, -1.0, 1.0, -1.0]))
    assert row["fast_ratio:b"] == pytest.approx(np.log(1e-3 / (before_std + 1e-3)))  # frozen: the fast std collapses
    assert row["fast_ratio:a"] == 0.0 and row["length"] == 4  # a ramp has no fast energy, nor had its flat baseline
    assert list(row.index) == [f"{s}:{c}" for s in EVENT_STATISTICS for c in "ab"] + ["length"]


def test_event_features_measure_change_not_level():
    """A fault is a change against the rows before it: an offset of the whole series (another
    operating condition) leaves the change features alone but moves the earlier signal_mean."""
    errors, scaled = frames()
    scaled.iloc[120:160, 1] += 3.0  # a step in c1 during the event
    shifted = scaled + 5.0
    base = event_features(errors, scaled, [(120, 160)])
    moved = event_features(errors, shifted, [(120, 160)])
    assert base["level_change:c1"].iloc[0] > 1.5 and abs(base["level_change:c0"].iloc[0]) < 0.6
    pd.testing.assert_frame_equal(base, moved, atol=1e-5)
    assert segment_features(errors, shifted, [(120, 160)])["signal_mean:c1"].iloc[0] == pytest.approx(
        segment_features(errors, scaled, [(120, 160)])["signal_mean:c1"].iloc[0] + 5.0)


def test_grouped_event_features_pool_channels_of_a_group():
    errors, scaled = frames(c=4)
    groups = {"c0": "g", "c1": "g", "c2": "g", "c3": "h"}
    table = event_features(errors, scaled, [(20, 60), (100, 150)], groups=groups)
    per_channel = event_features(errors, scaled, [(20, 60), (100, 150)])
    np.testing.assert_allclose(table["error_mean:max:g"], per_channel[["error_mean:c0", "error_mean:c1", "error_mean:c2"]].max(axis=1))
    np.testing.assert_allclose(table["trend:min:all"], per_channel[[f"trend:c{i}" for i in range(4)]].min(axis=1))
    assert "error_mean:min:g" not in table  # non-negative statistics pool by their maximum only
    assert (table["active:h"] == (per_channel["error_mean:c3"] > 1)).all()
    n_signed = sum(EVENT_STATISTICS.values())
    assert table.shape == (2, 3 * (len(EVENT_STATISTICS) + n_signed + 1) + 1)
    # the same event on another channel of the group: the same grouped features, other per-channel ones
    swap = ["c1", "c0", "c2", "c3"]
    swapped = (errors[swap].set_axis(errors.columns, axis=1), scaled[swap].set_axis(scaled.columns, axis=1))
    pd.testing.assert_frame_equal(event_features(*swapped, [(20, 60), (100, 150)], groups=groups), table)
    assert not np.allclose(event_features(*swapped, [(20, 60), (100, 150)]), per_channel)


def test_event_feature_errors():
    errors, scaled = frames()
    with pytest.raises(DataError, match="no group for channels"):
        event_features(errors, scaled, [(10, 20)], groups={"c0": "g"})
    with pytest.raises(DataError, match="'all'"):
        event_features(errors, scaled, [(10, 20)], groups={"c0": "all", "c1": "g", "c2": "g"})
    with pytest.raises(DataError, match="outside the 200 rows"):
        event_features(errors, scaled, [(190, 210)])
    with pytest.raises(DataError, match="share index"):
        event_features(errors, scaled.iloc[1:], [(10, 20)])
    with pytest.raises(ConfigError, match="window"):
        event_features(errors, scaled, [(10, 20)], window=0)
    assert event_features(errors, scaled, []).shape == (0, 3 * len(EVENT_STATISTICS) + 1)
    row = event_features(errors, scaled, [(0, 1)]).iloc[0]  # an event at the first row: its own baseline
    assert np.isfinite(row.to_numpy()).all() and row["level_change:c0"] == pytest.approx(0.0, abs=1e-6)


def test_detector_event_features_use_calibrated_errors():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.standard_normal((400, 3)), columns=["x", "y", "z"])
    det = PCADetector(aggregate="calibrated", statistic="spe").fit(frame)
    errors = det.errors(frame)
    scaled = pd.DataFrame(det.scaler_.transform(frame.to_numpy(np.float32)), index=frame.index, columns=errors.columns)
    expected = event_features(errors / det.head_.scale_, scaled, [(50, 90)], window=10)
    pd.testing.assert_frame_equal(detector_event_features(det, frame, [(50, 90)], window=10), expected, rtol=1e-6)


def test_grouped_features_carry_a_fault_type_to_an_unseen_channel():
    """Steps and noise bursts on channels c0, c1 teach the classifier; the test events are on c2
    (same group), which it never saw faulty: the grouped layout still names them."""
    rng = np.random.default_rng(0)
    channels = ["c0", "c1", "c2"]

    def events(channel, count):
        tables, kinds = [], []
        for i in range(count):
            scaled = pd.DataFrame(rng.standard_normal((300, 3)) * 0.1, columns=channels)
            errors = pd.DataFrame(rng.random((300, 3)) * 0.5, columns=channels)
            kind = ("step", "burst")[i % 2]
            if kind == "step":
                scaled.loc[200:, channel] += rng.uniform(1.0, 3.0)
            else:
                scaled.loc[200:, channel] += rng.standard_normal(100) * rng.uniform(1.0, 3.0)
            errors.loc[200:, channel] += rng.uniform(1.0, 3.0)
            tables.append(event_features(errors, scaled, [(200, 300)], groups=dict.fromkeys(channels, "g")))
            kinds.append(kind)
        return pd.concat(tables, ignore_index=True), kinds

    X_train, y_train = zip(*(events(c, 30) for c in ("c0", "c1")))
    X_test, y_test = events("c2", 20)
    clf = ErrorClassifier().fit(pd.concat(X_train, ignore_index=True), y_train[0] + y_train[1])
    assert (clf.predict(X_test) == np.array(y_test)).mean() == 1.0
