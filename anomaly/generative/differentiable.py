"""A fitted detector's per-step score written in ``keras.ops``, so it can be differentiated.

:func:`score_graph` returns a function of the *scaled* input rows (n_rows, n_channels) that
computes the same per-step scores as ``detector.score`` on a frame of those ``n_rows`` rows
(equal to float32 rounding; tests compare them):

* :class:`~anomaly.PCADetector`: the residual and T-squared of the fitted projection,
  re-expressed with the fitted arrays (``statistic`` "spe", "t2" or "combined": the larger of
  SPE and T-squared over their training 99th percentiles). The maximum in "combined" has a
  gradient through whichever statistic is larger.
* window autoencoders (:class:`~anomaly.detectors.keras_window.KerasWindowDetector`
  subclasses that score by reconstruction: dense, conv, LSTM, VAE, transformer): the windows
  ``det.score`` uses (every ``stride`` rows plus one flush with the end), reconstructed by
  ``model_``, squared error averaged back onto the rows that each window covers, mean over
  channels. :class:`~anomaly.LSTMVAEGAN` adds its discriminator term.
* :class:`~anomaly.LSTMForecaster`: squared one-step forecast error; the first ``window``
  rows score 0 (no history), as in ``det.score``.

Any other detector raises :class:`~anomaly.errors.ConfigError` rather than being attacked
through a score it does not compute.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from anomaly.errors import ConfigError, DataError
from anomaly.validation import check_number


def _pca_graph(det, ops) -> Callable:
    mean, components = ops.convert_to_tensor(det.mean_), ops.convert_to_tensor(det.components_)
    variance, limits = ops.convert_to_tensor(det.explained_variance_), det.limits_

    def scores(Z):
        centred = Z - mean
        latent = ops.matmul(centred, ops.transpose(components))
        residual = centred - ops.matmul(latent, components)
        spe = ops.sum(ops.square(residual), axis=1)
        t2 = ops.sum(ops.square(latent) / variance, axis=1)
        if det.statistic == "spe":
            return spe / Z.shape[1]
        if det.statistic == "t2":
            return t2
        return ops.maximum(spe / float(limits[0]), t2 / float(limits[1]))

    return scores


def _fold_back(values, rows: np.ndarray, n_rows: int, ops):
    """Mean of per-window-row ``values`` (k, w, d) over the windows covering each row; (n_rows, d)."""
    counts = np.bincount(rows.ravel(), minlength=n_rows).astype(np.float32)[:, None]
    flat = ops.reshape(values, (-1, values.shape[-1]))
    return ops.segment_sum(flat, ops.convert_to_tensor(rows.ravel().astype(np.int32)), num_segments=n_rows) / counts


def _window_graph(det, n_rows: int, ops) -> Callable:
    from anomaly.detectors.vae_gan import LSTMVAEGAN
    from anomaly.windows import window_starts

    starts = window_starts(n_rows, det.window, det.stride or det.window)
    rows = starts[:, None] + np.arange(det.window)  # (k, window): input row of each window position
    index = rows.astype(np.int32)

    def scores(Z):
        windows = ops.take(Z, index, axis=0)  # (k, window, c)
        errors = _fold_back(ops.square(det.model_(windows, training=False) - windows), rows, n_rows, ops)
        recon = ops.mean(errors, axis=1)
        if not isinstance(det, LSTMVAEGAN):
            return recon
        doubt = 1.0 - det.discriminator_(windows, training=False)  # (k, 1)
        spread = ops.repeat(ops.expand_dims(doubt, 1), det.window, axis=1)  # (k, window, 1)
        return (1.0 - det.disc_weight) * recon + det.disc_weight * _fold_back(spread, rows, n_rows, ops)[:, 0]

    return scores


def _forecast_graph(det, n_rows: int, ops) -> Callable:
    w = det.window
    index = (np.arange(w, n_rows)[:, None] - w + np.arange(w)).astype(np.int32)  # history of rows w..n-1

    def scores(Z):
        if n_rows <= w:
            return ops.zeros((n_rows,))
        forecast = det.model_(ops.take(Z, index, axis=0), training=False)  # (n - w, c)
        return ops.concatenate([ops.zeros((w,)), ops.mean(ops.square(forecast - Z[w:]), axis=1)])

    return scores


def score_graph(detector, n_rows: int) -> Callable:
    """Differentiable per-step score of a fitted detector on ``n_rows`` consecutive rows.

    Parameters
    ----------
    detector : fitted detector
    n_rows : int
        Rows of the frames that will be scored (window models need at least ``window``).

    Returns
    -------
    callable
        ``scores(Z)``: Z is a float32 tensor (n_rows, n_channels) of *scaled* rows in schema
        order; returns a tensor (n_rows,) equal to ``detector.score`` of those rows.

    Raises
    ------
    NotFittedError, ConfigError (unsupported detector), DataError (fewer rows than one window)
    """
    from anomaly.detectors.forecast import LSTMForecaster
    from anomaly.detectors.keras_window import KerasWindowDetector
    from anomaly.nn.backend import import_keras
    from anomaly.detectors.pca import PCADetector
    from anomaly.detectors.vae_gan import LSTMVAEGAN

    detector._check_fitted()
    check_number("n_rows", n_rows, low=1, integer=True)
    ops = import_keras().ops
    if isinstance(detector, PCADetector):
        return _pca_graph(detector, ops)
    if not isinstance(detector, KerasWindowDetector):
        raise ConfigError(f"no differentiable score for {type(detector).__name__}")
    if isinstance(detector, LSTMForecaster):
        return _forecast_graph(detector, n_rows, ops)
    if n_rows < detector.window:
        raise DataError(f"a frame of {n_rows} rows is shorter than one window of {detector.window} rows")
    reconstructs = type(detector)._errors is KerasWindowDetector._errors
    default_score = type(detector)._scores in (KerasWindowDetector._scores, LSTMVAEGAN._scores)
    if not (reconstructs and default_score):
        raise ConfigError(f"no differentiable score for {type(detector).__name__} "
                          "(it overrides how errors or scores are computed)")
    return _window_graph(detector, n_rows, ops)
