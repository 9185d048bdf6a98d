"""Loader for SMD (Server Machine Dataset) and ASD (Application Server Dataset).

Both share one layout: ``train/``, ``test/`` (comma-separated values, no header, may be
gzipped), ``test_label/`` (one 0/1 per test row) and ``interpretation_label/``
(``start-end:c1,c2,...`` with 1-based channel numbers). Range ends are **exclusive in SMD and
inclusive in ASD**; :class:`Segment` always stores an exclusive end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.errors import DataError
from anomaly.metrics import Segment
from datasets.paths import data_dir

SMD_MACHINES = ("machine-1-6", "machine-2-1", "machine-3-4")
ASD_ENTITIES = ("omi-1", "omi-2", "omi-3", "omi-4", "omi-5", "omi-6")
#: The documented sampling steps (``MANIFEST.md``; the files hold no timestamps).
SMD_STEP = pd.Timedelta(minutes=1)
ASD_STEP = pd.Timedelta(minutes=5)


@dataclass(frozen=True)
class Entity:
    """One machine/server.

    Attributes
    ----------
    name : str
    train, test : pandas.DataFrame of shape (n_train, n_channels), (n_test, n_channels)
        float32 channels named ``m1 .. mN`` (1-based, as in the interpretation labels);
        RangeIndex.
    labels : pandas.Series of bool, shape (n_test,)
    segments : list of Segment
        Interpretation labels (ground truth for attribution).

    :func:`timed` puts ``train`` and ``test`` on a time index instead.
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    labels: pd.Series
    segments: list[Segment]


def _values(path: Path) -> pd.DataFrame:
    candidates = [path, path.with_name(path.name + ".gz")]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise DataError(f"{path}: file not found (also tried .gz)")
    values = pd.read_csv(found, header=None, dtype=np.float32)
    values.columns = [f"m{i + 1}" for i in range(values.shape[1])]
    return values


def _segments(path: Path, *, inclusive_end: bool, channels: list[str]) -> list[Segment]:
    segments = []
    for line in path.read_text().split():
        span, _, dims = line.partition(":")
        start, end = (int(v) for v in span.split("-"))
        names = tuple(channels[int(d) - 1] for d in dims.split(",") if d)
        segments.append(Segment(start, end + 1 if inclusive_end else end, names))
    return segments


def _load(root: Path, name: str, *, inclusive_end: bool) -> Entity:
    train = _values(root / "train" / f"{name}.txt")
    test = _values(root / "test" / f"{name}.txt")
    labels = pd.Series(np.loadtxt(root / "test_label" / f"{name}.txt", dtype=int).astype(bool), name="anomaly")
    if len(labels) != len(test):
        raise DataError(f"{root}: {name} has {len(test)} test rows but {len(labels)} labels")
    interp = root / "interpretation_label" / f"{name}.txt"
    segments = _segments(interp, inclusive_end=inclusive_end, channels=list(test.columns)) if interp.is_file() else []
    return Entity(name, train, test, labels, segments)


def load_smd(machine: str, path: str | Path | None = None) -> Entity:
    """Load one SMD machine (e.g. ``"machine-1-6"``) from ``<path>/smd/ServerMachineDataset``."""
    return _load(data_dir(path, "smd") / "ServerMachineDataset", machine, inclusive_end=False)


def load_asd(entity: str, path: str | Path | None = None) -> Entity:
    """Load one ASD server (e.g. ``"omi-1"``) from ``<path>/asd/ASD``."""
    return _load(data_dir(path, "asd") / "ASD", entity, inclusive_end=True)


def timed(entity: Entity, step: pd.Timedelta, start: str = "2020-01-01") -> Entity:
    """``entity`` with its rows ``step`` apart in time, as a user's logs of such metrics carry them.

    ``train`` starts at ``start`` and ``test`` right after it (both datasets split one recording
    in two, the test period following the training period); ``labels`` and ``segments`` keep
    their row positions.

    Parameters
    ----------
    entity : Entity
        From :func:`load_smd` or :func:`load_asd`.
    step : pandas.Timedelta
        :data:`SMD_STEP` or :data:`ASD_STEP`.
    start : str, default "2020-01-01"
        The first training row's time (the files do not say).

    Returns
    -------
    Entity
        ``train`` and ``test`` with a DatetimeIndex named ``timestamp``; values unchanged.
    """
    times = pd.date_range(start, periods=len(entity.train) + len(entity.test), freq=step, name="timestamp")
    train = entity.train.set_axis(times[:len(entity.train)])
    test = entity.test.set_axis(times[len(entity.train):])
    return Entity(entity.name, train, test, entity.labels, entity.segments)
