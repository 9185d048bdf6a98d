"""Loader for SKAB (Skoltech Anomaly Benchmark) v0.9: water-pump testbed, 8 sensors at 1 Hz.

Layout under the data directory: ``skab/data/{anomaly-free,valve1,valve2,other}/*.csv``,
``;``-separated, columns ``datetime``, 8 sensors, and in labelled files ``anomaly`` and
``changepoint``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from anomaly.errors import DataError
from datasets.paths import data_dir

CHANNELS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
#: Rows at the start of each labelled file used for training in SKAB's own protocol.
TRAIN_ROWS = 400


@dataclass(frozen=True)
class SkabFile:
    """One SKAB recording.

    Attributes
    ----------
    name : str
        ``"valve1/0"`` etc.
    frame : pandas.DataFrame of shape (n_steps, 8)
        Sensor channels, DatetimeIndex named ``timestamp``.
    anomaly : pandas.Series of bool, shape (n_steps,)
        Point labels (all False for ``anomaly-free``).
    changepoint : pandas.Series of bool, shape (n_steps,)
    """

    name: str
    frame: pd.DataFrame
    anomaly: pd.Series
    changepoint: pd.Series


def read_skab_file(path: Path, name: str) -> SkabFile:
    """Read one SKAB CSV."""
    raw = pd.read_csv(path, sep=";", parse_dates=["datetime"]).set_index("datetime").sort_index()
    raw.index.name = "timestamp"
    missing = [c for c in CHANNELS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing SKAB columns {missing}")
    frame = raw[list(CHANNELS)].astype("float32")
    false = pd.Series(False, index=raw.index)
    anomaly = raw["anomaly"].astype(bool) if "anomaly" in raw else false
    changepoint = raw["changepoint"].astype(bool) if "changepoint" in raw else false
    return SkabFile(name, frame, anomaly.rename("anomaly"), changepoint.rename("changepoint"))


def load_skab(path: str | Path | None = None, *, groups=("valve1", "valve2")) -> list[SkabFile]:
    """Load SKAB recordings in a stable order (group, then file number).

    Parameters
    ----------
    path : str or Path, optional
        Folder holding ``skab/`` (or ``skab/`` itself); default ``$ANOMALY_DATA_DIR``.
    groups : sequence of str
        Sub-folders to read: ``"valve1"``, ``"valve2"``, ``"other"``, ``"anomaly-free"``.
    """
    root = data_dir(path, "skab") / "data"
    files = []
    for group in groups:
        folder = root / group
        if not folder.is_dir():
            raise DataError(f"{folder}: SKAB group not found")
        for csv_path in sorted(folder.glob("*.csv"), key=lambda p: (len(p.stem), p.stem)):
            files.append(read_skab_file(csv_path, f"{group}/{csv_path.stem}"))
    return files
