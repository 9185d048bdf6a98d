"""Run several detectors on one dataset with the same split and threshold rule, and evaluate.

Datasets (:func:`dataset_splits`):

``robot-arm``
    Train on 300 s of simulated normal operation (seed ``seed``), test on a 600 s log with
    every fault type (seed ``seed + 1``), one shift (ambient 28 degC).
``skab``
    SKAB's protocol: every valve1/valve2 file is one split, trained on its first 400 rows and
    tested on the rest.
``smd`` / ``asd``
    One split per machine/server (``entity`` picks one): train on ``train/``, test on ``test/``.
``alfa``
    Real UAV flights: one model fitted on the 9 normal flights as 9 logs (windows never cross
    flights), tested on each of the 19 faulty flights (one split each, sharing that model).
    Besides the pooled metrics, :func:`flight_detection` reports per flight whether the fault
    was detected after its onset and how fast, and the false alarms per hour of normal flight
    before the onsets (``result["detection"]``).
``conditions``
    The simulated arm under operating conditions (``datasets.robot_arm.conditions``): one
    model fitted on the reference condition's training runs (as separate logs); one split per
    condition (the reference and every unseen one) whose test log is a 300 s normal run
    followed by a 600 s run with every fault type. :func:`flight_detection` then gives, per
    condition, the false alarms per hour before the first fault and whether (and how fast) the
    faults were found.
``session``
    As ``conditions``, but the model is fitted on runs of the arm warming up from cold (its
    temperatures are slow channels) and the splits are the warm reference, a 4 degC cooler day
    and an ambient drift (``SCENARIOS["session"]`` of ``datasets.robot_arm.conditions``).
``mixed-sessions``
    As ``session``, but fitted on logs of two kinds of session: one warming up, two already warm.
any ``.csv``/``.parquet`` path
    A file with a 0/1 label column: the first ``train_fraction`` of its rows, minus labelled
    anomalies, are the training data; the rest is the test data. With ``runs`` (a column that
    tells several runs of the file apart, :func:`pipelines.sources.read_runs`): the first
    ``train_fraction`` of the runs (at least one, at most all but one), minus their labelled
    anomalies, are the training logs; each other run is a split of its own.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.decisions import AlertLogic, model_rules, rules_at
from anomaly.errors import ConfigError, DataError
from anomaly.guard import describe, joined, relation_note, run_flood
from anomaly.metrics import Segment, evaluate_outputs, hit_rate, random_hit_rate
from anomaly.pauses import pass_slices
from anomaly.registry import make_detector
from anomaly.schema import sampling_rate, time_ns
from anomaly.version import __version__
from datasets import smd
from datasets.alfa import load_alfa
from datasets.robot_arm import segments_from_faults, simulate
from datasets.robot_arm.conditions import SCENARIOS, TEST_SEEDS, conditions_scenario, training_runs
from datasets.skab import TRAIN_ROWS, load_skab
from pipelines.sources import read_runs, read_table

DATASETS = ("robot-arm", "skab", "smd", "asd", "alfa", "conditions", "session", "mixed-sessions")


@dataclass
class Split:
    """One train/test pair.

    Attributes
    ----------
    name : str
    train : pandas.DataFrame
        The training rows (all logs concatenated, for charts).
    test : pandas.DataFrame
    labels : numpy.ndarray of shape (n_test,), bool
    fault_type : pandas.Series or None
        Fault type per test row.
    segments : list or None
        Labelled cause channels of the test rows (for attribution HitRate).
    train_logs : list of pandas.DataFrame or None
        The training data as separate logs (the detector is fitted on the list: windows never
        cross logs); None: fitted on ``train``. Splits that share this list object share one
        fitted detector.
    onset : int or None
        Position in ``test`` of the fault's onset, for splits that are one run with one fault
        from there on (:func:`flight_detection`).
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    labels: np.ndarray
    fault_type: pd.Series | None = None
    segments: list | None = None
    train_logs: list[pd.DataFrame] | None = None
    onset: int | None = None


@dataclass
class DetectorRun:
    """One detector's outputs on every split (test rows, concatenated in split order)."""

    name: str
    scores: list[np.ndarray] = field(default_factory=list)
    flags: list[np.ndarray] = field(default_factory=list)
    errors: list[pd.DataFrame] = field(default_factory=list)
    thresholds: list[float] = field(default_factory=list)
    severe_ratios: list[float] = field(default_factory=list)  # per split: the model's alert rules' severe ratio
    outside: list[list] = field(default_factory=list)  # per split: the validity guard's excursions on its test rows
    flood: list[tuple] = field(default_factory=list)  # per split: (note, channel) of a flood before its onset, or ("", None)
    followed: list[list] = field(default_factory=list)  # per split: the channels re-centring followed by their relation
    fit_s: float = 0.0
    score_s: float = 0.0


def dataset_splits(dataset: str, *, data_dir=None, entity: str | None = None, label_column: str | None = None,
                   train_fraction: float = 0.3, seed: int = 0, ignore: tuple[str, ...] = (), runs: str | None = None) -> list[Split]:
    """Splits of a named dataset or of a labelled CSV/Parquet file (see the module docstring);
    ``ignore``: a file's columns that are not channels (a state name, a sequence number);
    ``runs``: a file's column that tells several runs apart."""
    if (ignore or runs) and dataset in DATASETS:
        raise ConfigError(f"--ignore and --runs are for a labelled file; the {dataset!r} data set has no such columns")
    if dataset == "robot-arm":
        train = simulate(300, seed=seed, ambient_c=28.0)
        test = simulate(600, faults="all", seed=seed + 1, ambient_c=28.0, start="2026-01-01T01:00:00")
        return [Split("robot-arm", train.frame, test.frame, test.labels["is_anomaly"].to_numpy(), test.labels["fault_type"],
                      segments_from_faults(test))]
    if dataset == "skab":
        return [Split(f.name, f.frame.iloc[:TRAIN_ROWS], f.frame.iloc[TRAIN_ROWS:], f.anomaly.iloc[TRAIN_ROWS:].to_numpy())
                for f in load_skab(data_dir)]
    if dataset in ("smd", "asd"):
        names = smd.SMD_MACHINES if dataset == "smd" else smd.ASD_ENTITIES
        loader = smd.load_smd if dataset == "smd" else smd.load_asd
        if entity is not None and entity not in names:
            raise ConfigError(f"entity {entity!r} is not one of {list(names)}")
        return [Split(e.name, e.train, e.test, e.labels.to_numpy(), segments=e.segments)
                for e in (loader(n, data_dir) for n in names if entity in (None, n))]
    if dataset == "alfa":
        return alfa_splits(data_dir)
    if dataset in SCENARIOS:
        return condition_splits(seed, *SCENARIOS[dataset])
    path = Path(dataset)
    if path.suffix.lower() not in (".csv", ".parquet", ".pq", ".txt", ".tsv"):
        raise ConfigError(f"unknown dataset {dataset!r}; use one of {list(DATASETS)} or a labelled .csv/.parquet file")
    if runs is not None:
        return _run_splits(path, runs, label_column, train_fraction, ignore)
    return [_file_split(path, label_column, train_fraction, ignore)]


def alfa_splits(data_dir=None) -> list[Split]:
    """ALFA: every faulty flight is a split; all share one training set, the normal flights as logs."""
    normal, faulty = load_alfa(data_dir)
    logs = [f.frame for f in normal]
    train = pd.concat(logs)
    splits = []
    for flight in faulty:
        kinds = pd.Series(np.where(flight.labels.to_numpy(), flight.fault, ""), index=flight.frame.index, name="fault_type")
        splits.append(Split(flight.name, train, flight.frame, flight.labels.to_numpy(), kinds, train_logs=logs,
                            onset=flight.onset_row))
    return splits


def condition_splits(seed: int = 0, training: str | tuple[str, ...] = SCENARIOS["conditions"][0],
                     tests: tuple[str, ...] = SCENARIOS["conditions"][1]) -> list[Split]:
    """The arm under named conditions: one model on runs of the ``training`` condition (or one
    condition per training run, :func:`~datasets.robot_arm.conditions.training_runs`), one split
    per condition of ``tests`` (default: the ``"conditions"`` scenario, the reference runs, then
    the reference and every unseen one).

    The test log of a split is a 300 s normal run followed by a 600 s run with every fault
    type (test seed ``TEST_SEEDS[0] + seed``); its onset is the first faulty row.
    """
    logs = training_runs(training, duration_s=300, seed=seed)
    train = pd.concat(logs)
    splits = []
    for condition in tests:
        test_seed = TEST_SEEDS[0] + seed
        normal = conditions_scenario(condition, duration_s=300, seed=test_seed, start="2026-01-02T00:00:00")
        faulty = conditions_scenario(condition, duration_s=600, faults="all", seed=test_seed, start="2026-01-02T00:05:00")
        frame = pd.concat([normal.frame, faulty.frame])
        labels = np.concatenate([np.zeros(len(normal.frame), bool), faulty.labels["is_anomaly"].to_numpy()])
        kinds = pd.concat([pd.Series("", index=normal.frame.index), faulty.labels["fault_type"]]).rename("fault_type")
        segments = [Segment(s.start + len(normal.frame), s.end + len(normal.frame), s.channels) for s in segments_from_faults(faulty)]
        splits.append(Split(condition, train, frame, labels, kinds, segments, train_logs=logs, onset=int(np.argmax(labels))))
    return splits


def _file_split(path: Path, label_column: str | None, train_fraction: float, ignore: tuple[str, ...] = ()) -> Split:
    _check_fraction(train_fraction)
    table = read_table(path, exclude=ignore)
    _check_ignored(table, ignore, path)
    labels = _file_labels(table, label_column, table.source)
    cut = int(len(labels) * train_fraction)
    train = table.frame.iloc[:cut].loc[~labels[:cut]]
    fault = table.labels["fault_type"].iloc[cut:] if "fault_type" in table.labels else None
    return Split(path.name, train, table.frame.iloc[cut:], labels[cut:], fault)


def _run_splits(path: Path, runs: str, label_column: str | None, train_fraction: float, ignore: tuple[str, ...] = ()) -> list[Split]:
    """The splits of a labelled file of several runs: the first runs train (one fitted detector
    for all splits), each other run is tested as a log of its own."""
    _check_fraction(train_fraction)
    found = read_runs(path, runs, exclude=ignore)
    if len(found) < 2:
        raise DataError(f"{path}: --runs {runs!r} finds {len(found)} run: nothing to test on beside the training run")
    _check_ignored(found[0].table, ignore, path)
    labels = [_file_labels(run.table, label_column, run.table.source) for run in found]
    cut = min(max(int(len(found) * train_fraction), 1), len(found) - 1)
    train_logs = [run.table.frame.loc[~y] for run, y in zip(found[:cut], labels[:cut])]
    train = pd.concat(train_logs)
    return [Split(Path(run.table.source).name, train, run.table.frame, y, run.table.labels.get("fault_type"), train_logs=train_logs)
            for run, y in zip(found[cut:], labels[cut:])]


def _check_fraction(train_fraction: float) -> None:
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"train_fraction={train_fraction!r} must be in (0, 1)")


def _check_ignored(table, ignore: tuple[str, ...], path: Path) -> None:
    missing = [name for name in ignore if name not in table.metadata.get("excluded", ())]
    if missing:
        raise DataError(f"--ignore: column(s) {missing} not in {path}")


def _file_labels(table, label_column: str | None, source: str) -> np.ndarray:
    """The 0/1 label column of a labelled file (or run) as booleans (n,)."""
    names = [label_column] if label_column else [c for c in table.labels.columns if c.lower() in ("is_anomaly", "anomaly", "label")]
    if not names or names[0] not in table.labels.columns:
        raise DataError(f"{source}: no label column (is_anomaly, anomaly or label); pass one")
    labels = pd.to_numeric(table.labels[names[0]], errors="coerce")
    if labels.isna().any() or not labels.isin([0, 1]).all():
        raise DataError(f"{source}: label column {names[0]!r} must hold only 0/1 values")
    return labels.astype(bool).to_numpy()


def detector_spec(label: str, spec: dict | tuple[str, dict]) -> tuple[str, dict]:
    """The registry name and constructor parameters of a :func:`run_detectors` entry: ``spec`` is
    ``(name, params)`` for a variant, or the parameters of the detector named ``label``."""
    return spec if isinstance(spec, tuple) else (label, spec)


def run_detectors(splits: list[Split], detectors: dict[str, dict | tuple[str, dict]], *, threshold=None, step=None,
                  on_fit=None) -> list[DetectorRun]:
    """Fit every detector on every split's training data and score its test data.

    ``detectors`` maps a report label to a registry name and constructor parameters (the
    label is the name, or a variant's ``name:key=value``), or, simply, a registry name to
    constructor parameters; ``threshold`` (an unfitted
    Threshold or None for each detector's default) is the same rule for all. ``on_fit``, if
    given, is called as ``on_fit(label, split, detector)`` with each fitted detector (e.g.
    :class:`anomaly.generative.robustness.RobustnessCollector`). A split with ``train_logs`` is
    fitted on that list of logs; consecutive splits with the same list share one fit.
    """
    runs = []
    for label, spec in detectors.items():
        name, params = detector_spec(label, spec)
        run = DetectorRun(label)
        det, fitted_on = None, None
        for split in splits:
            if step is not None:
                step(f"{name} on {split.name}")
            if split.train_logs is None or split.train_logs is not fitted_on:
                det = make_detector(name, **params, **({"threshold": threshold} if threshold is not None else {}))
                start = time.perf_counter()
                if split.train_logs is None:
                    det.fit(split.train, source=split.name)
                else:
                    det.fit(split.train_logs, source=f"{split.name} (training logs)")
                run.fit_s += time.perf_counter() - start
                fitted_on = split.train_logs
            start = time.perf_counter()
            errors, scores, flags = det.evaluate_frame(split.test, source=split.name)
            run.score_s += time.perf_counter() - start
            run.errors.append(errors)
            run.scores.append(scores.to_numpy())
            run.flags.append(flags.to_numpy())
            run.thresholds.append(det.threshold_)
            run.severe_ratios.append(model_rules(det).severe_ratio)
            run.outside.append(det.check_envelope(split.test, source=split.name))
            run.flood.append(normal_flood(det, split, errors, flags) if not run.outside[-1] else ("", None))
            run.followed.append(det.relation_drifts(split.test, source=split.name))
            if on_fit is not None:
                on_fit(label, split, det)
        runs.append(run)
    return runs


def normal_flood(det, split: Split, errors: pd.DataFrame, flags: pd.Series) -> tuple[str, str | None]:
    """The validity guard's flood note on the rows of ``split`` before its fault onset and the
    channel it names (:func:`anomaly.guard.run_flood`); ``("", None)`` without an onset or a flood."""
    if split.onset is None:
        return "", None
    return run_flood(det, errors.to_numpy()[: split.onset], flags.to_numpy()[: split.onset])


def evaluate_runs(splits: list[Split], runs: list[DetectorRun], *, seed: int = 0) -> dict:
    """Pooled metrics of every detector beside the baselines (see :func:`anomaly.metrics.evaluate_outputs`)."""
    labels = np.concatenate([s.labels for s in splits])
    faults = [s.fault_type for s in splits]
    fault_type = pd.concat(faults, ignore_index=True) if all(f is not None for f in faults) else None
    outputs = {r.name: (np.concatenate(r.scores), np.concatenate(r.flags)) for r in runs}
    result = evaluate_outputs(labels, outputs, fault_type=fault_type, seed=seed)
    if any(s.onset is not None for s in splits):
        result["detection"] = flight_detection(splits, runs)
    return result


def flight_detection(splits: list[Split], runs: list[DetectorRun]) -> dict:
    """Per split with an ``onset``: was the fault detected after it, how fast, and the false alarms before it.

    Alarms are the toolkit's default decision: each detector's own fitted threshold and
    :class:`anomaly.decisions.AlertLogic` with :data:`~anomaly.decisions.DEFAULT_RULES`, whose
    row counts are for 100 Hz, scaled to the split's sampling rate (:func:`~anomaly.decisions.rules_at`; at
    ALFA's 20 Hz: 5-row minimum duration, 20-row merge gap, 100-row cooldown, exit at 0.8 x
    the threshold; the severe ratio is the model's, :func:`~anomaly.decisions.model_rules`). An
    alarm that *starts* at or after the onset detects the fault, with the
    delay from the onset to its start; an alarm that starts before the onset is a false alarm
    (also when it lasts past the onset). False alarms per hour pool every split's time before
    its onset.

    Returns
    -------
    dict
        ``"summary"``: detector -> ``flights``, ``detected``, ``detection_rate``,
        ``false_alarms``, ``normal_hours``, ``false_alarms_per_hour``, ``median_delay_s``,
        ``mean_delay_s``, ``max_delay_s`` (None when nothing was detected); ``"flights"``:
        detector -> one dict per split (``flight``, ``fault``, ``onset``, ``detected``,
        ``delay_s``, ``false_alarms``, ``normal_s``, ``alarms``, ``outside_envelope`` and
        ``outside_channels``: the validity guard's line on the split's test rows and the
        channels it names, :mod:`anomaly.guard`; when it names none, the line is its flood
        note on the rows before the onset and ``flood_channel`` the channel that note names,
        else None, :func:`normal_flood`; ``followed_channels``: those re-centring followed by
        their relation, :meth:`anomaly.base.Detector.relation_drifts`, also said in the line); ``"rules"``: the rules of
        the first split (``rate_hz`` and the scaled row counts).

    Raises
    ------
    DataError
        A split with an onset whose test rows have no timestamps.
    """
    chosen = [(i, s) for i, s in enumerate(splits) if s.onset is not None]
    rates = {}
    for i, split in chosen:
        rates[i] = sampling_rate(split.test.index)
        if rates[i] is None:
            raise DataError(f"{split.name}: detection delays and false alarms per hour need timestamps")
    summary, flights = {}, {}
    for run in runs:
        rows = []
        for i, split in chosen:
            alarms = AlertLogic.at_level(run.thresholds[i], run.severe_ratios[i], **rules_at(rates[i]).counts()).alerts(
                run.scores[i], passes=pass_slices(split.test.index, rates[i]))
            index = split.test.index
            if not isinstance(index, pd.DatetimeIndex):
                index = pd.DatetimeIndex(time_ns(index))  # numbers that are times, as datetimes
            onset_time = index[split.onset]
            late = [a for a in alarms if a[0] >= split.onset]
            fault = split.fault_type.iloc[split.onset] if split.fault_type is not None else None
            rows.append({
                "flight": split.name, "fault": fault or None, "onset": onset_time.isoformat(),
                "detected": bool(late),
                "delay_s": (index[late[0][0]] - onset_time).total_seconds() if late else None,
                "false_alarms": sum(1 for a in alarms if a[0] < split.onset),
                "normal_s": (onset_time - index[0]).total_seconds(),
                "alarms": [[index[a[0]].isoformat(), index[a[1]].isoformat()] for a in alarms],
                "outside_envelope": joined(describe(run.outside[i]) or run.flood[i][0], relation_note(run.followed[i], len(split.test))),
                "outside_channels": [e.channel for e in run.outside[i]],
                "flood_channel": run.flood[i][1],
                "followed_channels": [d.channel for d in run.followed[i]],
            })
        delays = [r["delay_s"] for r in rows if r["detected"]]
        hours = sum(r["normal_s"] for r in rows) / 3600
        false = sum(r["false_alarms"] for r in rows)
        summary[run.name] = {
            "flights": len(rows), "detected": len(delays), "detection_rate": len(delays) / len(rows),
            "false_alarms": false, "normal_hours": hours, "false_alarms_per_hour": false / hours if hours > 0 else None,
            "median_delay_s": float(np.median(delays)) if delays else None,
            "mean_delay_s": float(np.mean(delays)) if delays else None, "max_delay_s": max(delays) if delays else None,
        }
        flights[run.name] = rows
    first = chosen[0][0]
    rules = rules_at(rates[first])
    return {"summary": summary, "flights": flights,
            "rules": {"rate_hz": rates[first], **rules.counts(), "exit_ratio": rules.exit_ratio}}


def detection_tables(result: dict) -> dict[str, pd.DataFrame]:
    """Printable tables of ``result["detection"]`` (:func:`flight_detection`); empty without it.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"detection"``: one row per detector (flights, detected, detection rate, false alarms
        per hour, median and max delay in s); ``"flights"``: one row per split, per detector
        its delay in s (``missed`` when not detected), its false alarms before the onset and
        the channels the validity guard names on the split (up to three, ``+k`` more; else
        ``flood led by NAME`` for a flood before the onset; then ``followed NAME`` for those
        re-centring followed by their relation).
    """
    detection = result.get("detection")
    if not detection:
        return {}
    columns = ["flights", "detected", "detection_rate", "false_alarms_per_hour", "median_delay_s", "max_delay_s"]
    summary = pd.DataFrame.from_dict(detection["summary"], orient="index")[columns]
    summary[["flights", "detected"]] = summary[["flights", "detected"]].astype(int).astype(str)
    summary.index.name = "detector"
    per_flight = {}
    for name, rows in detection["flights"].items():
        for r in rows:
            entry = per_flight.setdefault(r["flight"], {"fault": r["fault"] or ""})
            entry[f"{name} delay_s"] = f"{r['delay_s']:.2f}" if r["detected"] else "missed"
            entry[f"{name} false_alarms"] = str(r["false_alarms"])
            named = r["outside_channels"]
            outside = (", ".join(named[:3]) + (f" +{len(named) - 3}" if len(named) > 3 else "")
                       or (f"flood led by {r['flood_channel']}" if r["flood_channel"] else ""))
            followed = f"followed {', '.join(r['followed_channels'])}" if r["followed_channels"] else ""
            entry[f"{name} outside envelope"] = joined(outside, followed)
    flights = pd.DataFrame.from_dict(per_flight, orient="index")
    flights.index.name = "flight"
    return {"detection": summary, "flights": flights}


def attribution_hit_rates(splits: list[Split], runs: list[DetectorRun]) -> dict[str, dict[str, float]]:
    """HitRate@100 % and @150 % per detector over the splits that have cause labels, with the
    random-ranking baseline; empty when no split has them."""
    labelled = [i for i, s in enumerate(splits) if s.segments]
    if not labelled:
        return {}
    out = {}
    for run in runs:
        out[run.name] = {f"hitrate@{int(p * 100)}%": float(np.mean([hit_rate(run.errors[i], splits[i].segments, p=p) for i in labelled]))
                         for p in (1.0, 1.5)}
    n_channels = splits[labelled[0]].test.shape[1]
    out["random ranking"] = {f"hitrate@{int(p * 100)}%": float(np.mean([random_hit_rate(n_channels, splits[i].segments, p=p) for i in labelled]))
                             for p in (1.0, 1.5)}
    return out


def metadata(dataset: str, detectors: dict[str, dict | tuple[str, dict]], runs: list[DetectorRun], seed: int) -> dict:
    """Versions, seeds, parameters and durations of a comparison."""
    return {
        "dataset": dataset,
        "seed": seed,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "versions": {"anomaly": __version__, "python": platform.python_version(), "numpy": np.__version__,
                     "pandas": pd.__version__, "scikit-learn": package_version("scikit-learn"), "keras": package_version("keras")},
        "detectors": {label: {k: (list(v) if isinstance(v, tuple) else v) for k, v in detector_spec(label, spec)[1].items()}
                      for label, spec in detectors.items()},
        "durations_s": {r.name: {"fit": round(r.fit_s, 2), "score": round(r.score_s, 2)} for r in runs},
    }
