"""Operating conditions from the command line: fit --condition/--aggregate, the guard in score and stream."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from anomaly.cli import app
from datasets.robot_arm import simulate


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """A 60 s normal log at 28 degC and a normal log at 24 degC (a cooler day), as Parquet and CSV."""
    root = tmp_path_factory.mktemp("conditions")
    simulate(60, seed=0, ambient_c=28.0).frame.to_parquet(root / "normal.parquet")
    cool = simulate(80, seed=3, ambient_c=24.0).frame
    cool.to_parquet(root / "cool.parquet")
    cool.to_csv(root / "cool.csv")
    return root


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_condition_channels_stop_the_flood_and_the_guard_says_why(logs):
    assert invoke("fit", logs / "normal.parquet", "-d", "pca", "-o", logs / "plain").exit_code == 0
    plain = invoke("score", logs / "cool.parquet", "-m", logs / "plain", "-o", logs / "plain.parquet")
    assert plain.exit_code == 0
    assert "model outside its operating envelope: j" in plain.output and "_temp -" in plain.output
    assert pd.read_parquet(logs / "plain.parquet")["flag"].mean() > 0.95
    fitted = invoke("fit", logs / "normal.parquet", "-d", "pca", "--condition", "auto", "--aggregate", "calibrated",
                    "-o", logs / "cond")
    assert fitted.exit_code == 0, fitted.output
    meta = json.loads((logs / "cond" / "detector.json").read_text())
    assert meta["params"]["conditions"] == "auto" and len(meta["conditions"]["indices"]) == 6
    scored = invoke("score", logs / "cool.parquet", "-m", logs / "cond", "-o", logs / "cond.parquet")
    assert scored.exit_code == 0 and "operating envelope" in scored.output
    assert pd.read_parquet(logs / "cond.parquet")["flag"].mean() < 0.05


@pytest.mark.parametrize("args, message", [
    (["--condition", "ambient"], "condition channel(s) ['ambient'] not in the data"),
    (["--condition", ","], "names no channel"),
    (["--aggregate", "median"], "aggregate='median' is not one of"),
])
def test_bad_condition_options_exit_2_and_write_nothing(logs, args, message):
    result = invoke("fit", logs / "normal.parquet", "-d", "pca", *args, "-o", logs / "bad")
    assert result.exit_code == 2 and message in result.output
    assert not (logs / "bad").exists()


def test_stream_emits_one_drift_record_on_a_cooler_day(logs):
    assert invoke("fit", logs / "normal.parquet", "-d", "pca", "--condition", "auto", "-o", logs / "stream-model").exit_code == 0
    done = subprocess.run([sys.executable, "-m", "anomaly.cli", "stream", "--model", str(logs / "stream-model"), "--format", "csv"],
                          input=(logs / "cool.csv").read_text(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    drift = [r for r in records if r["type"] == "drift"]
    assert len(drift) == 1  # 80 s = one 60 s guard window outside the envelope, said once
    assert drift[0]["message"].startswith("model outside its operating envelope: ")
    assert sorted(drift[0]["channels"]) == [f"j{i}_temp" for i in range(1, 7)]
    assert all(-4.5 < delta < -3.0 for delta in drift[0]["channels"].values())


def test_top_channels_rank_calibrated_errors_with_a_calibrated_head(logs):
    fitted = invoke("fit", logs / "normal.parquet", "-d", "pca", "--aggregate", "calibrated", "--param", "statistic=spe",
                    "-o", logs / "calibrated")
    assert fitted.exit_code == 0, fitted.output
    scored = invoke("score", logs / "cool.parquet", "-m", logs / "calibrated", "-o", logs / "calibrated.parquet", "--with-errors")
    assert scored.exit_code == 0, scored.output
    table = pd.read_parquet(logs / "calibrated.parquet")
    errors = table.filter(like="err:").rename(columns=lambda c: c[4:])
    scale = json.loads((logs / "calibrated" / "detector.json").read_text())["head"]["scale"]
    calibrated = errors / scale
    first = [row.split(";")[0] for row in table["top_channels"]]
    assert first == list(calibrated.idxmax(axis=1))
