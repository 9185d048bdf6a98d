"""Standard input and output of the stream: JSON lines to stdout, message lines from stdin."""

from __future__ import annotations

import json
import os
import select
import sys
from collections import deque
from collections.abc import Iterable, Iterator

__all__ = ["StdinLines", "StdoutSink", "stdin_lines"]

IDLE_S = 0.2  # a quiet standard input yields None this often (the stream loop's idle tick)


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


class StdinLines:
    """Lines of standard input as bytes (decoding is the parser's job, so bad bytes cannot stop us),
    read from its file descriptor, so that :meth:`waiting` can tell whether the next line is
    already there (lines written while the previous ones were scored). Iterating yields None
    after each :data:`IDLE_S` seconds without input.

    Parameters
    ----------
    fd : int or None
        The descriptor to read (default: standard input's).
    """

    CHUNK = 1 << 16

    def __init__(self, fd: int | None = None):
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._lines: deque[bytes] = deque()
        self._partial = b""
        self._ended = False

    def __iter__(self) -> Iterator[bytes | None]:
        while True:
            if self._lines:
                yield self._lines.popleft()
            elif self._ended:
                return
            elif select.select([self.fd], [], [], IDLE_S)[0]:
                self._split(os.read(self.fd, self.CHUNK))  # readable: this read does not wait
            else:
                yield None  # an idle tick: the loop services its sink's connection and notices a stop

    def _split(self, chunk: bytes) -> None:
        if not chunk:  # end of input: a last line without its newline is still a line
            self._ended = True
            if self._partial:
                self._lines.append(self._partial)
            self._partial = b""
            return
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        self._lines.extend(line + b"\n" for line in complete)

    def waiting(self) -> bool:
        """True when a whole next line is already here (iterating will not wait for it)."""
        if not self._lines and not self._ended and select.select([self.fd], [], [], 0)[0]:
            self._split(os.read(self.fd, self.CHUNK))  # readable: this read does not wait
        return bool(self._lines)


def stdin_lines() -> Iterable[bytes | None]:
    """Lines of standard input as bytes: :class:`StdinLines` (with idle ticks, None), or, when
    standard input has no file descriptor (a test runner's), its lines as they come (no
    ``waiting``, no idle ticks)."""
    try:
        return StdinLines(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return iter(sys.stdin.buffer)
