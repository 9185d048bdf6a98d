"""``anomaly fine-tune`` and ``anomaly augment`` end to end, and the lazy package exports behind them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke, one_error_line
from conftest import make_frame

import anomaly
from anomaly.cli.augment import METHOD_NAMES
from pipelines.sinks import write_table


@pytest.fixture(scope="module")
def machines(tmp_path_factory):
    """Machine A's dense autoencoder and PCA model, and a log of machine B (same channels, other operating point)."""
    root = tmp_path_factory.mktemp("few")
    a = make_frame(n=600, channels=3, seed=0)
    anomaly.DenseAutoencoder(window=8, hidden=(8,), latent=2, epochs=2, random_state=0).fit(a).save(root / "ae")
    anomaly.PCADetector().fit(a).save(root / "pca")
    write_table(make_frame(n=400, channels=3, seed=5) * 2.0 + 1.0, root / "b.csv")
    return root


def test_package_exports_are_lazy():
    code = ("import sys, anomaly; print(sorted(m for m in ('keras', 'tensorflow', 'sklearn', 'scipy') if m in sys.modules)); "
            "print(callable(anomaly.fine_tune), anomaly.augment.__name__, anomaly.CNNClassifier.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"  # import anomaly loads none of them
    assert out[1] == "True anomaly.augment CNNClassifier"
    assert {"augment", "fine_tune", "CNNClassifier"} <= set(anomaly.__all__) and "fine_tune" in dir(anomaly)


def test_fine_tune_writes_a_new_model_from_the_pretrained_weights(machines, tmp_path):
    result = invoke("fine-tune", machines / "ae", machines / "b.csv", "-o", tmp_path / "b0", "--epochs", 0)
    assert result.exit_code == 0, result.output
    pretrained, tuned = anomaly.load(machines / "ae", engine="keras"), anomaly.load(tmp_path / "b0", engine="keras")
    for w_tuned, w in zip(tuned.model_.get_weights(), pretrained.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(w_tuned, w)  # 0 epochs: the pretrained network as it is
    b = pd.read_csv(machines / "b.csv", index_col=0)
    np.testing.assert_allclose(tuned.scaler_.center_, b.mean().to_numpy(), rtol=1e-4)  # B's own scaler
    trained = invoke("fine-tune", machines / "ae", machines / "b.csv", "-o", tmp_path / "b1", "--epochs", 1, "--seed", 3)
    assert trained.exit_code == 0, trained.output
    weights = anomaly.load(tmp_path / "b1", engine="keras").model_.get_weights()
    assert any(not np.array_equal(w1, w) for w1, w in zip(weights, pretrained.model_.get_weights(), strict=True))


@pytest.mark.parametrize("case, message", [
    ("pca", "fine_tune needs a fitted neural window detector, got PCADetector"),
    ("same", "is the pretrained model directory"),
    ("channels", "2 channels, the pretrained model has 3"),
    ("missing", "model directory not found"),
])
def test_fine_tune_bad_input_exits_2_and_writes_nothing(machines, tmp_path, case, message):
    model, data, out = machines / "ae", machines / "b.csv", tmp_path / "new"
    if case == "pca":
        model = machines / "pca"
    elif case == "same":
        out = model
    elif case == "channels":
        data = tmp_path / "two.csv"
        write_table(make_frame(n=100, channels=2), data)
    elif case == "missing":
        model = tmp_path / "nope"
    before = sorted(p.name for p in machines.iterdir())
    line = one_error_line(invoke("fine-tune", model, data, "-o", out))
    assert message in line
    assert not (tmp_path / "new").exists() and sorted(p.name for p in machines.iterdir()) == before


def test_augment_help_names_every_method():
    assert METHOD_NAMES == tuple(anomaly.augment.METHODS)


def test_augment_writes_a_labelled_copy_with_the_same_rows(tmp_path):
    frame = make_frame(n=300, channels=3, seed=2).assign(is_anomaly=0)
    write_table(frame, tmp_path / "run.parquet")
    result = invoke("augment", tmp_path / "run.parquet", "-o", tmp_path / "aug.csv", "--method", "jitter", "--sigma", 0.1, "--seed", 4)
    assert result.exit_code == 0, result.output
    copy = pd.read_csv(tmp_path / "aug.csv", parse_dates=["timestamp"]).set_index("timestamp")
    assert list(copy.columns) == ["ch0", "ch1", "ch2", "is_anomaly"]
    np.testing.assert_array_equal(copy.index.to_numpy(), frame.index.to_numpy())
    channels = frame.drop(columns="is_anomaly")
    noise = copy[channels.columns] - channels
    np.testing.assert_allclose(noise.std().to_numpy(), 0.1 * channels.std(ddof=0).to_numpy(), rtol=0.2)  # in channel std units
    again = invoke("augment", tmp_path / "run.parquet", "-o", tmp_path / "again.csv", "--method", "jitter", "--sigma", 0.1, "--seed", 4)
    assert again.exit_code == 0 and (tmp_path / "again.csv").read_text() == (tmp_path / "aug.csv").read_text()


def test_augment_time_method_leaves_labels_out_and_rows_numbered(tmp_path):
    frame = make_frame(n=200, channels=2, seed=3).reset_index(drop=True).assign(label=0)
    frame.to_csv(tmp_path / "run.csv", index=False)
    result = invoke("augment", tmp_path / "run.csv", "-o", tmp_path / "aug.csv", "--method", "time_warp", "--knots", 8)
    assert result.exit_code == 0, result.output
    assert "label columns ['label'] left out" in result.output
    copy = pd.read_csv(tmp_path / "aug.csv")
    assert list(copy.columns) == ["ch0", "ch1"] and len(copy) == 200  # no row-number column
    np.testing.assert_allclose(copy.iloc[[0, -1]].to_numpy(), frame[["ch0", "ch1"]].iloc[[0, -1]].to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--method", "flip"], "method='flip' is not one of"),
    (["--method", "jitter", "--ratio", "0.5"], "jitter takes ['sigma'], not ['ratio']"),
    (["--method", "window_slice", "--ratio", "1.5"], "ratio=1.5"),
    (["--seed", "-1"], "rng=-1 must be a non-negative int seed"),
    (["-o", "out.xlsx"], "output must end in one of"),
])
def test_augment_bad_options_exit_2_and_write_nothing(tmp_path, args, message):
    write_table(make_frame(n=50, channels=2), tmp_path / "run.csv")
    options = args if "-o" in args else ["-o", tmp_path / "aug.csv", *args]
    line = one_error_line(invoke("augment", tmp_path / "run.csv", *options))
    assert message in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv"]


def test_augment_bad_data_names_the_file(tmp_path):
    frame = make_frame(n=50, channels=2)
    frame.iloc[7, 1] = np.nan
    write_table(frame, tmp_path / "gap.csv")
    line = one_error_line(invoke("augment", tmp_path / "gap.csv", "-o", tmp_path / "aug.csv"))
    assert str(tmp_path / "gap.csv") in line and "NaN/inf" in line
    assert not (tmp_path / "aug.csv").exists()
