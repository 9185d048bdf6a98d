"""The CLI end to end: simulate -> fit -> score -> evaluate, and every bad input exits 2 with one line."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomaly.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A normal run, a faulty run and a PCA model fitted through the CLI."""
    root = tmp_path_factory.mktemp("cli")
    assert invoke("simulate", "-o", root / "normal.parquet", "--duration", 60, "--faults", "none", "--seed", 0, "--ambient", 28).exit_code == 0
    assert invoke("simulate", "-o", root / "faulty.csv", "--duration", 120, "--faults", "collision,payload_change,overheating", "--seed", 1, "--ambient", 28).exit_code == 0
    result = invoke("fit", root / "normal.parquet", "--detector", "pca", "-o", root / "model")
    assert result.exit_code == 0, result.output
    return root


def test_score_writes_one_row_per_input_row(workspace, tmp_path):
    out = tmp_path / "scores.parquet"
    result = invoke("score", workspace / "faulty.csv", "--model", workspace / "model", "-o", out, "--with-errors")
    assert result.exit_code == 0, result.output
    scores = pd.read_parquet(out)
    faulty = pd.read_csv(workspace / "faulty.csv")
    assert len(scores) == len(faulty)
    assert {"timestamp", "score", "flag", "top_channels"} <= set(scores.columns)
    assert scores["top_channels"].str.count(";").eq(2).all()
    assert any(c.startswith("err:") for c in scores.columns)
    labels = faulty["is_anomaly"].astype(bool).to_numpy()
    assert scores["score"].to_numpy()[labels].mean() > 2 * scores["score"].to_numpy()[~labels].mean()


@pytest.mark.parametrize("index_name", ["timestamp", None])
def test_score_keeps_the_timestamp_index_to_parquet_stored(workspace, good_rows, tmp_path, index_name):
    good_rows.to_csv(tmp_path / "run.csv", index=False)
    frame = pd.read_csv(tmp_path / "run.csv", index_col=0, parse_dates=True).rename_axis(index_name)
    frame.to_parquet(tmp_path / "run.parquet")
    out = tmp_path / "scores.csv"
    result = invoke("score", tmp_path / "run.parquet", "--model", workspace / "model", "-o", out, "--chunk-rows", 64)
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out, parse_dates=["timestamp"])
    assert "index" not in scores.columns
    np.testing.assert_array_equal(scores["timestamp"].to_numpy(), frame.index.to_numpy())


def test_evaluate_prints_metrics_with_baselines_and_writes_json(workspace, tmp_path):
    out = tmp_path / "metrics.json"
    result = invoke("evaluate", workspace / "faulty.csv", "--model", workspace / "model", "-o", out)
    assert result.exit_code == 0, result.output
    assert "baseline:random" in result.output and "baseline:all-anomalous" in result.output
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["baseline:all-anomalous"]["recall"] == 1.0
    assert metrics["PCADetector"]["auc_roc"] > 0.6


def test_fit_dense_autoencoder(workspace, tmp_path):
    result = invoke("fit", workspace / "normal.parquet", "--detector", "dense-ae", "--epochs", 2, "--window", 4, "-o", tmp_path / "ae")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ae" / "model.keras").exists()


def _write(path, frame):
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def good_rows(workspace):
    return pd.read_parquet(workspace / "normal.parquet").iloc[:200]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda f: f.iloc[:0], "no data rows"),
        (lambda f: f.drop(columns="j3_current"), r"missing channels \['j3_current'\]"),
        (lambda f: f.assign(extra=1.0), r"unexpected channels \['extra'\]"),
        (lambda f: f.assign(j1_pos=f["j1_pos"].astype(object).where(f.index != 7, "oops")), r"column 'j1_pos' has 1 non-numeric values \(first at row 7"),
        (lambda f: f.assign(j2_vel=f["j2_vel"].where(f.index != 9, np.nan)), r"column 'j2_vel' has 1 NaN/inf values \(first NaN at row 9"),
        (lambda f: f.assign(j2_vel=f["j2_vel"].where(f.index != 9, np.inf)), r"column 'j2_vel' has 1 NaN/inf values \(first infinite at row 9"),
        (lambda f: f.iloc[::-1], "timestamps are not sorted"),
        (lambda f: pd.concat([f.iloc[:5], f.iloc[4:]]), "duplicate timestamp"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(workspace, good_rows, tmp_path, mutate, message):
    data = _write(tmp_path / "bad.csv", mutate(good_rows))
    out = tmp_path / "scores.parquet"
    result = invoke("score", data, "--model", workspace / "model", "-o", out)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(data) in lines[0]
    assert re.search(message, lines[0]), lines[0]
    assert not out.exists() and list(tmp_path.glob(".*tmp")) == []


@pytest.mark.parametrize("chunk_rows", [None, 70])
def test_a_file_of_two_runs_says_to_split_it(workspace, good_rows, tmp_path, chunk_rows):
    """The second run's clock starts again (read whole, or in blocks with the restart in a later block)."""
    data = _write(tmp_path / "runs.csv", pd.concat([good_rows.iloc[:100], good_rows.iloc[:100]]))
    out = tmp_path / "scores.csv"
    extra = ["--chunk-rows", chunk_rows] if chunk_rows else []
    result = invoke("score", data, "--model", workspace / "model", "-o", out, *extra)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "not sorted" in line and "at row 100 " in line, line
    assert "the time restarts (several runs in one file?): name the column that tells them apart with --runs COLUMN" in line
    assert not out.exists()


def test_empty_file(workspace, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    result = invoke("score", tmp_path / "empty.csv", "--model", workspace / "model", "-o", tmp_path / "o.csv")
    assert result.exit_code == 2 and "empty file" in result.output


@pytest.mark.parametrize(
    "model_setup, message",
    [
        ("missing", "model directory not found"),
        ("truncated", "corrupted or truncated"),
        ("newer", "saved with model format 2"),
    ],
)
def test_bad_model_directory(workspace, good_rows, tmp_path, model_setup, message):
    import shutil

    model = tmp_path / "model"
    if model_setup != "missing":
        shutil.copytree(workspace / "model", model)
        meta = model / "detector.json"
        if model_setup == "truncated":
            meta.write_text(meta.read_text()[:50])
        else:
            meta.write_text(meta.read_text().replace('"format_version": 1', '"format_version": 2'))
    data = _write(tmp_path / "ok.csv", good_rows)
    result = invoke("score", data, "--model", model, "-o", tmp_path / "o.csv")
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "o.csv").exists()


def test_unknown_detector(workspace, tmp_path):
    result = invoke("fit", workspace / "normal.parquet", "--detector", "magic", "-o", tmp_path / "m")
    assert result.exit_code == 2
    assert "unknown detector 'magic'; choose one of ['conv-ae', 'dense-ae', 'lstm-ae', 'lstm-forecast', 'lstm-vae', 'pca', 'transformer-ae', 'vae-gan']" in result.output
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("args, message", [
    (["--faults", "meteor"], "unknown fault type 'meteor'"),
    (["--duration", "0"], "duration_s must be a positive number, got 0.0"),
    (["--rate", "-5"], "rate_hz must be a positive number, got -5.0"),
    (["--duration", "0.01"], "duration_s * rate_hz must give at least 2 rows, got 1"),
    (["--duration", "60", "--faults", "all"], "cannot fit faults"),
    (["--condition", "cold", "--duration", "nan"], "duration_s must be a positive number, got nan"),
])
def test_bad_simulate_settings_exit_2_with_one_line(tmp_path, args, message):
    result = invoke("simulate", "-o", tmp_path / "x.csv", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not (tmp_path / "x.csv").exists()


def test_bad_output_extension_fails_before_work(workspace, tmp_path):
    result = invoke("score", workspace / "faulty.csv", "--model", workspace / "model", "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 2 and "output must end in one of" in result.output


def test_fit_on_bad_data_exits_2_and_writes_no_model(good_rows, tmp_path):
    data = _write(tmp_path / "bad.csv", good_rows.assign(j2_vel=good_rows["j2_vel"].where(good_rows.index != 3, np.nan)))
    result = invoke("fit", data, "--detector", "pca", "-o", tmp_path / "m")
    assert result.exit_code == 2 and "NaN/inf" in result.output
    assert not (tmp_path / "m").exists()


def test_fit_with_changes_says_which_channels_carry_them_and_scores(workspace, tmp_path):
    result = invoke("fit", workspace / "normal.parquet", "--detector", "pca", "--changes", 3, "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert re.search(r"changes: 22 of 28 channels also modelled by their differences from the 3 rows before each row",
                     " ".join(result.output.split()))
    out = tmp_path / "s.csv"
    assert invoke("score", workspace / "faulty.csv", "--model", tmp_path / "m", "-o", out).exit_code == 0
    assert len(pd.read_csv(out)) == len(pd.read_csv(workspace / "faulty.csv"))
    bad = invoke("fit", workspace / "normal.parquet", "--detector", "pca", "--changes", -1, "-o", tmp_path / "bad")
    assert bad.exit_code == 2 and "changes=-1 must be an int >= 0" in bad.output and not (tmp_path / "bad").exists()
    neural = invoke("fit", workspace / "normal.parquet", "--detector", "dense-ae", "--changes", 2, "-o", tmp_path / "bad")
    assert neural.exit_code == 2 and "has no parameter(s) ['changes']" in neural.output


def test_fit_on_too_few_rows_exits_2_and_writes_no_model(good_rows, tmp_path):
    data = _write(tmp_path / "three.csv", good_rows.iloc[:3])
    result = invoke("fit", data, "--detector", "pca", "-o", tmp_path / "m")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == ["error: PCA needs at least 56 training rows for 28 channels (max(50, 2 x channels)), got 3"]
    assert not (tmp_path / "m").exists()


def test_training_reports_every_epoch_to_the_observer(good_rows):
    from anomaly import DenseAutoencoder
    from anomaly.progress import observe_epochs

    seen = []
    with observe_epochs(lambda epoch, total, logs: seen.append((epoch, total, "loss" in logs))):
        frame = good_rows.set_index("timestamp").drop(columns=["is_anomaly", "fault_type", "fault_channels"])
        DenseAutoencoder(epochs=3, patience=5, window=2, hidden=(8,), latent=2).fit(frame)
    assert seen == [(1, 3, True), (2, 3, True), (3, 3, True)]


@pytest.mark.parametrize("detector, options", [
    ("lstm-ae", ["--units", "8", "--latent", "4", "--cell", "gru"]),
    ("conv-ae", ["--filters", "8,4"]),
    ("lstm-vae", ["--units", "8", "--param", "beta=0.05"]),
    ("vae-gan", ["--units", "8", "--param", "disc_weight=0.2"]),
    ("lstm-forecast", ["--units", "8"]),
    ("transformer-ae", ["--d-model", "8", "--num-heads", "2", "--blocks", "1", "--latent", "4"]),
])
def test_fit_export_and_score_every_neural_detector(workspace, tmp_path, detector, options):
    model = tmp_path / detector
    fitted = invoke("fit", workspace / "normal.parquet", "-d", detector, "--epochs", 1, "--window", 8, *options, "-o", model)
    assert fitted.exit_code == 0, fitted.output
    exported = invoke("export", model, "--format", "onnx")
    assert exported.exit_code == 0, exported.output
    assert (model / "model.onnx").exists() and "max |ONNX - Keras|" in exported.output
    outs = {}
    for engine in ("keras", "onnx"):
        out = tmp_path / f"{engine}.parquet"
        scored = invoke("score", workspace / "faulty.csv", "--model", model, "--engine", engine, "-o", out)
        assert scored.exit_code == 0, scored.output
        outs[engine] = pd.read_parquet(out)["score"].to_numpy()
    np.testing.assert_allclose(outs["onnx"], outs["keras"], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("args, message", [
    (["--detector", "pca", "--latent", "4"], r"detector 'pca' has no parameter\(s\) \['latent'\]"),
    (["--detector", "lstm-ae", "--param", "nonsense"], "must look like name=value"),
    (["--detector", "conv-ae", "--filters", "8,x"], "expected comma-separated integers"),
    (["--detector", "transformer-ae", "--d-model", "10", "--num-heads", "4"], "d_model=10 must be divisible by num_heads=4"),
])
def test_bad_fit_options(workspace, tmp_path, args, message):
    result = invoke("fit", workspace / "normal.parquet", *args, "-o", tmp_path / "m")
    assert result.exit_code == 2 and re.search(message, result.output), result.output
    assert not (tmp_path / "m").exists()


def test_export_refuses_pca(workspace):
    result = invoke("export", workspace / "model")
    assert result.exit_code == 2 and "not a neural detector" in result.output
