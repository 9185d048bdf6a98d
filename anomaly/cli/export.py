"""``anomaly export``: a neural detector exported to ONNX beside its Keras model."""

from __future__ import annotations

from pathlib import Path

import typer

from anomaly import ConfigError, load
from anomaly.cli.console import err
from anomaly.cli.progress import progress


def export(
    model: Path = typer.Argument(..., help="Model directory of a neural detector."),
    format: str = typer.Option("onnx", "--format", help="Export format (onnx)."),
):
    """Export a neural detector (or a supervised head's) for fast inference; `score` then uses it automatically."""
    if format != "onnx":
        raise ConfigError(f"--format {format!r} is not supported; use onnx")
    det = load(model, engine="keras")
    if hasattr(det, "detector_"):  # a supervised head: its detector's directory gets the ONNX file
        det, model = det.detector_, model / "detector"
    if not hasattr(det, "export_onnx"):
        raise ConfigError(f"{model}: {type(det).__name__} is not a neural detector; nothing to export")
    with progress() as step:
        step(f"exporting {model / 'model.onnx'}")
        diff = det.export_onnx(model / "model.onnx")
    err.print(f"wrote {model / 'model.onnx'}; max |ONNX - Keras| on a probe batch = {diff:.1e}", highlight=False)
