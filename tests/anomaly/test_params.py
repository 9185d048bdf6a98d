"""The estimator parameter protocol without scikit-learn, and what a scoring process imports."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sklearn.base import clone

import anomaly
from anomaly.errors import ConfigError
from anomaly.thresholds import Percentile

TRAINING_ONLY = ("sklearn", "scipy", "keras", "tensorflow", "matplotlib")


def test_params_follow_the_scikit_learn_contract():
    det = anomaly.PCADetector(n_components=3, threshold=Percentile(95.0))
    params = det.get_params()
    assert params["n_components"] == 3 and params["threshold__q"] == 95.0
    copy = clone(det)
    assert copy is not det and copy.get_params(deep=False).keys() == det.get_params(deep=False).keys()
    assert copy.threshold is not det.threshold and copy.threshold.q == 95.0
    det.set_params(statistic="spe", threshold__q=90.0)
    assert det.statistic == "spe" and det.threshold.q == 90.0
    with pytest.raises(ConfigError, match=r"PCADetector params \['bogus'\] are unknown"):
        det.set_params(bogus=1)
    assert repr(anomaly.PCADetector(statistic="spe")) == "PCADetector(statistic='spe')"


def _imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(result.stdout.split()) & set(TRAINING_ONLY)


def test_the_cli_imports_no_training_library():
    assert _imported_after("import anomaly.cli") == set()


def test_scoring_a_pca_model_imports_no_training_library(tmp_path):
    from datasets.robot_arm import simulate

    simulate(30, seed=0).frame.to_csv(tmp_path / "normal.csv", index_label="timestamp")
    anomaly.PCADetector().fit(simulate(30, seed=0).frame).save(tmp_path / "model")
    code = ("from anomaly.cli import app\nfrom typer.testing import CliRunner\n"
            f"r = CliRunner().invoke(app, ['score', r'{tmp_path / 'normal.csv'}', '-m', r'{tmp_path / 'model'}', '-o', r'{tmp_path / 's.csv'}'])\n"
            "assert r.exit_code == 0, r.output")
    assert _imported_after(code) == set()
    assert (tmp_path / "s.csv").exists()
