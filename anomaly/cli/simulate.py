"""``anomaly simulate``: a labelled log of the simulated robot arm."""

from __future__ import annotations

from pathlib import Path

import typer

from anomaly import ConfigError
from anomaly.cli.console import err
from datasets import robot_arm
from pipelines.sinks import check_table_path, write_table


def parse_faults(faults: str) -> tuple[str, ...] | str:
    """``"all"``, ``"none"``/``""`` (no faults) or a comma list of fault types."""
    if faults == "all":
        return faults
    return tuple(f.strip() for f in faults.split(",") if f.strip() and f.strip() != "none")


def simulate_run(duration: float, rate: float, faults: str, seed: int, ambient: float | None) -> robot_arm.SimulatedRun:
    """:func:`datasets.robot_arm.simulate` with the CLI's fault syntax; bad settings raise ConfigError."""
    try:
        return robot_arm.simulate(duration, rate_hz=rate, faults=parse_faults(faults), seed=seed, ambient_c=ambient)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


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
    run = simulate_run(duration, rate, faults, seed, ambient)
    write_table(run.to_frame(), output)
    err.print(f"wrote {len(run.frame)} rows x {run.frame.shape[1]} channels, {len(run.faults)} faults -> {output}", highlight=False)
