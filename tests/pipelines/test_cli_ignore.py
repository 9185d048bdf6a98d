"""``anomaly fit --ignore``: columns that are not channels (a state name, a sequence number) are
left out of the model, recorded in it, and dropped again by ``score`` (whole file and block by
block), ``stream`` (CSV and JSON) and the readers underneath; bad names are one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import invoke, one_error_line

from anomaly import load
from anomaly.schema import Schema
from pipelines.chunk_reader import open_chunks
from pipelines.messages import RowParser
from pipelines.sources import read_table

CHANNELS = [f"ch{i}" for i in range(4)]


def robot_log(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows at 100 Hz: four correlated channels, a text state and a sequence number."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    base = np.sin(2 * np.pi * 0.5 * t)
    frame = pd.DataFrame({name: base * (i + 1) + 0.05 * rng.normal(size=n) for i, name in enumerate(CHANNELS)})
    frame.insert(0, "timestamp", pd.date_range("2026-01-01", periods=n, freq="10ms"))
    frame["mode"] = np.where(base > 0, "MOVING", "HOLDING")
    frame["seq"] = np.arange(seed * 100_000, seed * 100_000 + n)
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("ignore")
    robot_log(1500, 1).to_csv(root / "train.csv", index=False)
    test = robot_log(800, 2)
    test.loc[500:, "ch2"] += 3.0  # a fault
    test.to_csv(root / "test.csv", index=False)
    test.to_parquet(root / "test.parquet", index=False)
    test.drop(columns=["mode", "seq"]).to_csv(root / "plain.csv", index=False)
    return root


@pytest.fixture(scope="module")
def model(files):
    result = invoke("fit", files / "train.csv", "--ignore", "mode, seq", "-o", files / "model")
    assert result.exit_code == 0, result.output
    return files / "model", result.output


def test_a_text_column_is_an_error_that_names_the_option(files, tmp_path):
    line = one_error_line(invoke("fit", files / "train.csv", "-o", tmp_path / "m"))
    assert "column 'mode' has 1500 non-numeric values" in line and "anomaly fit --ignore" in line
    assert not (tmp_path / "m").exists()


def test_fit_leaves_the_ignored_columns_out_and_records_them(model):
    path, output = model
    det = load(path)
    assert det.schema_.channels == tuple(CHANNELS) and det.schema_.ignored == ("mode", "seq")
    assert "left out, not channels (score, stream and feedback drop them too): mode, seq" in output
    assert json.loads((path / "training_report.json").read_text())["ignored"] == ["mode", "seq"]


def scored(path) -> pd.DataFrame:
    return pd.read_csv(path)


def test_score_drops_them_whole_file_block_by_block_and_from_parquet(files, model, tmp_path):
    path, _ = model
    expected = load(path).score(pd.read_csv(files / "plain.csv", index_col="timestamp", parse_dates=True)).to_numpy()
    runs = {"csv": (files / "test.csv", ()), "blocks": (files / "test.csv", ("--chunk-rows", "64")),
            "parquet": (files / "test.parquet", ()), "without them": (files / "plain.csv", ()),
            "whole file (--alarms)": (files / "test.csv", ("--alarms", tmp_path / "alarms.csv"))}
    for name, (source, options) in runs.items():
        out = tmp_path / f"{name}.csv"
        result = invoke("score", source, "-m", path, "-o", out, *options)
        assert result.exit_code == 0, (name, result.output)
        np.testing.assert_allclose(scored(out)["score"].to_numpy(), expected, rtol=1e-5, err_msg=name)
    assert scored(tmp_path / "csv.csv")["flag"].to_numpy()[520:].mean() > 0.9  # the fault is still found


def test_stream_skips_the_ignored_fields(files, model):
    path, _ = model
    rows = pd.read_csv(files / "test.csv").iloc[:50]
    csv_lines = rows.to_csv(index=False)
    jsonl = "\n".join(json.dumps(r) for r in rows.to_dict(orient="records")) + "\n"
    for fmt, text in (("csv", csv_lines), ("jsonl", jsonl)):
        result = invoke("stream", "-m", path, "--format", fmt, "--scores", input=text)
        assert result.exit_code == 0, (fmt, result.output)
        assert "50 rows in, 50 scored, 0 skipped" in result.output, (fmt, result.output)


@pytest.mark.parametrize(("spec", "message"), [
    ("mode,sequence", r"--ignore: column(s) ['sequence'] in none of the logs"),
    ("mode,,seq", "--ignore 'mode,,seq': an empty column name"),
    ("mode,mode", "--ignore 'mode,mode': ['mode'] named twice"),
])
def test_bad_ignore_names_exit_2_and_write_nothing(files, tmp_path, spec, message):
    line = one_error_line(invoke("fit", files / "train.csv", "--ignore", spec, "-o", tmp_path / "m"))
    assert message in line
    assert not (tmp_path / "m").exists()


def test_readers_drop_the_excluded_columns_where_present(files):
    table = read_table(files / "test.csv", exclude=("mode", "seq", "absent"))
    assert list(table.frame.columns) == CHANNELS and table.metadata == {"excluded": ["mode", "seq"]}
    assert isinstance(table.frame.index, pd.DatetimeIndex)
    for name in ("test.parquet", "test.csv"):
        chunks = open_chunks(files / name, chunk_rows=300, exclude=("mode", "seq"))
        assert [list(chunk.body.columns) for chunk in chunks] == [CHANNELS] * 3


def test_an_excluded_column_is_no_timestamp(tmp_path):
    frame = pd.DataFrame({"time": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
    frame.to_csv(tmp_path / "f.csv", index=False)
    table = read_table(tmp_path / "f.csv", exclude=("time",))
    assert list(table.frame.columns) == ["x"] and isinstance(table.frame.index, pd.RangeIndex)


def test_the_message_parser_skips_ignored_fields_and_still_rejects_unknown_ones():
    parser = RowParser(CHANNELS, timestamp="timestamp", ignored=("mode",))
    record = {"timestamp": 1.0, **{name: 1.0 for name in CHANNELS}, "mode": "MOVING"}
    assert parser.parse(json.dumps(record))[1].tolist() == [1.0] * 4
    with pytest.raises(Exception, match=r"unexpected channels \['other'\]"):
        parser.parse(json.dumps({**record, "timestamp": 2.0, "other": 3}))


def test_the_schema_keeps_its_ignored_columns_and_reads_old_models():
    schema = Schema(("a", "b"), 100.0, ("mode",))
    assert Schema.from_dict(schema.to_dict()) == schema
    assert Schema.from_dict({"channels": ["a", "b"], "sampling_rate": 100.0}).ignored == ()
    frame = pd.DataFrame({"b": [1.0], "mode": ["x"], "a": [2.0]})
    assert list(schema.align(frame).columns) == ["a", "b"]
