"""``anomaly feedback``: reviewed alarms (false alarm or a fault label) refit a saved model's alert
on-delay and threshold (and a supervised head's classifiers); the model before the round stays in
``MODEL/history/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from anomaly import DataError
from anomaly.cli.console import err
from anomaly.cli.inputs import check_same_channels, load_model, read_log_runs, resolve_logs
from anomaly.cli.progress import progress
from anomaly.feedback import Round, large_raise, large_raise_note, new_round, review, save_round
from anomaly.guard import describe
from pipelines.labels import NORMAL_VALUES, covered_events, event_labels, read_events, run_events


def feedback(
    model: Path = typer.Argument(..., help="Model directory from `anomaly fit` (a detector or a supervised head)."),
    data: list[str] = typer.Argument(..., help="The logs the reviewed alarms came from (files, folders, quoted glob patterns)."),
    events: Path = typer.Option(..., "--events", help="Reviewed alarms, a CSV of start,end,label: label false_alarm (or normal) or a fault label."),
    by: str = typer.Option(None, "--by", help="Reviewer recorded with the round (default: the login name)."),
    timestamp: str = typer.Option(None, help="Timestamp column of the logs (default: detected)."),
):
    """Learn from reviewed alarms: a longer alert on-delay, then a higher threshold, silence the false alarms (short of the reviewed faults); a supervised head also refits its classifiers on them."""
    reviewed = read_events(events)
    with progress() as step:
        paths = resolve_logs(data)
        step(f"loading model {model}")
        det = load_model(model, "auto")
        frames, labels, sources = [], [], []
        covered = np.zeros(len(reviewed), dtype=bool)
        for path in paths:
            step(f"reading {path}")
            # a file of several runs (the model's fit --runs column): each run's alarms on its own rows
            for run in read_log_runs(path, det.schema_.runs, timestamp=timestamp, nan_policy=det.nan_policy,
                                     label_column=getattr(det, "label_column", None), ignore=det.schema_.ignored, required=False):
                mine = run_events(reviewed, run.value)
                frames.append(run.table.frame)
                sources.append(run.table.source)
                labels.append(event_labels(run.table.frame.index, reviewed[mine], source=str(events)))
                covered |= mine & covered_events(run.table.frame.index, reviewed, source=str(events))
        check_same_channels(frames, sources)
        if not covered.all():
            k = int((~covered).argmax())
            raise DataError(f"{events}: alarm {k + 1} ({reviewed['start'].iloc[k]} .. {reviewed['end'].iloc[k]}) covers no row of the logs")
        step(f"reviewing {len(reviewed)} alarms")
        det, counts = review(det, frames, labels)
        normal = reviewed["label"].str.lower().isin(NORMAL_VALUES)
        faults = reviewed.loc[~normal, "label"].value_counts().to_dict()
        record = new_round(model, by=by, events_file=str(events), logs=[str(p) for p in paths], false_alarms=int(normal.sum()),
                           faults={str(k): int(v) for k, v in faults.items()}, counts=counts)
        step(f"saving {model}")
        save_round(model, det, record)
    err.print(round_line(record, det.schema_.sampling_rate, model), markup=False, highlight=False, soft_wrap=True)
    if large_raise(record.threshold_before, record.threshold_after):  # the guard's line only then: a pass over the logs
        outside = next((line for line in (describe(det.check_envelope(f, source=p)) for f, p in zip(frames, sources)) if line), "")
        err.print(large_raise_note(record.threshold_before, record.threshold_after, outside, [str(p) for p in paths]),
                  markup=False, highlight=False, soft_wrap=True)


def round_line(record: Round, rate: float | None, model: Path) -> str:
    """One feedback round (``record``, of the model directory ``model`` sampled at ``rate`` Hz) as
    the line ``anomaly feedback`` prints when it saves it and ``anomaly info`` lists."""
    kinds = ", ".join(f"{v} {k}" for k, v in record.faults.items())
    delay = ("" if record.min_duration_after == record.min_duration_before else
             f"; alert on-delay {duration(record.min_duration_before, rate)} -> {duration(record.min_duration_after, rate)}")
    delay += "".join(f"; {name} may hold its value {duration(round(before), rate)} -> {duration(round(after), rate)}"
                     for name, (before, after) in record.sensor_limits_raised.get("stuck", {}).items())
    delay += "".join(f"; {name} may be {after / before:.3g}x as rough" for name, (before, after) in
                     record.sensor_limits_raised.get("noise", {}).items())
    threshold = (f"threshold {record.threshold_before:.4g} -> {record.threshold_after:.4g}" if record.threshold_after != record.threshold_before
                 else f"threshold {record.threshold_before:.4g} kept")
    return (f"feedback round {record.round} by {record.by}: {record.false_alarms} false alarm(s){', ' + kinds if kinds else ''} "
            f"over {record.rows:,} rows; {threshold}{delay}"
            f"{'; ' + str(record.faults_still_alarmed) + ' of the reviewed faults still alarm' if record.faults else ''}"
            f"{'; ' + str(record.false_alarms_left) + ' false alarm(s) left: silencing them would silence a reviewed fault' if record.false_alarms_left else ''}; "
            f"previous model kept in {Path(model) / record.previous}")


def duration(rows: int, rate: float | None) -> str:
    """An alert on-delay of ``rows`` rows as seconds at ``rate`` (rows per second), or in rows without a rate."""
    return f"{rows} rows" if not rate else f"{rows / rate:.3g} s"

