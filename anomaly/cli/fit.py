"""``anomaly fit``: fit a detector on normal data and save it as a directory."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from anomaly import make_detector
from anomaly.cli.console import err
from anomaly.cli.inputs import anomaly_labels
from anomaly.cli.options import detector_params, int_tuple
from anomaly.cli.progress import fit_with_progress, progress
from pipelines.sources import read_table

#: Help panels of ``anomaly fit --help`` (the detector, the output and --help stay under "Options").
DATA = "Input data"
BAGS = "ROS bags and MCAP"
PREPROCESSING = "Preprocessing and threshold"
ARCHITECTURE = "Neural models: architecture"
TRAINING = "Neural models: training"
OTHER = "PCA and other detector parameters"


def fit(
    data: Path = typer.Argument(..., help="Normal-operation data (.csv, .parquet, ROS .bag/.mcap or ROS 2 bag folder)."),
    detector: str = typer.Option("pca", "--detector", "-d", help="pca | dense-ae | lstm-ae | conv-ae | lstm-vae | vae-gan | lstm-forecast | transformer-ae"),
    output: Path = typer.Option(..., "-o", "--output", help="Model directory to write."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected).", rich_help_panel=DATA),
    normal_only: bool = typer.Option(True, help="Drop rows labelled anomalous (is_anomaly/anomaly/label column) before fitting.", rich_help_panel=DATA),
    topic: list[str] = typer.Option([], "--topic", help="Bags/MCAP: topic to read, /name or /name:field.path (repeatable; default: every supported topic).", rich_help_panel=BAGS),
    rate: float = typer.Option(None, "--rate", help="Bags/MCAP: grid rate in Hz for aligning topics (default: the fastest topic's timestamps).", rich_help_panel=BAGS),
    scaling: str = typer.Option("standard", help="standard | robust | minmax | none", rich_help_panel=PREPROCESSING),
    nan_policy: str = typer.Option("raise", help="raise | ffill | interpolate", rich_help_panel=PREPROCESSING),
    threshold: str = typer.Option("percentile", help="percentile | ksigma | skab-ucl | pot", rich_help_panel=PREPROCESSING),
    q: float = typer.Option(99.0, help="Percentile used by percentile/skab-ucl thresholds.", rich_help_panel=PREPROCESSING),
    window: int = typer.Option(None, help="Window length (neural models).", rich_help_panel=ARCHITECTURE),
    latent: int = typer.Option(None, help="Latent size (autoencoders, VAEs).", rich_help_panel=ARCHITECTURE),
    units: str = typer.Option(None, help="Recurrent layer sizes, comma-separated (lstm-*, vae-gan), e.g. 64,32.", rich_help_panel=ARCHITECTURE),
    cell: str = typer.Option(None, help="lstm | gru (recurrent models).", rich_help_panel=ARCHITECTURE),
    filters: str = typer.Option(None, help="Conv1D filters per layer, comma-separated (conv-ae).", rich_help_panel=ARCHITECTURE),
    d_model: int = typer.Option(None, help="Width of each step inside the attention blocks (transformer-ae).", rich_help_panel=ARCHITECTURE),
    num_heads: int = typer.Option(None, help="Attention heads; must divide --d-model (transformer-ae).", rich_help_panel=ARCHITECTURE),
    blocks: int = typer.Option(None, help="Encoder blocks on each side of the bottleneck (transformer-ae).", rich_help_panel=ARCHITECTURE),
    dropout: float = typer.Option(None, help="Dropout rate (neural models).", rich_help_panel=ARCHITECTURE),
    epochs: int = typer.Option(None, help="Training epochs (neural models).", rich_help_panel=TRAINING),
    batch_size: int = typer.Option(None, help="Training batch size (neural models).", rich_help_panel=TRAINING),
    learning_rate: float = typer.Option(None, help="Adam learning rate (neural models).", rich_help_panel=TRAINING),
    seed: int = typer.Option(None, help="Random seed (neural models).", rich_help_panel=TRAINING),
    n_components: float = typer.Option(None, help="PCA: number of components, or variance fraction in (0,1).", rich_help_panel=OTHER),
    param: list[str] = typer.Option([], "--param", help="Any other constructor parameter as name=value (repeatable), e.g. --param beta=0.05.", rich_help_panel=OTHER),
):
    """Fit a detector on normal data and save it as a directory."""
    with progress() as step:
        step(f"reading {data}")
        table = read_table(data, timestamp=timestamp, topics=topic, rate_hz=rate)
        frame = table.frame
        label = anomaly_labels(table.labels, None, required=False)
        if normal_only and label is not None:
            frame = frame.loc[~label.to_numpy()]
        options = {
            "window": window, "epochs": epochs, "latent": latent, "units": int_tuple(units), "cell": cell,
            "filters": int_tuple(filters), "d_model": d_model, "num_heads": num_heads, "blocks": blocks, "dropout": dropout, "batch_size": batch_size, "learning_rate": learning_rate,
            "random_state": seed, "n_components": n_components, "scaling": scaling, "nan_policy": nan_policy,
        }
        det = make_detector(detector, **detector_params(detector, options, param, threshold, q))
        start = time.perf_counter()
        fit_with_progress(det, frame, f"fitting {detector} on {len(frame)} rows x {frame.shape[1]} channels", step, source=str(data))
        step(f"saving {output}")
        det.save(output)
    err.print(f"fitted {detector} in {time.perf_counter() - start:.1f} s; threshold {det.threshold_:.4g} -> {output}", highlight=False)
