"""``anomaly.load``: any saved model directory, a detector's or a supervised head's."""

from __future__ import annotations

from pathlib import Path

from anomaly import registry
from anomaly.supervised import is_supervised, load_supervised

__all__ = ["load"]


def load(path: str | Path, *, engine: str = "auto"):
    """Load a model directory written by ``Detector.save`` or ``SupervisedDetector.save``.

    Parameters
    ----------
    path : str or Path
        The model directory (``anomaly fit -o``).
    engine : {"auto", "keras", "onnx"}, default="auto"
        Inference engine of a neural detector (see :func:`anomaly.registry.load`).

    Returns
    -------
    Detector or SupervisedDetector
        Both score frames (``evaluate_frame``) and streams (``score_newest``) the same way.

    Raises
    ------
    ModelFileError
        If the directory or a file in it is missing, truncated, corrupted or of a newer format.
    """
    if is_supervised(path):
        return load_supervised(path, engine=engine)
    return registry.load(path, engine=engine)
