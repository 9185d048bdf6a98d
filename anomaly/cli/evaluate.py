"""``anomaly evaluate``: metrics of a saved detector on labelled data, beside trivial baselines."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from anomaly.cli.console import print_table
from anomaly.cli.inputs import anomaly_labels, load_and_score
from anomaly.cli.progress import progress
from anomaly.metrics import evaluate_outputs, tables
from pipelines.sinks import write_text


def evaluate(
    data: Path = typer.Argument(..., help="Labelled data (.csv or .parquet)."),
    model: Path = typer.Option(..., "--model", "-m", help="Model directory from `anomaly fit`."),
    label_column: str = typer.Option(None, help="Label column (default: is_anomaly, anomaly or label)."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
    output: Path = typer.Option(None, "-o", "--output", help="Also write the metrics as JSON here."),
    engine: str = typer.Option("auto", help="auto | keras | onnx (see score)."),
):
    """Score labelled data and print metrics beside random and flag-everything baselines."""
    with progress() as step:
        det, table, _, scores, flags = load_and_score(data, model, timestamp, engine, step=step)
        truth = anomaly_labels(table.labels, label_column, required=True)
        fault_type = table.labels.get("fault_type")
        name = type(det).__name__
        result = evaluate_outputs(truth.to_numpy(), {name: (scores.to_numpy(), flags.to_numpy())}, fault_type=fault_type)
    for title, shown in tables(result).items():
        print_table(shown, title)
    if output is not None:
        write_text(output, json.dumps(result, indent=2, default=float))
