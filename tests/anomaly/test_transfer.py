"""fine_tune: a window detector that starts from another machine's network."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_frame

from anomaly import DenseAutoencoder, PCADetector, load
from anomaly.detectors.keras_window import encoder_layers
from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.transfer import fine_tune

PARAMS = {"window": 8, "hidden": (16,), "latent": 4, "epochs": 3, "random_state": 0}


@pytest.fixture(scope="module")
def machines():
    """A pretrained detector on machine A and a small, differently offset sample of machine B."""
    a = make_frame(1500, 3, seed=0)
    b = make_frame(1200, 3, seed=7) * 2.0 + 5.0
    return DenseAutoencoder(**PARAMS).fit(a), b


def test_new_detector_has_its_own_scaler_and_threshold(machines):
    pretrained, b = machines
    before = [w.copy() for w in pretrained.model_.get_weights()]
    det = fine_tune(pretrained, b, epochs=1, random_state=3)
    assert det is not pretrained and type(det) is DenseAutoencoder
    np.testing.assert_allclose(det.scaler_.center_, b.mean().to_numpy(), rtol=1e-4)
    assert det.threshold_ != pretrained.threshold_ and det.get_params()["epochs"] == 1
    assert det.get_params()["random_state"] == 3 and pretrained.get_params()["random_state"] == 0
    assert det.predict(b).shape == (len(b),)
    for w, w0 in zip(pretrained.model_.get_weights(), before):
        np.testing.assert_array_equal(w, w0)  # the pretrained detector is untouched


def test_zero_epochs_keeps_the_pretrained_network(machines):
    pretrained, b = machines
    det = fine_tune(pretrained, b, epochs=0)
    for w, w0 in zip(det.model_.get_weights(), pretrained.model_.get_weights()):
        np.testing.assert_array_equal(w, w0)
    assert det.history_ == {}


def test_training_starts_from_the_pretrained_weights(machines):
    pretrained, b = machines
    warm = fine_tune(pretrained, b, epochs=1)
    cold = DenseAutoencoder(**{**PARAMS, "epochs": 1}).fit(b)
    assert warm.history_["loss"][0] < 0.5 * cold.history_["loss"][0]


def test_frozen_encoder_keeps_its_weights_and_round_trips(machines, tmp_path):
    pretrained, b = machines
    det = fine_tune(pretrained, b, epochs=2, freeze_encoder=True)
    n_encoder = sum(len(layer.get_weights()) for layer in encoder_layers(det.model_))
    new, old = det.model_.get_weights(), pretrained.model_.get_weights()
    assert n_encoder == 4  # one hidden layer + the code layer, kernels and biases
    for w, w0 in zip(new[:n_encoder], old[:n_encoder]):
        np.testing.assert_array_equal(w, w0)
    assert not all(np.array_equal(w, w0) for w, w0 in zip(new[n_encoder:], old[n_encoder:]))
    assert all(layer.trainable for layer in det.model_.layers)
    loaded = load(det.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.score(b).to_numpy(), det.score(b).to_numpy(), rtol=1e-6)


def test_channels_are_matched_by_name(machines):
    pretrained, b = machines
    det = fine_tune(pretrained, b[b.columns[::-1]], epochs=0)
    assert det.schema_.channels == pretrained.schema_.channels


def test_encoder_layers_needs_a_code_layer():
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(keras.layers.Dense(3, name="latent")(inputs)))
    assert [layer.name for layer in encoder_layers(model)][-1] == "latent"
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs), name="plain")
    with pytest.raises(ConfigError, match="'plain' has no layer named 'latent' or 'encoder'"):
        encoder_layers(plain)


def test_bad_inputs(machines):
    pretrained, b = machines
    with pytest.raises(ConfigError, match="PCADetector"):
        fine_tune(PCADetector().fit(b), b)
    with pytest.raises(NotFittedError, match="not fitted"):
        fine_tune(DenseAutoencoder(), b)
    with pytest.raises(DataError, match="2 channels, the pretrained model has 3"):
        fine_tune(pretrained, b.iloc[:, :2])
    with pytest.raises(DataError, match="DataFrame"):
        fine_tune(pretrained, b.to_numpy())
    with pytest.raises(ConfigError, match="epochs=-1"):
        fine_tune(pretrained, b, epochs=-1)
    with pytest.raises(ConfigError, match="random_state=-2"):
        fine_tune(pretrained, b, random_state=-2)
    with pytest.raises(ConfigError, match="freeze_encoder='yes'"):
        fine_tune(pretrained, b, freeze_encoder="yes")
    pretrained.set_params(latent=5)  # the stored network no longer fits the parameters
    try:
        with pytest.raises(ConfigError, match="does not fit a DenseAutoencoder on 3 channels"):
            fine_tune(pretrained, b, epochs=0)
    finally:
        pretrained.set_params(latent=PARAMS["latent"])
