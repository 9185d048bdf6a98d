from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame

from anomaly.detectors.pca import PCADetector
from anomaly.errors import DataError
from pipelines.batch import iter_scores
from pipelines.chunk_reader import open_chunks
from pipelines.sinks import write_table
from pipelines.sources import read_table, sniff_csv


def test_csv_with_semicolons_timestamp_and_labels(tmp_path):
    path = tmp_path / "run.csv"
    path.write_text("datetime;a;b;anomaly\n2026-01-01 00:00:00;1;2;0\n2026-01-01 00:00:01;3;4;1\n")
    table = read_table(path)
    assert list(table.frame.columns) == ["a", "b"]
    assert isinstance(table.frame.index, pd.DatetimeIndex)
    assert table.labels["anomaly"].tolist() == [0, 1]


@pytest.mark.parametrize("text, dialect", [
    ("time;a;b\n0;1,5;2\n1;-3,25;4e-3\n2;0,5;1\n", (";", ",", False)),
    ("time;a;b\ns;A;degC\n0;1,5;2\n1;3,25;4\n2;0,5;1\n", (";", ",", True)),
    ("time\ta\n0\t1.5\n1\t2,5\n2\t3\n", ("\t", ".", False)),  # a dot anywhere: dots
    ("time,a,b\n0,\"1,5\",2\n1,2,3\n2,4,5\n", (",", ".", False)),  # the delimiter is never the decimal mark
    ("timestamp,a\n,A\n2026-01-01 00:00:00,1\n2026-01-01 00:00:01,2\n", (",", ".", True)),  # a blank unit
    ("timestamp,a\n2026-01-01 00:00:00,\n2026-01-01 00:00:01,2\n2026-01-01 00:00:02,2\n", (",", ".", False)),  # a first row without values
    ("timestamp actual_q_0 actual_current_0\n1523.456 0.5 1.25\n1523.464 0.51 1.5\n1523.472 0.52 1.75\n", (" ", ".", False)),  # UR RTDE
    ("Time (s),Axis 1\n0,1.5\n1,2\n2,3\n", (",", ".", False)),  # spaces inside the names of a comma file
])
def test_csv_dialect(tmp_path, text, dialect):
    path = tmp_path / "run.csv"
    path.write_text(text)
    assert astuple(sniff_csv(path)) == dialect


def test_european_export_with_a_units_row_reads_alike_whole_and_in_chunks(tmp_path):
    """``;`` delimiters, decimal commas and a line of units under the header, as a logger or a
    spreadsheet in a European locale exports them: the numbers, not an error."""
    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-01", periods=50, freq="100ms", name="timestamp")
    values = rng.normal(size=(50, 2)) * [1.0, 100.0]
    path = tmp_path / "run.csv"
    lines = ["timestamp;a;b", "s;A;degC"] + [f"{t:%Y-%m-%d %H:%M:%S.%f};{a:.6f};{b:.6f}".replace(".", "#", 1).replace(".", ",").replace("#", ".")
                                             for t, (a, b) in zip(index, values)]
    path.write_text("\n".join(lines) + "\n")
    table = read_table(path)
    np.testing.assert_allclose(table.frame.to_numpy(), values, atol=1e-6)
    assert (table.frame.index == index).all()
    chunks = list(open_chunks(path, chunk_rows=7))
    assert [c.start for c in chunks[:2]] == [0, 7]
    np.testing.assert_allclose(pd.concat([c.body for c in chunks]).to_numpy(), table.frame.to_numpy())


def test_dotted_dates_are_day_first_whole_and_in_chunks(tmp_path):
    """``01.01.2026`` .. ``13.01.2026``: read month first, the 2nd to the 12th became February to
    December and the log was unsorted; day first, it is 13 days in order."""
    index = pd.date_range("2026-01-01", periods=13 * 24, freq="1h")
    rng = np.random.default_rng(0)
    path = tmp_path / "run.csv"
    values = [f"{v:.4f}".replace(".", ",") for v in rng.normal(size=len(index))]
    path.write_text("time;a;b\n" + "".join(f"{t:%d.%m.%Y %H:%M:%S};{i},5;{v}\n" for i, (t, v) in enumerate(zip(index, values))))
    table = read_table(path)
    assert (table.frame.index == index).all() and table.frame["a"].iloc[1] == 1.5
    det = PCADetector(n_components=1, conditions=None).fit(table.frame)
    streamed = pd.concat([s for _, s, _ in iter_scores(det, path, chunk_rows=50)])  # each chunk parsed alike
    np.testing.assert_allclose(streamed.to_numpy(), det.score(table.frame).to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_date_and_a_time_column_are_one_timestamp_whole_and_in_chunks(tmp_path, suffix):
    """``Datum;Uhrzeit;...`` / ``Date,Time,...`` as HMI and PLC exports write them: the date alone
    repeated itself ("duplicate timestamp") and the time of day was no channel."""
    rng = np.random.default_rng(0)
    index = pd.date_range("2026-01-12 23:59:00", periods=1500, freq="100ms")  # across midnight
    german = suffix == ".csv"
    frame = pd.DataFrame({"Datum" if german else "Date": index.strftime("%d.%m.%Y" if german else "%Y-%m-%d"),
                          "Uhrzeit" if german else "Time": index.strftime("%H:%M:%S.%f").str[:-3],
                          "a": rng.normal(size=1500), "b": rng.normal(size=1500)})
    path = tmp_path / f"run{suffix}"
    frame.to_csv(path, index=False, sep=";") if german else frame.to_parquet(path)
    table = read_table(path)
    assert list(table.frame.columns) == ["a", "b"] and (table.frame.index == index).all()
    det = PCADetector(n_components=1, conditions=None).fit(table.frame)
    streamed = pd.concat([s for _, s, _ in iter_scores(det, path, chunk_rows=400)])
    np.testing.assert_allclose(streamed.to_numpy(), det.score(table.frame).to_numpy(), rtol=1e-5)
    assert (streamed.index == index).all()
    with pytest.raises(DataError, match="duplicate timestamp"):  # a named timestamp column is taken as it is
        read_table(path, timestamp="Datum" if german else "Date")


def test_a_date_and_a_time_column_after_an_empty_row_group_are_one_timestamp_in_chunks(tmp_path):
    """A Parquet writer may leave its first row group empty: the chunked reader's date-and-time
    probe looked only there, found no value and kept the date as the (repeating) timestamp."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    index = pd.date_range("2026-01-12 10:00:00", periods=600, freq="100ms")
    frame = pd.DataFrame({"Date": index.strftime("%Y-%m-%d"), "Time": index.strftime("%H:%M:%S.%f").str[:-3],
                          "a": np.random.default_rng(0).normal(size=600), "b": np.random.default_rng(1).normal(size=600)})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    path = tmp_path / "run.parquet"
    with pq.ParquetWriter(path, table.schema) as writer:
        writer.write_table(table.slice(0, 0))
        writer.write_table(table)
    assert pq.ParquetFile(path).metadata.row_group(0).num_rows == 0
    whole = read_table(path).frame
    assert list(whole.columns) == ["a", "b"] and (whole.index == index).all()
    det = PCADetector(n_components=1, conditions=None).fit(whole)
    streamed = pd.concat([s for _, s, _ in iter_scores(det, path, chunk_rows=250)])
    assert (streamed.index == index).all()
    np.testing.assert_allclose(streamed.to_numpy(), det.score(whole).to_numpy(), rtol=1e-5)


def test_a_date_column_with_times_is_the_timestamp_alone(tmp_path):
    path = tmp_path / "run.csv"
    path.write_text("date,time,a\n2026-01-01 00:00:00,0.5,1\n2026-01-01 00:00:01,0.7,2\n2026-01-01 00:00:02,0.9,3\n")
    table = read_table(path)
    assert list(table.frame.columns) == ["time", "a"] and str(table.frame.index[1]) == "2026-01-01 00:00:01"


def test_parquet_round_trip_and_numeric_index(tmp_path):
    frame = pd.DataFrame({"x": np.arange(4.0)}, index=pd.Index([0.0, 0.5, 1.0, 1.5], name="time"))
    write_table(frame, tmp_path / "f.parquet")
    table = read_table(tmp_path / "f.parquet")
    assert table.frame.index.tolist() == [0.0, 0.5, 1.0, 1.5]
    assert table.labels.shape[1] == 0


@pytest.mark.parametrize("index_name", ["timestamp", None])  # stored as "timestamp" / "__index_level_0__"
def test_parquet_index_stored_by_to_parquet_is_the_timestamps(tmp_path, index_name):
    make_frame(n=40, channels=2).to_csv(tmp_path / "run.csv")
    frame = pd.read_csv(tmp_path / "run.csv", index_col=0, parse_dates=True).rename_axis(index_name)
    frame.to_parquet(tmp_path / "run.parquet")
    table = read_table(tmp_path / "run.parquet")
    pd.testing.assert_index_equal(table.frame.index, frame.index.rename("timestamp"))
    assert list(table.frame.columns) == ["ch0", "ch1"]


def test_parquet_stored_index_that_is_no_timestamp_is_no_channel(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=pd.Index([5, 7, 9], name="row"))
    frame.to_parquet(tmp_path / "rows.parquet")
    table = read_table(tmp_path / "rows.parquet")
    assert isinstance(table.frame.index, pd.RangeIndex) and list(table.frame.columns) == ["a"]
    assert read_table(tmp_path / "rows.parquet", timestamp="row").frame.index.tolist() == [5, 7, 9]


def test_no_timestamp_column_numbers_rows(tmp_path):
    (tmp_path / "f.csv").write_text("a,b\n1,2\n3,4\n")
    assert isinstance(read_table(tmp_path / "f.csv").frame.index, pd.RangeIndex)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", "", "empty file"),
        ("header.csv", "timestamp,a\n", "no data rows"),
        ("text.csv", "a,b\n1,2\nx,4\n", r"column 'a' has 1 non-numeric values \(first at row 1\)"),
        ("dup.csv", "timestamp,a\n2026-01-01 00:00:00,1\n2026-01-01 00:00:00,2\n", "duplicate timestamp"),
        ("order.csv", "timestamp,a\n2026-01-01 00:00:01,1\n2026-01-01 00:00:00,2\n", "not sorted"),
        ("badts.csv", "timestamp,a\n2026-01-01 00:00:01,1\nyesterday,2\n", "unparseable value 'yesterday' at row 1"),
        ("corrupt.parquet", "not parquet at all", "cannot (parse|read)"),
        ("data.xlsx", "x", "unsupported file type"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        read_table(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "nope.csv")


def test_failed_write_leaves_no_file(tmp_path):
    frame = pd.DataFrame({"a": [object()]})  # pyarrow cannot serialise an arbitrary object
    with pytest.raises(ValueError):  # pyarrow.ArrowInvalid
        write_table(frame, tmp_path / "out.parquet")
    assert list(tmp_path.iterdir()) == []


def rtde_log(path, seed: int, rows: int = 3000) -> pd.DataFrame:
    """A Universal Robots RTDE ``record.py`` log: space-delimited, ``timestamp`` in seconds since the
    controller started, 125 Hz, integer mode columns; returns the channels as written."""
    rng = np.random.default_rng(seed)
    t = 1523.456 + 0.008 * np.arange(rows)
    q = 0.5 * np.sin(2 * np.pi * t / 6.0)
    frame = pd.DataFrame({"actual_q_0": q + rng.normal(0, 1e-4, rows), "actual_qd_0": np.gradient(q, 0.008),
                          "actual_current_0": 0.8 * np.cos(q) + rng.normal(0, 0.02, rows),
                          "joint_temperatures_0": 30 + np.round(0.002 * (t - t[0]), 1), "robot_mode": np.full(rows, 7)})
    with open(path, "w") as out:
        out.write(" ".join(["timestamp", *frame.columns]) + "\n")
        for time, row in zip(t, frame.itertuples(index=False)):
            out.write(" ".join([repr(float(time)), *(repr(v) for v in row)]) + "\n")
    return frame


def test_a_universal_robots_rtde_log_reads_alike_whole_and_in_chunks(tmp_path):
    path = tmp_path / "robot_data.csv"
    frame = rtde_log(path, 0)
    table = read_table(path)
    assert list(table.frame.columns) == list(frame.columns) and table.frame.index.name == "timestamp"
    np.testing.assert_allclose(table.frame.to_numpy(), frame.to_numpy(), rtol=1e-12)
    chunks = list(open_chunks(path, chunk_rows=700))
    np.testing.assert_allclose(pd.concat([c.body for c in chunks]).to_numpy(), table.frame.to_numpy())
    det = PCADetector().fit(table.frame)
    assert det.schema_.sampling_rate == pytest.approx(125.0)
    streamed = pd.concat([s for _, s, _ in iter_scores(det, path, chunk_rows=700)])
    np.testing.assert_allclose(streamed.to_numpy(), det.score(table.frame).to_numpy(), rtol=1e-5, atol=1e-6)


def test_columns_aligned_with_runs_of_spaces_are_one_clear_error(tmp_path):
    path = tmp_path / "aligned.txt.csv"
    path.write_text("time    a      b\n0       1.5    2\n1       2.5    3\n2       3.5    4\n")
    with pytest.raises(DataError, match="columns separated by runs of spaces"):
        read_table(path)


def test_a_space_delimited_header_may_quote_a_name_with_a_space(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('time "joint 1" "joint 2"\n' + "".join(f"{t} {t * 0.5} {t * 0.25}\n" for t in range(60)))
    table = read_table(path)
    assert list(table.frame.columns) == ["joint 1", "joint 2"] and table.frame["joint 2"].iloc[4] == 1.0
    chunks = pd.concat([c.body for c in open_chunks(path, chunk_rows=25)])
    assert list(chunks.columns) == ["joint 1", "joint 2"]
    np.testing.assert_allclose(chunks.to_numpy(), table.frame.to_numpy())
