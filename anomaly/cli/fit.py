"""``anomaly fit``: fit a detector on normal data (one log or many) and save it as a directory.

Several logs (files, folders, quoted glob patterns) make one model: they must have the same
channels, scaling and the threshold use all of them, and windows never cross from one log to
the next. The training report (rows used and dropped, gaps, per log) is printed and written
to ``training_report.json`` in the model directory.

With ``--labels`` (a label column or an events file) the logs' labelled rows teach a
supervised head on the detector's errors instead (:mod:`anomaly.cli.labelled`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from anomaly import make_detector
from anomaly.cli.console import err
from anomaly.cli.inputs import (
    anomaly_labels,
    check_ignored_found,
    check_nan_policy,
    check_same_channels,
    ignored_columns,
    leading_note,
    read_log_runs,
    record_ignored,
    resolve_logs,
)
from anomaly.cli.labelled import REPORT_FILE, fit_labelled
from anomaly.cli.options import condition_channels, detector_params, int_tuple
from anomaly.cli.progress import fit_with_progress, progress
from anomaly.conditions import auto_and_declared
from anomaly.decisions import DEFAULT_RULES
from anomaly.drift import FOLLOW_PER_MINUTE
from anomaly.errors import ConfigError
from anomaly.noise import LIMIT_FACTOR as NOISE_FACTOR
from anomaly.noise import WINDOW as NOISE_WINDOW
from anomaly.oscillation import LIMIT_FACTOR as SWING_FACTOR
from anomaly.oscillation import MIN_LIMIT as MIN_SWINGS
from anomaly.oscillation import WINDOW as SWING_WINDOW
from anomaly.pauses import pass_slices
from anomaly.scaling import fill_missing
from anomaly.schema import check_frame, sampling_rate, time_ns
from anomaly.sensor_checks import SENSOR_CHECK_NAMES
from anomaly.stuck import LIMIT_FACTOR, MIN_LIMIT_ROWS, MIN_LIMIT_S
from anomaly.twins import LIMIT_FACTOR as TWIN_FACTOR
from pipelines.preprocess import find_gaps
from pipelines.sinks import write_text

#: Help panels of ``anomaly fit --help`` (the detector, the output and --help stay under "Options").
DATA = "Input data"
LABELS = "Labels (a supervised head)"
BAGS = "ROS bags, MCAP and rostopic folders"
PREPROCESSING = "Preprocessing and threshold"
ARCHITECTURE = "Neural models: architecture"
TRAINING = "Neural models: training"
OTHER = "PCA and other detector parameters"
#: Gaps listed per log in the report (all are counted).
LISTED_GAPS = 10


@dataclass
class LogReport:
    """One training log in the training report.

    Attributes
    ----------
    source : str
    rows : int
        Rows read (after aligning topics, for bags and rostopic folders).
    rows_used : int
        Rows the detector was fitted on.
    leading_rows_dropped : int
        Rows before every channel had a value (dropped under ``ffill``/``interpolate``).
    anomalous_rows_dropped : int
        Rows labelled anomalous (dropped with ``--normal-only``).
    start, end : str or None
        First and last index label of the rows used (ISO time for timestamps).
    gaps : int
        Sampling gaps among the rows used (steps over 1.5 x the median step,
        :func:`pipelines.preprocess.find_gaps`).
    largest_gap_s : float or None
        Longest of them in seconds (timestamps only).
    gap_list : list of [str, str]
        The first :data:`LISTED_GAPS` gaps as (before, after) labels.
    pauses : int
        Gaps long enough to be pauses at the model's rate (:mod:`anomaly.pauses`): the log is
        fitted as ``pauses + 1`` sessions, windows and passes never crossing a pause.
    """

    source: str
    rows: int
    rows_used: int
    leading_rows_dropped: int
    anomalous_rows_dropped: int
    start: str | None = None
    end: str | None = None
    gaps: int = 0
    largest_gap_s: float | None = None
    gap_list: list = field(default_factory=list)
    pauses: int = 0

    def line(self) -> str:
        """One line of the printed report."""
        dropped = self.leading_rows_dropped + self.anomalous_rows_dropped
        parts = [f"{self.leading_rows_dropped} leading"] if self.leading_rows_dropped else []
        parts += [f"{self.anomalous_rows_dropped} labelled anomalous"] if self.anomalous_rows_dropped else []
        why = f" ({', '.join(parts)})" if parts else ""
        gaps = f"{self.gaps} gap{'s' if self.gaps != 1 else ''}"
        if self.largest_gap_s is not None:
            gaps += f" (largest {self.largest_gap_s:.3g} s)"
        if self.pauses:
            gaps += f", {self.pauses} of them {'pauses' if self.pauses != 1 else 'a pause'}: fitted as {self.pauses + 1} sessions"
        return f"{self.source}: {self.rows_used:,} rows used, {dropped:,} dropped{why}; {gaps}"


def _label(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _log_report(source: str, rows: int, frame: pd.DataFrame, leading: int, anomalous: int) -> LogReport:
    gaps = find_gaps(frame.index)
    stamps = time_ns(frame.index) if gaps else None
    seconds = None if stamps is None else float(np.diff(stamps).max()) / 1e9
    return LogReport(
        source=source, rows=rows, rows_used=len(frame), leading_rows_dropped=leading, anomalous_rows_dropped=anomalous,
        start=_label(frame.index[0]) if len(frame) else None, end=_label(frame.index[-1]) if len(frame) else None,
        gaps=len(gaps), largest_gap_s=seconds, gap_list=[[_label(b), _label(a)] for b, a in gaps[:LISTED_GAPS]],
    )


def read_training_logs(paths: list[Path], *, timestamp, topics, rate_hz, nan_policy: str, normal_only: bool,
                       step, ignore=(), runs: str | None = None) -> tuple[list[pd.DataFrame], list[LogReport]]:
    """Read every log, drop leading and (with ``normal_only``) labelled-anomalous rows, check them;
    the ``ignore`` columns (not channels) are dropped; with ``runs``, each run of a file (told
    apart by that column) is a log of its own.

    Returns
    -------
    frames : list of pandas.DataFrame, one per log (per run)
    reports : list of LogReport
    """
    frames, reports, tables = [], [], []
    for path in paths:
        step(f"reading {path}")
        for table in (run.table for run in read_log_runs(path, runs, timestamp=timestamp, nan_policy=nan_policy, topics=topics,
                                                          rate_hz=rate_hz, ignore=ignore)):
            tables.append(table)
            frame = table.frame
            label = anomaly_labels(table.labels, None, required=False)
            anomalous = 0
            if normal_only and label is not None:
                anomalous = int(label.sum())
                frame = frame.loc[~label.to_numpy()]
            leading = table.metadata.get("leading_rows_dropped", 0)
            frames.append(frame)
            reports.append(_log_report(table.source, len(table.frame) + leading, frame, leading, anomalous))
    sources = [table.source for table in tables]
    check_ignored_found(ignore, tables)
    check_same_channels(frames, sources)
    rate = sampling_rate(frames[0].index)  # the model's
    for frame, report in zip(frames, reports):
        report.pauses = len(pass_slices(frame.index, rate)) - 1
    if len(frames) > 1:  # fit names one source for all logs: find a bad log by its own name first
        for frame, source in zip(frames, sources):
            check_frame(fill_missing(frame, nan_policy, source=source), source=source)
    return frames, reports


def fit(
    data: list[str] = typer.Argument(..., help="Normal-operation logs: .csv/.csv.gz/.parquet files, folders of them, quoted glob patterns, ROS .bag/.mcap files, ROS 2 bag folders, folders of rostopic CSV files or PX4 .ulg flight logs. Several logs make one model (same channels; windows never cross from one log to the next, nor a pause of a minute or more inside one)."),
    detector: str = typer.Option("pca", "--detector", "-d", help="pca | dense-ae | lstm-ae | conv-ae | lstm-vae | vae-gan | lstm-forecast | transformer-ae"),
    output: Path = typer.Option(..., "-o", "--output", help="Model directory to write."),
    timestamp: str = typer.Option(None, help="Timestamp column (default: detected).", rich_help_panel=DATA),
    ignore: str = typer.Option(None, "--ignore", help="Columns that are not channels (a state name, a sequence number, a frame id), comma-separated: left out of the model; score, stream and feedback drop them too.", rich_help_panel=DATA),
    runs: str = typer.Option(None, "--runs", help="A column that tells several runs in one file apart (a unit, episode, cycle or session number whose clock restarts): each run is a log of its own, windows never cross runs; the column is no channel, and score splits files that have it into their runs too.", rich_help_panel=DATA),
    labels: str = typer.Option(None, "--labels", help="Learn from labels: a label column of the logs (0/1, or text: normal, false_alarm or a fault type) or an events CSV (start,end,label). Fits a supervised head on the detector's errors and raw window features.", rich_help_panel=LABELS),
    unlabelled: str = typer.Option("ignore", "--unlabelled", help="With --labels: rows without a label (empty cells, rows outside every event) are left out (ignore) or taken as normal (normal).", rich_help_panel=LABELS),
    target_fa_per_hour: float = typer.Option(2.0, "--target-fa-per-hour", help="With --labels: false alarms per hour of normal time the head's threshold allows (chosen on out-of-fold probabilities).", rich_help_panel=LABELS),
    novelty: bool = typer.Option(True, "--novelty/--no-novelty", help="With --labels: the head also alarms when the detector's own score passes a level chosen on the labelled-normal rows (a fault of a kind the labels never showed), within half the false-alarm budget; --no-novelty: the classifier alone.", rich_help_panel=LABELS),
    normal_only: bool = typer.Option(True, help="Drop rows labelled anomalous (is_anomaly/anomaly/label column, or a fault code field.data/fault/failure > 0) before fitting.", rich_help_panel=DATA),
    topic: list[str] = typer.Option([], "--topic", help="Bags/MCAP/rostopic folders/PX4 ULog files: topic to read, /name or /name:field.path (ULog: name or name:field; repeatable; default: every supported topic).", rich_help_panel=BAGS),
    rate: float = typer.Option(None, "--rate", help="Bags/MCAP/rostopic folders/ULog files: grid rate in Hz for aligning topics (default: the fastest topic's timestamps).", rich_help_panel=BAGS),
    scaling: str = typer.Option("standard", help="standard | robust | minmax | none", rich_help_panel=PREPROCESSING),
    nan_policy: str = typer.Option("raise", help="raise | ffill | interpolate (ffill/interpolate also drop a log's rows before every channel has a value).", rich_help_panel=PREPROCESSING),
    threshold: str = typer.Option("quiet-logs", help="quiet-logs (the larger of the q-th percentile of the normal scores and the level at which the alert rules stay quiet on the median training log) | percentile | ksigma | skab-ucl | pot | dynamic | sustained (the level no normal stretch of 0.25 s stays above, at the data's rate)", rich_help_panel=PREPROCESSING),
    q: float = typer.Option(99.0, help="Percentile used by quiet-logs/percentile/skab-ucl thresholds.", rich_help_panel=PREPROCESSING),
    sensor_checks: str = typer.Option("stuck,noise,twin,oscillation", "--sensor-checks", help="Sensor checks to run beside the model: stuck (a channel holding its value 4x longer than in training), noise (one 4x rougher than in training), twin (two readings of one quantity, a joint's commanded and measured position, 4x further apart than in training) and oscillation (one swinging back and forth around its moving level more than twice as often as in training, at least 5 times in 100 rows), comma-separated, or none.", rich_help_panel=PREPROCESSING),
    recentre: bool = typer.Option(True, "--recentre/--no-recentre", help="Score a channel whose level lies outside its training range from the start of a run, or drifts out of it, around its own level after a minute outside (a less charged battery, a cooler day: the validity guard names it instead of flagging every row); a channel that steps out keeps its level. --no-recentre scores every channel at its level.", rich_help_panel=PREPROCESSING),
    condition: str = typer.Option("auto", "--condition", help="Condition channels modelled by their change over 10 s, not their level: comma-separated names, auto (the channels slow in the training logs, e.g. warming temperatures or a battery discharging under load, and set-point channels), auto plus names (auto,battery_v) or none.", rich_help_panel=PREPROCESSING),
    aggregate: str = typer.Option(None, help="mean | calibrated: how per-channel errors become the score (calibrated: each channel in units of its normal 99th percentile, capped).", rich_help_panel=PREPROCESSING),
    adapt: int = typer.Option(None, "--adapt", help="Baseline adaptation time constant in rows: while scoring, each channel's error is slowly re-levelled (frozen during alarms), so a lasting offset fades out (default: none).", rich_help_panel=PREPROCESSING),
    smooth: int = typer.Option(None, "--smooth", help="Score smoothing in rows: a row's score is the mean of the last N row scores, so a lasting fault alarms and a spike does not; the threshold is fitted on smoothed normal scores (default: none).", rich_help_panel=PREPROCESSING),
    window: int = typer.Option(None, help="Window length (neural models).", rich_help_panel=ARCHITECTURE),
    latent: int = typer.Option(None, help="Latent size (autoencoders, VAEs).", rich_help_panel=ARCHITECTURE),
    units: str = typer.Option(None, help="Recurrent layer sizes, comma-separated (lstm-*, vae-gan), e.g. 64,32.", rich_help_panel=ARCHITECTURE),
    cell: str = typer.Option(None, help="lstm | gru (recurrent models).", rich_help_panel=ARCHITECTURE),
    filters: str = typer.Option(None, help="Conv1D filters per layer, comma-separated (conv-ae).", rich_help_panel=ARCHITECTURE),
    d_model: int = typer.Option(None, help="Width of each step inside the attention blocks (transformer-ae).", rich_help_panel=ARCHITECTURE),
    num_heads: int = typer.Option(None, help="Attention heads; must divide --d-model (transformer-ae).", rich_help_panel=ARCHITECTURE),
    blocks: int = typer.Option(None, help="Encoder blocks on each side of the bottleneck (transformer-ae).", rich_help_panel=ARCHITECTURE),
    dropout: float = typer.Option(None, help="Dropout rate (neural models).", rich_help_panel=ARCHITECTURE),
    epochs: int = typer.Option(None, help="Training epochs (neural models).", rich_help_panel=TRAINING),
    batch_size: int = typer.Option(None, help="Training batch size (neural models).", rich_help_panel=TRAINING),
    learning_rate: float = typer.Option(None, help="Adam learning rate (neural models).", rich_help_panel=TRAINING),
    seed: int = typer.Option(None, help="Random seed (neural models).", rich_help_panel=TRAINING),
    n_components: float = typer.Option(None, help="PCA: number of components, or variance fraction in (0,1).", rich_help_panel=OTHER),
    changes: int = typer.Option(None, help="PCA: also model each row's differences from the N rows before it, for the channels "
                                "modelled at their level (dynamic PCA; for data sampled a few times a second or slower, e.g. "
                                "server or process metrics). Default 0: each row alone.", rich_help_panel=OTHER),
    param: list[str] = typer.Option([], "--param", help="Any other constructor parameter as name=value (repeatable), e.g. --param beta=0.05.", rich_help_panel=OTHER),
):
    """Fit a detector on normal data (one log or many) and save it as a directory."""
    check_nan_policy(nan_policy)
    ignored = ignored_columns(ignore)
    checks_off = sensor_checks_off(sensor_checks)
    with progress() as step:
        paths = resolve_logs(data)
        if labels is not None:
            det = make_detector(detector, **detector_params(detector, _options(locals()), param, threshold, q))
            return fit_labelled(det, detector, paths, labels, unlabelled=unlabelled, target_fa_per_hour=target_fa_per_hour,
                                novelty=novelty, output=output, timestamp=timestamp, topics=topic, rate_hz=rate, nan_policy=nan_policy,
                                step=step, ignore=ignored, checks_off=checks_off, recentre=recentre, runs=runs)
        frames, reports = read_training_logs(paths, timestamp=timestamp, topics=topic, rate_hz=rate, nan_policy=nan_policy,
                                             normal_only=normal_only, step=step, ignore=ignored, runs=runs)
        det = make_detector(detector, **detector_params(detector, _options(locals()), param, threshold, q))
        rows = sum(len(f) for f in frames)
        what = f"{rows} rows x {frames[0].shape[1]} channels" + (f" from {len(frames)} logs" if len(frames) > 1 else "")
        source = str(paths[0]) if len(frames) == 1 else f"{len(frames)} logs"
        start = time.perf_counter()
        fit_with_progress(det, frames if len(frames) > 1 else frames[0], f"fitting {detector} on {what}", step, source=source)
        seconds = time.perf_counter() - start
        record_ignored(det, ignored, runs)
        det = det.without_sensor_checks(checks_off)
        if not recentre:
            det = det.without_recentring()
        step(f"saving {output}")
        det.save(output)
        report = {"logs": [asdict(r) for r in reports], "rows_used": rows, "channels": frames[0].shape[1], "ignored": list(ignored),
                  "runs": runs}
        write_text(Path(output) / REPORT_FILE, json.dumps(report, indent=2))
    _print_report(reports, Path(output))
    if ignored:
        err.print(f"left out, not channels (score, stream and feedback drop them too): {', '.join(ignored)}", markup=False,
                  highlight=False, soft_wrap=True)
    for line in [*conditions_lines(det), changes_line(det), sensors_line(det, checks_off), severe_line(det)]:
        if line:
            err.print(line, markup=False, highlight=False, soft_wrap=True)
    held_out = getattr(det, "held_out_logs_", 0)
    how = f" (on held-out scores: each of the {held_out} logs scored by a model of other logs)" if held_out else ""
    rate = det.schema_.sampling_rate
    sampled = f"sampled at {rate:.4g} Hz" if rate is not None else "no timestamps: the alert rules count rows"
    err.print(f"fitted {detector} in {seconds:.1f} s ({sampled}); threshold {det.threshold_:.4g}{how} -> {output}", highlight=False)


def changes_line(det) -> str:
    """The line saying which channels carry their changes (PCA ``changes``); empty without them."""
    changing = getattr(det, "changing_", None)
    if changing is None or not det.changes:
        return ""
    channels = det.schema_.channels
    if not len(changing):
        return (f"changes: none taken (--changes {det.changes}): every channel is a condition, set-point or counter "
                f"channel, modelled by its own transform; each row is scored alone")
    return (f"changes: {len(changing)} of {len(channels)} channels also modelled by their differences from the "
            f"{det.changes} rows before each row (the first {det.changes} rows of each log score 0)")


def severe_line(det) -> str:
    """The line saying that normal training scores spiked past the default severe level, and how
    far the model's now is (:func:`~anomaly.decisions.rules.fitted_severe_ratio`); empty at the default."""
    ratio = getattr(det, "severe_ratio_", None)
    if ratio is None or ratio <= DEFAULT_RULES.severe_ratio:
        return ""
    return (f"alert rules: normal training scores spiked past {DEFAULT_RULES.severe_ratio:g}x the threshold for a row or two "
            f"(a spiky channel), so a short run alarms at once only above {ratio:.4g}x it ({ratio * det.threshold_:.4g}, twice "
            f"the largest score of the median training log); longer runs alarm above the threshold as always")


def sensor_checks_off(spec: str) -> tuple[str, ...]:
    """The sensor checks ``--sensor-checks`` turns off: ``spec`` is ``none`` or comma-separated
    names of :data:`~anomaly.sensor_checks.SENSOR_CHECK_NAMES` (the ones to keep)."""
    names = [] if spec.strip().lower() == "none" else [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in SENSOR_CHECK_NAMES]
    if unknown or not (names or spec.strip().lower() == "none"):
        raise ConfigError(f"--sensor-checks {spec!r}: expected some of {', '.join(SENSOR_CHECK_NAMES)} (comma-separated) or none")
    return tuple(n for n in SENSOR_CHECK_NAMES if n not in names)


def sensors_line(det, off=()) -> str:
    """The line saying which channels the sensor checks watch: how long a stuck one may hold its
    value, how rough a noisy one may get, which twins may not part, how often one may swing
    (``off``: the checks ``--sensor-checks`` turned off)."""
    limits, channels, rate = det.stuck_limits_, det.schema_.channels, det.schema_.sampling_rate
    watched = np.flatnonzero(limits)
    if "stuck" in off:
        stuck = "off"
    elif len(watched):
        low, high = limits[watched].min(), limits[watched].max()
        span = f"{low / rate:.3g} s" + (f" .. {high / rate:.3g} s" if high > low else "") if rate else \
            f"{low:.0f}" + (f" .. {high:.0f}" if high > low else "") + " rows"
        floor = f"{MIN_LIMIT_S:g} s" if rate else f"{MIN_LIMIT_ROWS} rows"
        left = [channels[i] for i in np.flatnonzero(limits == 0)]
        stuck = (f"{len(watched)} of {len(channels)} channels alarm when one holds its value for {span} ({LIMIT_FACTOR:g}x its "
                 f"longest run in training, at least {floor})"
                 + (f"; not watched (their value repeats on most training rows): {', '.join(left)}" if left else ""))
    else:
        stuck = "no channel is watched (every one repeats its value on most training rows)"
    noisy = int((det.noise_limits_ > 0).sum())
    noise = (f"{noisy} of {len(channels)} alarm when one's second difference over {NOISE_WINDOW} rows is {NOISE_FACTOR:g}x "
             f"rougher than anywhere in training") if "noise" not in off else "off"
    pairs = sorted({tuple(sorted((channels[i], channels[j]))) for i, j in enumerate(det.twin_of_) if det.twin_limits_[i] > 0})
    twins = "off" if "twin" in off else (f"{len(pairs)} pair(s) alarm when their gap is {TWIN_FACTOR:g}x wider than in training: "
                                         + ", ".join(f"{a} / {b}" for a, b in pairs[:6]) + (f" and {len(pairs) - 6} more" if len(pairs) > 6 else "")
                                         if pairs else "none (no two channels agree to 1 % of their spread)")
    swinging = int((det.oscillation_limits_ > 0).sum())
    swings = (f"{swinging} of {len(channels)} alarm when one swings back and forth around its moving level more than "
              f"{SWING_FACTOR:g}x as often as anywhere in training (at least {MIN_SWINGS + 1:g} times in {SWING_WINDOW} rows)"
              if "oscillation" not in off else "off")
    return f"stuck sensors: {stuck}; noisy sensors: {noise}; twin sensors: {twins}; oscillating sensors: {swings}"


def conditions_lines(det) -> list[str]:
    """The lines naming the condition channels a fitted detector models by their change (or
    none), the set-point channels it takes as normal between the start of each log (a file, a run) or stream
    and their training level, the temperatures among them it measures against their common move
    (with a note on warm-ups), those read in steps with a dead band (condition and set-point
    channels) and those it follows when they drift slowly, and the counters it leaves out."""
    channels, conditions = det.schema_.channels, det.conditions_
    counters = [channels[i] for i in conditions.counters]
    names = [channels[i] for i in conditions.indices]
    setpoints = [channels[i] for i in conditions.setpoints]
    auto, declared = auto_and_declared(det.conditions)
    if not names and len(conditions.slow_left):
        lines = [f"condition channels: none; {len(conditions.slow_left)} of {len(channels)} channels are slow in the training logs, "
                 "so slowness is the data's, not a few condition channels': each keeps its level (declare conditions with "
                 "--condition to model them by their change)"]
    elif not names:
        lines = ["condition channels: none is slow in the training logs" if auto else "condition channels: none"]
    else:
        how = ("slow in the training logs" + (f", or declared: {', '.join(declared)}" if declared else "")) if auto else "declared"
        lines = [f"condition channels, modelled by their change over {conditions.lag} rows ({how}): {', '.join(names)}"]
    if counters:
        lines.append(f"counters, left out of the model (they never turn back in any training log: a row or sequence number, "
                     f"a cycle count, a clock; their level says how long the machine has run; still watched for a stuck "
                     f"value): {', '.join(counters)}")
    if setpoints:
        lines.append(f"set-point channels, normal between their mean over the first {conditions.reference_rows} rows "
                     f"of each log (a file, a run) or stream and their training level (noise around a steady or slowly drifting level in "
                     f"every training log, or a temperature that is not slow): {', '.join(setpoints)}")
    if len(conditions.ambient):
        lines.append(f"set-point temperatures, measured against their common move (the ambient: their median change, "
                     f"averaged over {conditions.ambient_rows} rows): {', '.join(channels[i] for i in conditions.ambient)}")
        lines.append("note: the temperatures are steady in every training log: a run that warms up from cold is normal while "
                     "each stays between its start and its training level, so a part heating during the warm-up shows only "
                     "once past its training level; fit on logs that include a warm-up to model them by their change")
    banded = [f"{channels[i]} ({float(band * det.scaler_.scale_[i]):.4g})" for i, band in zip(conditions.setpoints, conditions.deadband) if band]
    if banded:
        lines.append(f"set-point channels read in steps that sit on one or two levels in training, normal within one step of "
                     f"that span (a flicker to the next level says nothing): {', '.join(banded)}")
    ticking = [f"{channels[i]} ({float(band * det.scaler_.scale_[i]):.4g})" for i, band in zip(conditions.indices, conditions.change_band)
               if band]
    if ticking:
        lines.append(f"condition channels read in steps, their change within one step normal (a slow reading ticks to the "
                     f"next level now and then): {', '.join(ticking)}")
    if len(conditions.follow):
        lines.append(f"set-point temperatures also normal up to a slow-drift follower (too few for a common move; it moves at "
                     f"most {FOLLOW_PER_MINUTE:g} training standard deviations a minute, so an ambient drifting through a session "
                     f"is followed and a faster heating is not): {', '.join(channels[i] for i in conditions.follow)}")
    return lines


def _options(given: dict) -> dict:
    """Detector options of ``fit``'s arguments (``given``: its locals), by constructor parameter name."""
    return {
        "window": given["window"], "epochs": given["epochs"], "latent": given["latent"], "units": int_tuple(given["units"]),
        "cell": given["cell"], "filters": int_tuple(given["filters"]), "d_model": given["d_model"],
        "num_heads": given["num_heads"], "blocks": given["blocks"], "dropout": given["dropout"],
        "batch_size": given["batch_size"], "learning_rate": given["learning_rate"], "random_state": given["seed"],
        "n_components": given["n_components"], "changes": given["changes"], "scaling": given["scaling"], "nan_policy": given["nan_policy"],
        "conditions": condition_channels(given["condition"]), "aggregate": given["aggregate"], "adapt": given["adapt"],
        "smooth": given["smooth"],
    }


def _print_report(reports: list[LogReport], output: Path) -> None:
    """The leading-rows note (one line) and one line per log, on stderr."""
    dropped = [r.leading_rows_dropped for r in reports]
    if len(reports) == 1:
        note = leading_note(reports[0].source, dropped[0])
    elif any(dropped):
        note = (f"note: dropped {sum(dropped)} leading rows before every channel had a value "
                f"in {sum(1 for d in dropped if d)} of {len(reports)} logs")
    else:
        note = None
    if note:
        err.print(note, markup=False, highlight=False, soft_wrap=True)
    err.print(f"training report ({len(reports)} log{'s' if len(reports) != 1 else ''}, {sum(r.rows_used for r in reports):,} rows; "
              f"{output / REPORT_FILE}):", markup=False, highlight=False, soft_wrap=True)
    for r in reports:
        err.print(f"  {r.line()}", markup=False, highlight=False, soft_wrap=True)
