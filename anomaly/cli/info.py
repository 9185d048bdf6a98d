"""``anomaly info``: what a saved model expects and decides, read back from its directory.

A model directory travels (to the machine beside the robot, to a colleague): this says which
detector it holds, which channels at what rate it expects, its threshold and alert rules, the
channels it models by their change or as set points, what its sensor checks watch, whether it
re-centres a channel outside its range, the logs it was fitted on and the feedback rounds it
went through, as ``anomaly fit`` and ``anomaly feedback`` said them when they wrote it. Lines
go to stdout; ``--json`` prints one object instead.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import typer

from anomaly.cli.feedback import round_line
from anomaly.cli.fit import REPORT_FILE, LogReport, changes_line, conditions_lines, sensors_line, severe_line
from anomaly.cli.inputs import load_model
from anomaly.cli.labelled import head_threshold
from anomaly.decisions import model_rules
from anomaly.errors import ModelFileError
from anomaly.feedback import Round, rounds
from anomaly.registry import DETECTORS
from anomaly.supervised import META_FILE, is_supervised


def info(
    model: Path = typer.Argument(..., help="Model directory from `anomaly fit` (a detector or a supervised head)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of lines."),
):
    """Describe a saved model: detector, channels and rate, threshold and alert rules, condition and set-point channels, sensor checks, training logs, feedback rounds."""
    head = load_model(model, "auto")
    det = getattr(head, "detector_", head)  # a supervised head's detector holds the channels and the checks
    saved = _saved(model, head)
    schema, rate = det.schema_, det.schema_.sampling_rate
    rules = model_rules(head)
    name = next((key for key, cls in DETECTORS.items() if cls is type(det)), type(det).__name__)
    described = {
        "model": str(model),
        "detector": name,
        "supervised_head": head is not det,
        "format_version": saved.get("format_version"),
        "package_version": saved.get("package_version"),
        "runtime": saved.get("runtime"),
        "channels": list(schema.channels),
        "ignored_columns": list(schema.ignored),
        "runs_column": schema.runs,
        "sampling_rate_hz": rate,
        "threshold": float(head.threshold_),
        "flag_rule": head_threshold(head, name) if head is not det else f"score > {head.threshold_:.6g}",
        "alert_rules": {**asdict(rules), "seconds": _seconds(rules, rate)},
        "recentre_rows": 0 if head is not det else int(det.recentre_rows_ or 0),  # a head scores its features without it
        "notes": [line for line in [*conditions_lines(det), changes_line(det), sensors_line(det, _checks_off(det)), severe_line(det)] if line],
        "training_logs": _training_logs(model),
        "feedback_rounds": rounds(model),
    }
    if as_json:
        typer.echo(json.dumps(described, indent=2, default=str))
        return
    for line in _lines(described):
        typer.echo(line)


def _saved(model: Path, head) -> dict:
    """The model file's own record (format, package version, runtime): ``detector.json``, or a
    supervised head's ``supervised.json`` beside its ``detector/``."""
    meta = Path(model) / (META_FILE if is_supervised(model) else "detector.json")
    try:
        saved = json.loads(meta.read_text())
    except (OSError, ValueError) as exc:  # load_model read it a moment ago: only a race gets here
        raise ModelFileError(f"{meta}: {exc}") from None
    if head is not getattr(head, "detector_", head):
        inner = json.loads((Path(model) / "detector" / "detector.json").read_text())
        saved = {**inner, **{k: v for k, v in saved.items() if k in ("format_version", "package_version")}}
    return saved


def _checks_off(det) -> tuple[str, ...]:
    """The sensor checks that watch no channel (``fit --sensor-checks`` turned them off; the model
    keeps their limits at 0): said "off" as ``fit`` said it. Twins keep their own wording (no pair)."""
    return tuple(check for check in ("stuck", "noise", "oscillation") if not np.any(getattr(det, f"{check}_limits_", 1)))


def _seconds(rules, rate: float | None) -> dict | None:
    """The rules' row counts in seconds at ``rate`` (None without timestamps: they count rows)."""
    if not rate:
        return None
    return {name: getattr(rules, name) / rate for name in ("min_duration", "merge_gap", "cooldown")}


def _training_logs(model: Path) -> list[dict]:
    """The training report ``anomaly fit`` wrote (per log: rows read, used, dropped, gaps); none for
    models fitted through the Python API."""
    report = Path(model) / REPORT_FILE
    return json.loads(report.read_text())["logs"] if report.exists() else []


def _log_line(log: dict) -> str:
    """One training log of the report: as ``fit`` printed it, or a supervised head's rows per label."""
    if "rows_used" in log:
        return LogReport(**log).line()
    return f"{log['source']}: {log['rows']:,} rows; labels: " + ", ".join(f"{k} {v:,}" for k, v in log.get("labels", {}).items())


def _lines(d: dict) -> list[str]:
    """The description as the lines ``anomaly info`` prints."""
    rate = d["sampling_rate_hz"]
    kind = f"a supervised head on {d['detector']}" if d["supervised_head"] else d["detector"]
    lines = [f"{d['model']}: {kind} (model format {d['format_version']}, package {d['package_version']}, runtime {d['runtime']})",
             f"channels ({len(d['channels'])}), " + (f"sampled at {rate:.4g} Hz" if rate else "rows without timestamps")
             + ": " + ", ".join(d["channels"])]
    if d["ignored_columns"]:
        lines.append(f"left out, not channels (score, stream and feedback drop them): {', '.join(d['ignored_columns'])}")
    if d["runs_column"]:
        lines.append(f"runs told apart by {d['runs_column']}: score and feedback split a file that has it into its runs")
    rules, seconds = d["alert_rules"], d["alert_rules"]["seconds"]
    timing = (f"on-delay {seconds['min_duration']:.3g} s, merge gap {seconds['merge_gap']:.3g} s, cooldown {seconds['cooldown']:.3g} s"
              if seconds else f"on-delay {rules['min_duration']} rows, merge gap {rules['merge_gap']} rows, cooldown {rules['cooldown']} rows")
    lines.append(f"flagged when {d['flag_rule']}; alert rules: {timing}, hysteresis at {rules['exit_ratio']:g}x the threshold, "
                 f"a run above {rules['severe_ratio']:.4g}x it raised however short")
    lines += d["notes"]
    window = f"{d['recentre_rows'] / rate:.3g} s" if rate else f"{d['recentre_rows']} rows"
    lines.append(f"re-centring: a channel outside its training range from a run's start, or drifting out of it, is scored around "
                 f"its own level after a window of {window}" if d["recentre_rows"] else "re-centring: off (every channel at its level)")
    logs = d["training_logs"]
    if logs:
        lines.append(f"fitted on {len(logs)} log{'s' if len(logs) != 1 else ''}, {sum(log.get('rows_used', log['rows']) for log in logs):,} rows:")
        lines += [f"  {_log_line(log)}" for log in logs]
    lines += [_round(r, rate, Path(d["model"])) for r in d["feedback_rounds"]]
    return lines


def _round(record: dict, rate: float | None, model: Path) -> str:
    """One recorded feedback round as ``anomaly feedback`` said it, and when; a round recorded by
    an older version without some of today's fields: who, when and how many false alarms."""
    try:
        line = round_line(Round(**{k: v for k, v in record.items() if k in Round.__dataclass_fields__}), rate, model)
    except (TypeError, AttributeError, ValueError):
        line = f"feedback round {record.get('round', '?')} by {record.get('by', '?')}: {record.get('false_alarms', '?')} false alarm(s)"
    return f"{line} (at {record.get('at', '?')})"
