"""Files of saved objects: atomic writes, atomic model directories, their JSON metadata and
parameter encoding. Nothing here executes code from a file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from anomaly.errors import ModelFileError
from anomaly.thresholds import Threshold, threshold_from_dict


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path``; remove it on failure.

    The result gets ordinary file permissions (0666 minus the umask), not the private mode
    of the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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


def read_saved(path: Path, name: str, *, directory: str, saved: str, format_version: int) -> dict:
    """The JSON file ``path / name`` of a saved ``saved`` object (its class name), checked: a dict
    naming that class, with an integer ``format_version`` this package reads (<= ``format_version``).

    Raises
    ------
    ModelFileError
        As :func:`read_meta`, or if the file is not such a dict or was written by a newer format.
    """
    meta = read_meta(path, name, directory=directory, saved=saved)
    if not isinstance(meta, dict) or meta.get("class") != saved or not isinstance(meta.get("format_version"), int):
        raise ModelFileError(f"{path / name}: not a saved {saved}")
    if meta["format_version"] > format_version:
        raise ModelFileError(f"{path}: saved with {directory} format {meta['format_version']}, this package reads <= {format_version}")
    return meta


def encode_param(value):
    """JSON form of a constructor parameter (thresholds and tuples are tagged)."""
    if isinstance(value, Threshold):
        return {"__threshold__": value.to_dict()}
    if isinstance(value, tuple):
        return {"__tuple__": list(value)}
    return value


def decode_param(value):
    """Inverse of :func:`encode_param`."""
    if isinstance(value, dict) and "__threshold__" in value:
        return threshold_from_dict(value["__threshold__"])
    if isinstance(value, dict) and "__tuple__" in value:
        return tuple(value["__tuple__"])
    return value
