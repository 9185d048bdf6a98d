"""Alert records as ROS ``diagnostic_msgs/DiagnosticArray`` messages (JSON-shaped), and their stamps.

:func:`to_diagnostic` turns one ``alert``, ``end`` or ``drift`` record of the stream into::

    {"header": {"stamp": {"sec": 1767225607, "nanosec": 590000000}, "frame_id": ""},
     "status": [{"level": 2, "name": "anomaly/arm", "message": "score 40.88, alert level 3.277; top channels j2_current, acc_z",
                 "hardware_id": "", "values": [{"key": "type", "value": "alert"}, {"key": "score", "value": "40.88"},
                                               {"key": "top_channels", "value": "j2_current,acc_z"}, ...]}]}

``level`` is a ``DiagnosticStatus`` level: ERROR for ``alert``, WARN for ``drift``, OK for
``end`` (the event is over). ``values`` hold every field of the plain record but ``model`` as
text (lists joined with ``,``; a drift's ``channels`` as one ``channels.<name>`` value each).
The stamp is the record's timestamp when it is a time (ISO 8601 text; naive means UTC), else
the time the record was sent. :class:`DiagnosticSink` converts on the way to another sink.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from enum import IntEnum

__all__ = ["DIAGNOSTIC_TYPES", "DiagnosticSink", "Level", "stamp_ns", "to_diagnostic"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


class Level(IntEnum):
    """``diagnostic_msgs/DiagnosticStatus`` levels (a byte in the message)."""

    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


#: Level of each record type that becomes a DiagnosticArray.
DIAGNOSTIC_TYPES = {"alert": Level.ERROR, "drift": Level.WARN, "end": Level.OK}


def stamp_ns(timestamp, received_ns: int) -> int:
    """Nanoseconds since the Unix epoch of a record's ``timestamp`` when it is a time, else ``received_ns``.

    ``timestamp`` is a record's JSON form: ISO 8601 text (naive = UTC) is a time; a number
    (e.g. seconds since the robot started) or a time before 1970 is not.
    """
    if not isinstance(timestamp, str):
        return received_ns
    moment = datetime.fromisoformat(timestamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    ns = (moment - _EPOCH) // _MICROSECOND * 1000
    return ns if ns >= 0 else received_ns


def _message(record: dict) -> str:
    kind = record["type"]
    if kind == "alert":
        return f"score {record['score']:.4g}, alert level {record['threshold']:.4g}; top channels {', '.join(record['top_channels'])}"
    if kind == "end":
        return f"anomaly ended (peak {record['peak']:.4g}, threshold {record['threshold']:.4g})"
    return record["message"]


def _values(record: dict) -> list[dict]:
    values = []
    for key, value in record.items():
        if key == "model":  # in the status name
            continue
        if isinstance(value, dict):
            values.extend({"key": f"{key}.{name}", "value": str(item)} for name, item in value.items())
        else:
            values.append({"key": key, "value": ",".join(map(str, value)) if isinstance(value, list) else str(value)})
    return values


def to_diagnostic(record: dict, *, hardware_id: str = "", frame_id: str = "", received_ns: int | None = None) -> dict:
    """A DiagnosticArray-shaped dict with one status for an ``alert``, ``end`` or ``drift`` record.

    Parameters
    ----------
    record : dict
        A plain record (``Alert.to_dict()`` or a drift record), with ``type``, ``model`` and ``timestamp``.
    hardware_id, frame_id : str
        The status's ``hardware_id`` and the header's ``frame_id``.
    received_ns : int or None
        Stamp when the record's timestamp is not a time; None means now.

    Raises
    ------
    KeyError
        If ``record["type"]`` is not one of :data:`DIAGNOSTIC_TYPES`.
    """
    ns = stamp_ns(record["timestamp"], time.time_ns() if received_ns is None else received_ns)
    status = {"level": int(DIAGNOSTIC_TYPES[record["type"]]), "name": f"anomaly/{record['model']}", "message": _message(record),
              "hardware_id": hardware_id, "values": _values(record)}
    return {"header": {"stamp": {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}, "frame_id": frame_id},
            "status": [status]}


class DiagnosticSink:
    """Wraps a sink: ``alert``/``end``/``drift`` records go on as DiagnosticArrays, others (scores) unchanged."""

    def __init__(self, sink, *, hardware_id: str = ""):
        self.sink = sink
        self.hardware_id = hardware_id

    def send(self, records: list[dict]) -> None:
        """Convert and pass ``records`` to the wrapped sink in one call."""
        self.sink.send([to_diagnostic(r, hardware_id=self.hardware_id) if r["type"] in DIAGNOSTIC_TYPES else r for r in records])
