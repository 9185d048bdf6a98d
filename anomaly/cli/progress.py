"""The rich progress display on stderr (only on a terminal: pipes and logs stay clean).

The model core's epoch observer is :mod:`anomaly.progress`; :func:`fit_with_progress` connects
it to a bar here.
"""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from anomaly.cli.console import err
from anomaly.progress import observe_epochs, observe_stages


@contextmanager
def progress():
    """A rich progress display on stderr (only on a terminal: pipes and logs stay clean).

    Yields ``step(description, total=None)``, which completes the previous line, starts a new
    one and returns ``advance(n=1)``.
    """
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, disable=not err.is_terminal) as bar:
        tasks = []

        def finish_last() -> None:
            if tasks:
                total = bar.tasks[-1].total or 1
                bar.update(tasks[-1], total=total, completed=total)

        def step(description: str, total: int | None = None):
            finish_last()
            tasks.append(bar.add_task(description, total=total))
            return lambda n=1: bar.advance(tasks[-1], n)

        yield step
        finish_last()


class _RowsColumn(ProgressColumn):
    """``12,345/1,000,000 rows  250,000 rows/s``."""

    def render(self, task) -> Text:
        total = f"/{task.total:,.0f}" if task.total is not None else ""
        speed = f"  {task.speed:,.0f} rows/s" if task.speed else ""
        return Text(f"{task.completed:,.0f}{total} rows{speed}")


@contextmanager
def rows_progress():
    """Progress in rows with speed and time remaining on stderr (only on a terminal).

    Yields ``track(description)``, which starts a bar and returns ``update(rows_done, rows_expected)``.
    """
    columns = [TextColumn("{task.description}"), BarColumn(bar_width=20), _RowsColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=err, disable=not err.is_terminal) as bar:

        def track(description: str):
            task = bar.add_task(description, total=None)
            return lambda done, expected: bar.update(task, completed=done, total=expected)

        yield track


@contextmanager
def epochs_progress(step, description: str, epochs: int | None):
    """A progress line (``step`` of :func:`progress`) advanced once per training epoch inside the
    block, and a new line for every further model a neural detector's fit trains (a cross-fitted
    one; a detector without epochs fits them in a moment)."""
    advance = [step(description, total=epochs)]

    def next_stage(stage: str) -> None:
        if epochs is not None:
            advance[0] = step(stage, total=epochs)

    with observe_epochs(lambda epoch, total, logs: advance[0]()), observe_stages(next_stage):
        yield


def fit_with_progress(det, frame: pd.DataFrame, description: str, step, **kwargs):
    """Fit ``det``, advancing a progress bar once per epoch for neural detectors."""
    with epochs_progress(step, description, det.get_params().get("epochs")):
        return det.fit(frame, **kwargs)
