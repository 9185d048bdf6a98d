"""PCA specifics: component cap, T-squared and SPE against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from anomaly import PCADetector, Percentile, load
from anomaly.errors import ConfigError, DataError


def test_components_are_capped_below_channel_count():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((500, 4)), columns=list("abcd"))  # uncorrelated: 95 % needs all 4
    det = PCADetector(n_components=0.95).fit(frame)
    assert det.n_components_ == 3
    assert det.score(frame).mean() > 1e-3  # not rounding noise
    assert PCADetector(n_components=10).fit(frame).n_components_ == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, "x", True])
def test_bad_n_components(bad, normal_frame):
    with pytest.raises(ConfigError, match="n_components="):
        PCADetector(n_components=bad).fit(normal_frame)


def test_statistics_match_sklearn(normal_frame):
    det = PCADetector(n_components=2, scaling="none").fit(normal_frame)
    ref = PCA(n_components=2, svd_solver="full").fit(normal_frame.to_numpy(np.float64))
    x = normal_frame.to_numpy(np.float64)
    latent = ref.transform(x)
    residual = x - ref.inverse_transform(latent)
    assert_allclose(det.spe(normal_frame), (residual**2).sum(axis=1), rtol=1e-3, atol=1e-6)
    assert_allclose(det.t_squared(normal_frame), (latent**2 / ref.explained_variance_).sum(axis=1), rtol=1e-3)
    spe_only = PCADetector(n_components=2, scaling="none", statistic="spe").fit(normal_frame)
    assert_allclose(spe_only.errors(normal_frame).to_numpy(), residual**2, rtol=1e-3, atol=1e-6)
    # combined: each channel's squared residual and reconstruction-based T-squared contribution
    # (D x)_j^2 / D_jj, D = P diag(1 / variance) P^T, each over its statistic's training 99th percentile
    D = (ref.components_.T / ref.explained_variance_) @ ref.components_
    contributions = ((x - ref.mean_) @ D) ** 2 / np.diag(D)
    spe_limit, t2_limit = det.limits_
    errors = residual**2 / spe_limit + contributions / t2_limit
    assert_allclose(det.errors(normal_frame).to_numpy(), errors, rtol=2e-3, atol=1e-6)
    two_limits = np.maximum((residual**2).sum(axis=1) / spe_limit, (latent**2 / ref.explained_variance_).sum(axis=1) / t2_limit)
    # and each channel's error over its own 99.99th training percentile (the channel limits)
    assert_allclose(det.channel_limits_, np.percentile(errors, 99.99, axis=0), rtol=5e-3)
    assert_allclose(det.score(normal_frame).to_numpy(), np.maximum(two_limits, (errors / det.channel_limits_).max(axis=1)), rtol=2e-3)
    without = PCADetector(n_components=2, scaling="none", channel_limit=None).fit(normal_frame)
    assert without.channel_limits_ is None
    assert_allclose(without.score(normal_frame).to_numpy(), two_limits, rtol=2e-3)


def test_channel_limit_sees_a_slipping_gripper():
    """The simulated arm's slipping gripper (holding current at ~55 %, oscillating) stays below
    the SPE and T-squared limits, which sum over all 28 channels; the channel limits see it."""
    from datasets.robot_arm import simulate

    train = simulate(300, faults=(), seed=0, ambient_c=28).frame
    run = simulate(120, faults=["gripper_slip"], seed=8, ambient_c=28)
    inside = np.zeros(len(run.frame), dtype=bool)
    for fault in run.faults:
        inside |= (run.frame.index >= fault.start) & (run.frame.index <= fault.end)

    def flagged(det):  # the model's own limits (the oscillation check sees the slip's swing too)
        flags = det.without_sensor_checks(("oscillation",)).predict(run.frame).to_numpy()
        return flags[inside].mean(), flags[~inside].mean()

    fault, normal = flagged(PCADetector().fit(train))
    assert fault > 5 * normal and fault > 0.03
    fault, normal = flagged(PCADetector(channel_limit=None).fit(train))
    assert fault < 2 * normal


@pytest.mark.parametrize("bad", [0, -1, 101, "x", True])
def test_bad_channel_limit(bad, normal_frame):
    with pytest.raises(ConfigError, match="channel_limit="):
        PCADetector(channel_limit=bad).fit(normal_frame)


def test_model_saved_without_channel_limits_scores_as_before(tmp_path, normal_frame):
    plain = PCADetector(channel_limit=None).fit(normal_frame)
    plain.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "detector.json"
    meta = json.loads(meta_path.read_text())
    del meta["params"]["channel_limit"]  # as saved before the parameter existed
    meta_path.write_text(json.dumps(meta))
    det = PCADetector().fit(normal_frame)
    det.save(tmp_path / "new")
    loaded, again = load(tmp_path / "m"), load(tmp_path / "new")
    assert loaded.channel_limits_ is None and loaded.channel_limit is None
    assert_allclose(loaded.score(normal_frame), plain.score(normal_frame))
    assert_allclose(again.channel_limits_, det.channel_limits_)
    assert_allclose(again.score(normal_frame), det.score(normal_frame))


def test_t_squared_sees_in_subspace_shift_that_spe_misses(normal_frame):
    det = PCADetector(n_components=1).fit(normal_frame)
    frame = normal_frame.copy()
    frame.iloc[1000:1100] *= 4.0  # along the correlation structure: large T-squared, little residual
    labels = np.zeros(len(frame), dtype=bool)
    labels[1000:1100] = True
    t2 = det.t_squared(frame)
    assert t2[labels].mean() > 5 * t2[~labels].mean()
    combined = PCADetector(n_components=1, statistic="combined").fit(normal_frame).score(frame).to_numpy()
    assert roc_auc_score(labels, combined) > 0.9


def test_combined_statistic_detects_off_subspace_fault(normal_frame, faulty_frame):
    frame, labels = faulty_frame
    scores = PCADetector(statistic="combined").fit(normal_frame).score(frame).to_numpy()
    assert roc_auc_score(labels, scores) > 0.9


def test_unknown_statistic(normal_frame):
    with pytest.raises(ConfigError, match="statistic='q'"):
        PCADetector(statistic="q").fit(normal_frame)


@pytest.mark.parametrize("channels, minimum", [(3, 50), (40, 80)])  # max(50, 2 x channels)
def test_fit_refuses_fewer_rows_than_the_minimum(channels, minimum):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((minimum, channels)), columns=[f"c{i}" for i in range(channels)])
    assert PCADetector().fit(frame).threshold_ > 0
    message = rf"PCA needs at least {minimum} training rows for {channels} channels \(max\(50, 2 x channels\)\), got {minimum - 1}"
    with pytest.raises(DataError, match=message):
        PCADetector().fit(frame.iloc[1:])
    with pytest.raises(DataError, match=message):  # several logs pool their rows
        PCADetector().fit([frame.iloc[1:20], frame.iloc[20:]])


def _sessions(n_logs: int, rows: int = 2000, seed: int = 0) -> list[pd.DataFrame]:
    """Logs of 4 channels driven by 2 factors; each session adds its own mix of the factors (a
    slightly different machine state), which a PCA of that session learns by heart."""
    rng = np.random.default_rng(seed)
    logs = []
    for k in range(n_logs):
        factors = rng.normal(size=(rows, 2))
        mixing = np.array([[1.0, 0.5, 0.0, 0.3], [0.0, 0.4, 1.0, -0.6]]) + rng.normal(scale=0.25, size=(2, 4))
        values = factors @ mixing + rng.normal(scale=0.1, size=(rows, 4))
        index = pd.date_range(f"2026-01-0{k + 1}", periods=rows, freq="100ms")
        logs.append(pd.DataFrame(values, columns=list("abcd"), index=index))
    return logs


def test_threshold_of_several_logs_is_fitted_on_held_out_scores():
    logs = _sessions(5)
    det = PCADetector(n_components=2, conditions=None).fit(logs[:4])
    in_sample = np.percentile(np.concatenate([det.score(log).to_numpy() for log in logs[:4]]), 99)
    assert det.threshold_ > 1.2 * in_sample  # each log scored by a PCA of the others
    new_session = det.score(logs[4]).to_numpy()  # a fifth session: in-sample, 8 % of it would be flagged
    assert (new_session > det.threshold_).mean() < 0.6 * (new_session > in_sample).mean()


def test_threshold_of_one_log_is_fitted_on_its_own_scores():
    log = _sessions(1)[0]
    det = PCADetector(n_components=2, conditions=None, threshold=Percentile(99)).fit(log)
    assert det.threshold_ == pytest.approx(np.percentile(det.score(log).to_numpy(), 99))


def test_a_fault_inside_the_subspace_is_attributed_to_its_channel():
    """A channel uncorrelated with the others is a principal component of its own: its offset
    leaves no residual, so squared residuals cannot name it; its T-squared contribution does."""
    rng = np.random.default_rng(5)
    factor = rng.normal(size=(4000, 1))
    values = np.hstack([factor @ np.array([[1.0, 0.9, 0.8, 0.7]]) + rng.normal(scale=0.2, size=(4000, 4)),
                        rng.normal(size=(4000, 1))])
    frame = pd.DataFrame(values, columns=["a", "b", "c", "d", "lone"])
    faulty = frame.copy()
    faulty.loc[2000:2200, "lone"] += 6.0
    det = PCADetector(n_components=2, conditions=None).fit(frame.iloc[:1500])
    assert det.errors(faulty).iloc[2000:2200].mean().idxmax() == "lone"
    spe = PCADetector(n_components=2, conditions=None, statistic="spe").fit(frame.iloc[:1500])
    assert spe.errors(faulty).iloc[2000:2200].mean().idxmax() != "lone"


def test_a_channel_that_never_moved_in_training_is_named_first_when_it_moves(tmp_path):
    """A cobot's protective-stop flag (0 through training) rises with a fault on a busy channel:
    its move is what drives the score (its ratio to a channel limit at the floor), so it is named
    first on every path, though a current's error is far larger."""
    rng = np.random.default_rng(0)
    phase = np.arange(3000)[:, None] / 20 + np.arange(3)
    values = np.hstack([np.sin(phase) * [1.0, 3.0, 5.0] + rng.normal(scale=0.05, size=(3000, 3)), np.zeros((3000, 1))])
    index = pd.date_range("2026-03-01", periods=3000, freq="100ms")
    frame = pd.DataFrame(values, columns=["current_1", "current_2", "current_3", "protective_stop"], index=index)
    det = PCADetector(conditions=None).fit(frame.iloc[:2000])
    test = frame.iloc[2000:].copy()
    test.iloc[400:530, 0] += 8.0  # 11 training standard deviations of current_1: its error dwarfs the flag's own
    test.iloc[505:530, 3] = 1.0
    errors = det.errors(test)
    assert (errors.iloc[505:530].idxmax(axis=1) == "protective_stop").all()
    assert (errors.iloc[400:505].idxmax(axis=1) != "protective_stop").all()  # before it rose, a current
    assert (errors["protective_stop"].drop(errors.index[505:530]) == 0).all()
    det.save(tmp_path / "m")
    assert_allclose(load(tmp_path / "m").errors(test).to_numpy(), errors.to_numpy(), rtol=1e-6)


# -- changes: each row with its differences from the rows before it (dynamic PCA) ---------------
def _lagging_pair(n: int, seed: int, lag: int = 3) -> pd.DataFrame:
    """(n, 3) at 1 Hz: ``b`` follows ``a`` (period 50 rows) ``lag`` rows late; ``c`` is independent."""
    rng = np.random.default_rng(seed)
    t, phase = np.arange(n, dtype=float), rng.uniform(0, 6)
    values = np.stack([np.sin(2 * np.pi * t / 50 + phase), np.sin(2 * np.pi * (t - lag) / 50 + phase),
                       np.sin(2 * np.pi * t / 70 + rng.uniform(0, 6))], axis=1)
    values += 0.01 * rng.standard_normal(values.shape)
    index = pd.date_range("2026-01-01", periods=n, freq="1s", name="timestamp")
    return pd.DataFrame(values.astype(np.float32), index=index, columns=["a", "b", "c"])


def test_changes_see_a_channel_stop_lagging_which_levels_miss():
    """``b`` suddenly follows ``a`` without its lag: every row's levels lie on the normal
    (a, b) ellipse's long axis, so point-wise PCA sees nothing; the rows' changes break the
    learned relation between ``a``'s recent past and ``b``."""
    train, test = _lagging_pair(6000, 0), _lagging_pair(3000, 1)
    fault = slice(1500, 1800)
    test.iloc[fault, 1] = _lagging_pair(3000, 1, lag=0).iloc[fault, 1]
    labels = np.zeros(len(test), dtype=bool)
    labels[fault] = True
    point = PCADetector(conditions=None).fit(train)
    dynamic = PCADetector(conditions=None, changes=4).fit(train)
    assert point.predict(test).to_numpy()[labels].mean() < 0.05
    assert dynamic.predict(test).to_numpy()[labels].mean() > 0.9
    assert dynamic.predict(test).to_numpy()[~labels].mean() < 0.02
    errors = dynamic.errors(test)
    assert errors.shape == test.shape and list(errors.columns) == ["a", "b", "c"]
    assert errors[labels].sum().idxmax() == "b"
    assert (errors.iloc[:4].to_numpy() == 0).all()  # no rows to take the first rows' changes from


def test_changes_skip_condition_channels_and_keep_the_features_width():
    from datasets.robot_arm import simulate

    frame = simulate(60, seed=0).frame
    det = PCADetector(changes=2).fit(frame)
    conditions = det.conditions_
    level_only = np.concatenate([conditions.indices, conditions.setpoints, conditions.counters])
    assert len(level_only) and not np.isin(det.changing_, level_only).any()
    assert det.mean_.shape == (frame.shape[1] + 2 * len(det.changing_),)
    assert det.channel_limits_.shape == det.mean_.shape
    assert PCADetector().fit(frame).scoring_context().span == 1


def test_changes_of_no_channel_score_each_row_alone():
    """White noise around a level in every channel: all set-point channels (SKAB's pump), none
    carries changes, so no row waits for rows before it."""
    from anomaly.cli.fit import changes_line

    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-01", periods=3000, freq="1s", name="timestamp")
    frame = pd.DataFrame(rng.normal(size=(3000, 4)).astype(np.float32) + [1, 5, 9, 20], index=index, columns=list("abcd"))
    det = PCADetector(changes=4).fit(frame)
    assert len(det.conditions_.setpoints) == 4 and not len(det.changing_)
    assert det.scoring_context().span == 1 and det.mean_.shape == (4,)
    assert (det.errors(frame.iloc[:3]).to_numpy() > 0).any()  # the first rows are scored
    assert "none taken (--changes 4)" in changes_line(det)
    assert changes_line(PCADetector().fit(frame)) == ""


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_changes(bad, normal_frame):
    with pytest.raises(ConfigError, match="changes="):
        PCADetector(changes=bad).fit(normal_frame)


def test_a_model_whose_features_do_not_match_its_changes_is_refused(tmp_path, normal_frame):
    from anomaly.errors import ModelFileError

    path = PCADetector(changes=2).fit(normal_frame).save(tmp_path / "m")
    params_file = next(p for p in path.iterdir() if p.suffix == ".json" and '"changes": 2' in p.read_text())
    params_file.write_text(params_file.read_text().replace('"changes": 2', '"changes": 1'))
    with pytest.raises(ModelFileError, match="features for 5 channels with changes=1"):
        load(path)


CONTRACT = ("stream_equals_batch", "chunked_equals_whole_file", "save_load_round_trip_gives_identical_outputs",
            "first_window_rows_are_scored_not_dropped", "outputs_are_aligned_to_input",
            "injected_fault_scores_higher_and_is_attributed", "nan_policy", "schema_mismatch_raises_schema_error")


@pytest.mark.parametrize("check", CONTRACT)
def test_pca_with_changes_keeps_the_detector_contract(check, monkeypatch, tmp_path):
    import detector_checks

    monkeypatch.setitem(detector_checks.TINY_PARAMS, "pca", {"changes": 3})
    getattr(detector_checks, "check_" + check)("pca", tmp_path)
