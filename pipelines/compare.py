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
any ``.csv``/``.parquet`` path
    A file with a 0/1 label column: the first ``train_fraction`` of its rows, minus labelled
    anomalies, are the training data; the rest is the test data.
"""

from __future__ import annotations

import platform
from importlib.metadata import version as package_version
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError
from anomaly.metrics import evaluate_outputs, hit_rate, random_hit_rate
from anomaly.registry import make_detector
from anomaly.version import __version__
from datasets import smd
from datasets.robot_arm import segments_from_faults, simulate
from datasets.skab import TRAIN_ROWS, load_skab
from pipelines.sources import read_table

DATASETS = ("robot-arm", "skab", "smd", "asd")


@dataclass
class Split:
    """One train/test pair. ``labels`` (n_test,) bool; ``fault_type`` per test row or None;
    ``segments``: labelled cause channels of the test rows (for attribution HitRate) or None."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    labels: np.ndarray
    fault_type: pd.Series | None = None
    segments: list | None = None


@dataclass
class DetectorRun:
    """One detector's outputs on every split (test rows, concatenated in split order)."""

    name: str
    scores: list[np.ndarray] = field(default_factory=list)
    flags: list[np.ndarray] = field(default_factory=list)
    errors: list[pd.DataFrame] = field(default_factory=list)
    thresholds: list[float] = field(default_factory=list)
    fit_s: float = 0.0
    score_s: float = 0.0


def dataset_splits(dataset: str, *, data_dir=None, entity: str | None = None, label_column: str | None = None,
                   train_fraction: float = 0.3, seed: int = 0) -> list[Split]:
    """Splits of a named dataset or of a labelled CSV/Parquet file (see the module docstring)."""
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
    path = Path(dataset)
    if path.suffix.lower() not in (".csv", ".parquet", ".pq", ".txt", ".tsv"):
        raise ConfigError(f"unknown dataset {dataset!r}; use one of {list(DATASETS)} or a labelled .csv/.parquet file")
    return [_file_split(path, label_column, train_fraction)]


def _file_split(path: Path, label_column: str | None, train_fraction: float) -> Split:
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"train_fraction={train_fraction!r} must be in (0, 1)")
    table = read_table(path)
    names = [label_column] if label_column else [c for c in table.labels.columns if c.lower() in ("is_anomaly", "anomaly", "label")]
    if not names or names[0] not in table.labels.columns:
        raise DataError(f"{path}: no label column (is_anomaly, anomaly or label); pass one")
    labels = pd.to_numeric(table.labels[names[0]], errors="coerce")
    if labels.isna().any() or not labels.isin([0, 1]).all():
        raise DataError(f"{path}: label column {names[0]!r} must hold only 0/1 values")
    labels = labels.astype(bool).to_numpy()
    cut = int(len(labels) * train_fraction)
    train = table.frame.iloc[:cut].loc[~labels[:cut]]
    fault = table.labels["fault_type"].iloc[cut:] if "fault_type" in table.labels else None
    return Split(path.name, train, table.frame.iloc[cut:], labels[cut:], fault)


def run_detectors(splits: list[Split], detectors: dict[str, dict], *, threshold=None, step=None, on_fit=None) -> list[DetectorRun]:
    """Fit every detector on every split's training data and score its test data.

    ``detectors`` maps a registry name to constructor parameters; ``threshold`` (an unfitted
    Threshold or None for each detector's default) is the same rule for all. ``on_fit``, if
    given, is called as ``on_fit(name, split, detector)`` with each fitted detector (e.g.
    :class:`anomaly.generative.robustness.RobustnessCollector`).
    """
    runs = []
    for name, params in detectors.items():
        run = DetectorRun(name)
        for split in splits:
            if step is not None:
                step(f"{name} on {split.name}")
            det = make_detector(name, **params, **({"threshold": threshold} if threshold is not None else {}))
            start = time.perf_counter()
            det.fit(split.train, source=split.name)
            run.fit_s += time.perf_counter() - start
            start = time.perf_counter()
            errors, scores, flags = det.evaluate_frame(split.test, source=split.name)
            run.score_s += time.perf_counter() - start
            run.errors.append(errors)
            run.scores.append(scores.to_numpy())
            run.flags.append(flags.to_numpy())
            run.thresholds.append(det.threshold_)
            if on_fit is not None:
                on_fit(name, split, det)
        runs.append(run)
    return runs


def evaluate_runs(splits: list[Split], runs: list[DetectorRun], *, seed: int = 0) -> dict:
    """Pooled metrics of every detector beside the baselines (see :func:`anomaly.metrics.evaluate_outputs`)."""
    labels = np.concatenate([s.labels for s in splits])
    faults = [s.fault_type for s in splits]
    fault_type = pd.concat(faults, ignore_index=True) if all(f is not None for f in faults) else None
    outputs = {r.name: (np.concatenate(r.scores), np.concatenate(r.flags)) for r in runs}
    return evaluate_outputs(labels, outputs, fault_type=fault_type, seed=seed)


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


def metadata(dataset: str, detectors: dict[str, dict], runs: list[DetectorRun], seed: int) -> dict:
    """Versions, seeds, parameters and durations of a comparison."""
    return {
        "dataset": dataset,
        "seed": seed,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "versions": {"anomaly": __version__, "python": platform.python_version(), "numpy": np.__version__,
                     "pandas": pd.__version__, "scikit-learn": package_version("scikit-learn"), "keras": package_version("keras")},
        "detectors": {name: {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()} for name, p in detectors.items()},
        "durations_s": {r.name: {"fit": round(r.fit_s, 2), "score": round(r.score_s, 2)} for r in runs},
    }
