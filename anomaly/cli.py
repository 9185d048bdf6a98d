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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from anomaly.errors import AnomalyError
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
    data: Path = typer.Argument(..., help="Normal-operation data (.csv or .parquet)."),
    detector: str = typer.Option("pca", "--detector", "-d", help="pca | dense-ae | lstm-ae | conv-ae | lstm-vae | vae-gan | lstm-forecast"),
    output: Path = typer.Option(..., "-o", "--output", help="Model directory to write."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
    normal_only: bool = typer.Option(True, help="Drop rows labelled anomalous (is_anomaly/anomaly/label column) before fitting."),
    window: int = typer.Option(None, help="Window length (neural models)."),
    epochs: int = typer.Option(None, help="Training epochs (neural models)."),
    latent: int = typer.Option(None, help="Latent size (autoencoders, VAEs)."),
    units: str = typer.Option(None, help="Recurrent layer sizes, comma-separated (lstm-*, vae-gan), e.g. 64,32."),
    cell: str = typer.Option(None, help="lstm | gru (recurrent models)."),
    filters: str = typer.Option(None, help="Conv1D filters per layer, comma-separated (conv-ae)."),
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
):
    """Fit a detector on normal data and save it as a directory."""
    from anomaly.registry import make_detector
    from pipelines.sources import read_table

    with progress() as step:
        step(f"reading {data}")
        table = read_table(data, timestamp=timestamp)
        frame = table.frame
        label = _label_column(table.labels, None, required=False)
        if normal_only and label is not None:
            frame = frame.loc[~label.to_numpy()]
        options = {
            "window": window, "epochs": epochs, "latent": latent, "units": _int_tuple(units), "cell": cell,
            "filters": _int_tuple(filters), "dropout": dropout, "batch_size": batch_size, "learning_rate": learning_rate,
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


def _load_and_score(data: Path, model: Path, timestamp: str | None, engine: str, *, step):
    import anomaly
    from pipelines.sources import read_table

    step(f"loading model {model}")
    det = anomaly.load(model, engine=engine)
    step(f"reading {data}")
    table = read_table(data, timestamp=timestamp)
    step(f"scoring {len(table.frame)} rows")
    errors, scores, flags = det.evaluate_frame(table.frame, source=str(data))
    return det, table, errors, scores, flags


@app.command()
@handles_errors
def score(
    data: Path = typer.Argument(..., help="Data to score (.csv or .parquet)."),
    model: Path = typer.Option(..., "--model", "-m", help="Model directory from `anomaly fit`."),
    output: Path = typer.Option(..., "-o", "--output", help="Output .parquet or .csv: score, flag, top_channels per row."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
    top_k: int = typer.Option(3, help="Channels named per row in top_channels."),
    with_errors: bool = typer.Option(False, help="Also write the per-channel error columns (err:<channel>)."),
    engine: str = typer.Option("auto", help="auto | keras | onnx: inference engine of neural models (auto uses model.onnx when present)."),
):
    """Score a file with a saved detector: one row out per row in."""
    from anomaly.attribution import top_channels

    check_table_path(output)
    with progress() as step:
        _, _, errors, scores, flags = _load_and_score(data, model, timestamp, engine, step=step)
        result = pd.concat([scores, flags, top_channels(errors, top_k)], axis=1)
        if with_errors:
            result = pd.concat([result, errors.add_prefix("err:")], axis=1)
        step(f"writing {output}")
        write_table(result, output)
    err.print(f"scored {len(result)} rows, {int(flags.sum())} flagged -> {output}", highlight=False)


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
        runs = run_detectors(splits, chosen, threshold=rule, step=step)
        step("evaluating")
        result = evaluate_runs(splits, runs, seed=seed)
        step(f"writing {output_dir}")
        write_report(output_dir, splits, runs, result, metadata(dataset, chosen, runs, seed))
    from anomaly.evaluation import tables

    for title, shown in tables(result).items():
        print_table(shown, title)
    out.print(f"wrote report.html, results.json, results.md, charts/ in {output_dir}", highlight=False)


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
