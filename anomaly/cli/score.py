"""``anomaly score``: score files with a saved detector, one row out per row in.

CSV/Parquet inputs (also gzipped, ``.csv.gz``) are scored in bounded memory (locally or on
Dask); ROS bags, rostopic CSV folders, and inputs given ``--topic``/``--rate``, are read whole.
A supervised head (``anomaly fit --labels``) reads each input whole and adds ``fault_type``
(the most likely fault label of flagged rows) when it learnt several. Under a NaN policy that fills gaps (the model's, or ``--nan-policy``), the rows before every
channel has a value are not scored (one ``note:`` line per file says how many); every other
row keeps its input timestamp in the output.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from anomaly import AnomalyError, ConfigError
from anomaly.cli.console import err
from anomaly.cli.inputs import check_nan_policy, leading_note, load_model, model_runs, read_log_runs
from anomaly.cli.progress import progress, rows_progress
from anomaly.decisions import events, model_rules
from anomaly.engine import ENGINE_CHOICES
from anomaly.guard import condition_hint, describe, joined, rate_note, relation_note, run_flood
from anomaly.pauses import pass_slices
from anomaly.schema import sampling_rate
from anomaly.supervised import is_supervised
from pipelines.batch import ScoredFile, plan, resolve_inputs, score_files, score_table
from pipelines.chunk_reader import DEFAULT_CHUNK_ROWS, row_count
from pipelines.dask_engine import score_files_dask
from pipelines.sinks import check_table_path, write_table
from pipelines.sources import is_topic_log, timestamp_index

EXECUTORS = ("local", "dask")


def score(
    data: list[str] = typer.Argument(..., help="Data to score: .csv/.csv.gz/.parquet files, folders of them or quoted glob patterns; or one ROS .bag/.mcap file, ROS 2 bag folder, folder of rostopic CSV files or PX4 .ulg log (with -o)."),
    model: Path = typer.Option(..., "--model", "-m", help="Model directory from `anomaly fit`."),
    output: Path = typer.Option(None, "-o", "--output", help="Output .parquet or .csv for one input: score, flag, top_channels per row."),
    out: Path = typer.Option(None, "--out", help="Output folder: <input name>.scores.parquet per input; inputs whose output exists are skipped (resumable)."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
    top_k: int = typer.Option(3, help="Channels named per row in top_channels."),
    with_errors: bool = typer.Option(False, help="Also write the per-channel error columns (err:<channel>)."),
    engine: str = typer.Option("auto", help="auto | keras | onnx: inference engine of neural models (auto uses model.onnx when present)."),
    executor: str = typer.Option("local", help="local | dask: where files are scored (dask without --scheduler starts a local cluster of 2 processes)."),
    scheduler: str = typer.Option(None, help="tcp://HOST:PORT of a Dask scheduler to score on (implies --executor dask)."),
    chunk_rows: int = typer.Option(DEFAULT_CHUNK_ROWS, help="Rows read at a time from .csv/.parquet inputs: bounds memory; results do not depend on it."),
    force: bool = typer.Option(False, "--force", help="With --out: score inputs again although their output exists."),
    topic: list[str] = typer.Option([], "--topic", help="Bags/MCAP/rostopic folders/PX4 ULog files: topic to read, /name or /name:field.path (ULog: name or name:field; repeatable; default: every supported topic)."),
    rate: float = typer.Option(None, "--rate", help="Bags/MCAP/rostopic folders/ULog files: grid rate in Hz for aligning topics (default: the fastest topic's timestamps)."),
    alarms: Path = typer.Option(None, "--alarms", help="With -o: also write the alarms (the alert rules' events) as a start,end,label CSV to review: fill label with false_alarm or a fault label and pass it to `anomaly feedback`."),
    nan_policy: str = typer.Option(None, "--nan-policy", help="raise | ffill | interpolate: replaces the model's NaN policy (default: the model's). ffill/interpolate do not score a file's rows before every channel has a value."),
    runs: str = typer.Option(None, "--runs", help="A column that tells several runs in one file apart (a unit, episode or cycle number whose clock restarts): each run scored as a log of its own, the output in the input's row order with the run column after the timestamp. Default: the model's (fit --runs) where a file has it. Reads each file whole."),
):
    """Score files with a saved detector, one row out per row in, in bounded memory (CSV/Parquet)."""
    if (output is None) == (out is None):
        raise ConfigError("give either -o FILE (one input) or --out FOLDER")
    if engine not in ENGINE_CHOICES:
        raise ConfigError(f"--engine {engine!r} is not one of {list(ENGINE_CHOICES)}")
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r} is not one of {list(EXECUTORS)}")
    check_nan_policy(nan_policy)
    on_dask = executor == "dask" or scheduler is not None
    whole = is_supervised(model)  # a supervised head reads each input whole
    if whole and on_dask:
        raise ConfigError(f"{model}: a supervised head scores locally; drop --executor dask/--scheduler")
    if on_dask and nan_policy is not None:
        raise ConfigError("--nan-policy is not available with --executor dask (workers use the model's); fit the model with it")
    options = {"timestamp": timestamp, "chunk_rows": chunk_rows, "top_k": top_k, "with_errors": with_errors, "drop_leading": None}
    if alarms is not None and output is None:
        raise ConfigError("--alarms goes with -o FILE (one input)")
    required, runs = runs is not None, runs or model_runs(model)
    if not required and (topic or rate is not None or any(is_topic_log(spec) for spec in data)):
        runs = None  # the model's run column is a table's: a bag, topic folder or ULog log is one run
    if runs is not None:
        if on_dask:
            raise ConfigError(f"files of several runs (--runs {runs}, or the model's) are scored locally; drop --executor dask/--scheduler")
        if output is not None and len(data) != 1:
            raise ConfigError(f"-o takes one input, got {len(data)}; use --out FOLDER for several")
        jobs = [ScoredFile(Path(data[0]), output)] if output is not None else plan(resolve_inputs(data, exclude=out), out, force=force)
        if output is not None:
            check_table_path(output)
        _report(_score_whole_files(jobs, model, engine, nan_policy, timestamp=timestamp, top_k=top_k, with_errors=with_errors,
                                   runs=runs, required=required), single=output is not None)
        return _write_alarms(output, alarms, model, runs)
    if output is not None:
        check_table_path(output)
        if len(data) != 1:
            raise ConfigError(f"-o takes one input, got {len(data)}; use --out FOLDER for several")
        if whole or is_topic_log(data[0]) or topic or rate is not None:
            _score_whole_file(Path(data[0]), model, output, engine, topic, rate, nan_policy, **options)
            return _write_alarms(output, alarms, model)
        if Path(data[0]).is_dir():
            raise ConfigError(f"{data[0]} is a folder; use --out FOLDER to score the files in it")
        jobs = [ScoredFile(Path(data[0]), output)]
    else:
        bags = [spec for spec in data if is_topic_log(spec)]
        if bags:
            raise ConfigError(f"{bags[0]}: ROS bags, rostopic folders and ULog files are scored one at a time, with -o FILE")
        jobs = plan(resolve_inputs(data, exclude=out), out, force=force)
    if on_dask:
        results = _score_on_dask(jobs, model, engine, scheduler, options)
    elif whole:
        results = _score_whole_files(jobs, model, engine, nan_policy, timestamp=timestamp, top_k=top_k, with_errors=with_errors)
    else:
        results = _score_locally(jobs, model, engine, options, nan_policy)
    _report(results, single=output is not None)
    _write_alarms(output, alarms, model)


def _write_alarms(scored: Path, alarms: Path | None, model: Path, runs: str | None = None) -> None:
    """The alarms of a written score table as a review file (``start,end,label,peak_score,top_channels``;
    with a run column in the table, ``run`` after ``end``: each run's alarms found in its own rows)."""
    if alarms is None:
        return
    table = pd.read_parquet(scored) if scored.suffix.lower() == ".parquet" else pd.read_csv(scored)
    table = table.set_index(table.columns[0])  # the input's timestamps (or row numbers), then score, flag, top_channels
    det = load_model(model, "auto")
    by_run = runs is not None and runs in table.columns
    rows = []
    for value, part in table.groupby(runs, sort=False) if by_run else [(None, table)]:
        times = timestamp_index(part.index.to_series(), scored)  # a CSV's come back as text
        found = events(part["flag"].astype(bool), scores=part["score"], threshold=det.threshold_, **asdict(model_rules(det)),
                       passes=pass_slices(times, det.schema_.sampling_rate))  # an alarm ends at a pause
        rows += [{"start": e.start, "end": e.end, **({"run": value} if by_run else {}), "label": "", "peak_score": e.score,
                  "top_channels": part["top_channels"].loc[e.peak]} for e in found]
    columns = ["start", "end", *(["run"] if by_run else []), "label", "peak_score", "top_channels"]
    write_table(pd.DataFrame(rows, columns=columns), alarms, index=False)
    err.print(f"{len(rows)} alarm(s) to review -> {alarms} (label each false_alarm or a fault label, then `anomaly feedback`)",
              markup=False, highlight=False, soft_wrap=True)


def _score_whole_file(data: Path, model: Path, output: Path, engine: str, topic, rate, nan_policy, *, timestamp, top_k,
                      with_errors, **_):
    """Bags and rostopic folders (and --topic/--rate, and any input of a supervised head) are read whole, then scored."""
    with progress() as step:
        step(f"loading model {model}")
        det = load_model(model, engine, nan_policy)
        dropped, result, outside = _whole_result(det, data, timestamp, step=step, topics=topic, rate_hz=rate, top_k=top_k,
                                                 with_errors=with_errors)
        step(f"writing {output}")
        write_table(result, output)
    note = leading_note(data, dropped)
    if note:
        err.print(note, markup=False, highlight=False, soft_wrap=True)
    if outside:
        err.print(f"warning: {data}: {outside}", markup=False, highlight=False, soft_wrap=True)
    err.print(f"scored {len(result)} rows, {int(result['flag'].sum())} flagged -> {output}", highlight=False)


def _whole_result(det, data: Path, timestamp, *, step, runs: str | None = None, required: bool = False, topics=(), rate_hz=None,
                  top_k: int, with_errors: bool):
    """``(rows dropped before every channel had a value, output table, validity-guard line)`` of
    one input read whole; with ``runs``, of its runs told apart by that column
    (:func:`read_log_runs`): each run scored as a log of its own, the output in the input's row
    order with the run column first (when the file has it), the guard's lines per run, each
    after ``[column=value]``."""
    step(f"reading {data}")
    found = read_log_runs(data, runs, timestamp=timestamp, nan_policy=det.nan_policy, topics=topics, rate_hz=rate_hz,
                          label_column=getattr(det, "label_column", None), ignore=det.schema_.ignored, required=required)
    parts, positions, lines, dropped = [], [], [], 0
    for run in found:
        table = run.table
        step(f"scoring {table.source}: {len(table.frame)} rows")
        errors, scores, flags = det.evaluate_frame(table.frame, source=table.source)
        result, line = _table_result(det, table, errors, scores, flags, top_k=top_k, with_errors=with_errors)
        leading = table.metadata.get("leading_rows_dropped", 0)
        dropped += leading
        if run.value is not None:
            result.insert(0, runs, run.value)
            line = line and f"[{runs}={run.value}] {line}"
        parts.append(result)
        positions.append(run.positions[leading:])
        lines.append(line)
    if len(parts) > 1:  # back to the input's row order
        parts = [pd.concat(parts).iloc[np.argsort(np.concatenate(positions), kind="stable")]]
    return dropped, parts[0], "; ".join(line for line in lines if line)


def _table_result(det, table, errors, scores, flags, *, top_k: int, with_errors: bool):
    """``(output table, validity-guard line)`` of one scored table (a file's, or a run's)."""
    result = score_table(errors, scores, flags, top_k=top_k, with_errors=with_errors, head=det.head_)
    if getattr(det, "types_", None) is not None:
        kinds = det.predict_type(table.frame) if flags.any() else pd.Series("", index=flags.index)
        result.insert(3, "fault_type", kinds.where(flags, ""))
    outside = det.check_envelope(table.frame)
    return result, joined(describe(outside) or run_flood(det, errors, flags)[0],
                                 condition_hint(outside, float(flags.mean()) if len(flags) else 0.0, det.schema_.channels,
                                                det.level_channels(), recentred=bool(det.recentre_rows_),
                                                declared=det.declared_conditions()),
                                 relation_note(det.relation_drifts(table.frame), len(result)),
                                 rate_note(det.schema_.sampling_rate, sampling_rate(table.frame.index)))


def _score_whole_files(jobs, model: Path, engine: str, nan_policy, *, timestamp, top_k: int, with_errors: bool,
                       runs: str | None = None, required: bool = False):
    """Each file read whole (a supervised head's ``--out`` run; files of several runs, ``runs``:
    :func:`_whole_result`); a bad file is reported and the others scored."""
    with progress() as step:
        step(f"loading model {model}")
        det = load_model(model, engine, nan_policy)
        results = []
        for job in jobs:
            if job.skipped:
                results.append(job)
                continue
            start = time.perf_counter()
            try:
                leading, result, outside = _whole_result(det, job.source, timestamp, step=step, runs=runs, required=required,
                                                         top_k=top_k, with_errors=with_errors)
                step(f"writing {job.output}")
                write_table(result, job.output)
            except AnomalyError as exc:
                results.append(ScoredFile(job.source, job.output, error=exc))
                continue
            results.append(ScoredFile(job.source, job.output, len(result), int(result["flag"].sum()), time.perf_counter() - start,
                                      leading_rows_dropped=leading, outside_envelope=outside))
    return results


def _score_locally(jobs, model: Path, engine: str, options: dict, nan_policy: str | None):
    with progress() as step:
        step(f"loading model {model}")
        det = load_model(model, engine, nan_policy)
    with rows_progress() as track:
        return score_files(det, jobs, progress=lambda job: track(f"scoring {job.source.name}"), **options)


def _score_on_dask(jobs, model: Path, engine: str, scheduler: str | None, options: dict):
    todo = [job for job in jobs if not job.skipped]
    counts = [row_count(job.source) for job in todo]
    with rows_progress() as track:
        update = track(f"scoring {len(todo)} files on Dask")
        done = [0]

        def finished(result) -> None:
            done[0] += result.rows
            update(done[0], None if None in counts else sum(counts))

        return score_files_dask(model, jobs, engine=engine, scheduler=scheduler, on_done=finished, **options)


def _report(results, *, single: bool) -> None:
    """One line per scored or rejected file; exit status 2 if any input was rejected."""
    failed = [r for r in results if r.error is not None]
    scored = [r for r in results if not r.skipped and r.error is None]
    for r in results:
        if r.error is not None:
            err.print(f"error: {r.error}", markup=False, highlight=False, soft_wrap=True)
        elif not r.skipped:
            note = leading_note(r.source, r.leading_rows_dropped)
            if note:
                err.print(note, markup=False, highlight=False, soft_wrap=True)
            if r.outside_envelope:
                err.print(f"warning: {r.source}: {r.outside_envelope}", markup=False, highlight=False, soft_wrap=True)
            err.print(f"scored {r.rows} rows, {r.flagged} flagged -> {r.output}", highlight=False)
    if not single:
        rows, seconds = sum(r.rows for r in scored), sum(r.seconds for r in scored)
        skipped = sum(r.skipped for r in results)
        err.print(f"{len(scored)} files scored ({rows:,} rows, {rows / max(seconds, 1e-9):,.0f} rows/s), "
                  f"{skipped} skipped (output exists; --force scores them again), {len(failed)} rejected", highlight=False)
    if failed:
        raise typer.Exit(2)
