"""The ``anomaly`` command line: demo, simulate, fit, score, evaluate.

Data goes to files or stdout; progress and messages go to stderr. Exit status: 0 success,
1 failure of the job, 2 bad input or usage (one ``error: ...`` line on stderr).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table as RichTable
from rich.text import Text

from anomaly.errors import AnomalyError
from pipelines.chunk_reader import DEFAULT_CHUNK_ROWS
from pipelines.sinks import check_table_path, write_table, write_text

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Anomaly detection on robot sensor data.")
err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160)


def handles_errors(command):
    """Turn toolkit errors into one ``error:`` line and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AnomalyError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


@contextmanager
def progress():
    """A rich progress display on stderr (only on a terminal: pipes and logs stay clean).

    Yields ``step(description, total=None)``, which completes the previous line, starts a new
    one and returns ``advance(n=1)``.
    """
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, disable=not err.is_terminal) as bar:
        tasks = []

        def finish_last() -> None:
            if tasks:
                total = bar.tasks[-1].total or 1
                bar.update(tasks[-1], total=total, completed=total)

        def step(description: str, total: int | None = None):
            finish_last()
            tasks.append(bar.add_task(description, total=total))
            return lambda n=1: bar.advance(tasks[-1], n)

        yield step
        finish_last()


class _RowsColumn(ProgressColumn):
    """``12,345/1,000,000 rows  250,000 rows/s``."""

    def render(self, task) -> Text:
        total = f"/{task.total:,.0f}" if task.total is not None else ""
        speed = f"  {task.speed:,.0f} rows/s" if task.speed else ""
        return Text(f"{task.completed:,.0f}{total} rows{speed}")


@contextmanager
def rows_progress():
    """Progress in rows with speed and time remaining on stderr (only on a terminal).

    Yields ``track(description)``, which starts a bar and returns ``update(rows_done, rows_expected)``.
    """
    columns = [TextColumn("{task.description}"), BarColumn(bar_width=20), _RowsColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=err, disable=not err.is_terminal) as bar:

        def track(description: str):
            task = bar.add_task(description, total=None)
            return lambda done, expected: bar.update(task, completed=done, total=expected)

        yield track


def fit_with_progress(det, frame: pd.DataFrame, description: str, step, **kwargs):
    """Fit ``det``, advancing a progress bar once per epoch for neural detectors."""
    from anomaly.progress import observe_epochs

    advance = step(description, total=det.get_params().get("epochs"))
    with observe_epochs(lambda epoch, total, logs: advance()):
        return det.fit(frame, **kwargs)


def print_table(table: pd.DataFrame, title: str) -> None:
    """Print a DataFrame as a rich table on stdout."""
    shown = RichTable(title=title, title_justify="left")
    shown.add_column(str(table.index.name or ""))
    for col in table.columns:
        shown.add_column(str(col), justify="right")
    for name, row in table.iterrows():
        shown.add_row(str(name), *[f"{v:.3f}" if isinstance(v, (float, np.floating)) else str(v) for v in row])
    out.print(shown)


def _parse_faults(faults: str) -> tuple[str, ...] | str:
    """``"all"``, ``"none"``/``""`` (no faults) or a comma list of fault types."""
    if faults == "all":
        return faults
    return tuple(f.strip() for f in faults.split(",") if f.strip() and f.strip() != "none")


def _simulate(duration: float, rate: float, faults: str, seed: int, ambient: float | None):
    from datasets.robot_arm import simulate

    try:
        return simulate(duration, rate_hz=rate, faults=_parse_faults(faults), seed=seed, ambient_c=ambient)
    except ValueError as exc:
        from anomaly.errors import ConfigError

        raise ConfigError(str(exc)) from None


def _parse_value(text: str):
    """A ``--param`` value: JSON when it parses (numbers, lists, true/false), else a string."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return tuple(value) if isinstance(value, list) else value


def _threshold_rule(threshold: str, q: float):
    """An unfitted threshold by CLI name; ``q`` is the percentile of percentile/skab-ucl."""
    from anomaly.errors import ConfigError
    from anomaly.thresholds import THRESHOLDS

    if threshold not in THRESHOLDS:
        raise ConfigError(f"unknown threshold {threshold!r}; choose one of {sorted(THRESHOLDS)}")
    rule = THRESHOLDS[threshold]
    return rule(q=q) if threshold in ("percentile", "skab-ucl") else rule()


def _detector_params(detector: str, options: dict, extra: list[str], threshold: str, q: float) -> dict:
    """Constructor parameters from the CLI options that were given; refuse ones the detector lacks."""
    from anomaly.errors import ConfigError
    from anomaly.registry import detector_class

    params = {k: v for k, v in options.items() if v is not None}
    params["threshold"] = _threshold_rule(threshold, q)
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--param {item!r} must look like name=value")
        params[key.replace("-", "_")] = _parse_value(value)
    if isinstance(params.get("n_components"), float) and params["n_components"] >= 1:
        params["n_components"] = int(params["n_components"])
    accepted = detector_class(detector)().get_params()
    unknown = sorted(k for k in params if k not in accepted)
    if unknown:
        raise ConfigError(f"detector {detector!r} has no parameter(s) {unknown}; it accepts {sorted(accepted)}")
    return params


def _int_tuple(text: str | None) -> tuple[int, ...] | None:
    from anomaly.errors import ConfigError

    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"expected comma-separated integers, got {text!r}") from None


@app.command()
@handles_errors
def simulate(
    output: Path = typer.Option(..., "-o", "--output", help="Output file (.parquet or .csv): channels plus is_anomaly, fault_type, fault_channels."),
    duration: float = typer.Option(600.0, help="Seconds of operation."),
    rate: float = typer.Option(100.0, help="Sampling rate in Hz."),
    faults: str = typer.Option("all", help="'all', 'none', or a comma list of fault types."),
    seed: int = typer.Option(0, help="Random seed (same seed, same data)."),
    ambient: float = typer.Option(None, help="Ambient temperature in degC (default: drawn from the seed)."),
):
    """Simulate a 6-joint robot arm doing pick-and-place, with labelled faults."""
    check_table_path(output)
    run = _simulate(duration, rate, faults, seed, ambient)
    write_table(run.to_frame(), output)
    err.print(f"wrote {len(run.frame)} rows x {run.frame.shape[1]} channels, {len(run.faults)} faults -> {output}", highlight=False)


@app.command()
@handles_errors
def fit(
    data: Path = typer.Argument(..., help="Normal-operation data (.csv, .parquet, ROS .bag/.mcap or ROS 2 bag folder)."),
    detector: str = typer.Option("pca", "--detector", "-d", help="pca | dense-ae | lstm-ae | conv-ae | lstm-vae | vae-gan | lstm-forecast | transformer-ae"),
    output: Path = typer.Option(..., "-o", "--output", help="Model directory to write."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
    normal_only: bool = typer.Option(True, help="Drop rows labelled anomalous (is_anomaly/anomaly/label column) before fitting."),
    window: int = typer.Option(None, help="Window length (neural models)."),
    epochs: int = typer.Option(None, help="Training epochs (neural models)."),
    latent: int = typer.Option(None, help="Latent size (autoencoders, VAEs)."),
    units: str = typer.Option(None, help="Recurrent layer sizes, comma-separated (lstm-*, vae-gan), e.g. 64,32."),
    cell: str = typer.Option(None, help="lstm | gru (recurrent models)."),
    filters: str = typer.Option(None, help="Conv1D filters per layer, comma-separated (conv-ae)."),
    d_model: int = typer.Option(None, help="Width of each step inside the attention blocks (transformer-ae)."),
    num_heads: int = typer.Option(None, help="Attention heads; must divide --d-model (transformer-ae)."),
    blocks: int = typer.Option(None, help="Encoder blocks on each side of the bottleneck (transformer-ae)."),
    dropout: float = typer.Option(None, help="Dropout rate (neural models)."),
    batch_size: int = typer.Option(None, help="Training batch size (neural models)."),
    learning_rate: float = typer.Option(None, help="Adam learning rate (neural models)."),
    seed: int = typer.Option(None, help="Random seed (neural models)."),
    n_components: float = typer.Option(None, help="PCA: number of components, or variance fraction in (0,1)."),
    param: list[str] = typer.Option([], "--param", help="Any other constructor parameter as name=value (repeatable), e.g. --param beta=0.05."),
    scaling: str = typer.Option("standard", help="standard | robust | minmax | none"),
    nan_policy: str = typer.Option("raise", help="raise | ffill | interpolate"),
    threshold: str = typer.Option("percentile", help="percentile | ksigma | skab-ucl | pot"),
    q: float = typer.Option(99.0, help="Percentile used by percentile/skab-ucl thresholds."),
    topic: list[str] = typer.Option([], "--topic", help="Bags/MCAP: topic to read, /name or /name:field.path (repeatable; default: every supported topic)."),
    rate: float = typer.Option(None, "--rate", help="Bags/MCAP: grid rate in Hz for aligning topics (default: the fastest topic's timestamps)."),
):
    """Fit a detector on normal data and save it as a directory."""
    from anomaly.registry import make_detector
    from pipelines.sources import read_table

    with progress() as step:
        step(f"reading {data}")
        table = read_table(data, timestamp=timestamp, topics=topic, rate_hz=rate)
        frame = table.frame
        label = _label_column(table.labels, None, required=False)
        if normal_only and label is not None:
            frame = frame.loc[~label.to_numpy()]
        options = {
            "window": window, "epochs": epochs, "latent": latent, "units": _int_tuple(units), "cell": cell,
            "filters": _int_tuple(filters), "d_model": d_model, "num_heads": num_heads, "blocks": blocks, "dropout": dropout, "batch_size": batch_size, "learning_rate": learning_rate,
            "random_state": seed, "n_components": n_components, "scaling": scaling, "nan_policy": nan_policy,
        }
        det = make_detector(detector, **_detector_params(detector, options, param, threshold, q))
        start = time.perf_counter()
        fit_with_progress(det, frame, f"fitting {detector} on {len(frame)} rows x {frame.shape[1]} channels", step, source=str(data))
        step(f"saving {output}")
        det.save(output)
    err.print(f"fitted {detector} in {time.perf_counter() - start:.1f} s; threshold {det.threshold_:.4g} -> {output}", highlight=False)


def _label_column(labels: pd.DataFrame, name: str | None, *, required: bool) -> pd.Series | None:
    from anomaly.errors import DataError

    if name is not None:
        if name not in labels.columns:
            raise DataError(f"label column {name!r} not found among {list(labels.columns)}")
        column = labels[name]
    else:
        candidates = [c for c in labels.columns if c.lower() in ("is_anomaly", "anomaly", "label", "labels")]
        if not candidates:
            if required:
                raise DataError("no label column (is_anomaly, anomaly or label); pass --label-column")
            return None
        column = labels[candidates[0]]
    values = pd.to_numeric(column, errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        raise DataError(f"label column {column.name!r} must hold only 0/1 values")
    return values.astype(bool)


def _load_and_score(data: Path, model: Path, timestamp: str | None, engine: str, *, step, topics=(), rate_hz=None):
    import anomaly
    from pipelines.sources import read_table

    step(f"loading model {model}")
    det = anomaly.load(model, engine=engine)
    step(f"reading {data}")
    table = read_table(data, timestamp=timestamp, topics=topics, rate_hz=rate_hz)
    step(f"scoring {len(table.frame)} rows")
    errors, scores, flags = det.evaluate_frame(table.frame, source=str(data))
    return det, table, errors, scores, flags


@app.command()
@handles_errors
def score(
    data: list[str] = typer.Argument(..., help="Data to score: .csv/.parquet files, folders of them or quoted glob patterns; or one ROS .bag/.mcap file or ROS 2 bag folder (with -o)."),
    model: Path = typer.Option(..., "--model", "-m", help="Model directory from `anomaly fit`."),
    output: Path = typer.Option(None, "-o", "--output", help="Output .parquet or .csv for one input: score, flag, top_channels per row."),
    out: Path = typer.Option(None, "--out", help="Output folder: <input name>.scores.parquet per input; inputs whose output exists are skipped (resumable)."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
    top_k: int = typer.Option(3, help="Channels named per row in top_channels."),
    with_errors: bool = typer.Option(False, help="Also write the per-channel error columns (err:<channel>)."),
    engine: str = typer.Option("auto", help="auto | keras | onnx: inference engine of neural models (auto uses model.onnx when present); dask: score on a Dask cluster, engine auto."),
    scheduler: str = typer.Option(None, help="tcp://HOST:PORT of a Dask scheduler to score on (implies the Dask executor; --engine dask alone starts a local cluster of 2 processes)."),
    chunk_rows: int = typer.Option(DEFAULT_CHUNK_ROWS, help="Rows read at a time from .csv/.parquet inputs: bounds memory; results do not depend on it."),
    force: bool = typer.Option(False, "--force", help="With --out: score inputs again although their output exists."),
    topic: list[str] = typer.Option([], "--topic", help="Bags/MCAP: topic to read, /name or /name:field.path (repeatable; default: every supported topic)."),
    rate: float = typer.Option(None, "--rate", help="Bags/MCAP: grid rate in Hz for aligning topics (default: the fastest topic's timestamps)."),
):
    """Score files with a saved detector, one row out per row in, in bounded memory (CSV/Parquet)."""
    from anomaly.errors import ConfigError
    from pipelines.batch import ScoredFile, plan, resolve_inputs
    from pipelines.rosbag import is_bag

    if (output is None) == (out is None):
        raise ConfigError("give either -o FILE (one input) or --out FOLDER")
    if engine not in ("auto", "keras", "onnx", "dask"):
        raise ConfigError(f"--engine {engine!r} is not one of ['auto', 'keras', 'onnx', 'dask']")
    options = {"timestamp": timestamp, "chunk_rows": chunk_rows, "top_k": top_k, "with_errors": with_errors}
    if output is not None:
        check_table_path(output)
        if len(data) != 1:
            raise ConfigError(f"-o takes one input, got {len(data)}; use --out FOLDER for several")
        if is_bag(data[0]) or topic or rate is not None:
            return _score_whole_file(Path(data[0]), model, output, engine, topic, rate, **options)
        if Path(data[0]).is_dir():
            raise ConfigError(f"{data[0]} is a folder; use --out FOLDER to score the files in it")
        jobs = [ScoredFile(Path(data[0]), output)]
    else:
        bags = [spec for spec in data if is_bag(spec)]
        if bags:
            raise ConfigError(f"{bags[0]}: ROS bags are scored one at a time, with -o FILE")
        jobs = plan(resolve_inputs(data, exclude=out), out, force=force)
    if engine == "dask" or scheduler is not None:
        results = _score_on_dask(jobs, model, "auto" if engine == "dask" else engine, scheduler, options)
    else:
        results = _score_locally(jobs, model, engine, options)
    _report(results, single=output is not None)


def _score_whole_file(data: Path, model: Path, output: Path, engine: str, topic, rate, *, timestamp, top_k, with_errors, **_):
    """Bags (and their --topic/--rate) are read whole, then scored like a file."""
    from pipelines.batch import score_table

    with progress() as step:
        _, _, errors, scores, flags = _load_and_score(data, model, timestamp, engine, step=step, topics=topic, rate_hz=rate)
        result = score_table(errors, scores, flags, top_k=top_k, with_errors=with_errors)
        step(f"writing {output}")
        write_table(result, output)
    err.print(f"scored {len(result)} rows, {int(flags.sum())} flagged -> {output}", highlight=False)


def _score_locally(jobs, model: Path, engine: str, options: dict):
    import anomaly
    from pipelines.batch import score_files

    with progress() as step:
        step(f"loading model {model}")
        det = anomaly.load(model, engine=engine)
    with rows_progress() as track:
        return score_files(det, jobs, progress=lambda job: track(f"scoring {job.source.name}"), **options)


def _score_on_dask(jobs, model: Path, engine: str, scheduler: str | None, options: dict):
    from pipelines.chunk_reader import row_count
    from pipelines.dask_engine import score_files_dask

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
            err.print(f"scored {r.rows} rows, {r.flagged} flagged -> {r.output}", highlight=False)
    if not single:
        rows, seconds = sum(r.rows for r in scored), sum(r.seconds for r in scored)
        skipped = sum(r.skipped for r in results)
        err.print(f"{len(scored)} files scored ({rows:,} rows, {rows / max(seconds, 1e-9):,.0f} rows/s), "
                  f"{skipped} skipped (output exists; --force scores them again), {len(failed)} rejected", highlight=False)
    if failed:
        raise typer.Exit(2)


@app.command()
@handles_errors
def evaluate(
    data: Path = typer.Argument(..., help="Labelled data (.csv or .parquet)."),
    model: Path = typer.Option(..., "--model", "-m", help="Model directory from `anomaly fit`."),
    label_column: str = typer.Option(None, help="Label column (default: is_anomaly, anomaly or label)."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
    output: Path = typer.Option(None, "-o", "--output", help="Also write the metrics as JSON here."),
    engine: str = typer.Option("auto", help="auto | keras | onnx (see score)."),
):
    """Score labelled data and print metrics beside random and flag-everything baselines."""
    from anomaly.evaluation import evaluate_outputs, tables

    with progress() as step:
        det, table, _, scores, flags = _load_and_score(data, model, timestamp, engine, step=step)
        truth = _label_column(table.labels, label_column, required=True)
        fault_type = table.labels["fault_type"] if "fault_type" in table.labels else None
        name = type(det).__name__
        result = evaluate_outputs(truth.to_numpy(), {name: (scores.to_numpy(), flags.to_numpy())}, fault_type=fault_type)
    for title, shown in tables(result).items():
        print_table(shown, title)
    if output is not None:
        write_text(output, json.dumps(result, indent=2, default=float))


@app.command()
@handles_errors
def export(
    model: Path = typer.Argument(..., help="Model directory of a neural detector."),
    format: str = typer.Option("onnx", "--format", help="Export format (onnx)."),
):
    """Export a neural detector for fast inference; `score` then uses it automatically."""
    import anomaly
    from anomaly.errors import ConfigError

    if format != "onnx":
        raise ConfigError(f"--format {format!r} is not supported; use onnx")
    det = anomaly.load(model, engine="keras")
    if not hasattr(det, "export_onnx"):
        raise ConfigError(f"{model}: {type(det).__name__} is not a neural detector; nothing to export")
    with progress() as step:
        step(f"exporting {model / 'model.onnx'}")
        diff = det.export_onnx(model / "model.onnx")
    err.print(f"wrote {model / 'model.onnx'}; max |ONNX - Keras| on a probe batch = {diff:.1e}", highlight=False)


@app.command()
@handles_errors
def compare(
    dataset: str = typer.Option("robot-arm", help="robot-arm | skab | smd | asd | a labelled .csv/.parquet file."),
    detectors: str = typer.Option("pca,dense-ae,conv-ae,lstm-ae,lstm-vae,vae-gan,lstm-forecast", help="Comma-separated detector names."),
    output_dir: Path = typer.Option(Path("compare-output"), "-o", "--output-dir", help="Folder for report.html, results.json, results.md, charts/."),
    data_dir: Path = typer.Option(None, help="Folder holding skab/, smd/, asd/ (default: $ANOMALY_DATA_DIR)."),
    entity: str = typer.Option(None, help="smd/asd: one machine or server (default: all)."),
    label_column: str = typer.Option(None, help="File datasets: the 0/1 label column (default: is_anomaly, anomaly or label)."),
    train_fraction: float = typer.Option(0.3, help="File datasets: leading fraction of rows used (minus labelled anomalies) for training."),
    window: int = typer.Option(16, help="Window of the neural detectors."),
    epochs: int = typer.Option(10, help="Training epochs of the neural detectors."),
    threshold: str = typer.Option("percentile", help="Threshold rule for all: percentile | ksigma | skab-ucl | pot."),
    q: float = typer.Option(99.0, help="Percentile used by percentile/skab-ucl."),
    seed: int = typer.Option(0, help="Random seed (data simulation and training)."),
    robustness: bool = typer.Option(False, "--robustness", help="Also report each detector's median evasion epsilon (PGD attacks on up to 8 fault excerpts; adds minutes)."),
):
    """Run several detectors on one dataset with the same split and threshold, and write a report."""
    from anomaly.registry import DETECTORS
    from pipelines.compare import dataset_splits, evaluate_runs, metadata, run_detectors
    from pipelines.report.html import write_report

    names = [d.strip() for d in detectors.split(",") if d.strip()]
    unknown = [d for d in names if d not in DETECTORS]
    if unknown or not names:
        from anomaly.errors import ConfigError

        raise ConfigError(f"unknown detector(s) {unknown}; choose from {sorted(DETECTORS)}")
    rule = _threshold_rule(threshold, q)
    neural = {"window": window, "epochs": epochs, "random_state": seed}
    chosen = {name: ({} if name == "pca" else dict(neural)) for name in names}
    with progress() as step:
        step(f"loading {dataset}")
        splits = dataset_splits(dataset, data_dir=data_dir, entity=entity, label_column=label_column, train_fraction=train_fraction, seed=seed)
        attacks = None
        if robustness:
            from anomaly.generative.robustness import RobustnessCollector

            attacks = RobustnessCollector()
        runs = run_detectors(splits, chosen, threshold=rule, step=step, on_fit=attacks)
        step("evaluating")
        result = evaluate_runs(splits, runs, seed=seed)
        meta = metadata(dataset, chosen, runs, seed)
        if attacks is not None:
            result["robustness"], meta["robustness"] = attacks.summary(), attacks.settings()
        step(f"writing {output_dir}")
        write_report(output_dir, splits, runs, result, meta)
    from anomaly.evaluation import tables

    for title, shown in tables(result).items():
        print_table(shown, title)
    out.print(f"wrote report.html, results.json, results.md, charts/ in {output_dir}", highlight=False)


@app.command()
@handles_errors
def stream(
    model: Path = typer.Option(..., "--model", "-m", help="Model directory from `anomaly fit` (uses model.onnx when present)."),
    source: str = typer.Option("stdin", help="stdin | mqtt://HOST:PORT/TOPIC"),
    format: str = typer.Option("jsonl", "--format", help="jsonl (one JSON object per line) | csv (header line first)."),
    sink: str = typer.Option("stdout", help="stdout | mqtt://HOST:PORT/TOPIC: where alerts go, one JSON message each."),
    hop: int = typer.Option(1, help="Rows per scoring step (window models: at most the window)."),
    threshold_scale: float = typer.Option(1.0, help="Alert above this multiple of the model's fitted threshold."),
    exit_ratio: float = typer.Option(0.8, help="An alert holds while the score stays above exit-ratio x that level."),
    min_duration: int = typer.Option(25, help="Rows an event must last before it is alerted."),
    merge_gap: int = typer.Option(100, help="Rows below the hold level after which a return still continues the event."),
    cooldown: int = typer.Option(500, help="Rows after an event's end during which no new alert opens."),
    top_k: int = typer.Option(3, help="Channels named per alert."),
    scores: bool = typer.Option(False, "--scores", help="Also emit one score record per scored row."),
    engine: str = typer.Option("auto", help="auto | keras | onnx (see score)."),
    timestamp: str = typer.Option(None, help="Timestamp field (default: detected)."),
):
    """Score a live stream and emit one JSON alert per event (and an "end" record when it closes)."""
    from pipelines.stream import serve

    def say(text: str) -> None:
        err.print(text, markup=False, highlight=False, soft_wrap=True)

    summary = serve(model, source=source, fmt=format, sink=sink, hop=hop, threshold_scale=threshold_scale,
                    exit_ratio=exit_ratio, min_duration=min_duration, merge_gap=merge_gap, cooldown=cooldown, top_k=top_k,
                    emit_scores=scores, engine=engine, timestamp=timestamp, warn=lambda text: say(f"warning: {text}"), ready=say)
    say(summary.line())


@app.command()
@handles_errors
def demo(
    output_dir: Path = typer.Option(Path("demo-output"), "-o", "--output-dir", help="Folder for scores, summary and models."),
    train_duration: float = typer.Option(300.0, help="Seconds of normal operation to train on."),
    test_duration: float = typer.Option(600.0, help="Seconds of faulty operation to score."),
    epochs: int = typer.Option(15, help="Dense autoencoder epochs."),
    seed: int = typer.Option(0, help="Random seed."),
):
    """Simulate a robot arm, fit PCA and a dense autoencoder, score a faulty run, print metrics."""
    from anomaly.demo import run_demo

    with progress() as step:
        summary = run_demo(output_dir, train_duration=train_duration, test_duration=test_duration, epochs=epochs, seed=seed, step=step, fit=fit_with_progress)
    for title, shown in summary["tables"].items():
        print_table(shown, title)
    out.print(f"wrote {', '.join(summary['files'])} in {output_dir}", highlight=False)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
