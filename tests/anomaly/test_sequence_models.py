"""What each neural detector adds beyond the shared contract: ONNX engine, warm-up, forecaster head,
discriminator, configuration errors, and training under JAX when it is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_frame

import anomaly
from anomaly.errors import ConfigError, ModelFileError

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "dense-ae": {"epochs": 2, "window": 4, "hidden": (16,), "latent": 4},
    "lstm-ae": {"epochs": 2, "window": 8, "units": (8,), "latent": 4},
    "conv-ae": {"epochs": 2, "window": 8, "filters": (8, 4), "kernel_size": 3},
    "lstm-vae": {"epochs": 2, "window": 8, "units": (8,), "latent": 4, "warmup_epochs": 2},
    "lstm-forecast": {"epochs": 2, "window": 8, "units": (8,)},
    "vae-gan": {"epochs": 2, "window": 8, "units": (8,), "latent": 4, "warmup_epochs": 2},
    "transformer-ae": {"epochs": 2, "window": 8, "d_model": 8, "num_heads": 2, "ff_dim": 16, "latent": 4},
}


@pytest.fixture(scope="module")
def frames():
    return make_frame(n=800, seed=0), make_frame(n=600, seed=1)


@pytest.mark.parametrize("name", sorted(TINY))
def test_onnx_engine_matches_keras(name, frames, tmp_path):
    pytest.importorskip("onnxruntime")
    train, test = frames
    path = anomaly.make_detector(name, **TINY[name]).fit(train).save(tmp_path / name)
    keras_det = anomaly.load(path, engine="keras")
    diff = keras_det.export_onnx(path / "model.onnx")
    assert diff <= 1e-4
    onnx_det = anomaly.load(path)  # auto picks model.onnx
    assert onnx_det.engine_ == "onnx" and keras_det.engine_ == "keras"
    np.testing.assert_allclose(onnx_det.errors(test).to_numpy(), keras_det.errors(test).to_numpy(), atol=1e-4, rtol=1e-4)


def test_engine_errors(frames, tmp_path):
    train, _ = frames
    path = anomaly.make_detector("dense-ae", **TINY["dense-ae"]).fit(train).save(tmp_path / "ae")
    with pytest.raises(ModelFileError, match="no model.onnx; run `anomaly export"):
        anomaly.load(path, engine="onnx")
    with pytest.raises(ConfigError, match="engine='gpu'"):
        anomaly.load(path, engine="gpu")
    pca = anomaly.PCADetector().fit(train).save(tmp_path / "pca")
    with pytest.raises(ConfigError, match="has no ONNX engine"):
        anomaly.load(pca, engine="onnx")
    (path / "model.onnx").write_bytes(b"not onnx")
    pytest.importorskip("onnxruntime")
    with pytest.raises(ModelFileError, match="cannot load ONNX model"):
        anomaly.load(path)


def test_vae_kl_weight_warms_up_to_beta(frames):
    train, _ = frames
    det = anomaly.LSTMVAE(**{**TINY["lstm-vae"], "epochs": 3, "beta": 0.5, "warmup_epochs": 2, "patience": 10}).fit(train)
    assert float(np.asarray(det._kl.weight)) == pytest.approx(0.5)
    assert len(det.history_["loss"]) == 3


def test_forecaster_head_rows_have_zero_error_and_every_later_row_one_forecast(frames):
    train, test = frames
    det = anomaly.LSTMForecaster(**TINY["lstm-forecast"]).fit(train)
    errors = det.errors(test).to_numpy()
    assert (errors[:8] == 0).all()
    assert (errors[8:].sum(axis=1) > 0).all()


def test_vae_gan_discriminator_prefers_real_windows(frames):
    train, _ = frames
    det = anomaly.LSTMVAEGAN(**{**TINY["vae-gan"], "epochs": 4}).fit(train)
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
        anomaly.make_detector(name, **{**TINY[name], **params}).fit(frames[0])


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


def test_every_neural_model_trains_under_jax():
    pytest.importorskip("jax")
    script = JAX_SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests"), tiny=json.dumps(TINY))
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(scores) == set(TINY) and all(np.isfinite(v) and v > 0 for v in scores.values())
