"""``anomaly fine-tune``: a saved neural detector warm-started on another machine's normal data.

The new model directory holds a detector of the pretrained one's class and parameters whose
network starts from the pretrained weights (:func:`anomaly.transfer.fine_tune`); its scaler,
threshold, schema and fingerprint are fitted on the new log. The pretrained directory is
left as it is.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

import anomaly  # for anomaly.fine_tune, a lazy export: the CLI starts without scikit-learn and Keras
from anomaly import ConfigError
from anomaly.cli.console import err
from anomaly.cli.fit import read_training_logs
from anomaly.cli.inputs import load_model
from anomaly.cli.progress import epochs_progress, progress


def fine_tune(
    model: Path = typer.Argument(..., help="Model directory of a neural detector from `anomaly fit` (the pretrained one)."),
    data: Path = typer.Argument(..., help="The new machine's normal log: .csv/.csv.gz/.parquet file, ROS bag, MCAP or rostopic folder (same channel count as the model)."),
    output: Path = typer.Option(..., "-o", "--output", help="New model directory to write (not MODEL)."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
    normal_only: bool = typer.Option(True, help="Drop rows labelled anomalous (is_anomaly/anomaly/label column, or field.data > 0) before training."),
    epochs: int = typer.Option(None, help="Training epochs on DATA (default: the pretrained model's; 0 keeps its network as it is)."),
    learning_rate: float = typer.Option(None, help="Adam learning rate (default: the pretrained model's)."),
    seed: int = typer.Option(None, help="Random seed of the fine-tuning (default: the pretrained model's)."),
    freeze_encoder: bool = typer.Option(False, "--freeze-encoder", help="Train only the layers after the code layer (autoencoders and VAEs)."),
):
    """Warm-start a saved neural detector on new normal data; writes a new model directory."""
    if output.resolve() == model.resolve():
        raise ConfigError(f"-o {output} is the pretrained model directory; name a new one")
    with progress() as step:
        step(f"loading model {model}")
        pretrained = load_model(model, "keras")
        frames, _ = read_training_logs([data], timestamp=timestamp, topics=(), rate_hz=None, nan_policy=pretrained.nan_policy,
                                       normal_only=normal_only, step=step)
        frame = frames[0]
        start = time.perf_counter()
        total = pretrained.get_params().get("epochs") if epochs is None else epochs
        with epochs_progress(step, f"fine-tuning {type(pretrained).__name__} on {len(frame)} rows", total):
            det = anomaly.fine_tune(pretrained, frame, epochs=epochs, learning_rate=learning_rate, random_state=seed,
                                     freeze_encoder=freeze_encoder, source=str(data))
        seconds = time.perf_counter() - start
        step(f"saving {output}")
        det.save(output)
    err.print(f"fine-tuned {type(det).__name__} from {model} on {len(frame)} rows in {seconds:.1f} s; "
              f"threshold {det.threshold_:.4g} -> {output}", highlight=False)
