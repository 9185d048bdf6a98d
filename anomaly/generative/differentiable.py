"""A fitted detector's per-step score as a differentiable ``keras.ops`` graph.

:func:`score_graph` returns a function of the *scaled* input rows (n_rows, n_channels) that
computes the same per-step scores as ``detector.score`` on a frame of those ``n_rows`` rows
(equal to float32 rounding, without the sensor checks; tests compare them). It is derived from the detector's one
forward computation (:meth:`anomaly.base.Detector.forward`), run by a
:class:`~anomaly.engine.GraphEngine` (``keras.ops`` and direct network calls): the spans
``det.score`` uses (on the stride grid plus one flush with the end), their errors averaged
back onto the rows each span emits, then the detector's statistic (the decision head's
channel aggregate; PCA's T-squared/SPE; the VAE-GAN's discriminator term). Rows no span emits
(the forecaster's first ``window``) score 0, as in ``det.score``. Every registered detector
has such a graph.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from anomaly.conditions import relative_graph
from anomaly.engine import GraphEngine
from anomaly.errors import DataError
from anomaly.nn.backend import import_keras
from anomaly.validation import check_number
from anomaly.windows import window_starts


def _fold_back(values, rows: np.ndarray, n_rows: int, ops):
    """Mean of per-span-row ``values`` (k, e, d) over the spans emitting each row; (n_rows, d), 0 where none does."""
    counts = np.maximum(np.bincount(rows.ravel(), minlength=n_rows), 1).astype(np.float32)[:, None]
    flat = ops.reshape(values, (-1, values.shape[-1]))
    return ops.segment_sum(flat, ops.convert_to_tensor(rows.ravel().astype(np.int32)), num_segments=n_rows) / counts


def score_graph(detector, n_rows: int) -> Callable:
    """Differentiable per-step score of a fitted detector on ``n_rows`` consecutive rows.

    Parameters
    ----------
    detector : fitted detector
    n_rows : int
        Rows of the frames that will be scored (window autoencoders need at least ``window``).

    Returns
    -------
    callable
        ``scores(Z)``: Z is a float32 tensor (n_rows, n_channels) of *scaled* rows in schema
        order; returns a tensor (n_rows,) equal to ``detector.score`` of those rows without the
        sensor checks (``detector.without_sensor_checks()``).

    Raises
    ------
    NotFittedError, DataError (fewer rows than one window)
    """
    detector.check_fitted()
    check_number("n_rows", n_rows, low=1, integer=True)
    ops = import_keras().ops
    context = detector.scoring_context()
    engine = GraphEngine(detector.networks())
    n = n_rows - context.history  # rows after the condition channels' change transform
    if n < context.span:
        if not context.warmup and not context.history:
            raise DataError(f"a frame of {n_rows} rows is shorter than one window of {context.span} rows")
        return lambda Z: ops.zeros((n_rows,))
    starts = window_starts(n, context.span, context.stride)
    index = (starts[:, None] + np.arange(context.span)).astype(np.int32)  # (k, span): input row of each span position
    emitted = starts[:, None] + context.warmup + np.arange(context.emitted)  # (k, emitted): row of each output

    conditions = detector.conditions_

    def scores(Z):
        if len(conditions.setpoints):  # the frame is one pass: set-point channels against its start and the training level
            Z = relative_graph(Z, conditions, ops)
        Z = conditions.transform(Z, ops)
        errors, extra = detector.forward(ops.take(Z, index, axis=0), engine)
        E = _fold_back(errors, emitted, n, ops)
        X = None if extra is None else _fold_back(ops.expand_dims(extra, -1), emitted, n, ops)[:, 0]
        scores = detector.row_scores(E, X, ops)
        return ops.concatenate([ops.zeros((context.history,)), scores]) if context.history else scores

    return scores
