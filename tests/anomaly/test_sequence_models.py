"""What each neural detector adds beyond the shared contract (``detector_checks``, which also checks
ONNX = Keras): engine errors, warm-up, forecaster head, discriminator, configuration errors, and
training under JAX when it is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_frame
from detector_checks import TINY_PARAMS, fitted_detector

import anomaly
from anomaly.errors import ConfigError, ModelFileError

ROOT = Path(__file__).resolve().parents[2]
NEURAL = {name: params for name, params in TINY_PARAMS.items() if name != "pca"}


@pytest.fixture(scope="module")
def frames():
    return make_frame(n=800, seed=0), make_frame(n=600, seed=1)


def test_engine_errors(tmp_path):
    path = fitted_detector("dense-ae").save(tmp_path / "ae")
    with pytest.raises(ModelFileError, match="no model.onnx; run `anomaly export"):
        anomaly.load(path, engine="onnx")
    with pytest.raises(ConfigError, match="engine='gpu'"):
        anomaly.load(path, engine="gpu")
    pca = fitted_detector("pca").save(tmp_path / "pca")
    with pytest.raises(ConfigError, match="has no ONNX engine"):
        anomaly.load(pca, engine="onnx")
    (path / "model.onnx").write_bytes(b"not onnx")
    pytest.importorskip("onnxruntime")
    with pytest.raises(ModelFileError, match="cannot load ONNX model"):
        anomaly.load(path)


def test_vae_kl_weight_warms_up_to_beta(frames):
    train, _ = frames
    det = anomaly.LSTMVAE(**{**TINY_PARAMS["lstm-vae"], "epochs": 3, "beta": 0.5, "warmup_epochs": 2, "patience": 10}).fit(train)
    assert float(np.asarray(det.kl_weight_.weight)) == pytest.approx(0.5)
    assert len(det.history_["loss"]) == 3


def test_forecaster_head_rows_have_zero_error_and_every_later_row_one_forecast(frames):
    _, test = frames
    errors = fitted_detector("lstm-forecast").errors(test).to_numpy()  # window 8
    assert (errors[:8] == 0).all()
    assert (errors[8:].sum(axis=1) > 0).all()


def test_vae_gan_discriminator_prefers_real_windows(frames):
    train, _ = frames
    det = anomaly.LSTMVAEGAN(**{**TINY_PARAMS["vae-gan"], "epochs": 4}).fit(train)
    z = det.scaler_.transform(train.to_numpy(np.float32))
    real = np.stack([z[i : i + 8] for i in range(0, 400, 8)])
    noise = np.random.default_rng(0).standard_normal(real.shape).astype(np.float32) * 3
    assert det.discriminator_.predict_on_batch(real).mean() > det.discriminator_.predict_on_batch(noise).mean()
    assert set(det.history_) == {"loss", "d_loss", "val_loss"}


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("conv-ae", {"window": 10, "filters": (8, 4)}, r"window=10 must be divisible by 2\*\*len\(filters\)=4"),
        ("lstm-ae", {"cell": "rnn"}, "cell='rnn' is not one of"),
        ("dense-ae", {"activation": "swish"}, "activation='swish' is not one of"),
        ("lstm-vae", {"dropout": 1.5}, r"dropout=1.5 must be in \[0, 1\)"),
        ("transformer-ae", {"d_model": 10, "num_heads": 4}, r"d_model=10 must be divisible by num_heads=4"),
        ("transformer-ae", {"positional": "rotary"}, r"positional='rotary' is not one of"),
        ("transformer-ae", {"blocks": 0}, r"blocks=0 is not allowed"),
    ],
)
def test_bad_parameters(name, params, message, frames):
    with pytest.raises(ConfigError, match=message):
        anomaly.make_detector(name, **{**TINY_PARAMS[name], **params}).fit(frames[0])


JAX_SCRIPT = """
import json, sys
import keras
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
import anomaly
from conftest import make_frame
assert keras.backend.backend() == "jax"
out = {{}}
for name, params in json.loads({tiny!r}).items():
    det = anomaly.make_detector(name, **params).fit(make_frame(n=600, seed=0))
    out[name] = float(det.score(make_frame(n=300, seed=1)).mean())
print(json.dumps(out))
"""


@pytest.mark.slow  # a fresh interpreter with JAX trains every neural detector
def test_every_neural_model_trains_under_jax():
    pytest.importorskip("jax")
    script = JAX_SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests"), tiny=json.dumps(NEURAL))
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(scores) == set(NEURAL) and all(np.isfinite(v) and v > 0 for v in scores.values())


def test_vae_gan_training_steps_update_only_their_own_side(monkeypatch):
    """The VAE step leaves the discriminator alone and the discriminator step the encoder and decoder,
    on every batch (the last, shorter one included: Keras traces the step again for it)."""
    keras = pytest.importorskip("keras")
    det = anomaly.LSTMVAEGAN(window=8, units=(8,), latent=2, epochs=2, batch_size=64, learning_rate=0.05, random_state=0)
    steps = []
    train_on_batch = keras.Model.train_on_batch

    def spy(model, *args, **kwargs):
        sides = {"discriminator": det.discriminator_.weights, "encoder+decoder": det.model_.weights}
        before = {side: [v.numpy().copy() for v in weights] for side, weights in sides.items()}
        out = train_on_batch(model, *args, **kwargs)
        changed = {side for side, weights in sides.items()
                   if any(not np.array_equal(v.numpy(), b) for v, b in zip(weights, before[side], strict=True))}
        steps.append((model.name, changed))
        return out

    monkeypatch.setattr(keras.Model, "train_on_batch", spy)
    det.fit(make_frame(n=300, channels=3))
    assert len(steps) == 2 * 5 * 2  # 2 epochs x 5 batches of 293 windows (the last of 37) x 2 steps
    assert {(name, frozenset(changed)) for name, changed in steps} == {
        ("discriminator", frozenset({"discriminator"})),
        ("lstm_vae_gan", frozenset({"encoder+decoder"})),
    }
