"""Progress hooks: library code reports progress, the CLI decides how to show it.

Training loops call the observer set with :func:`observe_epochs`, and a fit that trains more
than one model names each with :func:`report_stage` to the observer set with
:func:`observe_stages` (none by default, so the Python API stays silent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: ``callback(epoch, total_epochs, logs)`` called after each training epoch, or None.
epoch_observer: ContextVar[Callable[[int, int, dict], None] | None] = ContextVar("epoch_observer", default=None)


@contextmanager
def _observing(observer: ContextVar, callback: Callable) -> Iterator[None]:
    token = observer.set(callback)
    try:
        yield
    finally:
        observer.reset(token)


def observe_epochs(callback: Callable[[int, int, dict], None]):
    """Call ``callback(epoch, total_epochs, logs)`` after every training epoch inside the block."""
    return _observing(epoch_observer, callback)


#: ``callback(description)`` called when a fit starts a further stage (another model), or None.
stage_observer: ContextVar[Callable[[str], None] | None] = ContextVar("stage_observer", default=None)


def report_stage(description: str) -> None:
    """Tell the stage observer (if any) that a further stage of the work starts."""
    observer = stage_observer.get()
    if observer is not None:
        observer(description)


def observe_stages(callback: Callable[[str], None]):
    """Call ``callback(description)`` whenever library code inside the block starts a further stage."""
    return _observing(stage_observer, callback)
