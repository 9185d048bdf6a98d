"""Folders of ``rostopic echo -p`` CSV files: detection, topic names, channels, alignment, bad topics."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from anomaly.cli import app
from anomaly.errors import ConfigError, DataError, SchemaError
from pipelines.rostopic import is_rostopic_folder, read_rostopic_folder, read_rostopic_topics, topic_names
from pipelines.sources import read_table

runner = CliRunner()
T0 = 1_531_943_810_000_000_000  # ns


def write_topic(path, times_ns, columns: dict, *, gz: bool = False) -> None:
    frame = pd.DataFrame({"%time": np.asarray(times_ns, dtype=np.int64), **columns})
    if gz:
        with gzip.open(path, "wt", newline="") as handle:
            frame.to_csv(handle, index=False)
    else:
        frame.to_csv(path, index=False)


def make_folder(folder, seconds: float = 20.0, seed: int = 0, *, fault: bool = False):
    """Two topics of one 'flight': an IMU at 50 Hz (gzipped) and a motor at 5 Hz, with header,
    text and covariance fields that are not channels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_imu, n_motor = int(seconds * 50), int(seconds * 5)
    t_imu = T0 + np.arange(n_imu) * 20_000_000 + rng.integers(0, 1_000_000, n_imu)
    t_motor = T0 + 7_000_000 + np.arange(n_motor) * 200_000_000
    phase = np.sin(np.arange(n_imu) / 25.0)
    gyro = phase + 0.05 * rng.standard_normal(n_imu)
    accel = 0.5 * phase + 0.05 * rng.standard_normal(n_imu)
    if fault:
        gyro[n_imu // 2 :] += 3.0
    write_topic(folder / "flight-mavros-imu-data.csv.gz", t_imu, {
        "field.header.seq": np.arange(n_imu), "field.header.stamp": t_imu - 500, "field.header.frame_id": "base_link",
        "field.angular_velocity.x": gyro, "field.linear_acceleration.x": accel,
        "field.angular_velocity_covariance0": 0.0,
    }, gz=True)
    write_topic(folder / "flight-motor-temp.csv", t_motor, {
        "field.data": 40 + 0.1 * np.sin(np.arange(n_motor) / 5.0) + 0.01 * rng.standard_normal(n_motor),
        "field.mode": "GUIDED",
    })
    return t_imu, t_motor


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_a_topic_folder_is_recognised_and_a_merged_log_folder_is_not(tmp_path):
    make_folder(tmp_path / "raw")
    assert is_rostopic_folder(tmp_path / "raw")
    merged = tmp_path / "merged"
    merged.mkdir()
    (merged / "a.csv").write_text("%time,x\n2026-01-01 00:00:00.000,1\n2026-01-01 00:00:00.050,2\n")
    assert not is_rostopic_folder(merged) and not is_rostopic_folder(tmp_path / "raw" / "flight-motor-temp.csv")


def test_topic_names_drop_the_shared_bag_name():
    from pathlib import Path

    files = [Path("bag_2018-07-18-15-53-31_1-mavros-imu-data.csv.gz"), Path("bag_2018-07-18-15-53-31_1-failure_status-engines.csv")]
    assert list(topic_names(files)) == ["/mavros/imu/data", "/failure_status/engines"]
    assert list(topic_names([Path("imu-data.csv")])) == ["/imu/data"]


def test_two_topics_at_different_rates_are_aligned_on_the_fastest(tmp_path):
    t_imu, t_motor = make_folder(tmp_path / "raw")
    frames = read_rostopic_topics(tmp_path / "raw")
    assert list(frames) == ["/mavros/imu/data", "/motor/temp"]
    assert list(frames["/mavros/imu/data"].columns) == ["/mavros/imu/data/angular_velocity.x", "/mavros/imu/data/linear_acceleration.x"]
    assert list(frames["/motor/temp"].columns) == ["/motor/temp/data"]  # header, text and covariance fields left out
    frame, report = read_rostopic_folder(tmp_path / "raw")
    assert report.reference == "/mavros/imu/data" and frame.shape[1] == 3
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index[0] >= pd.Timestamp(t_motor[0])
    assert frame.index.isin(pd.DatetimeIndex(t_imu.astype("datetime64[ns]"))).all()
    table = read_table(tmp_path / "raw", timestamp="%time", rate_hz=10)
    assert table.metadata["alignment"]["rate_hz"] == 10 and np.allclose(np.diff(table.frame.index.asi8), 1e8, atol=1)
    chosen = read_table(tmp_path / "raw", topics=["/mavros/imu/data:angular_velocity.x,angular_velocity_covariance0", "motor/temp"])
    assert list(chosen.frame.columns) == ["/mavros/imu/data/angular_velocity.x", "/mavros/imu/data/angular_velocity_covariance0",
                                          "/motor/temp/data"]


@pytest.mark.parametrize("topics, error, message", [
    (["/nope"], SchemaError, r"topic '/nope' not found; the folder has \['/mavros/imu/data', '/motor/temp'\]"),
    (["/motor/temp:mode"], SchemaError, "field 'mode' is not a number in every message"),
    (["/motor/temp:pressure"], SchemaError, "field 'pressure' not found"),
    (["/motor/temp", "/motor/temp"], ConfigError, "selected twice"),
])
def test_bad_topic_selections(tmp_path, topics, error, message):
    make_folder(tmp_path / "raw")
    with pytest.raises(error, match=message):
        read_rostopic_folder(tmp_path / "raw", topics)


@pytest.mark.parametrize("content, message", [
    ("", "empty topic file"),
    ("%time,field.data\n", "empty topic file"),
    ("%time,field.data\n1531943811000000000,1\nabc,2\n", "%time must be integer nanoseconds; row 1 has 'abc'"),
    ("%time,field.data\n1531943811000000000,1\n1531943811000000000,2\n", "repeats the previous message"),
    ("%time,field.data\n1531943811000000000,1\n1531943810000000000,2\n", "comes before the previous message"),
    ('%time,field.data\n1531943811000000000,"1\n', "cannot parse topic file"),
])
def test_an_empty_or_unparseable_topic_names_its_file(tmp_path, content, message):
    make_folder(tmp_path / "raw")
    (tmp_path / "raw" / "flight-broken-topic.csv").write_text(content)
    with pytest.raises(DataError, match=f"flight-broken-topic.csv: .*{message}"):
        read_table(tmp_path / "raw")


def test_cli_fits_and_scores_a_topic_folder(tmp_path):
    make_folder(tmp_path / "normal")
    make_folder(tmp_path / "faulty", seed=1, fault=True)
    fitted = invoke("fit", tmp_path / "normal", "-d", "pca", "-o", tmp_path / "m")
    assert fitted.exit_code == 0, fitted.output
    scored = invoke("score", tmp_path / "faulty", "--model", tmp_path / "m", "-o", tmp_path / "s.csv")
    assert scored.exit_code == 0, scored.output
    out = pd.read_csv(tmp_path / "s.csv", parse_dates=["timestamp"])
    expected = read_table(tmp_path / "faulty").frame.index
    assert (out["timestamp"].to_numpy() == expected.to_numpy()).all()
    half = len(out) // 2
    assert out["flag"].iloc[half + 5 :].mean() > 0.9 > 0.1 > out["flag"].iloc[: half - 5].mean()
    assert "/mavros/imu/data/angular_velocity.x" in out["top_channels"].iloc[-1].split(";")[:2]
    refused = invoke("score", tmp_path / "faulty", "--model", tmp_path / "m", "--out", tmp_path / "outs")
    assert refused.exit_code == 2 and "scored one at a time, with -o FILE" in refused.output


@pytest.fixture(scope="module")
def topic_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("topics")
    make_folder(root / "normal")
    assert invoke("fit", root / "normal", "-o", root / "model").exit_code == 0
    return root / "model"


@pytest.mark.parametrize("content", ["", "%time,field.data\n", "%time,field.data\n1531943811000000000,1\nabc,2\n"])
def test_cli_rejects_a_folder_with_an_empty_or_unparseable_topic(tmp_path, topic_model, content):
    make_folder(tmp_path / "raw")
    (tmp_path / "raw" / "flight-broken-topic.csv").write_text(content)
    for args in (["fit", tmp_path / "raw", "-o", tmp_path / "m"],
                 ["score", tmp_path / "raw", "--model", topic_model, "-o", tmp_path / "s.csv"]):
        result = invoke(*args)
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "flight-broken-topic.csv" in lines[0], result.output
    assert not (tmp_path / "m").exists() and not (tmp_path / "s.csv").exists()
