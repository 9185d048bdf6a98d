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
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from anomaly.errors import ModelFileError, NotFittedError
from anomaly.thresholds import Threshold, threshold_from_dict
from pipelines.preprocess import Scaler
from pipelines.schema import Schema

FORMAT_VERSION = 1
META_FILE = "detector.json"
ARRAYS_FILE = "arrays.npz"


def _package_version() -> str:
    from anomaly import __version__

    return __version__


def _encode_param(value):
    if isinstance(value, Threshold):
        return {"__threshold__": value.to_dict()}
    if isinstance(value, tuple):
        return {"__tuple__": list(value)}
    return value


def _decode_param(value):
    if isinstance(value, dict) and "__threshold__" in value:
        return threshold_from_dict(value["__threshold__"])
    if isinstance(value, dict) and "__tuple__" in value:
        return tuple(value["__tuple__"])
    return value


def save_arrays(directory: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write named numeric arrays to ``directory/arrays.npz``."""
    np.savez(directory / ARRAYS_FILE, **arrays)


def load_arrays(directory: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Read the arrays ``names`` from ``directory/arrays.npz`` without running any code."""
    path = directory / ARRAYS_FILE
    try:
        with np.load(path) as data:  # object arrays (which would run code) are refused
            missing = [name for name in names if name not in data.files]
            if missing:
                raise ModelFileError(f"{path}: arrays {missing} are missing")
            return {name: data[name] for name in names}
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
            "package_version": _package_version(),
            "class": type(detector).__name__,
            "params": {k: _encode_param(v) for k, v in detector.get_params(deep=False).items()},
            "schema": detector.schema_.to_dict(),
            "scaler": detector.scaler_.to_dict(),
            "threshold": detector.thresholder_.to_dict(),
            "fingerprint": detector.fingerprint_,
            "train_score_quantiles": np.quantile(detector.decision_scores_, [0.5, 0.9, 0.99, 1.0]).tolist(),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))

    return atomic_directory(path, write, marker=META_FILE)


def atomic_directory(path: str | Path, write, *, marker: str) -> Path:
    """Call ``write(tmp_dir)``, then rename ``tmp_dir`` to ``path``; remove it on failure.

    An existing directory at ``path`` is replaced only if it holds ``marker`` (the metadata
    file of a saved model) or is empty; any other directory or a file is refused with
    :class:`ModelFileError`, so a mistyped path never deletes someone's data.
    """
    path = Path(path)
    if path.exists() and not (path.is_dir() and ((path / marker).exists() or not any(path.iterdir()))):
        raise ModelFileError(f"{path}: exists and is not a model directory; refusing to overwrite")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        write(tmp)
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path



def read_meta(path: Path, name: str, *, directory: str, saved: str):
    """The parsed JSON file ``path / name`` of a saved directory (any JSON value: callers check it).

    ``directory`` and ``saved`` name the kind of directory and object in the messages
    (e.g. ``"model"`` and ``"detector"``).

    Raises
    ------
    ModelFileError
        If the directory or the file is missing, or the file is not valid JSON text.
    """
    if not path.is_dir():
        raise ModelFileError(f"{path}: {directory} directory not found")
    try:
        return json.loads((path / name).read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: {name} is missing; not a saved {saved}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path / name}: corrupted or truncated ({exc.__class__.__name__})") from None

def load(path: str | Path, *, engine: str = "auto"):
    """Load a detector saved by :func:`save`.

    Parameters
    ----------
    path : str or Path
        The model directory.
    engine : {"auto", "keras", "onnx"}, default="auto"
        Inference engine of neural detectors: ``"auto"`` uses ``model.onnx`` (written by
        ``anomaly export``) through ONNX Runtime when both exist, else Keras.

    Raises
    ------
    ModelFileError
        If the directory or a file in it is missing, truncated or corrupted, the format
        version is newer than this package understands, or the class is unknown.
    """
    from anomaly.registry import detector_class

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
        detector = cls(**{k: _decode_param(v) for k, v in meta["params"].items()})
        detector.scaler_ = Scaler.from_dict(meta["scaler"])
        detector.thresholder_ = threshold_from_dict(meta["threshold"])
        detector.threshold_ = float(detector.thresholder_.threshold_)
        detector.fingerprint_ = meta["fingerprint"]
        schema = Schema.from_dict(meta["schema"])
    except ModelFileError:
        raise
    except Exception as exc:  # any malformed field is a bad model file, not a crash
        raise ModelFileError(f"{path / META_FILE}: malformed ({exc.__class__.__name__}: {exc})") from None
    detector._load_artifacts(path)
    detector._set_engine(path, engine)
    detector.schema_ = schema
    return detector
