"""Attacks on detectors: the differentiable score equals det.score, FGSM follows the sign of
the analytic PCA gradient, PGD evasion / false alarms are verified through the public API and
stay inside epsilon, typed errors."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("keras")

from conftest import make_frame  # noqa: E402

from anomaly import LSTMVAEGAN, DenseAutoencoder, LSTMForecaster, PCADetector  # noqa: E402
from anomaly.errors import ConfigError, DataError, NotFittedError, SchemaError  # noqa: E402
from anomaly.generative.adversarial import fgsm, pgd, smallest_epsilon  # noqa: E402
from anomaly.generative.differentiable import score_graph  # noqa: E402
from anomaly.thresholds import Dynamic  # noqa: E402

TRAIN = make_frame(n=1500, channels=4, seed=0)


@pytest.fixture(scope="module")
def pca_spe():
    return PCADetector(n_components=2, statistic="spe").fit(TRAIN)


@pytest.fixture(scope="module")
def dense():
    return DenseAutoencoder(window=8, hidden=(16,), latent=3, epochs=3).fit(TRAIN)


@pytest.fixture(scope="module")
def fault():
    """40 rows with ch2 shifted by +2 (about 3 training standard deviations) in rows 10-29."""
    frame = make_frame(n=40, channels=4, seed=7, start="2026-02-01")
    frame.iloc[10:30, 2] += 2.0
    return frame


def scaled(det, frame):
    return det.scaler_.transform(frame[list(det.schema_.channels)].to_numpy())


@pytest.mark.parametrize("make", [
    lambda: PCADetector(n_components=2, statistic="spe"),
    lambda: PCADetector(n_components=2, statistic="t2"),
    lambda: PCADetector(n_components=2),
    lambda: DenseAutoencoder(window=8, hidden=(16,), latent=3, epochs=1),
    lambda: DenseAutoencoder(window=8, hidden=(16,), latent=3, epochs=1, stride=3),  # overlapping windows + a tail window
    lambda: LSTMForecaster(window=6, units=(4,), epochs=1),
    lambda: LSTMVAEGAN(window=8, units=(4,), latent=2, epochs=1),
], ids=["pca-spe", "pca-t2", "pca-combined", "dense-ae", "dense-ae-stride3", "forecast", "vae-gan"])
def test_graph_scores_equal_detector_scores(make, fault):
    det = make().fit(TRAIN.iloc[:600])
    frame = fault.iloc[:37]  # not a multiple of the window: the flush-with-the-end window counts
    graph = np.asarray(score_graph(det, len(frame))(scaled(det, frame)))
    assert_allclose(graph, det.without_sensor_checks().score(frame).to_numpy(), rtol=1e-5, atol=1e-6)  # (the checks: no gradient)


def test_fgsm_follows_the_sign_of_the_analytic_pca_gradient(pca_spe, fault):
    # spe score of a row: ||R (z - mean)||^2 / c with R = I - P'P, gradient 2 R (z - mean) / c
    normal = fault.iloc[:7]
    scores = pca_spe.score(normal).to_numpy()
    assert scores.max() < pca_spe.threshold_
    R = np.eye(4) - pca_spe.components_.T @ pca_spe.components_
    Z = scaled(pca_spe, normal)
    gradient = (Z - pca_spe.mean_) @ R  # R is symmetric
    moved = scaled(pca_spe, fgsm(pca_spe, normal, 0.1, goal="alarm"))
    top = int(np.argmax(scores))  # "alarm" raises the highest score only
    assert_allclose(moved[top] - Z[top], 0.1 * np.sign(gradient[top]), atol=1e-5)
    assert_array_equal(np.delete(moved, top, axis=0), np.delete(Z, top, axis=0))

    flagged = pca_spe.predict(fault).to_numpy()
    moved = scaled(pca_spe, fgsm(pca_spe, fault, 0.1, goal="evade"))  # "evade" lowers every flagged row
    Z = scaled(pca_spe, fault)
    gradient = (Z - pca_spe.mean_) @ R
    assert flagged.sum() >= 10
    assert_allclose(moved[flagged] - Z[flagged], -0.1 * np.sign(gradient[flagged]), atol=1e-5)
    assert_array_equal(moved[~flagged], Z[~flagged])


@pytest.mark.parametrize("name", ["pca_spe", "dense"])
def test_pgd_evasion_is_real_and_within_epsilon(name, request, fault):
    det = request.getfixturevalue(name)
    assert det.predict(fault).any()
    result = smallest_epsilon(det, fault, goal="evade", max_epsilon=6.0, rtol=0.1)
    assert result.success and 0 < result.epsilon <= 6.0
    assert result.max_score_before > det.threshold_ >= result.max_score_after
    plain = det.without_sensor_checks()  # the score the gradient moves (the noise check may see the perturbation)
    assert not plain.predict(result.frame).any()  # through the public API
    assert result.frame.index.equals(fault.index) and list(result.frame.columns) == list(fault.columns)
    assert np.abs(scaled(det, result.frame) - scaled(det, fault)).max() <= result.epsilon + 1e-5
    below = pgd(det, fault, result.epsilon, goal="evade")  # the same deterministic PGD run
    assert not plain.predict(below).any()
    started = pgd(det, fault, 0.05, steps=3, seed=0)  # random start inside the ball
    assert 0.04 < np.abs(scaled(det, started) - scaled(det, fault)).max() <= 0.05 + 1e-5
    assert_array_equal(pgd(det, fault, 0.0).to_numpy(), fault.to_numpy())


@pytest.mark.parametrize("name", ["pca_spe", "dense"])
def test_pgd_false_alarm_is_real_and_within_epsilon(name, request):
    det = request.getfixturevalue(name)
    flags = det.predict(TRAIN).to_numpy()
    start = next(a for a in range(0, len(TRAIN) - 32, 8) if not flags[a : a + 32].any())
    normal = TRAIN.iloc[start : start + 32]  # 32 training rows without a flag
    result = smallest_epsilon(det, normal, goal="alarm", max_epsilon=4.0, rtol=0.1)
    assert result.success and det.predict(result.frame).any()
    assert np.abs(scaled(det, result.frame) - scaled(det, normal)).max() <= result.epsilon + 1e-5


def test_already_met_and_out_of_reach(pca_spe, fault):
    missed = smallest_epsilon(pca_spe, fault.iloc[:7], goal="evade")  # normal rows: nothing to hide
    assert missed.epsilon == 0.0 and missed.pgd_runs == 0
    hopeless = smallest_epsilon(pca_spe, fault, goal="evade", max_epsilon=1e-3, min_epsilon=1e-4)
    assert hopeless.epsilon is None and hopeless.frame is None and not hopeless.success
    assert hopeless.max_score_after > pca_spe.threshold_ and hopeless.to_dict()["epsilon"] is None


def test_bad_inputs(pca_spe, dense, fault):
    with pytest.raises(ConfigError, match="goal='hide'"):
        fgsm(pca_spe, fault, 0.1, goal="hide")
    with pytest.raises(ConfigError, match="epsilon=-1"):
        fgsm(pca_spe, fault, -1)
    with pytest.raises(ConfigError, match="steps=0"):
        pgd(pca_spe, fault, 0.1, steps=0)
    with pytest.raises(ConfigError, match="min_epsilon=2.0 must be smaller"):
        smallest_epsilon(pca_spe, fault, min_epsilon=2.0, max_epsilon=1.0)
    with pytest.raises(SchemaError, match="missing channels \\['ch3'\\]"):
        fgsm(pca_spe, fault.drop(columns="ch3"), 0.1)
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        fgsm(pca_spe, fault.to_numpy(), 0.1)
    with pytest.raises(DataError, match="shorter than one window of 8 rows"):
        fgsm(dense, fault.iloc[:5], 0.1)
    with pytest.raises(NotFittedError):
        fgsm(PCADetector(), fault, 0.1)
    with pytest.raises(ConfigError, match="Dynamic does not flag"):
        fgsm(PCADetector(threshold=Dynamic()).fit(TRAIN), fault, 0.1)
