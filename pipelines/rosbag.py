"""Robot logs: ROS 1 bags, ROS 2 bags (sqlite3 or MCAP storage) and standalone MCAP files.

Read with the pure-Python ``rosbags`` library (the ``ros`` extra; no ROS install). Its
``AnyReader`` opens a ROS 1 ``.bag`` file, a ROS 2 bag directory (``metadata.yaml`` plus
``.db3`` or ``.mcap`` storage) and a bare ``.mcap`` file (read as ROS 2 storage: ``ros2msg``
schemas, CDR messages, e.g. from ``ros2 bag record -s mcap`` or the ``mcap`` library). Bags
without embedded message definitions (ROS 2 Humble sqlite3) are decoded with the latest ROS 2
type store.

A *topic selection* is a string ``"/topic"`` or ``"/topic:field.path[,field.path...]"``. It
turns messages into channels named ``<topic>/<field.path>``:

* ``sensor_msgs/msg/JointState``: ``position``, ``velocity``, ``effort`` per joint name, e.g.
  ``/joint_states/position/shoulder``. By default every field that is filled in the messages.
* ``sensor_msgs/msg/Imu``: ``orientation.{x,y,z,w}``, ``angular_velocity.{x,y,z}``,
  ``linear_acceleration.{x,y,z}``. By default a group is left out when every message marks
  it unavailable (element 0 of its covariance is -1, the ROS convention).
* ``geometry_msgs/msg/WrenchStamped``: ``wrench.force.{x,y,z}``, ``wrench.torque.{x,y,z}``.
* ``std_msgs/msg/Float64`` and ``Float32``: ``data``.
* Any message type: numeric scalar fields named by dotted path (``/motor/temp:data``).

Timestamps are the header stamp when the message has one (``stamp="header"``), else, or with
``stamp="receive"``, the time the bag recorded the message. The index is a tz-naive
DatetimeIndex in UTC (nanoseconds since the Unix epoch).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError, SchemaError
from pipelines.preprocess import AlignmentReport, align_topics

log = logging.getLogger(__name__)

BAG_SUFFIXES = (".bag", ".mcap")
STAMPS = ("header", "receive")
JOINT_STATE = "sensor_msgs/msg/JointState"
JOINT_FIELDS = ("position", "velocity", "effort")


def _xyz(prefix: str, axes: str = "xyz") -> tuple[str, ...]:
    return tuple(f"{prefix}.{axis}" for axis in axes)


#: Channels read from a topic of each supported type when no field is named.
DEFAULT_FIELDS = {
    JOINT_STATE: JOINT_FIELDS,
    "sensor_msgs/msg/Imu": _xyz("orientation", "xyzw") + _xyz("angular_velocity") + _xyz("linear_acceleration"),
    "geometry_msgs/msg/WrenchStamped": _xyz("wrench.force") + _xyz("wrench.torque"),
    "std_msgs/msg/Float64": ("data",),
    "std_msgs/msg/Float32": ("data",),
}
#: Field groups a message marks unavailable with -1 in element 0 of a covariance field.
UNAVAILABLE_MARKERS = {
    "sensor_msgs/msg/Imu": {
        "orientation": "orientation_covariance",
        "angular_velocity": "angular_velocity_covariance",
        "linear_acceleration": "linear_acceleration_covariance",
    },
}


@dataclass(frozen=True)
class TopicSelection:
    """A topic and the dotted field paths to read from it (empty: the type's defaults)."""

    topic: str
    fields: tuple[str, ...] = ()


def parse_topic(spec: str) -> TopicSelection:
    """Parse ``"/topic"`` or ``"/topic:field.path[,field.path...]"`` (ROS names contain no ``:``)."""
    topic, sep, rest = spec.partition(":")
    fields = tuple(f.strip() for f in rest.split(",")) if sep else ()
    if not topic.strip() or any(not f or any(not part for part in f.split(".")) for f in fields):
        raise ConfigError(f"topic selection {spec!r} must look like /topic or /topic:field.path[,field.path]")
    return TopicSelection(topic.strip(), fields)


def is_bag(path: str | Path) -> bool:
    """True for a ``.bag``/``.mcap`` path or a folder laid out as a ROS 2 bag."""
    path = Path(path)
    if path.suffix.lower() in BAG_SUFFIXES:
        return True
    return path.is_dir() and ((path / "metadata.yaml").is_file() or any(path.glob("*.db3")) or any(path.glob("*.mcap")))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__


@contextmanager
def _open(path: Path):
    """An open rosbags ``AnyReader``; every failure to open is a DataError naming the file."""
    try:
        from rosbags.highlevel import AnyReader
        from rosbags.typesys import Stores, get_typestore
    except ImportError:
        raise ConfigError("reading ROS bags and MCAP files needs the 'ros' extra: pip install 'robot-anomaly[ros]'") from None
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    if path.is_dir() and not (path / "metadata.yaml").is_file():
        raise DataError(f"{path}: ROS 2 bag folder without metadata.yaml (an interrupted recording? `ros2 bag reindex` rebuilds it)")
    try:
        reader = AnyReader([path], default_typestore=get_typestore(Stores.LATEST))
        reader.open()
    except Exception as exc:  # rosbags, struct, sqlite and decompression errors alike
        raise DataError(f"{path}: cannot read bag ({_first_line(exc)})") from None
    try:
        yield reader
    finally:
        reader.close()


def _messages(reader, connections, path: Path) -> Iterator[tuple[str, int, object]]:
    """Yield (topic, receive time in ns, decoded message); a corrupt record is a DataError."""
    try:
        for connection, received, raw in reader.messages(connections=connections):
            yield connection.topic, received, reader.deserialize(raw, connection.msgtype)
    except Exception as exc:
        raise DataError(f"{path}: cannot read bag ({_first_line(exc)})") from None


def _fields_of(value) -> list[str]:
    return [name for name in getattr(value, "__dataclass_fields__", {}) if not name.startswith("__")]


def _check_numeric(message, path: str, where: str) -> None:
    """Raise SchemaError unless ``path`` names a numeric scalar field of ``message``."""
    value = message
    for depth, part in enumerate(path.split(".")):
        if part not in _fields_of(value):
            parent = ".".join(path.split(".")[:depth]) or "the message"
            raise SchemaError(f"{where}: no field {path!r} ({parent} has fields {_fields_of(value)})")
        value = getattr(value, part)
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return
    if isinstance(value, (np.ndarray, list, tuple)):
        raise SchemaError(f"{where}: field {path!r} is an array of {len(value)} values, not a number")
    kind = getattr(value, "__msgtype__", type(value).__name__)
    raise SchemaError(f"{where}: field {path!r} is {kind}, not a number; name a numeric field inside it")


class _Fields:
    """Numeric scalar fields by dotted path, one column each: values of shape (n_messages, n_fields)."""

    def __init__(self, topic: str, msgtype: str, fields: Sequence[str], first, where: str, *, defaults: bool):
        for path in fields:
            _check_numeric(first, path, where)
        self.topic, self.fields = topic, tuple(fields)
        self._get = operator.attrgetter(*self.fields)
        markers = UNAVAILABLE_MARKERS.get(msgtype, {}) if defaults else {}
        self._groups = tuple(markers)
        self._marks = operator.attrgetter(*markers.values()) if markers else None
        self.rows, self.unavailable = [], []

    def add(self, message) -> None:
        self.rows.append(self._get(message))
        if self._marks is not None:
            self.unavailable.append([cov[0] == -1 for cov in self._marks(message)])

    def columns(self) -> tuple[list[str], np.ndarray]:
        values = np.asarray(self.rows, dtype=np.float64).reshape(len(self.rows), len(self.fields))
        keep = np.ones(len(self.fields), dtype=bool)
        if self.unavailable:
            absent = np.asarray(self.unavailable).all(axis=0)
            for group in np.asarray(self._groups)[absent]:
                keep &= [not f.startswith(group + ".") for f in self.fields]
                log.info("%s: %s is marked unavailable in every message; left out", self.topic, group)
        return [f"{self.topic}/{f}" for f, k in zip(self.fields, keep) if k], values[:, keep]


class _Joints:
    """JointState arrays by joint name: values of shape (n_messages, n_fields x n_joints).

    Every message must name the same joints (any order: values are matched by name); each
    array must hold one value per joint or be empty in every message.
    """

    def __init__(self, topic: str, fields: Sequence[str], first, where: str, *, defaults: bool):
        self.names = list(first.name)
        if len(set(self.names)) != len(self.names):
            raise SchemaError(f"{where}: joint names repeat in {self.names}")
        self.topic, self.fields, self.defaults, self.where = topic, tuple(fields), defaults, where
        self._sorted = sorted(self.names)
        self.rows = {field: [] for field in self.fields}

    def add(self, message) -> None:
        names, order = message.name, None
        if names != self.names:
            count = len(self.rows[self.fields[0]])
            if sorted(names) != self._sorted:
                raise SchemaError(f"{self.where}: message {count} names joints {list(names)}, the first message {self.names}")
            order = [names.index(name) for name in self.names]
        for field in self.fields:
            values = getattr(message, field)
            if len(values) not in (0, len(names)):
                count = len(self.rows[field])
                raise SchemaError(f"{self.where}: message {count} has {len(values)} {field} values for {len(names)} joints")
            self.rows[field].append(values if order is None or not len(values) else values[order])

    def columns(self) -> tuple[list[str], np.ndarray]:
        names, blocks = [], []
        for field, rows in self.rows.items():
            empty = np.array([not len(v) for v in rows])
            if empty.all() and self.defaults:
                continue
            if empty.all():
                raise DataError(f"{self.where}: field {field!r} is empty in every message")
            if empty.any():
                raise SchemaError(f"{self.where}: field {field!r} is empty in {int(empty.sum())} of {len(rows)} messages "
                                  f"(first: message {int(np.argmax(empty))})")
            blocks.append(np.stack(rows).astype(np.float64))
            names += [f"{self.topic}/{field}/{joint}" for joint in self.names]
        if not blocks:
            raise DataError(f"{self.where}: position, velocity and effort are empty in every message")
        return names, np.hstack(blocks)


def _extractor(selection: TopicSelection, msgtype: str, first, where: str):
    fields = selection.fields or DEFAULT_FIELDS[msgtype]
    defaults = not selection.fields
    if msgtype == JOINT_STATE and all(f in JOINT_FIELDS for f in fields):
        return _Joints(selection.topic, fields, first, where, defaults=defaults)
    return _Fields(selection.topic, msgtype, fields, first, where, defaults=defaults)


def _index(stamps: list[int], where: str, source: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Sorted DatetimeIndex of the stamps and the order that sorts the rows."""
    raw = np.asarray(stamps, dtype=np.int64)
    if source == "header" and (raw == 0).any():
        raise DataError(f"{where}: header stamp is 0 (unset) in {int((raw == 0).sum())} messages; read with stamp='receive'")
    order = np.argsort(raw, kind="stable")
    raw = raw[order]
    repeated = np.flatnonzero(np.diff(raw) == 0)
    if len(repeated):
        hint = "; read with stamp='receive'" if source == "header" else ""
        raise DataError(f"{where}: {len(repeated)} messages repeat the {source} time of another (first {pd.Timestamp(raw[repeated[0]])}){hint}")
    return pd.DatetimeIndex(raw.astype("datetime64[ns]"), name="timestamp"), order


def _select(reader, topics: Sequence[str], path: Path) -> dict[str, TopicSelection]:
    """The selections to read, checked against the bag's topics."""
    available = reader.topics
    if not topics:
        chosen = [TopicSelection(name) for name, info in sorted(available.items()) if info.msgtype in DEFAULT_FIELDS]
        if not chosen:
            kinds = {name: info.msgtype for name, info in available.items()}
            raise DataError(f"{path}: no topic of a supported type {sorted(DEFAULT_FIELDS)}; topics are {kinds}; name fields as /topic:field")
    else:
        chosen = [parse_topic(spec) for spec in topics]
    selections = {}
    for selection in chosen:
        where = f"{path}: topic {selection.topic!r}"
        if selection.topic in selections:
            raise ConfigError(f"{where} is selected twice; list its fields once, comma-separated")
        info = available.get(selection.topic)
        if info is None:
            raise SchemaError(f"{where} not found; the bag has {sorted(available)}")
        if info.msgtype is None:
            raise SchemaError(f"{where} carries several message types")
        if not selection.fields and info.msgtype not in DEFAULT_FIELDS:
            raise SchemaError(f"{where} has type {info.msgtype} with no default channels; name fields as {selection.topic}:field.path")
        if info.msgcount == 0:
            raise DataError(f"{where} has no messages")
        selections[selection.topic] = selection
    return selections


def read_topics(path: str | Path, topics: Sequence[str] = (), *, stamp: str = "header") -> dict[str, pd.DataFrame]:
    """Read selected topics of a bag, one frame per topic.

    Parameters
    ----------
    path : str or Path
        ROS 1 ``.bag`` file, ROS 2 bag folder (sqlite3 or MCAP storage) or ``.mcap`` file.
    topics : sequence of str
        Topic selections (see :func:`parse_topic`). Default: every topic of a type in
        :data:`DEFAULT_FIELDS`, with its default channels.
    stamp : {"header", "receive"}, default="header"
        Time of a message: its header stamp (when the type has a header) or the time the bag
        recorded it.

    Returns
    -------
    dict of str to pandas.DataFrame of shape (n_messages, n_channels), float64
        In selection order; index: DatetimeIndex ``timestamp`` (UTC, tz-naive), sorted.

    Raises
    ------
    DataError
        Missing, empty or corrupt file; an empty topic; unset or repeated timestamps.
    SchemaError
        Unknown topic, a field that is missing or not a numeric scalar, joint names or array
        lengths that differ between messages.
    ConfigError
        A malformed topic selection or ``stamp``; the ``ros`` extra is not installed.
    """
    if stamp not in STAMPS:
        raise ConfigError(f"stamp={stamp!r} is not one of {list(STAMPS)}")
    path = Path(path)
    with _open(path) as reader:
        selections = _select(reader, topics, path)
        connections = [c for c in reader.connections if c.topic in selections]
        extractors, stamps, sources = {}, {name: [] for name in selections}, {}
        for topic, received, message in _messages(reader, connections, path):
            if topic not in extractors:
                where = f"{path}: topic {topic!r}"
                extractors[topic] = _extractor(selections[topic], reader.topics[topic].msgtype, message, where)
                sources[topic] = "header" if stamp == "header" and "header" in _fields_of(message) else "receive"
            extractors[topic].add(message)
            if sources[topic] == "header":
                received = message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec
            stamps[topic].append(received)
        indexed = {topic: reader.topics[topic].msgcount for topic in selections}
    frames = {}
    for topic in selections:
        where = f"{path}: topic {topic!r}"
        if topic not in extractors:
            raise DataError(f"{where} has no messages")
        if len(stamps[topic]) != indexed[topic]:
            raise DataError(f"{where}: read {len(stamps[topic])} messages but the bag's index lists {indexed[topic]} (corrupted file?)")
        columns, values = extractors[topic].columns()
        index, order = _index(stamps[topic], where, sources[topic])
        frames[topic] = pd.DataFrame(values[order], index=index, columns=columns)
        log.info("%s: %d messages x %d channels (%s time)", where, len(index), len(columns), sources[topic])
    return frames


def read_bag(
    path: str | Path,
    topics: Sequence[str] = (),
    *,
    rate_hz: float | None = None,
    tolerance: float | dict[str, float] | None = None,
    gap_policy: str = "drop",
    stamp: str = "header",
) -> tuple[pd.DataFrame, AlignmentReport]:
    """Read a bag's topics and align them on one time grid.

    :func:`read_topics` then :func:`pipelines.preprocess.align_topics` (see both for the
    parameters).

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows, n_channels), float64
        Index: DatetimeIndex ``timestamp`` (UTC, tz-naive).
    report : AlignmentReport
    """
    frames = read_topics(path, topics, stamp=stamp)
    return align_topics(frames, rate_hz, tolerance=tolerance, gap_policy=gap_policy, source=str(path))
