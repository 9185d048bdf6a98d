"""What every architecture builder shares: option checks, the input, and local weights.

An architecture builder validates its own ``depth``, then hands :func:`network` a ``body``
that maps the input tensor to class probabilities. :func:`network` checks the common options
(``dims``, ``input_shape``, ``classes``, ``width``, ``weights``) before any layer is built,
builds the functional model and loads local weights. Nothing is ever downloaded.
"""

from __future__ import annotations

import math
import os
import re
from numbers import Integral, Real
from pathlib import Path

import keras

from anomaly.errors import ConfigError, ModelFileError

WEIGHTS_SUFFIX = ".weights.h5"


def scaled(n: int, width: float) -> int:
    """A channel or unit count multiplied by ``width``, rounded, at least 1."""
    return max(1, round(n * width))


def published_padding(dims: int) -> str:
    """Padding of the layers the papers leave unpadded: "valid" for images, "same" for windows.

    The 2D forms reproduce the published graphs; the 1D forms pad "same" throughout so a short
    sensor window (e.g. 64 steps) survives the strides instead of shrinking to nothing.
    """
    return "valid" if dims == 2 else "same"


def _is_positive_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value > 0


def positive_int(name: str, value) -> int:
    """``value`` if it is a positive integer, else a ConfigError naming the option."""
    if not _is_positive_int(value):
        raise ConfigError(f"{name}={value!r} must be a positive integer")
    return int(value)


def positive_ints(name: str, value, length: int) -> tuple[int, ...]:
    """``value`` as a tuple of ``length`` positive integers, else a ConfigError naming the option."""
    if not isinstance(value, (tuple, list)) or len(value) != length or not all(map(_is_positive_int, value)):
        raise ConfigError(f"{name}={value!r} must be {length} positive integers")
    return tuple(int(v) for v in value)


def check_rate(name: str, value) -> float:
    """A dropout rate in [0, 1) or a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < 1:
        raise ConfigError(f"{name}={value!r} must be a number in [0, 1)")
    return float(value)


def _input_shape(dims, input_shape, default_shape) -> tuple[int, ...]:
    if isinstance(dims, bool) or not isinstance(dims, Integral) or dims not in (1, 2):
        raise ConfigError(f"dims={dims!r} must be 1 (sensor windows) or 2 (images)")
    layout = "(steps, channels)" if dims == 1 else "(height, width, channels)"
    if input_shape is None:
        if dims == 1:
            raise ConfigError(f"input_shape={layout} is required when dims=1")
        return default_shape
    try:
        return positive_ints("input_shape", input_shape, dims + 1)
    except ConfigError:
        raise ConfigError(f"input_shape={input_shape!r} must be {layout} for dims={dims}: {dims + 1} positive integers") from None


def _weights_path(weights) -> Path | None:
    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)) or not str(weights).endswith(WEIGHTS_SUFFIX):
        raise ConfigError(
            f"weights={weights!r} must be None or the path of a local {WEIGHTS_SUFFIX} file (nothing is downloaded)"
        )
    path = Path(weights)
    if not path.is_file():
        raise ModelFileError(f"{path}: weights file not found")
    return path


def network(name: str, body, *, dims, input_shape, default_shape, classes, width, weights) -> keras.Model:
    """Build ``keras.Model(inputs, body(inputs))`` after checking the shared options.

    Parameters
    ----------
    name : str
        Model name.
    body : callable
        Input tensor -> output tensor; called only after the options passed the checks.
    dims : {1, 2}
        1: input ``(batch, steps, channels)``; 2: input ``(batch, height, width, channels)``.
    input_shape : tuple of int or None
        Shape without the batch axis; None takes ``default_shape`` (2D only).
    default_shape : tuple of int
        The published input shape of the architecture.
    classes : int
        Number of classes (>= 2) of the softmax output, shape ``(batch, classes)``.
    width : float
        Channel/unit multiplier (> 0); checked here, applied by ``body`` through :func:`scaled`.
    weights : None or path
        None for random initialisation, or a local ``.weights.h5`` file saved from a model built
        with the same options.

    Raises
    ------
    ConfigError
        A bad option, or options the input is too small for.
    ModelFileError
        The weights file is missing, unreadable or does not fit the model.
    """
    shape = _input_shape(dims, input_shape, default_shape)
    if isinstance(classes, bool) or not isinstance(classes, Integral) or classes < 2:
        raise ConfigError(f"classes={classes!r} must be an integer >= 2")
    if isinstance(width, bool) or not isinstance(width, Real) or not (math.isfinite(width) and width > 0):
        raise ConfigError(f"width={width!r} must be a positive number")
    path = _weights_path(weights)
    inputs = keras.Input(shape)
    try:
        outputs = body(inputs)
    except ConfigError:
        raise
    except ValueError as exc:  # Keras's shape inference: e.g. an image too small for the strides
        raise ConfigError(f"{name}: cannot build with input_shape={shape} and these options: {_reason(exc)}") from None
    model = keras.Model(inputs, outputs, name=name)
    if path is not None:
        try:
            model.load_weights(path)
        except OSError as exc:
            raise ModelFileError(f"{path}: not a readable weights file ({_reason(exc)})") from None
        except ValueError as exc:
            raise ModelFileError(f"{path}: weights do not fit {name} built with these options ({_reason(exc)})") from None
    return model


def _reason(exc: Exception) -> str:
    """The informative line of a Keras error (which wraps it in a header and ANSI bold codes)."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line and not line.startswith("Exception encountered")]
    return lines[0] if lines else exc.__class__.__name__
