"""Standard input and output of the stream: JSON lines to stdout, message lines from stdin."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

__all__ = ["StdoutSink", "stdin_lines"]


class StdoutSink:
    """Writes each record as one JSON line and flushes at once (latency over throughput)."""

    def __init__(self, stream=None):
        self.stream = sys.stdout if stream is None else stream

    def send(self, records: list[dict]) -> None:
        try:
            self.stream.write("".join(json.dumps(record) + "\n" for record in records))
            self.stream.flush()
        except BrokenPipeError:
            # the reader is gone: point fd 1 at /dev/null so the interpreter's last flush is quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def stdin_lines() -> Iterator[bytes]:
    """Lines of standard input as bytes (decoding is the parser's job, so bad bytes cannot stop us)."""
    yield from sys.stdin.buffer
