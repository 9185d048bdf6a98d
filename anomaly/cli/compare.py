"""``anomaly compare``: several detectors on one dataset, same split and threshold, one report."""

from __future__ import annotations

from pathlib import Path

import typer

from anomaly import DETECTORS, ConfigError
from anomaly.cli.console import out, print_table
from anomaly.cli.inputs import ignored_columns
from anomaly.cli.options import detector_variant, threshold_rule
from anomaly.cli.progress import progress
from anomaly.generative.robustness import RobustnessCollector
from anomaly.metrics import tables


def compare(
    dataset: str = typer.Option("robot-arm", help="robot-arm | skab | smd | asd | alfa | conditions (the arm under every operating condition) | session (trained on a warm-up, tested cooler and drifting) | mixed-sessions (trained on a warm-up and two warm sessions, tested as session) | a labelled .csv/.parquet file."),
    detectors: str = typer.Option("pca,dense-ae,conv-ae,lstm-ae,lstm-vae,vae-gan,lstm-forecast",
                                  help="Comma-separated detector names; a variant adds parameters after colons, e.g. "
                                  "pca,pca:changes=4,dense-ae:window=32 (each is a row of the report)."),
    output_dir: Path = typer.Option(Path("compare-output"), "-o", "--output-dir", help="Folder for report.html, results.json, results.md, charts/."),
    data_dir: Path = typer.Option(None, help="Folder holding skab/, smd/, asd/, alfa/ (default: $ANOMALY_DATA_DIR)."),
    entity: str = typer.Option(None, help="smd/asd: one machine or server (default: all)."),
    label_column: str = typer.Option(None, help="File datasets: the 0/1 label column (default: is_anomaly, anomaly or label)."),
    ignore: str = typer.Option(None, "--ignore", help="File datasets: columns that are not channels (a state name, a sequence number), comma-separated: left out, as anomaly fit --ignore does."),
    train_fraction: float = typer.Option(0.3, help="File datasets: leading fraction of rows used (minus labelled anomalies) for training (with --runs: of the runs)."),
    runs: str = typer.Option(None, "--runs", help="File datasets: a column that tells several runs apart (a unit or episode number whose clock restarts): the first --train-fraction of the runs train, each other run is tested as a log of its own."),
    window: int = typer.Option(16, help="Window of the neural detectors."),
    epochs: int = typer.Option(10, help="Training epochs of the neural detectors."),
    threshold: str = typer.Option("quiet-logs", help="Threshold rule for all: quiet-logs | percentile | ksigma | skab-ucl | pot."),
    q: float = typer.Option(99.0, help="Percentile used by quiet-logs/percentile/skab-ucl."),
    seed: int = typer.Option(0, help="Random seed (data simulation and training)."),
    robustness: bool = typer.Option(False, "--robustness", help="Also report each detector's median evasion epsilon (PGD attacks on up to 8 fault excerpts; adds minutes)."),
):
    """Run several detectors on one dataset with the same split and threshold, and write a report."""
    # the datasets, the simulator (SciPy) and the report (matplotlib) load only for this command
    from pipelines.compare import dataset_splits, detection_tables, evaluate_runs, metadata, run_detectors
    from pipelines.report.html import write_report

    specs = [d.strip() for d in detectors.split(",") if d.strip()]
    unknown = [s.split(":")[0].strip() for s in specs if s.split(":")[0].strip() not in DETECTORS]
    if unknown or not specs:
        raise ConfigError(f"unknown detector(s) {unknown}; choose from {sorted(DETECTORS)}")
    if len(set(specs)) < len(specs):
        raise ConfigError(f"--detectors names a detector twice: {detectors!r}")
    rule = threshold_rule(threshold, q)
    neural = {"window": window, "epochs": epochs, "random_state": seed}
    chosen = {}  # report label -> (registry name, constructor parameters)
    for spec in specs:
        name, params = detector_variant(spec)
        chosen[spec] = (name, {**({} if name == "pca" else neural), **params})
    with progress() as step:
        step(f"loading {dataset}")
        splits = dataset_splits(dataset, data_dir=data_dir, entity=entity, label_column=label_column, train_fraction=train_fraction,
                                seed=seed, ignore=ignored_columns(ignore), runs=runs)
        attacks = RobustnessCollector() if robustness else None
        runs = run_detectors(splits, chosen, threshold=rule, step=step, on_fit=attacks)
        step("evaluating")
        result = evaluate_runs(splits, runs, seed=seed)
        meta = metadata(dataset, chosen, runs, seed)
        if attacks is not None:
            result["robustness"], meta["robustness"] = attacks.summary(), attacks.settings()
        step(f"writing {output_dir}")
        write_report(output_dir, splits, runs, result, meta)
    for title, shown in {**tables(result), **detection_tables(result)}.items():
        print_table(shown, title)
    out.print(f"wrote report.html, results.json, results.md, charts/ in {output_dir}", highlight=False)
