"""``anomaly augment``: an augmented copy of a log (more normal data to fit on).

One method of :mod:`anomaly.augment` is applied to the whole log by
:func:`anomaly.augment.augment_frame`, in units of each channel's standard deviation; rows
and timestamps are kept. Label columns are copied for methods that change values in place;
methods that move values in time (:data:`anomaly.augment.TIME_METHODS`) would leave them
out of line, so they are left out (one ``note:`` line says so).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

import anomaly
from anomaly.cli.console import err
from pipelines.sinks import check_table_path, write_table
from pipelines.sources import read_table

#: The names of :data:`anomaly.augment.METHODS`, for the help text: ``anomaly.augment`` is a
#: lazy export (it needs SciPy, which the CLI does not load to start).
METHOD_NAMES = ("jitter", "scaling", "magnitude_warp", "time_warp", "window_slice")


def augment(
    data: Path = typer.Argument(..., help="Log to augment: .csv/.csv.gz/.parquet file."),
    output: Path = typer.Option(..., "-o", "--output", help="Output .parquet or .csv: the augmented channels, same rows and timestamps."),
    method: str = typer.Option("jitter", help=" | ".join(METHOD_NAMES) + "."),
    sigma: float = typer.Option(None, help="Strength of jitter, scaling, magnitude_warp, time_warp, in channel standard deviations (default: the method's, 0.03 / 0.1 / 0.2 / 0.2)."),
    knots: int = typer.Option(None, help="magnitude_warp, time_warp: interior knots of the random curve over the log (default 4)."),
    ratio: float = typer.Option(None, help="window_slice: fraction of the log kept and stretched back over it (default 0.9)."),
    seed: int = typer.Option(0, help="Random seed (same seed, same copy)."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected)."),
):
    """Write an augmented copy of a CSV/Parquet log (jitter, scaling, magnitude or time warp, window slice)."""
    check_table_path(output)
    strength = {name: value for name, value in {"sigma": sigma, "knots": knots, "ratio": ratio}.items() if value is not None}
    table = read_table(data, timestamp=timestamp)
    frame = anomaly.augment.augment_frame(table.frame, method, rng=seed, source=str(data), **strength)
    labels = table.labels
    if method in anomaly.augment.TIME_METHODS and labels.shape[1]:
        err.print(f"note: {data}: {method} moves rows in time; label columns {list(labels.columns)} left out",
                  markup=False, highlight=False, soft_wrap=True)
        labels = labels.iloc[:, :0]
    write_table(pd.concat([frame, labels], axis=1), output, index=not isinstance(frame.index, pd.RangeIndex))
    err.print(f"wrote {len(frame)} rows x {frame.shape[1]} channels ({method}, seed {seed}) -> {output}", highlight=False)
