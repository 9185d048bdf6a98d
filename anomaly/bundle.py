"""Safe save/load of a fitted detector: a directory of plain files; loading runs no code.

Layout of a saved detector::

    MODEL_DIR/
      detector.json   format version, package version, class, parameters, schema,
                      scaler statistics, fitted threshold, training-data fingerprint
      arrays.npz      numeric state of array-based detectors (NumPy's loader refuses object arrays)
      model.keras     Keras detectors: architecture + weights (read with safe_mode=True)

A directory is written under a temporary name and renamed into place, so an interrupted
save never leaves a half-written model.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from anomaly.conditions import ConditionChannels
from anomaly.errors import ModelFileError, NotFittedError
from anomaly.files import atomic_directory, atomic_write, decode_param, encode_param, read_meta
from anomaly.guard import Envelope
from anomaly.head import ScoreHead
from anomaly.recentring import LevelModel
from anomaly.scaling import Scaler
from anomaly.schema import Schema
from anomaly.sensor_checks import SENSOR_CHECK_NAMES
from anomaly.version import __version__

FORMAT_VERSION = 1
META_FILE = "detector.json"
ARRAYS_FILE = "arrays.npz"
#: Quantiles of the training scores recorded in ``detector.json``.
QUANTILES = (0.5, 0.9, 0.99, 1.0)


def save_arrays(directory: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write named numeric arrays to ``directory/arrays.npz``."""
    np.savez(directory / ARRAYS_FILE, **arrays)


def load_arrays(directory: Path, names: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Read the arrays ``names`` from ``directory/arrays.npz`` without running any code, and
    those of ``optional`` that the file holds (a file saved before them has none)."""
    path = directory / ARRAYS_FILE
    try:
        with np.load(path) as data:  # object arrays (which would run code) are refused
            missing = [name for name in names if name not in data.files]
            if missing:
                raise ModelFileError(f"{path}: arrays {missing} are missing")
            return {name: data[name] for name in (*names, *optional) if name in data.files}
    except FileNotFoundError:
        raise ModelFileError(f"{directory}: {ARRAYS_FILE} is missing") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(f"{path}: unreadable or truncated ({exc})") from None


def save(detector, path: str | Path) -> Path:
    """Save a fitted detector to directory ``path`` (atomically) and return the path.

    An existing model directory at ``path`` is replaced; any other non-empty directory or a
    file at ``path`` is refused with :class:`ModelFileError`.
    """
    if not hasattr(detector, "schema_"):
        raise NotFittedError(f"cannot save an unfitted {type(detector).__name__}")

    def write(tmp: Path) -> None:
        detector._save_artifacts(tmp)
        meta = {
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "class": type(detector).__name__,
            "runtime": detector.RUNTIME,  # what scoring it needs: numpy, keras, or onnxruntime once exported
            "params": {k: encode_param(v) for k, v in detector.get_params(deep=False).items()},
            "schema": detector.schema_.to_dict(),
            "scaler": detector.scaler_.to_dict(),
            "threshold": detector.thresholder_.to_dict(),
            "alert_min_duration": detector.alert_min_duration_,  # a feedback round's on-delay (rows), or None
            "severe_ratio": detector.severe_ratio_,  # the alert rules' severe ratio (anomaly.decisions.rules.fitted_severe_ratio)
            "sensors": sensor_checks(detector),
            "head": detector.head_.to_dict(),
            "conditions": detector.conditions_.to_dict(),
            "envelope": detector.envelope_.to_dict(),
            "recentre_rows": int(getattr(detector, "recentre_rows_", 0)),  # anomaly.recentring's window; 0: off
            "level_model": None if getattr(detector, "level_model_", None) is None else detector.level_model_.to_dict(),
            "fingerprint": detector.fingerprint_,
            "train_score_quantiles": train_score_quantiles(detector),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))

    return atomic_directory(path, write, marker=META_FILE)


def sensor_checks(detector) -> dict:
    """The JSON of a fitted detector's sensor checks (stuck, noisy and oscillating channels, twins)."""
    return {**{f"{name}_limits": getattr(detector, f"{name}_limits_").tolist() for name in SENSOR_CHECK_NAMES},
            "twin_of": detector.twin_of_.tolist(), "oscillation_bands": detector.oscillation_bands_.tolist(),
            "scale": detector.sensor_scale_}


def train_score_quantiles(detector) -> list[float]:
    """Median, 90th, 99th percentile and maximum of the training scores: from ``decision_scores_``
    when fitted in this process, else as loaded (``train_score_quantiles_``)."""
    if hasattr(detector, "decision_scores_"):
        return np.quantile(detector.decision_scores_, QUANTILES).tolist()
    return list(detector.train_score_quantiles_)


def record_runtime(path: str | Path, runtime: str) -> None:
    """Rewrite the ``runtime`` field of a saved model's ``detector.json`` (atomically), e.g. after an export."""
    path = Path(path)
    meta = read_meta(path, META_FILE, directory="model", saved="detector")
    meta["runtime"] = runtime
    atomic_write(path / META_FILE, lambda tmp: tmp.write_text(json.dumps(meta, indent=2)))


def load(path: str | Path, detector_class: Callable[[str], type], *, engine: str = "auto"):
    """Load a detector saved by :func:`save` (the public entry is :func:`anomaly.registry.load`).

    Parameters
    ----------
    path : str or Path
        The model directory.
    detector_class : callable
        Maps the saved class name to the class (the registry's lookup).
    engine : str
        As for :func:`anomaly.registry.load`, which documents the errors too.
    """
    path = Path(path)
    meta = read_meta(path, META_FILE, directory="model", saved="detector")
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if not isinstance(version, int):
        raise ModelFileError(f"{path / META_FILE}: no format_version; not a saved detector")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: saved with model format {version} (package {meta.get('package_version')}), "
            f"this package reads format <= {FORMAT_VERSION}; upgrade the package"
        )
    try:
        cls = detector_class(meta["class"])
        detector = cls(**{k: decode_param(v) for k, v in meta["params"].items()})
        detector.scaler_ = Scaler.from_dict(meta["scaler"])
        detector.head_ = ScoreHead.from_dict(meta.get("head", {}), meta["threshold"])
        channels = meta["schema"]["channels"]  # models saved before the guard and conditions: none of either
        detector.envelope_ = Envelope.from_dict(meta["envelope"]) if "envelope" in meta else Envelope.unbounded(channels)
        recentre = meta.get("recentre_rows", 0)  # saved before re-centring: off
        if isinstance(recentre, bool) or not isinstance(recentre, int) or recentre < 0:
            raise ModelFileError(f"{path / META_FILE}: recentre_rows {recentre!r} is not a row count")
        detector.recentre_rows_ = recentre
        level = meta.get("level_model")  # saved before it: offsets from the training median
        detector.level_model_ = None if level is None else LevelModel.from_dict(level, len(channels))
        detector.conditions_ = ConditionChannels.from_dict(meta.get("conditions", {"indices": [], "n_channels": len(channels), "lag": 0}))
        detector.fingerprint_ = meta["fingerprint"]
        delay = meta.get("alert_min_duration")
        detector.alert_min_duration_ = None if delay is None else int(delay)
        ratio = meta.get("severe_ratio")  # saved before it: the default rules' ratio
        detector.severe_ratio_ = None if ratio is None else float(ratio)
        sensors = meta.get("sensors", {})  # saved before the sensor checks: none
        for name in (f"{check}_limits" for check in SENSOR_CHECK_NAMES):
            limits = np.asarray(sensors.get(name, [0.0] * len(channels)), dtype=np.float64)
            if limits.shape != (len(channels),):
                raise ModelFileError(f"{path / META_FILE}: {len(limits)} {name} for {len(channels)} channels")
            setattr(detector, f"{name}_", limits)
        twin = np.asarray(sensors.get("twin_of", [-1] * len(channels)), dtype=np.int64)  # saved before twins: none
        if twin.shape != (len(channels),) or (twin >= len(channels)).any():
            raise ModelFileError(f"{path / META_FILE}: twin_of does not name {len(channels)} channels")
        detector.twin_of_ = twin
        bands = np.asarray(sensors.get("oscillation_bands", [0.0] * len(channels)), dtype=np.float64)  # saved before: none
        if bands.shape != (len(channels),):
            raise ModelFileError(f"{path / META_FILE}: {len(bands)} oscillation_bands for {len(channels)} channels")
        detector.oscillation_bands_ = bands
        detector.sensor_scale_ = float(sensors.get("scale", 0.0))
        schema = Schema.from_dict(meta["schema"])
    except ModelFileError:
        raise
    except Exception as exc:  # any malformed field is a bad model file, not a crash
        raise ModelFileError(f"{path / META_FILE}: malformed ({exc.__class__.__name__}: {exc})") from None
    detector.train_score_quantiles_ = [float(q) for q in meta.get("train_score_quantiles", [])]
    detector._load_artifacts(path)
    detector.engine_ = detector._load_engine(path, engine)
    detector.schema_ = schema
    return detector
