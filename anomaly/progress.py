"""Progress hooks: library code reports progress, the CLI decides how to show it.

Training loops call the observer set with :func:`observe_epochs` (none by default, so the
Python API stays silent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: ``callback(epoch, total_epochs, logs)`` called after each training epoch, or None.
epoch_observer: ContextVar[Callable[[int, int, dict], None] | None] = ContextVar("epoch_observer", default=None)


@contextmanager
def observe_epochs(callback: Callable[[int, int, dict], None]) -> Iterator[None]:
    """Call ``callback(epoch, total_epochs, logs)`` after every training epoch inside the block."""
    token = epoch_observer.set(callback)
    try:
        yield
    finally:
        epoch_observer.reset(token)
