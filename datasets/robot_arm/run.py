"""The :func:`simulate` entry point and its result: a labelled run of the simulated robot arm.

Randomness comes from ``numpy.random.default_rng(seed)`` spawned into independent streams for
the cycle plan, the sensor noise and the faults, so a run with faults is identical to the
fault-free run of the same seed outside the effects of its faults.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anomaly.errors import DataError
from anomaly.metrics import Segment
from datasets.robot_arm.faults import FaultWindow
from datasets.robot_arm.inject import inject_physical, inject_sensor
from datasets.robot_arm.normal import simulate_normal
from datasets.robot_arm.placement import (
    extend_thermal_labels,
    parse_faults,
    place_faults,
)
from datasets.robot_arm.sensors import CHANNELS, TEMP, add_noise, quantise_encoders

__all__ = ["FaultEvent", "SimulatedRun", "segments_from_faults", "simulate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaultEvent:
    """One injected fault.

    Attributes
    ----------
    kind : str
        One of :data:`~datasets.robot_arm.FAULT_TYPES`.
    start : pandas.Timestamp
        Timestamp of the first anomalous row.
    end : pandas.Timestamp
        Timestamp of the last anomalous row (inclusive).
    channels : tuple of str
        Channels this fault really changes (ground truth for attribution), in
        :data:`~datasets.robot_arm.CHANNELS` order: those it moves by more than half their noise
        standard deviation during the event.
    """

    kind: str
    start: pd.Timestamp
    end: pd.Timestamp
    channels: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class SimulatedRun:
    """Result of :func:`simulate`.

    Attributes
    ----------
    frame : pandas.DataFrame, shape (n_rows, 28)
        Sensor readings, float32 columns equal to :data:`~datasets.robot_arm.CHANNELS`, indexed
        by a ``DatetimeIndex`` named ``"timestamp"`` with frequency ``1 / rate_hz``.
    labels : pandas.DataFrame, shape (n_rows, 3)
        Same index; ``is_anomaly`` (bool), ``fault_type`` (str, ``""`` on normal rows) and
        ``fault_channels`` (touched channel names joined by ``";"``, ``""`` on normal rows).
    faults : list of FaultEvent
        Injected faults, ordered by time.
    rate_hz : float
        Sample rate (Hz).
    """

    frame: pd.DataFrame
    labels: pd.DataFrame
    faults: list[FaultEvent] = field(default_factory=list)
    rate_hz: float = 100.0

    def to_frame(self) -> pd.DataFrame:
        """Return readings and labels side by side, e.g. for writing to CSV or Parquet.

        Returns
        -------
        pandas.DataFrame, shape (n_rows, 31)
            The 28 channel columns followed by ``is_anomaly``, ``fault_type`` and
            ``fault_channels``; same index as :attr:`frame`.
        """
        return pd.concat([self.frame, self.labels], axis=1)


def simulate(
    duration_s: float = 600.0,
    *,
    rate_hz: float = 100.0,
    faults: Sequence[str] | str = (),
    seed: int | None = 0,
    start: str | pd.Timestamp = "2026-01-01T00:00:00",
    ambient_c: float | None = None,
) -> SimulatedRun:
    """Simulate the robot arm, optionally with labelled faults.

    Parameters
    ----------
    duration_s : float, default 600.0
        Length of the run (s); the frame has ``round(duration_s * rate_hz)`` rows.
    rate_hz : float, default 100.0
        Sample rate (Hz).
    faults : sequence of str or str, default ()
        Fault types to inject, each entry once (repeat a name to inject it several times), at
        random non-overlapping positions after the first 10 % of the run, separated by at least
        5 s of normal operation. ``"all"`` injects every type of :data:`~datasets.robot_arm.FAULT_TYPES`
        once; a single type name may be passed as a plain string.
    seed : int or None, default 0
        Seed of ``numpy.random.default_rng``. The same seed gives an identical run; the normal
        behaviour does not depend on ``faults``.
    start : str or pandas.Timestamp, default "2026-01-01T00:00:00"
        Timestamp of the first row.
    ambient_c : float or None, default None
        Ambient temperature (degC). None draws one in [25, 32) from the seed, so runs with
        different seeds are like different days; pass a value for runs of one shift.
        Joint temperatures start at the steady state of the duty cycle (+-0.05 degC).

    Returns
    -------
    SimulatedRun
        Readings, row labels and the list of fault events.

    Raises
    ------
    ValueError
        On an unknown fault name, non-positive duration or rate, or when the faults cannot fit
        into ``duration_s``.
    """
    kinds = parse_faults(faults)
    if not (np.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be a positive number, got {duration_s!r}")
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz must be a positive number, got {rate_hz!r}")
    rate_hz = float(rate_hz)
    n = round(duration_s * rate_hz)
    if n < 2:
        raise ValueError(f"duration_s * rate_hz must give at least 2 rows, got {n}")
    t = np.arange(n) * (1.0 / rate_hz)

    rng_plan, rng_noise, rng_fault = np.random.default_rng(seed).spawn(3)
    windows = place_faults(kinds, n, rate_hz, duration_s, rng_fault)
    arm = simulate_normal(duration_s, rate_hz, t, ambient_c, rng_plan)
    truth = inject_physical(windows, arm, rng_fault)
    extend_thermal_labels(windows, truth[:, TEMP], arm.temps, n)
    meas = add_noise(truth, rng_noise)
    inject_sensor(windows, meas, rng_fault)
    quantise_encoders(meas)
    return _assemble(meas, windows, rate_hz, start)


def _assemble(meas: np.ndarray, windows: list[FaultWindow], rate_hz: float, start: str | pd.Timestamp) -> SimulatedRun:
    """Readings (n_rows, 28) and fault windows -> :class:`SimulatedRun` with labels and events."""
    n = len(meas)
    step = pd.Timedelta(seconds=1.0 / rate_hz)
    index = pd.date_range(start=pd.Timestamp(start).as_unit("ns"), periods=n, freq=step, name="timestamp")
    frame = pd.DataFrame(meas.astype(np.float32), index=index, columns=list(CHANNELS))
    is_anomaly = np.zeros(n, dtype=bool)
    ftype = np.full(n, "", dtype=object)
    fchan = np.full(n, "", dtype=object)
    events = []
    for w in sorted(windows, key=lambda w: w.start):
        chans = tuple(CHANNELS[c] for c in sorted(w.channels))
        sl = slice(w.start, w.end + 1)
        is_anomaly[sl] = True
        ftype[sl] = w.kind
        fchan[sl] = ";".join(chans)
        events.append(FaultEvent(w.kind, index[w.start], index[w.end], chans))
        logger.debug("injected %s at rows %d..%d on %s", w.kind, w.start, w.end, chans)
    labels = pd.DataFrame({"is_anomaly": is_anomaly, "fault_type": ftype, "fault_channels": fchan}, index=index)
    logger.info("simulated robot arm: %d rows at %g Hz, %d fault(s)", n, rate_hz, len(events))
    return SimulatedRun(frame=frame, labels=labels, faults=events, rate_hz=rate_hz)


def segments_from_faults(run: SimulatedRun) -> list[Segment]:
    """Cause segments of a simulated run, in row positions with an exclusive end.

    Parameters
    ----------
    run : SimulatedRun
        Its ``faults`` have timestamps ``start``/``end`` (inclusive) found in ``run.frame.index``.

    Returns
    -------
    list of anomaly.metrics.Segment
        ``Segment(position of start, position of end + 1, channels)`` per fault, in order.

    Raises
    ------
    DataError
        If a fault's timestamp is not in the frame's index.
    """
    index = run.frame.index
    try:
        return [Segment(index.get_loc(f.start), index.get_loc(f.end) + 1, tuple(f.channels)) for f in run.faults]
    except KeyError as missing:
        raise DataError(f"fault timestamp {missing} is not in the run's index") from None
