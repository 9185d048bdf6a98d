"""WindowGAN: fits on tiny data, samples (n, window, channels) in the original units, learns,
repeats with a seed, saves/loads without pickle, rejects bad input with typed errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone

pytest.importorskip("keras")

from conftest import make_frame  # noqa: E402

from anomaly.errors import ConfigError, DataError, ModelFileError, NotFittedError  # noqa: E402
from anomaly.generative.data import frame_windows, to_scaled  # noqa: E402
from anomaly.generative.gan import WindowGAN, load_gan  # noqa: E402
from anomaly.generative.quality import mmd2  # noqa: E402

WINDOW = 8


def offset_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """3 channels on very different scales: around 1000 (std ~1), -5 (std ~0.01) and 0."""
    frame = make_frame(n=n, channels=3, seed=seed)
    frame["ch0"] = frame["ch0"] + 1000.0
    frame["ch1"] = frame["ch1"] * 0.01 - 5.0
    return frame


def tiny(**params) -> WindowGAN:
    settings = {"window": WINDOW, "latent": 4, "architecture": "dense", "units": (32,), "stride": 2, "batch_size": 32,
                "learning_rate": 2e-3}
    return WindowGAN(**{**settings, **params})


@pytest.fixture(scope="module")
def gan():
    return tiny(epochs=30).fit(offset_frame())


def test_fit_returns_self_and_sets_fitted_attributes(gan):
    assert gan.schema_.channels == ("ch0", "ch1", "ch2")
    assert len(gan.history_["d_loss"]) == len(gan.history_["g_loss"]) == 30
    assert gan.generator_.output_shape == (None, WINDOW, 3)
    assert gan.discriminator_.output_shape == (None, 1)
    assert not hasattr(clone(gan), "generator_")


def test_samples_have_the_right_shape_and_units(gan):
    samples = gan.sample(64, seed=1)
    assert samples.shape == (64, WINDOW, 3) and samples.dtype == np.float32
    # exactly the generator's scaled output mapped back through the fitted scaler
    noise = np.random.default_rng(1).standard_normal((64, 4)).astype(np.float32)
    scaled = np.asarray(gan.generator_.predict_on_batch(noise))
    assert_allclose(samples, scaled * gan.scaler_.scale_ + gan.scaler_.center_, rtol=1e-6)
    means = samples.mean(axis=(0, 1))
    assert abs(means[0] - 1000.0) < 3.0 and abs(means[1] + 5.0) < 0.03 and abs(means[2]) < 3.0


def test_training_brings_samples_closer_to_the_data(gan):
    real = to_scaled(gan.scaler_, frame_windows(offset_frame(seed=5), WINDOW, stride=4))[:100]
    untrained = tiny(epochs=1).fit(offset_frame())
    after = mmd2(real, to_scaled(gan.scaler_, gan.sample(100, seed=2)))
    before = mmd2(real, to_scaled(gan.scaler_, untrained.sample(100, seed=2)))
    assert after < 0.5 * before


def test_seeds_repeat(gan):
    assert_allclose(gan.sample(5, seed=3), gan.sample(5, seed=3))
    assert not np.allclose(gan.sample(5, seed=3), gan.sample(5, seed=4))
    assert_allclose(gan.sample(5), gan.sample(5, seed=gan.random_state))


def test_conv_architecture_samples():
    conv = WindowGAN(window=WINDOW, latent=4, filters=(8, 4), kernel_size=3, epochs=1,
                     batch_size=64).fit(offset_frame(n=300))
    assert conv.sample(3).shape == (3, WINDOW, 3)


def test_save_load_round_trip(gan, tmp_path):
    path = gan.save(tmp_path / "gan")
    assert sorted(p.name for p in path.iterdir()) == ["discriminator.keras", "gan.json", "generator.keras"]
    loaded = load_gan(path)
    assert loaded.get_params() == gan.get_params() and loaded.units == (32,)
    assert_allclose(loaded.sample(6, seed=9), gan.sample(6, seed=9), rtol=1e-6)
    windows = frame_windows(offset_frame(n=100), WINDOW, stride=8)
    assert_allclose(loaded.realness(windows), gan.realness(windows), rtol=1e-6)
    assert gan.save(path) == path  # an existing GAN directory is replaced


def test_bad_model_directories(gan, tmp_path):
    path = gan.save(tmp_path / "gan")
    with pytest.raises(ModelFileError, match="not found"):
        load_gan(tmp_path / "nowhere")
    meta = json.loads((path / "gan.json").read_text())
    (path / "gan.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ModelFileError, match="GAN format 99"):
        load_gan(path)
    (path / "gan.json").write_text(json.dumps(meta)[:40])
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        load_gan(path)
    (path / "gan.json").write_text(json.dumps({**meta, "class": "PCADetector"}))
    with pytest.raises(ModelFileError, match="not a saved WindowGAN"):
        load_gan(path)
    (path / "gan.json").write_text(json.dumps(meta))
    (path / "generator.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ModelFileError, match="generator.keras: cannot load Keras model"):
        load_gan(path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.csv").write_text("x\n1\n")
    with pytest.raises(ModelFileError, match="refusing to overwrite"):
        gan.save(tmp_path / "data")
    assert (tmp_path / "data" / "keep.csv").exists()


def test_bad_inputs(gan):
    frame = offset_frame(n=100)
    with pytest.raises(DataError, match="expected a pandas DataFrame"):
        tiny(epochs=1).fit(frame.to_numpy())
    nan = frame.copy()
    nan.iloc[7, 1] = np.nan
    with pytest.raises(DataError, match="'ch1' has 1 NaN/inf"):
        tiny(epochs=1).fit(nan)
    with pytest.raises(DataError, match="fewer than one window"):
        tiny(epochs=1).fit(frame.iloc[:5])
    with pytest.raises(ConfigError, match="architecture='rnn'"):
        tiny(architecture="rnn").fit(frame)
    with pytest.raises(ConfigError, match="divisible by 2\\*\\*len\\(filters\\)=4"):
        WindowGAN(window=10, filters=(4, 4), epochs=1).fit(frame)
    with pytest.raises(ConfigError, match="label_smoothing=0.7"):
        tiny(label_smoothing=0.7).fit(frame)
    with pytest.raises(ConfigError, match="units=\\(\\)"):
        tiny(units=()).fit(frame)
    with pytest.raises(NotFittedError, match="not fitted"):
        tiny().sample(3)
    with pytest.raises(ConfigError, match="n=0"):
        gan.sample(0)
    with pytest.raises(DataError, match=r"expected shape \(n, 8, 3\)"):
        gan.realness(np.zeros((2, 8, 4)))
