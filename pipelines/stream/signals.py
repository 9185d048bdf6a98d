"""Stop requests for the stream loop: SIGINT/SIGTERM or :meth:`Stop.request` end :func:`pipelines.stream.run`."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Interrupted", "Stop"]


class Interrupted(Exception):
    """Raised by the signal handler while the loop is blocked waiting for input."""


class Stop:
    """A request to end :func:`run`: from SIGINT/SIGTERM (under :meth:`signals`) or :meth:`request`.

    A stop is noticed between messages; a signal also interrupts a wait for input (stdin
    blocks), so a quiet stream ends at once.
    """

    def __init__(self):
        self.reason: str | None = None
        self._blocked = False

    def request(self, reason: str = "stop requested") -> None:
        """Ask the loop to end after the current message (any thread)."""
        self.reason = self.reason or reason

    def _on_signal(self, signum, frame) -> None:
        self.request(signal.Signals(signum).name)
        if self._blocked:
            raise Interrupted

    @contextmanager
    def signals(self):
        """Turn SIGINT and SIGTERM into stop requests inside the block (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def next(self, items: Iterator):
        """``next(items)``, interrupted by a signal while it waits.

        Raises
        ------
        StopIteration
            At the end of input.
        Interrupted
            On a stop request.
        """
        if self.reason:
            raise Interrupted
        self._blocked = True
        try:
            return next(items)
        finally:
            self._blocked = False
