"""The scoring runtime: exported neural models and PCA score with Keras and TensorFlow absent."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import anomaly
from datasets.robot_arm import simulate

# Run the CLI in a fresh interpreter where importing a library of the training extra fails, as
# in an install of the base package alone.
WITHOUT_TRAINING = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("keras", "tensorflow", "tf2onnx", "scipy", "sklearn", "matplotlib"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Absent())
import importlib.util
_find = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in ("keras", "tensorflow") else _find(name, *a)
from anomaly.cli import main
sys.argv = ["anomaly", *sys.argv[1:]]
main()
"""


def run_without_training(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_TRAINING, *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("runtime")
    normal = simulate(20, seed=0).frame
    normal.to_csv(root / "normal.csv", index_label="timestamp")
    params = {"window": 8, "units": (8,), "latent": 4, "epochs": 1, "random_state": 0}
    anomaly.LSTMAutoencoder(**params).fit(normal).save(root / "keras-only")
    exported = anomaly.LSTMAutoencoder(**params).fit(normal)
    exported.save(root / "exported")
    exported.export_onnx(root / "exported" / "model.onnx")
    anomaly.PCADetector().fit(normal).save(root / "pca")
    return root


def test_a_saved_model_records_its_runtime(models):
    runtime = {name: json.loads((models / name / "detector.json").read_text())["runtime"] for name in ("keras-only", "exported", "pca")}
    assert runtime == {"keras-only": "keras", "exported": "onnxruntime", "pca": "numpy"}


@pytest.mark.parametrize("model", ["exported", "pca"])
def test_exported_and_pca_models_score_without_keras(models, model):
    result = run_without_training("score", models / "normal.csv", "-m", models / model, "-o", models / f"{model}.csv")
    assert result.returncode == 0, result.stderr
    assert (models / f"{model}.csv").stat().st_size > 0


def test_a_model_that_was_not_exported_says_how_to_score_it(models):
    result = run_without_training("score", models / "normal.csv", "-m", models / "keras-only", "-o", models / "no.csv")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "robot-anomaly[train]" in lines[0] and "anomaly export" in lines[0]
    assert not (models / "no.csv").exists()


def test_an_exported_model_reads_its_keras_files_only_when_asked(models):
    det = anomaly.load(models / "exported")
    assert type(det.engine_).__name__ == "OnnxEngine" and not hasattr(det, "model_")
    assert set(det.networks()) == {"model"} and hasattr(det, "model_")  # read on first use


@pytest.mark.parametrize("args", [["fit", "{normal}", "-d", "lstm-ae", "--epochs", "1", "-o", "{out}"],
                                  ["simulate", "-o", "{out}.csv", "--duration", "30", "--faults", "none"]])
def test_a_command_that_needs_the_training_extra_says_so(models, tmp_path, args):
    out = tmp_path / "out"
    result = run_without_training(*(a.format(normal=models / "normal.csv", out=out) for a in args))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "robot-anomaly[train]" in lines[0], result.stderr
    assert not list(tmp_path.iterdir())
