"""``anomaly demo``: the end-to-end demo on the simulated robot arm.

:func:`run_demo` is the job (simulate, fit PCA and a dense autoencoder on normal data, score a
faulty run, evaluate, write files); :func:`demo` is the command around it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import typer

from anomaly import DenseAutoencoder, PCADetector, events
from anomaly.attribution import top_channels
from anomaly.cli.console import out, print_table
from anomaly.cli.progress import fit_with_progress, progress
from anomaly.decisions import model_rules
from anomaly.metrics import evaluate_outputs, tables, to_markdown
from datasets.robot_arm import simulate
from pipelines.sinks import write_table, write_text

AMBIENT_C = 28.0


def _noop(description: str, total: int | None = None):
    return lambda n=1: None


def _fit(det, frame, description, step):
    step(description)
    return det.fit(frame)


def run_demo(output_dir: str | Path, *, train_duration=300.0, test_duration=600.0, epochs=15, seed=0, step=_noop, fit=_fit) -> dict:
    """Simulate, fit PCA and a dense autoencoder on normal data, score a faulty run, evaluate.

    ``step(description, total=None)`` reports stages; ``fit(det, frame, description, step)``
    fits a detector (the CLI passes one that shows training epochs). Writes into ``output_dir``: ``scores.parquet`` (per row: labels and each detector's
    score, flag and top channels), ``summary.json``, ``summary.md`` and ``models/<name>/``.

    Returns
    -------
    dict
        ``"tables"`` (name -> DataFrame), ``"result"`` (metrics dict), ``"files"`` (names written).
    """
    output_dir = Path(output_dir)
    step(f"simulating {train_duration:.0f} s normal + {test_duration:.0f} s faulty operation at 100 Hz")
    # Two logs of one shift (same ambient temperature), different cycles and noise.
    train = simulate(train_duration, faults=(), seed=seed, ambient_c=AMBIENT_C)
    test = simulate(test_duration, faults="all", seed=seed + 1, ambient_c=AMBIENT_C, start=str(train.frame.index[-1] + pd.Timedelta(minutes=5)))
    detectors = {"pca": PCADetector(), "dense-ae": DenseAutoencoder(epochs=epochs, random_state=seed)}
    columns = [test.labels[["is_anomaly", "fault_type"]]]
    outputs, timings, event_lists = {}, {}, {}
    for name, det in detectors.items():
        start = time.perf_counter()
        fit(det, train.frame, f"fitting {name}", step)
        fit_s = time.perf_counter() - start
        step(f"scoring with {name}")
        start = time.perf_counter()
        errors, scores, flags = det.evaluate_frame(test.frame)
        timings[name] = {"fit_s": round(fit_s, 3), "score_s": round(time.perf_counter() - start, 3)}
        outputs[name] = (scores.to_numpy(), flags.to_numpy())
        event_lists[name] = [e.to_dict() for e in events(flags, errors, scores, threshold=det.threshold_, **asdict(model_rules(det)))]  # as streams
        columns.append(pd.concat([scores, flags, top_channels(errors)], axis=1).add_prefix(f"{name}:"))
        det.save(output_dir / "models" / name)
    step("evaluating")
    result = evaluate_outputs(test.labels["is_anomaly"].to_numpy(), outputs, fault_type=test.labels["fault_type"], seed=seed)
    shown = tables(result)
    summary = {
        "train_rows": len(train.frame),
        "test_rows": len(test.frame),
        "channels": list(train.frame.columns),
        "faults": [{"kind": f.kind, "start": str(f.start), "end": str(f.end), "channels": list(f.channels)} for f in test.faults],
        "timings": timings,
        **result,
        "events": event_lists,
    }
    write_table(pd.concat(columns, axis=1), output_dir / "scores.parquet")
    write_text(output_dir / "summary.json", json.dumps(summary, indent=2, default=str))
    markdown = ["# Demo: simulated robot arm", ""]
    for title, table in shown.items():
        markdown += [f"## {title}", "", to_markdown(table), ""]
    write_text(output_dir / "summary.md", "\n".join(markdown))
    return {"tables": shown, "result": result, "files": ["scores.parquet", "summary.json", "summary.md", "models/"]}


def demo(
    output_dir: Path = typer.Option(Path("demo-output"), "-o", "--output-dir", help="Folder for scores, summary and models."),
    train_duration: float = typer.Option(300.0, help="Seconds of normal operation to train on."),
    test_duration: float = typer.Option(600.0, help="Seconds of faulty operation to score."),
    epochs: int = typer.Option(15, help="Dense autoencoder epochs."),
    seed: int = typer.Option(0, help="Random seed."),
):
    """Simulate a robot arm, fit PCA and a dense autoencoder, score a faulty run, print metrics."""
    with progress() as step:
        summary = run_demo(output_dir, train_duration=train_duration, test_duration=test_duration, epochs=epochs, seed=seed, step=step, fit=fit_with_progress)
    for title, shown in summary["tables"].items():
        print_table(shown, title)
    out.print(f"wrote {', '.join(summary['files'])} in {output_dir}", highlight=False)
