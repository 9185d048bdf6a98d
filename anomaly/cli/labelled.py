"""``anomaly fit --labels``: a supervised head on a detector's errors, from the labels a user has.

``--labels`` names a label column of the logs, or an events file (``start,end,label``, see
:mod:`pipelines.labels`). Unlabelled rows (empty cells, rows outside every event) are left out
unless ``--unlabelled normal``. The head (:class:`anomaly.supervised.SupervisedDetector`)
chooses its probability threshold on out-of-fold probabilities for ``--target-fa-per-hour``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly import DataError
from anomaly.cli.console import err
from anomaly.cli.inputs import check_ignored_found, check_same_channels, read_log_runs, record_ignored
from anomaly.supervised import SupervisedDetector
from pipelines.labels import check_unlabelled_policy, column_labels, event_labels, fill_unlabelled, is_events_file, read_events, run_events
from pipelines.sinks import write_text

#: The training report written into a fitted model's directory (`fit`: rows and gaps per log;
#: a supervised head: rows per label, per log).
REPORT_FILE = "training_report.json"


def log_labels(table, spec: str, events: pd.DataFrame | None, source: str) -> np.ndarray:
    """Labels (n,) of one log's rows from its label column ``spec`` or from ``events``."""
    if events is not None:
        return event_labels(table.frame.index, events, source=spec)
    if spec not in table.labels.columns:
        raise DataError(f"{source}: label column {spec!r} not found (columns: {list(table.frame.columns)[:10]})")
    return column_labels(table.labels[spec])


def read_labelled_logs(paths: list[Path], spec: str, unlabelled: str, *, timestamp, topics, rate_hz, nan_policy: str,
                       step, ignore=(), runs: str | None = None) -> tuple[list[pd.DataFrame], list[np.ndarray], list[str]]:
    """Every log (with ``runs``, every run of a file) and its labels (n_i,) (object arrays:
    "normal", a fault label or None) and name; the ``ignore`` columns (not channels) are dropped.
    An events file with a ``run`` column labels each run with its own events."""
    check_unlabelled_policy(unlabelled)  # before any file is read
    events = read_events(spec) if is_events_file(spec) else None
    label_column = None if events is not None else spec
    frames, labels, tables = [], [], []
    for path in paths:
        step(f"reading {path}")
        for run in read_log_runs(path, runs, timestamp=timestamp, nan_policy=nan_policy, topics=topics, rate_hz=rate_hz,
                                 label_column=label_column, ignore=ignore):
            tables.append(run.table)
            frames.append(run.table.frame)
            mine = None if events is None else events[run_events(events, run.value)]
            labels.append(fill_unlabelled(log_labels(run.table, spec, mine, run.table.source), unlabelled))
    check_ignored_found(ignore, tables)
    if events is not None and not any((~pd.isna(y)).any() for y in labels):
        spans = ", ".join(f"{f.index[0]} .. {f.index[-1]}" for f in frames[:3])
        raise DataError(f"{spec}: its events cover no row of the logs (they span {spans})")
    return frames, labels, [table.source for table in tables]


def label_counts(labels: list[np.ndarray]) -> dict[str, int]:
    """Rows per label over all logs ("unlabelled" for None), most frequent first."""
    counts = Counter("unlabelled" if pd.isna(v) else str(v) for y in labels for v in y)
    return dict(counts.most_common())


def fit_labelled(det, detector: str, paths: list[Path], spec: str, *, unlabelled: str, target_fa_per_hour: float,
                 novelty: bool = True, output: Path, timestamp, topics, rate_hz, nan_policy: str, step, ignore=(),
                 checks_off=(), recentre: bool = True, runs: str | None = None) -> None:
    """Fit and save a :class:`SupervisedDetector` on ``det``'s errors (``ignore``: columns that
    are not channels; ``checks_off``: sensor checks its detector does not run; ``recentre``
    False: its detector without re-centring; ``runs``: the column that tells several runs of a
    file apart); print what it learnt."""
    frames, labels, sources = read_labelled_logs(paths, spec, unlabelled, timestamp=timestamp, topics=topics, rate_hz=rate_hz,
                                                 nan_policy=nan_policy, step=step, ignore=ignore, runs=runs)
    check_same_channels(frames, sources)
    counts = label_counts(labels)
    head = SupervisedDetector(det, target_fa_per_hour=target_fa_per_hour, novelty=novelty,
                              label_column=None if is_events_file(spec) else spec)
    rows = sum(len(f) for f in frames)
    step(f"fitting {detector} and a supervised head on {rows} rows x {frames[0].shape[1]} channels from {len(frames)} log(s)")
    start = time.perf_counter()
    head.fit(frames, labels)
    seconds = time.perf_counter() - start
    record_ignored(head, ignore, runs)
    head.detector_ = head.detector_.without_sensor_checks(checks_off)
    if not recentre:
        head.detector_ = head.detector_.without_recentring()
    step(f"saving {output}")
    head.save(output)
    report = {"logs": [{"source": s, "rows": len(f), "labels": label_counts([y])} for s, f, y in zip(sources, frames, labels)],
              "labels": counts, "unlabelled": unlabelled, "validation": head.validation_, "runs": runs}
    write_text(Path(output) / REPORT_FILE, json.dumps(report, indent=2))
    shown = ", ".join(f"{name} {n:,}" for name, n in counts.items())
    ignored = " (left out: --unlabelled ignore)" if "unlabelled" in counts else ""
    err.print(f"labels: {shown} rows{ignored}", markup=False, highlight=False, soft_wrap=True)
    if head.types_ is not None:
        err.print(f"fault types: {', '.join(map(str, head.types_.classes_))} (score writes fault_type for flagged rows)",
                  markup=False, highlight=False, soft_wrap=True)
    v = head.validation_
    if v["target_met"] and v["normal_hours"] * target_fa_per_hour < 1:
        err.print(f"note: only {v['normal_hours']:.2f} h of labelled-normal time: one false alarm there would exceed "
                  f"{target_fa_per_hour:g}/h, so the threshold allows none; more normal data gives a better-founded threshold",
                  markup=False, highlight=False, soft_wrap=True)
    if not v["target_met"]:
        err.print(f"warning: no threshold keeps the out-of-fold false alarms within {target_fa_per_hour:g}/h and "
                  f"{head.max_flag_rate:.0%} of the normal rows on {v['normal_hours']:.2f} h of labelled-normal time "
                  f"(one false alarm is {1 / max(v['normal_hours'], 1e-12):.3g}/h); "
                  "the threshold is the highest probability seen: give more normal data or a higher --target-fa-per-hour",
                  markup=False, highlight=False, soft_wrap=True)
    err.print(f"fitted a supervised head on {detector} in {seconds:.1f} s; threshold {head_threshold(head, detector)} "
              f"(out of fold: {v['false_alarms_per_hour']:.2f} false alarms/h over {v['normal_hours']:.2f} h of normal, "
              f"{v['logs_with_faults_flagged']:.0%} of the logs with faults flagged) -> {output}",
              markup=False, highlight=False, soft_wrap=True)


def head_threshold(head, detector: str) -> str:
    """A fitted supervised head's flag rule: its probability threshold and, with the novelty path,
    the level of its ``detector``'s own score (the detector's registry name)."""
    novelty = ("" if head.novelty_scale_ is None else
               f" or {detector} score > {head.novelty_scale_ * head.threshold_:.6g} (the novelty path: a fault the labels never showed)")
    return f"p > {head.threshold_:.6g}{novelty}"
