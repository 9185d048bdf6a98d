"""Bounded-memory batch scoring: chunked == whole file, for every detector and every bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame
from detector_checks import assert_same_scores, fitted_detector, score_in_chunks, score_whole_file

import anomaly
from anomaly.errors import DataError
from anomaly.thresholds import Dynamic
from pipelines.batch import iter_scores, plan, resolve_inputs, score_file, score_files, score_table, window_context
from pipelines.sinks import write_table


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    """301 rows (not a multiple of the window: the last window is the flush-with-end one)."""
    path = tmp_path_factory.mktemp("batch") / "run.parquet"
    frame = make_frame(n=301, seed=1)
    frame.iloc[150:170, 2] += 3.0  # a fault, so that some rows are flagged
    write_table(frame, path)
    return path


@pytest.mark.parametrize("name, stride", [("dense-ae", 3), ("lstm-ae", 5)])
def test_overlapping_windows_off_the_chunk_grid(name, stride, data_file):
    det = fitted_detector(name, stride=stride)
    assert window_context(det) == (stride, -(-8 // stride) * stride, 8)
    expected = score_whole_file(det, data_file)
    for chunk_rows in (4, 7, 13):
        assert_same_scores(score_in_chunks(det, data_file, chunk_rows), expected)


@pytest.mark.parametrize("rule", [Dynamic(), Dynamic(window=20)])
def test_dynamic_threshold_state_is_carried_across_chunks(rule, data_file):
    det = anomaly.PCADetector(threshold=rule).fit(make_frame(n=400, seed=0))
    expected = score_whole_file(det, data_file)
    assert expected[2].any()
    for chunk_rows in (3, 19, 64):
        assert_same_scores(score_in_chunks(det, data_file, chunk_rows), expected)


@pytest.mark.parametrize("policy", ["ffill", "interpolate"])
def test_nan_policies_fill_across_chunk_boundaries(policy, tmp_path):
    frame = make_frame(n=60, seed=4)
    frame.iloc[0:3, 1] = np.nan  # leading gap: filled from the first valid value
    frame.iloc[8:23, 2] = np.nan  # spans chunks of 5 and 10
    frame.iloc[30, 0] = np.inf
    frame.iloc[31:34, 0] = np.nan
    frame.iloc[55:, 4] = np.nan  # trailing gap
    path = tmp_path / "gaps.csv"
    write_table(frame, path)
    for name in ("pca", "dense-ae"):
        det = fitted_detector(name, nan_policy=policy)
        expected = score_whole_file(det, path)
        for chunk_rows in (5, 10, 7):
            assert_same_scores(score_in_chunks(det, path, chunk_rows), expected)


def test_score_file_writes_what_the_whole_file_path_writes(data_file, tmp_path):
    det = fitted_detector("lstm-ae")
    errors, scores, flags = score_whole_file(det, data_file)
    for suffix in (".parquet", ".csv"):
        expected = tmp_path / f"expected{suffix}"
        write_table(score_table(errors, scores, flags, with_errors=True), expected)
        result = score_file(det, data_file, tmp_path / f"got{suffix}", chunk_rows=16, with_errors=True)
        assert (result.rows, result.flagged) == (301, int(flags.sum()))
        read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
        pd.testing.assert_frame_equal(read(result.output), read(expected))


def _bad_inputs():
    """(name, file suffix, mutation of a 12-row frame with a timestamp column, detector name, nan policy)."""
    def at(frame, row, column, value):
        frame = frame.astype({column: object}) if isinstance(value, str) else frame.copy()
        frame.loc[row, column] = value
        return frame

    ts = "timestamp"
    return [
        ("duplicate across a chunk boundary", ".parquet", lambda f: at(f, 4, ts, f.loc[3, ts]), "pca", "raise"),
        ("unsorted across a chunk boundary", ".csv", lambda f: f.iloc[[0, 1, 2, 4, 3, 5, 6, 7, 8, 9, 10, 11]], "pca", "raise"),
        ("unsorted early, duplicate late: duplicate reported", ".parquet",
         lambda f: at(at(f, 2, ts, f.loc[1, ts] - pd.Timedelta("5ms")), 9, ts, f.loc[8, ts]), "pca", "raise"),
        ("NaN in two chunks: counted over the file", ".parquet",
         lambda f: at(at(f, 5, "ch2", np.nan), 10, "ch2", np.nan), "pca", "raise"),
        ("inf before a NaN of another column", ".csv", lambda f: at(at(f, 6, "ch1", np.inf), 9, "ch0", np.nan), "pca", "raise"),
        ("words in a late chunk of a CSV", ".csv", lambda f: at(at(f, 9, "ch3", "oops"), 10, "ch3", "x"), "pca", "raise"),
        ("words in two columns: first column in file order", ".csv",
         lambda f: at(at(f, 5, "ch4", "bad"), 9, "ch1", "worse"), "pca", "raise"),
        ("unparseable timestamp in a late chunk", ".csv", lambda f: at(f.astype({ts: str}), 10, ts, "yesterday"), "pca", "raise"),
        ("missing timestamp", ".parquet", lambda f: at(f, 7, ts, pd.NaT), "pca", "raise"),
        ("missing channel and a late duplicate: duplicate reported", ".parquet",
         lambda f: at(f.drop(columns="ch4"), 9, ts, f.loc[8, ts]), "pca", "raise"),
        ("missing channel and NaN: channel reported", ".csv", lambda f: at(f.drop(columns="ch4"), 2, "ch0", np.nan), "pca", "raise"),
        ("extra channel", ".parquet", lambda f: f.assign(extra=1.0), "pca", "raise"),
        ("no channel columns", ".csv", lambda f: f[[ts]], "pca", "raise"),
        ("header only", ".csv", lambda f: f.iloc[:0], "pca", "raise"),
        ("no timestamp column: rows are numbered", ".csv", lambda f: at(f.drop(columns=ts), 7, "ch0", np.nan), "pca", "raise"),
        ("nothing to fill from", ".parquet", lambda f: at(f, slice(None), "ch3", np.nan), "pca", "ffill"),
        ("fewer rows than a window", ".parquet", lambda f: f.iloc[:5], "dense-ae", "raise"),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda case: case[0])
def test_bad_input_gives_the_whole_file_error(case, tmp_path, monkeypatch):
    monkeypatch.setattr("pipelines.chunk_reader.CSV_BLOCK_BYTES", 256)  # CSV blocks of ~3 rows: bad cells in later blocks
    _, suffix, mutate, name, policy = case
    det = fitted_detector(name, **({} if policy == "raise" else {"nan_policy": policy}))
    frame = mutate(make_frame(n=12, seed=3).reset_index())
    path = tmp_path / f"bad{suffix}"
    frame.to_parquet(path, index=False) if suffix == ".parquet" else frame.to_csv(path, index=False)
    expected = score_whole_file(det, path)
    assert isinstance(expected, DataError), expected
    for chunk_rows in (4, 5, 100):
        got = score_in_chunks(det, path, chunk_rows)
        assert type(got) is type(expected) and str(got) == str(expected)
        out = tmp_path / "out" / "scores.parquet"
        with pytest.raises(type(expected)):
            score_file(det, path, out, chunk_rows=chunk_rows)
        assert not out.parent.exists() or list(out.parent.iterdir()) == []


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", "", "empty file"),
    ("corrupt.parquet", "not parquet at all", "cannot (parse|read)"),
    ("data.xlsx", "x", "unsupported file type"),
])
def test_unreadable_files(name, content, message, tmp_path):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        list(iter_scores(fitted_detector("pca"), path))
    assert str(score_whole_file(fitted_detector("pca"), path)).split(":")[0] == str(info.value).split(":")[0] == str(path)
    with pytest.raises(DataError, match="file not found"):
        list(iter_scores(fitted_detector("pca"), tmp_path / "nope.parquet"))


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_failure_mid_file_leaves_no_output_and_keeps_an_old_one(suffix, data_file, tmp_path):
    out = tmp_path / f"scores{suffix}"

    def fail_on_third_block(done, expected):
        if done > 2 * 16:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_file(fitted_detector("pca"), data_file, out, chunk_rows=16, progress=fail_on_third_block)
    assert list(tmp_path.iterdir()) == []
    out.write_text("previous result")
    with pytest.raises(KeyboardInterrupt):
        score_file(fitted_detector("pca"), data_file, out, chunk_rows=16, progress=fail_on_third_block)
    assert out.read_text() == "previous result" and list(tmp_path.iterdir()) == [out]


def test_progress_reports_rows_and_the_expected_total(data_file, tmp_path):
    seen = []
    score_file(fitted_detector("dense-ae"), data_file, tmp_path / "s.parquet", chunk_rows=50, progress=lambda *a: seen.append(a))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen) and seen[-1] == (301, 301)
    assert all(total == 301 for _, total in seen)


def test_datasets_are_resumable_and_report_bad_files(data_file, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(3):
        (inputs / f"run{i}.parquet").write_bytes(data_file.read_bytes())
    (inputs / "broken.csv").write_text("timestamp,ch0\n2026-01-01,1\n")
    (inputs / "notes.txt.md").write_text("not data")
    out = tmp_path / "out"
    sources = resolve_inputs([inputs], exclude=out)
    assert [p.name for p in sources] == ["broken.csv", "run0.parquet", "run1.parquet", "run2.parquet"]
    det = fitted_detector("pca")
    first = score_files(det, plan(sources, out))
    assert [r.error is not None for r in first] == [True, False, False, False]
    assert "missing channels" in str(first[0].error) and not (out / "broken.scores.parquet").exists()
    stamp = (out / "run0.scores.parquet").stat().st_mtime_ns
    second = score_files(det, plan(sources, out))
    assert [r.skipped for r in second] == [False, True, True, True]
    forced = score_files(det, plan(sources[1:2], out, force=True))
    assert not forced[0].skipped and (out / "run0.scores.parquet").stat().st_mtime_ns != stamp
    # files in the output folder are never inputs
    with pytest.raises(DataError, match="no CSV or Parquet files match"):
        resolve_inputs([str(inputs / "*.parquet")], exclude=inputs)


def test_resolve_inputs_rejects_empty_patterns_and_names_collisions(tmp_path):
    with pytest.raises(DataError, match="no CSV or Parquet files match"):
        resolve_inputs([str(tmp_path / "*.parquet")])
    with pytest.raises(DataError, match="no CSV or Parquet files in this folder"):
        resolve_inputs([tmp_path])
    with pytest.raises(anomaly.ConfigError, match="would both be scored into"):
        plan([tmp_path / "a.csv", tmp_path / "a.parquet"], tmp_path / "out")


def test_chunk_rows_must_be_positive(data_file):
    with pytest.raises(anomaly.ConfigError, match="chunk_rows=0"):
        list(iter_scores(fitted_detector("pca"), data_file, chunk_rows=0))


# -- the CLI -----------------------------------------------------------------------
def _cli(*args):
    from typer.testing import CliRunner

    from anomaly.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def dataset(tmp_path, data_file):
    """A PCA model and a folder of three runs (two Parquet, one CSV)."""
    fitted_detector("pca").save(tmp_path / "model")
    runs = tmp_path / "runs"
    runs.mkdir()
    for i in range(2):
        (runs / f"run{i}.parquet").write_bytes(data_file.read_bytes())
    write_table(make_frame(n=120, seed=7), runs / "run2.csv")
    return tmp_path


def test_cli_scores_a_folder_resumably(dataset):
    out = dataset / "scores"
    first = _cli("score", dataset / "runs", "--model", dataset / "model", "--out", out, "--chunk-rows", 7)
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in out.iterdir()) == ["run0.scores.parquet", "run1.scores.parquet", "run2.scores.parquet"]
    assert "3 files scored (722 rows" in first.output
    expected = dataset / "whole.parquet"
    write_table(score_table(*score_whole_file(fitted_detector("pca"), dataset / "runs" / "run2.csv")), expected)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "run2.scores.parquet"), pd.read_parquet(expected))
    again = _cli("score", str(dataset / "runs" / "*.parquet"), "--model", dataset / "model", "--out", out)
    assert again.exit_code == 0 and "0 files scored" in again.output and "2 skipped" in again.output
    forced = _cli("score", str(dataset / "runs" / "*.parquet"), "--model", dataset / "model", "--out", out, "--force")
    assert forced.exit_code == 0 and "2 files scored" in forced.output


def test_cli_reports_each_bad_file_and_scores_the_others(dataset):
    frame = make_frame(n=50, seed=8)
    frame.iloc[30, 1] = np.nan
    write_table(frame, dataset / "runs" / "bad.parquet")
    out = dataset / "scores"
    result = _cli("score", dataset / "runs", "--model", dataset / "model", "--out", out)
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {dataset / 'runs' / 'bad.parquet'}: column 'ch1' has 1 NaN/inf values "
                      "(first NaN at row 30 (2026-01-01 00:00:00.300000)); fill gaps with --nan-policy ffill or "
                      "interpolate (nan_policy in Python)"]
    assert sorted(p.name for p in out.iterdir()) == ["run0.scores.parquet", "run1.scores.parquet", "run2.scores.parquet"]


@pytest.mark.parametrize("args, message", [
    (["--out", "o", "-o", "x.parquet"], "give either -o FILE"),
    ([], "give either -o FILE"),
    (["-o", "x.parquet", "--engine", "spark"], r"--engine 'spark' is not one of"),
    (["-o", "x.parquet", "EXTRA"], "-o takes one input, got 2"),
])
def test_cli_usage_errors(dataset, args, message):
    result = _cli("score", dataset / "runs" / "run0.parquet", "--model", dataset / "model", *args)
    assert result.exit_code == 2 and re.search(message, result.output), result.output


def test_cli_refuses_a_folder_with_o(dataset):
    result = _cli("score", dataset / "runs", "--model", dataset / "model", "-o", dataset / "x.parquet")
    assert result.exit_code == 2 and "is a folder; use --out FOLDER" in result.output
