"""PX4 flight logs (ULog, ``.ulg``): logged topics at their own rates, aligned on one grid.

Read with the pure-Python ``pyulog`` library (the ``px4`` extra; BSD-3, numpy only). A ULog
file holds one record per published message of each logged uORB topic; a log is read as one
log of channels:

* **topics** are the logged messages (``vehicle_attitude``); a second instance of a message
  (a second IMU) is ``<name>_<instance>`` (``sensor_accel_1``), as ``ulog2csv`` names its files.
* **channels** are named ``<topic>/<field>`` with PX4's field names, array elements included
  (``vehicle_attitude/q[0]``). Left out: ``timestamp`` fields, padding and ``device_id``, and
  fields that are not a number in any message (NaN throughout: an unused motor output).
* **default topics** (no selection): those of :data:`DEFAULT_FIELDS` the log holds, with
  the listed fields it has (attitude, rates, accelerations, position and velocity, air data
  and the barometer's temperature, airspeed, battery, actuator outputs, set points). A log
  with none of them is a :class:`~anomaly.errors.DataError` listing its topics.
* a **selection** is ``topic`` (every numeric field) or ``topic:field[,field]``, as for bags
  (:func:`pipelines.rosbag.parse_topic`; a leading ``/`` is dropped); ``rate_hz`` is the grid rate (default: the fastest
  topic's timestamps, :func:`pipelines.preprocess.align_topics`).
* **time**: each message's ``timestamp`` (microseconds since the flight controller booted).
  When a GPS topic (``vehicle_gps_position`` or ``sensor_gps``) has a UTC time
  (``time_utc_usec``), the index is UTC (the median offset between the two); otherwise it is
  the time since boot counted from 1970-01-01, and a log line says so.

A corrupt ULog file is a DataError; a log pyulog reads with dropouts or a damaged tail (common
after a crash or a power cut) is read as far as it goes, with a warning in the log.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError, SchemaError
from pipelines.preprocess import AlignmentReport, align_topics
from pipelines.rosbag import parse_topic

log = logging.getLogger(__name__)

ULOG_SUFFIX = ".ulg"
#: The first bytes of every ULog file (``ULog`` and a fixed marker; the version byte follows).
ULOG_MAGIC = b"ULog\x01\x12\x35"
#: Fields never turned into channels (times, alignment bytes, the sensor's bus address).
SKIPPED_PREFIXES = ("timestamp", "_padding", "device_id")


def _indexed(name: str, count: int) -> tuple[str, ...]:
    return tuple(f"{name}[{i}]" for i in range(count))


#: Default topics and fields: what a health monitor of a multicopter or fixed-wing reads.
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "vehicle_attitude": _indexed("q", 4),
    "vehicle_angular_velocity": _indexed("xyz", 3),
    "vehicle_acceleration": _indexed("xyz", 3),
    "sensor_combined": _indexed("gyro_rad", 3) + _indexed("accelerometer_m_s2", 3),
    "vehicle_local_position": ("x", "y", "z", "vx", "vy", "vz"),
    "vehicle_air_data": ("baro_alt_meter", "baro_temp_celcius", "baro_pressure_pa"),
    "airspeed_validated": ("indicated_airspeed_m_s", "true_airspeed_m_s"),
    "battery_status": ("voltage_v", "current_a", "temperature"),
    "actuator_outputs": _indexed("output", 16),
    "actuator_motors": _indexed("control", 12),
    "actuator_servos": _indexed("control", 8),
    "vehicle_rates_setpoint": ("roll", "pitch", "yaw") + _indexed("thrust_body", 3),
    "vehicle_attitude_setpoint": _indexed("q_d", 4) + _indexed("thrust_body", 3),
}
#: Topics whose ``time_utc_usec`` (with ``timestamp``) puts the log on UTC.
GPS_TOPICS = ("vehicle_gps_position", "sensor_gps")


def is_ulog(path: str | Path) -> bool:
    """True for a ``.ulg`` path, or a file that starts with the ULog magic bytes."""
    path = Path(path)
    if path.suffix.lower() == ULOG_SUFFIX:
        return True
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(len(ULOG_MAGIC)) == ULOG_MAGIC


def _parse(path: Path):
    """The pyulog ``ULog`` of ``path``; any failure to parse is a DataError naming the file."""
    try:
        from pyulog import ULog
    except ImportError:
        raise ConfigError("reading PX4 ULog files needs the 'px4' extra: pip install 'robot-anomaly[px4]'") from None
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    printed = io.StringIO()  # pyulog prints its corruption notes; they go to the log, not to stdout
    try:
        with contextlib.redirect_stdout(printed):
            ulog = ULog(str(path))
    except Exception as exc:  # pyulog's ULogException, struct and index errors alike
        raise DataError(f"{path}: cannot read ULog file ({type(exc).__name__}: {str(exc).strip()[:200]})") from None
    if ulog.file_corruption or printed.getvalue().strip():
        log.warning("%s: the ULog file is damaged (%s); read as far as it goes", path,
                    printed.getvalue().strip().splitlines()[0] if printed.getvalue().strip() else "corruption detected")
    return ulog


def _topics(ulog) -> dict[str, object]:
    """The log's data sets by topic name (``<name>`` or ``<name>_<instance>``)."""
    return {d.name if d.multi_id == 0 else f"{d.name}_{d.multi_id}": d for d in ulog.data_list}


def _numeric_fields(data) -> list[str]:
    """Fields of a data set that are channels: numeric, not skipped, a number in some message."""
    fields = []
    for name, values in data.data.items():
        if name.startswith(SKIPPED_PREFIXES) or values.dtype.kind not in "iufb":
            continue
        if values.dtype.kind == "f" and np.isnan(values).all():
            continue
        fields.append(name)
    return fields


def _utc_offset_us(datasets: dict[str, object]) -> int | None:
    """Microseconds to add to a boot-relative ``timestamp`` for UTC, from a GPS topic; None without a fix."""
    for topic in GPS_TOPICS:
        data = datasets.get(topic)
        if data is None or "time_utc_usec" not in data.data:
            continue
        utc, boot = data.data["time_utc_usec"].astype(np.int64), data.data["timestamp"].astype(np.int64)
        fixed = utc > 0
        if fixed.any():
            return int(np.median(utc[fixed] - boot[fixed]))
    return None


def read_ulog_topics(path: str | Path, topics: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """Read selected topics of a ULog file, one frame per topic.

    Parameters
    ----------
    path : str or Path
        A PX4 ``.ulg`` file.
    topics : sequence of str
        Topic selections ``topic`` or ``topic:field[,field]``; default: :data:`DEFAULT_FIELDS`.

    Returns
    -------
    dict of str to pandas.DataFrame of shape (n_messages, n_channels), float64
        In selection order; columns ``<topic>/<field>``; index: DatetimeIndex ``timestamp``
        (UTC with a GPS time, else the time since boot from 1970-01-01), strictly increasing
        (repeated timestamps keep the last message).

    Raises
    ------
    DataError
        A missing, empty or corrupt file; a log with none of the default topics; a selected
        topic without messages.
    SchemaError
        An unknown topic, or a selected field it does not have or that is not a number.
    ConfigError
        A malformed selection, a topic selected twice, or the ``px4`` extra not installed.
    """
    path = Path(path)
    datasets = _topics(_parse(path))
    if topics:
        selections = [parse_topic(spec.lstrip("/")) for spec in topics]  # "/vehicle_attitude", as ROS users write it
        chosen: dict[str, tuple[str, ...] | None] = {}
        for selection in selections:
            where = f"{path}: topic {selection.topic!r}"
            if selection.topic in chosen:
                raise ConfigError(f"{where} is selected twice; list its fields once, comma-separated")
            if selection.topic not in datasets:
                raise SchemaError(f"{where} not found; the log has {sorted(datasets)}")
            chosen[selection.topic] = selection.fields or None
    else:
        chosen = {topic: fields for topic, fields in DEFAULT_FIELDS.items() if topic in datasets}
        if not chosen:
            raise DataError(f"{path}: none of the default PX4 topics ({', '.join(DEFAULT_FIELDS)}) is logged; "
                            f"the log has {sorted(datasets)}; select topics as topic or topic:field")
    offset = _utc_offset_us(datasets)
    if offset is None:
        log.info("%s: no GPS time in the log; timestamps are the time since boot from 1970-01-01", path)
    frames = {}
    for topic, wanted in chosen.items():
        frames[topic] = _frame(datasets[topic], topic, wanted, offset or 0, path, named=bool(topics))
    return frames


def _frame(data, topic: str, wanted, offset_us: int, path: Path, *, named: bool) -> pd.DataFrame:
    """One topic's channels (n_messages, n_fields) on its own timestamps."""
    where = f"{path}: topic {topic!r}"
    numeric = _numeric_fields(data)
    if wanted is None:
        fields = numeric
    elif named:
        missing = [f for f in wanted if f not in data.data]
        if missing:
            raise SchemaError(f"{where} has no field(s) {missing}; it has {sorted(data.data)}")
        fields = list(wanted)
        not_numbers = [f for f in fields if f not in numeric]
        if not_numbers:
            raise SchemaError(f"{where}: field(s) {not_numbers} are not a number in any message")
    else:
        fields = [f for f in wanted if f in numeric]  # a default field this PX4 version does not log
    stamps = data.data["timestamp"].astype(np.int64)
    if not len(stamps) or not fields:
        raise DataError(f"{where} has no messages" if not len(stamps) else f"{where} has no numeric field")
    values = np.column_stack([data.data[f].astype(np.float64) for f in fields])
    index = pd.DatetimeIndex(pd.to_datetime((stamps + offset_us) * 1000, unit="ns"), name="timestamp")
    frame = pd.DataFrame(values, index=index, columns=[f"{topic}/{f}" for f in fields])
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    log.info("%s: %d messages x %d channels", where, len(frame), len(fields))
    return frame


def read_ulog(path: str | Path, topics: Sequence[str] = (), *, rate_hz: float | None = None,
              gap_policy: str = "drop") -> tuple[pd.DataFrame, AlignmentReport]:
    """Read a ULog file's topics and align them on one time grid.

    :func:`read_ulog_topics` then :func:`pipelines.preprocess.align_topics` (see both).

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows, n_channels), float64
        Index: DatetimeIndex ``timestamp``.
    report : AlignmentReport
    """
    return align_topics(read_ulog_topics(path, topics), rate_hz, gap_policy=gap_policy, source=str(path))
