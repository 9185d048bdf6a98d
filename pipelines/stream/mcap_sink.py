"""An MCAP file as the stream's sink (the ``mcap`` library, in the ``ros`` extra): ``mcap://PATH``.

Two channels, both with ``jsonschema`` schemas and ``json`` messages:

* ``/diagnostics`` (schema ``diagnostic_msgs/msg/DiagnosticArray``): each ``alert``, ``end``
  and ``drift`` record as a DiagnosticArray (:func:`pipelines.stream.diagnostics.to_diagnostic`);
* ``/anomaly/score`` (schema ``anomaly/Score``): each score record as it is
  (``{"type": "score", "model", "timestamp", "score", "flag"}``).

A message's log time is the row's timestamp when it is a time (ISO 8601; naive = UTC), else
the time it was received; its publish time is the time it was received. The file is complete
(summary, indexes, footer) once the sink's ``with`` block is left, also after SIGINT/SIGTERM.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from anomaly.errors import ConfigError
from pipelines.stream.diagnostics import DIAGNOSTIC_TYPES, Level, stamp_ns, to_diagnostic

__all__ = ["DIAGNOSTICS_TOPIC", "SCORE_TOPIC", "McapSink", "parse_url"]

DIAGNOSTICS_TOPIC = "/diagnostics"
SCORE_TOPIC = "/anomaly/score"
_SCHEME = "mcap://"

_STAMP = {"type": "object", "properties": {"sec": {"type": "integer"}, "nanosec": {"type": "integer", "minimum": 0}}}
_KEY_VALUE = {"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string"}}}
_STATUS = {
    "type": "object",
    "properties": {
        "level": {"type": "integer", "enum": [int(level) for level in Level]},
        "name": {"type": "string"},
        "message": {"type": "string"},
        "hardware_id": {"type": "string"},
        "values": {"type": "array", "items": _KEY_VALUE},
    },
}
DIAGNOSTIC_SCHEMA = {
    "type": "object",
    "properties": {
        "header": {"type": "object", "properties": {"stamp": _STAMP, "frame_id": {"type": "string"}}},
        "status": {"type": "array", "items": _STATUS},
    },
}
SCORE_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"const": "score"},
        "model": {"type": "string"},
        "timestamp": {"type": ["string", "number"]},
        "score": {"type": "number"},
        "flag": {"type": "boolean"},
    },
}


def parse_url(url: str) -> Path:
    """The file of ``mcap://PATH`` (relative to the working directory, or ``mcap:///absolute/path``).

    Raises
    ------
    ConfigError
        No path, a path that is a folder, or a folder that does not exist. Nothing is written.
    """
    path = Path(url[len(_SCHEME):]) if url.startswith(_SCHEME) and url[len(_SCHEME):] else None
    if path is None:
        raise ConfigError(f"sink {url!r}: expected mcap://PATH, e.g. mcap://alerts.mcap")
    if path.is_dir():
        raise ConfigError(f"sink {url!r}: {path} is a folder, not a file")
    if not path.parent.is_dir():
        raise ConfigError(f"sink {url!r}: folder {path.parent} does not exist")
    return path


class McapSink:
    """Writes records to an MCAP file: created on ``__enter__``, finished and closed on ``__exit__``.

    Parameters
    ----------
    path : Path
        The file (overwritten).
    hardware_id : str
        ``hardware_id`` of the diagnostic statuses.
    """

    def __init__(self, path: Path, *, hardware_id: str = ""):
        self.path = path
        self.hardware_id = hardware_id

    def __enter__(self) -> McapSink:
        try:
            from mcap.writer import Writer
        except ImportError:
            raise ConfigError("MCAP output needs the mcap library: pip install 'robot-anomaly[ros]'") from None
        try:
            self._file = open(self.path, "wb")
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot write the MCAP file ({exc.strerror})") from None
        self._writer = Writer(self._file)
        self._writer.start()
        diagnostics = self._writer.register_schema("diagnostic_msgs/msg/DiagnosticArray", "jsonschema", json.dumps(DIAGNOSTIC_SCHEMA).encode())
        score = self._writer.register_schema("anomaly/Score", "jsonschema", json.dumps(SCORE_SCHEMA).encode())
        self._channels = {
            DIAGNOSTICS_TOPIC: self._writer.register_channel(DIAGNOSTICS_TOPIC, "json", diagnostics),
            SCORE_TOPIC: self._writer.register_channel(SCORE_TOPIC, "json", score),
        }
        return self

    def send(self, records: list[dict]) -> None:
        """Add ``records`` (score records to ``/anomaly/score``, the others to ``/diagnostics``)."""
        now = time.time_ns()
        for record in records:
            if record["type"] in DIAGNOSTIC_TYPES:
                topic, message = DIAGNOSTICS_TOPIC, to_diagnostic(record, hardware_id=self.hardware_id, received_ns=now)
            else:
                topic, message = SCORE_TOPIC, record
            self._writer.add_message(self._channels[topic], log_time=stamp_ns(record["timestamp"], now),
                                     data=json.dumps(message).encode(), publish_time=now)

    def __exit__(self, *exc) -> None:
        try:
            self._writer.finish()
        finally:
            self._file.close()
