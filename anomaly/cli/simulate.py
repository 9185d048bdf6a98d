"""``anomaly simulate``: a labelled log of the simulated robot arm, under chosen operating conditions."""

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


def condition_options(
    ambient_drift: float | None = None,
    payload: float | None = None,
    speed: float | None = None,
    program: str | None = None,
    sensor_bias: float | None = None,
    cold_start: bool = False,
) -> dict:
    """The operating-condition options that were given, as :func:`datasets.robot_arm.simulate` arguments.

    Parameters
    ----------
    ambient_drift : float or None
        Ambient drift (degC per hour).
    payload : float or None
        Nominal part mass (kg).
    speed : float or None
        Speed override in percent, 60 .. 100 (the API takes a fraction).
    program : str or None
        ``"A"`` or ``"B"``, any case.
    sensor_bias : float or None
        Sensor spread as a fraction of the spec, 0 .. 1.
    cold_start : bool
        Joints start at ambient (only True is passed on).

    Returns
    -------
    dict
        Keyword arguments for the options that are not None (and ``cold_start`` when True).

    Raises
    ------
    ConfigError
        On a speed outside 60 .. 100 %.
    """
    settings = {}
    if ambient_drift is not None:
        settings["ambient_drift_c_per_h"] = ambient_drift
    if payload is not None:
        settings["payload_kg"] = payload
    if speed is not None:
        if not 60.0 <= speed <= 100.0:
            raise ConfigError(f"--speed must be a percentage in [60, 100], got {speed:g}")
        settings["speed_override"] = speed / 100.0
    if program is not None:
        settings["program"] = program.upper()
    if sensor_bias is not None:
        settings["sensor_bias"] = sensor_bias
    if cold_start:
        settings["cold_start"] = True
    return settings


def simulate_run(
    duration: float, rate: float, faults: str, seed: int, ambient: float | None, *, condition: str | None = None, **settings
) -> robot_arm.SimulatedRun:
    """:func:`datasets.robot_arm.simulate` with the CLI's fault syntax; bad settings raise ConfigError.

    ``condition`` names a scenario of :data:`datasets.robot_arm.CONDITIONS`; ``ambient`` and
    ``settings`` (keyword arguments of ``simulate``) replace its values.
    """
    if ambient is not None:
        settings["ambient_c"] = ambient
    if condition is not None:
        return robot_arm.conditions_scenario(
            condition, duration_s=duration, rate_hz=rate, faults=parse_faults(faults), seed=seed, **settings
        )
    return robot_arm.simulate(duration, rate_hz=rate, faults=parse_faults(faults), seed=seed, **settings)


def describe_conditions(conditions: dict) -> str:
    """One line of a run's operating conditions (``SimulatedRun.conditions``)."""
    drift = conditions["ambient_drift_c_per_h"]
    parts = [
        f"ambient {conditions['ambient_c']:.1f} degC" + (f" ({drift:+g} degC/h)" if drift else ""),
        f"payload {conditions['payload_kg']:g} kg",
        f"speed {100 * conditions['speed_override']:g} %",
        f"program {conditions['program']}",
    ]
    if conditions["sensor_bias"]:
        parts.append(f"sensor bias {conditions['sensor_bias']:g} x spec")
    if conditions["cold_start"]:
        parts.append("cold start")
    return ", ".join(parts)


def simulate(
    output: Path = typer.Option(..., "-o", "--output", help="Output file (.parquet or .csv): channels plus is_anomaly, fault_type, fault_channels."),
    duration: float = typer.Option(600.0, help="Seconds of operation."),
    rate: float = typer.Option(100.0, help="Sampling rate in Hz."),
    faults: str = typer.Option("all", help="'all', 'none', or a comma list of fault types."),
    seed: int = typer.Option(0, help="Random seed (same seed, same data)."),
    ambient: float = typer.Option(None, help="Ambient temperature in degC at the start (default: drawn from the seed, or the condition's)."),
    ambient_drift: float = typer.Option(None, "--ambient-drift", help="Ambient drift within the run in degC per hour, e.g. 6 (default 0)."),
    payload: float = typer.Option(None, help="Nominal part mass in kg, 0-5 (default 0.8)."),
    speed: float = typer.Option(None, help="Speed override in percent, 60-100 (default 100)."),
    program: str = typer.Option(None, help="Pick-and-place program: A or B (default A)."),
    sensor_bias: float = typer.Option(None, "--sensor-bias", help="Per-run sensor offsets and noise levels within spec, as a fraction of the spec 0-1 (default 0)."),
    cold_start: bool = typer.Option(False, "--cold-start", help="Joints start at ambient temperature and warm up over the run."),
    condition: str = typer.Option(
        None, help=f"Named operating condition ({', '.join(robot_arm.CONDITIONS)}); the options above override its settings."
    ),
):
    """Simulate a 6-joint robot arm doing pick-and-place, with labelled faults."""
    check_table_path(output)
    settings = condition_options(ambient_drift, payload, speed, program, sensor_bias, cold_start)
    run = simulate_run(duration, rate, faults, seed, ambient, condition=condition, **settings)
    write_table(run.to_frame(), output)
    err.print(f"wrote {len(run.frame)} rows x {run.frame.shape[1]} channels, {len(run.faults)} faults -> {output}", highlight=False)
    if condition is not None or settings:
        err.print(f"conditions: {describe_conditions(run.conditions)}", highlight=False, soft_wrap=True)
