"""The :func:`simulate` entry point and its result: a labelled run of the simulated robot arm.

Randomness comes from ``numpy.random.default_rng(seed)`` spawned into independent streams for
the cycle plan, the sensor noise, the faults and the operating conditions (the per-run sensor
spread), so a run with faults is identical to the fault-free run of the same seed outside the
effects of its faults, and a run with all operating conditions at their defaults is identical
to one of a simulator without them.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError
from anomaly.metrics import Segment
from datasets.robot_arm.cycles import MAX_PAYLOAD_KG, MIN_SPEED, PAYLOAD_KG, PROGRAMS
from datasets.robot_arm.faults import FaultWindow
from datasets.robot_arm.inject import inject_physical, inject_sensor
from datasets.robot_arm.normal import simulate_normal
from datasets.robot_arm.placement import (
    extend_thermal_labels,
    parse_faults,
    place_faults,
)
from datasets.robot_arm.sensors import CHANNELS, NOISE_STD, TEMP, add_noise, quantise_encoders, sensor_spread

__all__ = ["MAX_AMBIENT_DRIFT_C_PER_H", "FaultEvent", "SimulatedRun", "segments_from_faults", "simulate"]

logger = logging.getLogger(__name__)

#: Largest ambient drift (degC per hour, either sign) :func:`simulate` accepts.
MAX_AMBIENT_DRIFT_C_PER_H = 20.0


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
    conditions : dict
        Operating conditions of the run (empty when built by hand): ``ambient_c`` (degC at the
        first row, given or drawn), ``ambient_drift_c_per_h`` (degC/h), ``payload_kg`` (kg),
        ``speed_override`` (fraction), ``program`` (str), ``sensor_bias`` (fraction of the spec),
        ``cold_start`` (bool), ``sensor_offset`` and ``noise_std`` (per channel in its unit,
        shape (28,)).
    """

    frame: pd.DataFrame
    labels: pd.DataFrame
    faults: list[FaultEvent] = field(default_factory=list)
    rate_hz: float = 100.0
    conditions: dict = field(default_factory=dict)

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
    ambient_drift_c_per_h: float = 0.0,
    payload_kg: float = PAYLOAD_KG,
    speed_override: float = 1.0,
    program: str = "A",
    sensor_bias: bool | float = False,
    cold_start: bool = False,
) -> SimulatedRun:
    """Simulate the robot arm, optionally with labelled faults, under given operating conditions.

    Operating conditions (ambient, payload, speed, program, sensor spread) are normal variation,
    never labelled; faults are sudden, labelled events on top of them. With every condition at
    its default the run is bit-identical to the simulator before conditions existed. Named
    settings: :data:`datasets.robot_arm.conditions.CONDITIONS`.

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
        Ambient temperature (degC) at the first row. None draws one in [25, 32) from the seed,
        so runs with different seeds are like different days; pass a value for runs of one
        shift. Joint temperatures start at the steady state of the duty cycle (+-0.05 degC).
    ambient_drift_c_per_h : float, default 0.0
        Linear drift of the ambient temperature within the run (degC per hour, at most
        :data:`MAX_AMBIENT_DRIFT_C_PER_H` either way), e.g. 6.0 for a hall warming from 24 to
        30 degC over an hour. The joint temperatures follow through the thermal model (3-6 min
        lag) and start at the steady state of the drift.
    payload_kg : float, default 0.8
        Nominal part mass (kg, 0 .. :data:`~datasets.robot_arm.cycles.MAX_PAYLOAD_KG`); each
        part varies by 3 % (1 sigma). A heavier part raises the currents of joints 2 and 3
        while holding (the others a little, through acceleration), and their temperatures a little.
    speed_override : float, default 1.0
        Speed override as a fraction of the programmed speed, 0.6 .. 1.0: every move lasts
        ``1 / speed_override`` times longer (joint velocities scale by it, accelerations by its
        square; inertial and viscous currents fall); gripper and home dwells keep their length.
    program : {"A", "B"}, default "A"
        Pick-and-place program (:data:`~datasets.robot_arm.cycles.PROGRAMS`): B picks and
        places at other poses with other move durations.
    sensor_bias : bool or float, default False
        Per-run sensor spread within spec as a fraction of the spec, 0 .. 1 (True is 1): each
        channel gets a constant offset of up to ``sensor_bias * BIAS_SPEC`` and a noise level
        of ``NOISE_STD * 1.25 ** (+-sensor_bias)`` (see :mod:`datasets.robot_arm.sensors`),
        drawn from the seed's own stream for operating conditions.
    cold_start : bool, default False
        The joints start at the ambient temperature (arm just switched on) and warm up towards
        the duty cycle's steady state (0.5-3.5 degC above ambient) with 3-6 min time constants.

    Returns
    -------
    SimulatedRun
        Readings, row labels, the list of fault events and the operating conditions.

    Raises
    ------
    anomaly.errors.ConfigError
        (a ValueError) On an unknown fault name, a duration or rate that is not a positive
        number, fewer than 2 rows, faults that cannot fit into ``duration_s``, or an operating
        condition of the wrong type or outside its range.
    """
    kinds = parse_faults(faults)
    duration_s = _positive("duration_s", duration_s)
    rate_hz = _positive("rate_hz", rate_hz)
    n = round(duration_s * rate_hz)
    if n < 2:
        raise ConfigError(f"duration_s * rate_hz must give at least 2 rows, got {n}")
    drift = _in_range("ambient_drift_c_per_h", ambient_drift_c_per_h, -MAX_AMBIENT_DRIFT_C_PER_H, MAX_AMBIENT_DRIFT_C_PER_H, "degC/h")
    payload_kg = _in_range("payload_kg", payload_kg, 0.0, MAX_PAYLOAD_KG, "kg")
    speed = _in_range("speed_override", speed_override, MIN_SPEED, 1.0, "(a fraction: 0.8 is 80 %)")
    if not isinstance(program, str) or program not in PROGRAMS:
        raise ConfigError(f"program must be one of {sorted(PROGRAMS)}, got {program!r}")
    if isinstance(sensor_bias, (bool, np.bool_)):
        bias = float(sensor_bias)
    else:
        bias = _in_range("sensor_bias", sensor_bias, 0.0, 1.0, "(fraction of the sensors' spec) or a bool")
    if not isinstance(cold_start, (bool, np.bool_)):
        raise ConfigError(f"cold_start must be True or False, got {cold_start!r}")
    t = np.arange(n) * (1.0 / rate_hz)

    # spawn(4)'s first three children are spawn(3)'s: adding the conditions stream moved nothing
    rng_plan, rng_noise, rng_fault, rng_cond = np.random.default_rng(seed).spawn(4)
    windows = place_faults(kinds, n, rate_hz, duration_s, rng_fault, speed)
    arm = simulate_normal(
        duration_s, rate_hz, t, ambient_c, rng_plan, ambient_drift_c_per_h=drift, payload_kg=payload_kg,
        speed=speed, program=program, cold_start=bool(cold_start),
    )
    truth = inject_physical(windows, arm, rng_fault)
    extend_thermal_labels(windows, truth[:, TEMP], arm.temps, n)
    if bias:
        offset, noise_std = sensor_spread(bias, rng_cond)
        meas = add_noise(truth, rng_noise, noise_std)
        meas += offset
    else:
        offset, noise_std = np.zeros(len(CHANNELS)), NOISE_STD.copy()
        meas = add_noise(truth, rng_noise)
    inject_sensor(windows, meas, rng_fault)
    quantise_encoders(meas)
    conditions = {
        "ambient_c": float(np.ravel(arm.ambient)[0]),
        "ambient_drift_c_per_h": drift,
        "payload_kg": payload_kg,
        "speed_override": speed,
        "program": program,
        "sensor_bias": bias,
        "cold_start": bool(cold_start),
        "sensor_offset": offset,
        "noise_std": noise_std,
    }
    return _assemble(meas, windows, rate_hz, start, conditions)


def _positive(name: str, value: object) -> float:
    """``value`` as a float if it is a finite real number > 0; otherwise a ConfigError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not (np.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _in_range(name: str, value: object, lo: float, hi: float, unit: str) -> float:
    """``value`` as a float if it is a real number in [lo, hi]; otherwise a ConfigError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be a number in [{lo:g}, {hi:g}] {unit}, got {value!r}")
    return float(value)


def _assemble(
    meas: np.ndarray, windows: list[FaultWindow], rate_hz: float, start: str | pd.Timestamp, conditions: dict
) -> SimulatedRun:
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
    return SimulatedRun(frame=frame, labels=labels, faults=events, rate_hz=rate_hz, conditions=conditions)


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
