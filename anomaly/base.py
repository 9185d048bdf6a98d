"""The detector contract shared by every model.

A detector is fitted on normal data and then maps any frame of the same channels to a
per-step, per-channel **reconstruction-error vector** (:meth:`Detector.errors`), a per-step
score (:meth:`Detector.score`, higher = more anomalous) and flags (:meth:`Detector.predict`).

The base class does the work every detector shares (input validation, NaN policy, schema,
scaling fitted on normal data, the decision head fitted on the training scores, fingerprint,
persistence). A subclass writes ``_fit(Z)`` and ONE forward computation, ``forward(spans,
engine)``: windows of scaled rows in, per-channel errors of their newest rows out. Batch,
chunked, stream and differentiable scoring all derive from it here, with explicit hooks for
the context a detector needs (:meth:`Detector.scoring_context`).
Constructors only store their arguments (:class:`anomaly.params.Params` gives scikit-learn's
``get_params``/``set_params``, and ``sklearn.base.clone`` works); fitted attributes end in ``_``.
"""

from __future__ import annotations

import copy
import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly import bundle
from anomaly.adaptation import check_tau
from anomaly.conditions import auto_and_declared, fit_conditions, lag_rows, temperature_channels
from anomaly.decisions.rules import fitted_severe_ratio, rules_at
from anomaly.engine import ENGINE_CHOICES, Engine, NumpyEngine
from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.guard import Envelope, Excursion, RelationDrift
from anomaly.head import ScoreHead
from anomaly.noise import NoiseLevels, fit_noise_limits
from anomaly.oscillation import Swings, fit_oscillation_limits
from anomaly.params import Params
from anomaly.passes import ScoringPass, check_smooth
from anomaly.pauses import pass_slices
from anomaly.progress import report_stage
from anomaly.recentring import LevelModel, Recentring, add_followed, recentre_rows, relation_bounds
from anomaly.scaling import FLOORED_SCALINGS, Scaler, fill_missing, resolution, shared_resolution, warn_constant
from anomaly.schema import Schema, check_frame
from anomaly.sensor_checks import SENSOR_CHECK_NAMES
from anomaly.stuck import RunLengths, fit_stuck_limits
from anomaly.twins import TwinGaps, fit_twin_limits
from anomaly.windows import FoldBack, check_holds_a_window, iter_windows, sliding_windows


def store_params(detector, arguments: dict) -> None:
    """Store constructor arguments as same-named attributes (all a constructor may do).

    Call as ``store_params(self, locals())`` first thing in ``__init__``.
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(detector, name, value)


def fingerprint(values: np.ndarray, channels: tuple[str, ...]) -> str:
    """Short SHA-256 of the training values and channel names, stored with the model."""
    digest = hashlib.sha256("\x1f".join(channels).encode())
    digest.update(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def join_arrays(arrays: list[np.ndarray]) -> np.ndarray:
    """The one array itself (no copy), or the concatenation of several along the first axis."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def pad_front(errors: np.ndarray, extra: np.ndarray | None, rows: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Errors (n, c) and extra (n,) or None with ``rows`` leading rows of 0 (rows no span emits)."""
    if not rows:
        return errors, extra
    errors = np.concatenate([np.zeros((rows, errors.shape[1]), np.float32), errors])
    return errors, None if extra is None else np.concatenate([np.zeros(rows, extra.dtype), extra])


@dataclass(frozen=True)
class ScoringContext:
    """What one forward call of a detector reads and produces, in rows.

    Attributes
    ----------
    span : int
        Rows one forward call reads (1: point-wise PCA; ``window``; ``window + 1`` for the
        forecaster).
    emitted : int
        Newest rows of each span that get an error (``window`` for the autoencoders, 1 for
        PCA and the forecaster). The first ``span - emitted`` rows of a series get error 0.
    stride : int
        Rows between the spans of batch scoring (``stride`` or ``window`` for autoencoders).
    history : int
        Rows the input transform looks back before any span (condition channels' change
        horizon, :mod:`anomaly.conditions`); the first ``history`` rows get error 0.
    """

    span: int
    emitted: int
    stride: int
    history: int = 0

    @property
    def warmup(self) -> int:
        """Leading rows of a (transformed) series that no span emits an error for."""
        return self.span - self.emitted



class Detector(Params, ABC):
    """Base class of all detectors. Not used directly.

    Subclass parameters shared by every detector:

    scaling : {"standard", "robust", "minmax", "none"}
        Per-channel scaling fitted on the normal training data.
    nan_policy : {"raise", "ffill", "interpolate"}
        What to do with NaN/inf cells (see :mod:`anomaly.scaling`).
    aggregate : {"mean", "calibrated"}
        How per-channel errors become a score (see :class:`anomaly.head.ScoreHead`).
    conditions : "auto", None or list of str
        Condition channels, modelled by their change over a 10 s horizon instead of their
        level (see :mod:`anomaly.conditions`); ``"auto"`` (default): the channels that are
        slow in the training logs (most of their variance slower than the horizon in at least
        one log, e.g. a warming motor temperature, and slow or white noise around a level in
        each of the others), plus the set-point channels; ``["auto", name, ...]``: auto's
        choice plus those channels; None: none.
    threshold : Threshold or None
        Unfitted threshold rule fitted on normal scores (two logs or more: each log's scores
        from a model of other logs, :meth:`_held_out_outputs`; one log: its training scores,
        the held-out validation part for neural detectors); None means
        :class:`~anomaly.thresholds.QuietLogs` (the larger of the scores' 99th percentile and
        the level at which the alert rules stay quiet on the median training log).
    adapt : int or None
        Baseline adaptation time constant in rows (see :mod:`anomaly.adaptation`): every
        scoring pass (a ``score`` call, a file, a stream) slowly re-levels each channel's
        error, frozen during alarms, so a lasting offset fades out; None (default) for none.
    smooth : int or None
        Score smoothing in rows (see :mod:`anomaly.pauses`): a row's score is the mean of the
        last ``smooth`` raw row scores of its pass; None (default) for none.

    A subclass writes :meth:`_fit`, :meth:`forward` and, when its score is not the head's
    aggregate of the errors, :meth:`row_scores`; window models also override
    :meth:`scoring_context`.

    Fitted attributes (all detectors)
    ---------------------------------
    schema_ : Schema
        Channel names and sampling rate seen in ``fit``.
    scaler_ : Scaler
    head_ : ScoreHead
        Channel aggregation and the fitted threshold rule.
    thresholder_ : Threshold
        The fitted threshold rule (``head_.thresholder_``).
    threshold_ : float
        Its value on the score scale.
    decision_scores_ : ndarray of shape (n_train_steps,)
        Scores of the training rows the threshold was fitted on: held-out scores of each log
        when the detector cross-fits (:meth:`_held_out_outputs`: every detector on two or more logs),
        else in-sample (fitted in this process only; a loaded detector has
        ``train_score_quantiles_``, their median, 90th and 99th percentile and maximum).
    held_out_logs_ : int
        How many training logs the threshold saw scored by a model of other logs (0: the
        threshold was fitted on in-sample scores; fitted in this process only).
    fingerprint_ : str
        Hash of the training data.
    alert_min_duration_ : int or None
        The alert on-delay (rows) a feedback round set (:mod:`anomaly.feedback`); None: the
        default rules' (:func:`~anomaly.decisions.model_rules`).
    severe_ratio_ : float or None
        The alert rules' severe ratio: the default's (10), or more where normal training scores
        spiked higher (:func:`~anomaly.decisions.rules.fitted_severe_ratio`); None (models saved
        before it): the default.
    stuck_limits_ : ndarray of shape (n_channels,)
        Rows a channel may hold one value before it counts as stuck (:mod:`anomaly.stuck`);
        0 for channels never called stuck (models saved before have none).
    twin_of_ : ndarray of shape (n_channels,) of int
        Each channel's twin (:mod:`anomaly.twins`: a second reading of its quantity, a joint's
        commanded and measured position); -1 for none (models saved before: none).
    twin_limits_ : ndarray of shape (n_channels,)
        The gap to its twin (scaled) past which a channel's pair has parted; 0 for channels not
        watched.
    noise_limits_ : ndarray of shape (n_channels,)
        The root mean square of its second difference over 25 rows (scaled) past which a
        channel counts as noisy (:mod:`anomaly.noise`); 0 for channels not watched.
    oscillation_limits_ : ndarray of shape (n_channels,)
        The swings back and forth in 100 rows past which a channel counts as oscillating
        (:mod:`anomaly.oscillation`); 0 for channels not watched (models saved before: none).
    oscillation_bands_ : ndarray of shape (n_channels,)
        The least excursion from a channel's moving level (scaled) that counts towards a swing.
    sensor_scale_ : float
        A row past a sensor check's limit scores at least ``sensor_scale_`` times its largest
        ratio to a limit (the threshold at fit time: a feedback round that raises the threshold
        silences short ones too).
    recentre_rows_ : int
        The windows of re-centring in rows (:mod:`anomaly.recentring`: while a channel the model
        sees at its level has had its median outside the training envelope in every window of a
        pass so far, it is shifted by its offset in the last window), a minute at the training
        rate (at least 20 rows); 0: off
        (:meth:`without_recentring`, and models saved before it).
    level_model_ : LevelModel or None
        The scaled training rows' mean and covariance, from which re-centring estimates a
        channel's offset, and each channel's bound on its distance from the others over a window
        (a channel drifting beyond it inside its envelope is re-centred too); None: models saved
        before it.
    engine_ : Engine
        The inference engine (NumPy, Keras or ONNX Runtime).
    conditions_ : ConditionChannels
        The condition channels and their change horizon (none by default).
    envelope_ : Envelope
        Training range of every channel, for the validity guard (:meth:`check_envelope`).
    """

    #: What scoring a saved model of this class needs besides NumPy (recorded in ``detector.json``).
    RUNTIME = "numpy"
    #: Whether set-point channels read in steps get dead bands (:func:`anomaly.conditions.deadbands`),
    #: condition channels read in steps dead bands on their change (:func:`anomaly.conditions.change_bands`)
    #: and a temperature constant in training the other temperatures' step
    #: (:func:`anomaly.scaling.shared_resolution`). PCA needs them (its T-squared and channel
    #: limits make a flicker in a direction of almost no training variance an alarm); a
    #: reconstruction network's mean squared error bounds a flicker and its threshold learns
    #: them, and without the flickers' errors the threshold of the simulated arm's dense-ae fell
    #: to its motion channels' in-session level: half-degree temperatures raised 48 false alarms
    #: an hour with dead bands, 8 without (``benchmarks/quantised_temperatures.py``).
    STEP_DEAD_BANDS = False
    #: Folds of the cross-fitted threshold (:meth:`_held_out_outputs`): None scores each training
    #: log by a model of all the others (PCA: a fit costs little); a number deals the logs to at
    #: most that many folds in turn and scores each fold by a model of the other folds' logs
    #: (neural detectors: one extra training per fold).
    CROSS_FIT_FOLDS: int | None = None

    @abstractmethod
    def _fit(self, parts: list[np.ndarray], **fit_params) -> None:
        """Learn the model from scaled normal logs, each of shape (n_steps_i, n_channels).

        Windows never cross from one log to the next."""

    @abstractmethod
    def forward(self, spans, engine: Engine):
        """The detector's one forward computation.

        Parameters
        ----------
        spans : array of shape (k, span, n_channels)
            Scaled rows (NumPy, or a Keras tensor on the differentiable path).
        engine : Engine
            Array namespace (``engine.ops``) and networks (``engine.run``).

        Returns
        -------
        errors : array of shape (k, emitted, n_channels)
            Per-channel error of the newest ``emitted`` rows of each span.
        extra : array of shape (k, emitted) or None
            A per-row statistic besides the errors that :meth:`row_scores` uses (PCA's
            T-squared, the VAE-GAN discriminator's doubt), averaged like the errors.
        """

    def row_scores(self, errors, extra, ops=np):
        """Scores (n,) from folded errors (n, c) and extra (n,) or None; default: the head's aggregate."""
        return self.head_.reduce(errors, ops)

    def _threshold_scores(self, scores: np.ndarray) -> np.ndarray:
        """Training scores of one log that the threshold is fitted on; default: all of them."""
        return scores

    def _cross_fit_params(self) -> dict | None:
        """Parameters of the models :meth:`_held_out_outputs` fits, or None (default) to fit the
        threshold on the detector's own training scores."""
        return None

    def _held_out_outputs(self, parts: list[np.ndarray], **fit_params) -> list[tuple[np.ndarray, np.ndarray | None, bool]]:
        """Errors and extra statistic of every training log, from a model fitted on *other* logs
        where there is one.

        With two or more logs long enough to train on (more than the condition channels'
        history) and :meth:`_cross_fit_params` set, the logs are dealt in turn to
        :attr:`CROSS_FIT_FOLDS` folds (None: one log each) and every log is scored by a detector
        of those parameters fitted on the logs of the other folds (the scaler and condition
        channels stay the full fit's): the threshold and the channel calibration then see what a
        new session scores, not what the model has learnt by heart. A log whose other folds are
        too short to fit on, and every log without cross-fitting, keeps its in-sample outputs.

        Parameters
        ----------
        parts : list of ndarray (n_i, c)
            The scaled training logs, as passed on to :meth:`errors_and_extra_scaled`.

        Returns
        -------
        list of (errors (n_i, c), extra (n_i,) or None, held_out bool), one per log
        """
        params = self._cross_fit_params()
        history = self.conditions_.history
        usable = [i for i, Z in enumerate(parts) if len(Z) > history]
        outputs: list = [None] * len(parts)
        if params is not None and len(usable) >= 2:
            folds = len(usable) if self.CROSS_FIT_FOLDS is None else min(self.CROSS_FIT_FOLDS, len(usable))
            fold_of = {i: n % folds for n, i in enumerate(usable)}
            for fold in range(folds):
                report_stage(f"held-out scores: model {fold + 1} of {folds}")
                other = type(self)(**params)
                other.conditions_ = self.conditions_
                try:
                    other._fit([self.conditions_.transform(parts[j]) for j in usable if fold_of[j] != fold], **fit_params)
                except DataError:  # the other folds' logs are too short to fit on alone
                    continue
                other.engine_ = other._make_engine()
                for i in usable:
                    if fold_of[i] == fold:
                        outputs[i] = (*other.errors_and_extra_scaled(parts[i]), True)
        return [out if out is not None else (*self.errors_and_extra_scaled(Z), False) for out, Z in zip(outputs, parts)]

    def _window_context(self) -> ScoringContext:
        """Rows per forward call, rows emitted per call and the batch stride (point-wise: 1, 1, 1)."""
        return ScoringContext(1, 1, 1)

    def scoring_context(self) -> ScoringContext:
        """The detector's :class:`ScoringContext`, with the condition channels' history once fitted."""
        history = self.conditions_.history if hasattr(self, "conditions_") else 0
        return replace(self._window_context(), history=history)

    def networks(self) -> dict:
        """The detector's networks by name (Keras models), as engines run and export them; none here."""
        return {}

    def _make_engine(self) -> Engine:
        """The engine of a freshly fitted detector (array-based detectors: NumPy)."""
        return NumpyEngine()

    # -- shared machinery -------------------------------------------------
    def prepare(self, X: pd.DataFrame, source: str, schema: Schema | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """Checked frame and float32 values (n, c); channels aligned to ``schema`` (default: the fitted one)."""
        if not isinstance(X, pd.DataFrame):
            raise DataError(f"{source}: expected a pandas DataFrame, got {type(X).__name__}")
        schema = schema or getattr(self, "schema_", None)
        if schema is not None:
            X = schema.align(X, source=source)
        X = fill_missing(X, self.nan_policy, source=source)
        return X, check_frame(X, source=source)

    def check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless the detector has been fitted or loaded."""
        if not hasattr(self, "schema_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(normal_frame) first")

    @property
    def thresholder_(self):
        """The fitted threshold rule (held by :attr:`head_`)."""
        try:
            return self.head_.thresholder_
        except AttributeError:
            raise AttributeError("thresholder_") from None

    @property
    def threshold_(self) -> float:
        """The fitted threshold on the score scale."""
        return float(self.thresholder_.threshold_)

    def fit(self, X, y=None, *, source: str = "input", **fit_params) -> Detector:
        """Fit on normal data.

        Parameters
        ----------
        X : pandas.DataFrame of shape (n_steps, n_channels), or a list of them
            Normal operation only; one numeric column per channel. A list holds separate logs
            (sessions, files) with the same channels: scaling and the threshold use all of
            them, windows never cross from one log to the next. A pause inside a log
            (:data:`anomaly.pauses.PAUSE_S`) splits it into two sessions likewise.
        y : ignored
        source : str
            Name used in error messages (e.g. the file path).
        **fit_params
            Passed to the detector's training (neural detectors: ``initial_weights`` and
            ``freeze_encoder`` to warm-start, see :func:`anomaly.transfer.fine_tune`).

        Returns
        -------
        self
        """
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("_"):
                delattr(self, name)  # refit starts from scratch, including the schema check
        check_tau(self.adapt)  # before any training time is spent
        check_smooth(self.smooth)
        frames = list(X) if isinstance(X, (list, tuple)) else [X]
        if not frames:
            raise DataError(f"{source}: no training data (an empty list of logs)")
        first, values = self.prepare(frames[0], source)
        schema = Schema.from_frame(first)
        prepared = [(first.index, values)] + [(X.index, v) for X, v in (self.prepare(f, source, schema) for f in frames[1:])]
        logs = [v[rows] for index, v in prepared for rows in pass_slices(index, schema.sampling_rate)]
        values = join_arrays(logs)
        self.scaler_ = Scaler(self.scaling).fit(values, warn=False)
        parts = [self.scaler_.transform(v) for v in logs]
        lag = lag_rows(schema.sampling_rate)
        self.conditions_ = fit_conditions(self.conditions, schema.channels, parts, lag, self.scaler_.scale_, schema.sampling_rate)
        setpoints = self.conditions_.setpoints
        temperatures = [schema.channels.index(c) for c in temperature_channels(schema.channels)]
        stepped = np.union1d(setpoints, temperatures).astype(np.int64)
        steps = resolution(values[:, stepped])
        constant = None
        if self.STEP_DEAD_BANDS:
            constant = steps == 0
            steps = shared_resolution(steps, np.isin(stepped, temperatures), self.scaler_.scale_[stepped])
        if self.scaler_.floor_at_resolution(stepped, steps, constant):  # a temperature or set point read in steps
            parts = [self.scaler_.transform(v) for v in logs]
            self.conditions_ = self.conditions_.rescaled(self.scaler_.scale_)
        if self.STEP_DEAD_BANDS and self.scaler_.method in FLOORED_SCALINGS:  # scale at the floor: one or two levels
            self.conditions_ = self.conditions_.with_deadband(steps[np.searchsorted(stepped, setpoints)], self.scaler_.scale_)
        if self.STEP_DEAD_BANDS and len(self.conditions_.indices):  # a slow channel read in steps ticks: no change
            self.conditions_ = self.conditions_.with_change_band(values, self.scaler_.scale_)
        warn_constant(values, schema.channels, self.scaler_)
        noise_limits = fit_noise_limits(parts)  # on the scaled sessions, as a pass's rows reach the check
        conditions = self.conditions_
        twin_of, twin_limits = fit_twin_limits(parts, np.concatenate([conditions.indices, conditions.setpoints, conditions.counters]))
        noise_limits[self.conditions_.counters] = 0.0  # a counter's uneven steps are not noise (its float rounding grows with it)
        oscillation_bands, oscillation_limits = fit_oscillation_limits(parts)
        oscillation_limits[self.conditions_.counters] = 0.0
        parts = [self.conditions_.relative(Z) for Z in parts]  # each log (and session after a pause) is a pass
        history = self.conditions_.history
        if all(len(Z) <= history for Z in parts):
            raise DataError(f"{source}: every training log is shorter than the condition channels' change horizon "
                            f"({history} rows)")
        span = self._window_context().span
        scored = [Z for Z in parts if len(Z) >= history + span]  # the logs a span covers (after the horizon)
        if not scored:
            raise DataError(f"{source}: every training log is shorter than one window of {span} rows"
                            + (f" after the condition channels' change horizon ({history} rows)" if history else ""))
        self._fit([self.conditions_.transform(Z) for Z in parts if len(Z) > history], **fit_params)
        self.engine_ = self._make_engine()
        head = ScoreHead(aggregate=self.aggregate, threshold=self.threshold, adapt=self.adapt, smooth=self.smooth)
        self.head_ = head
        outputs = self._held_out_outputs(scored, **fit_params)
        self.held_out_logs_ = sum(held for _, _, held in outputs)

        def kept(values, held):  # a held-out log's rows all count; in-sample ones as the detector says
            return values[history:] if held else self._threshold_scores(values[history:])
        extras = [kept(X, held) for _, X, held in outputs if X is not None]
        head.calibrate(np.concatenate([kept(E, held) for E, _, held in outputs]), np.concatenate(extras) if extras else None)
        scores = [self.scores_of_errors(E, X, head.start(adapt=False))[1] for E, X, _ in outputs]  # a pass per log
        per_log = [kept(s, held) for s, (_, _, held) in zip(scores, outputs)]
        per_log = [s for s in per_log if len(s)]
        head.fit(np.concatenate(per_log), rules_at(schema.sampling_rate), [len(s) for s in per_log])
        self.decision_scores_ = np.concatenate(scores)
        self.envelope_ = Envelope().fit(values, schema.channels, self.conditions_.counters)
        self.fingerprint_ = fingerprint(values, schema.channels)
        self.alert_min_duration_ = None  # the default rules' on-delay until a feedback round sets one (rows)
        self.severe_ratio_ = fitted_severe_ratio(per_log, self.threshold_)
        self.stuck_limits_ = fit_stuck_limits(logs, schema.sampling_rate)
        self.noise_limits_ = noise_limits
        self.twin_of_, self.twin_limits_ = twin_of, twin_limits
        self.oscillation_bands_, self.oscillation_limits_ = oscillation_bands, oscillation_limits
        self.sensor_scale_ = self.threshold_  # a check at its limit scores the training threshold
        self.recentre_rows_ = recentre_rows(schema.sampling_rate)
        self.level_model_ = LevelModel().fit(parts)
        low, high, _ = self._recentring_envelope()
        watched = np.flatnonzero(np.isfinite(low) & np.isfinite(high))
        self.level_model_.relation_bound_ = relation_bounds(self.level_model_, parts, watched, self.recentre_rows_, high - low)
        self.schema_ = schema  # last: its presence marks the detector as fitted
        return self

    # -- the batch path: spans on the stride grid, folded back to rows -------
    def errors_and_scores_scaled(self, Z: np.ndarray, state: ScoringPass | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Errors (n, c) float32 and scores (n,) of scaled rows ``Z`` (n, c), as :meth:`score` computes them.

        Spans start on the stride grid plus one flush with the end; errors of rows covered by
        several spans are averaged; the first ``history + warmup`` rows get error 0. With a
        ``state`` (:meth:`start_pass`), ``Z`` continues that pass (adapted errors, smoothed scores).
        """
        return self.scores_of_errors(*self.errors_and_extra_scaled(Z), state)

    def start_pass(self) -> ScoringPass | None:
        """The state of a new scoring pass (a file, a stream), or None without ``adapt``, ``smooth``,
        set-point channels, sensor checks and re-centring."""
        state, reference = self.head_.start(), self.conditions_.start_reference()
        recentring = self._start_recentring()
        stuck, noise = getattr(self, "stuck_limits_", None), getattr(self, "noise_limits_", None)
        stuck = RunLengths(stuck) if stuck is not None and stuck.any() else None
        noise = NoiseLevels(noise) if noise is not None and noise.any() else None
        twin = getattr(self, "twin_limits_", None)
        twin = TwinGaps(twin, self.twin_of_) if twin is not None and twin.any() else None
        swings = getattr(self, "oscillation_limits_", None)
        swings = Swings(swings, self.oscillation_bands_) if swings is not None and swings.any() else None
        if reference is None and stuck is None and noise is None and twin is None and swings is None and recentring is None:
            return state
        return replace(state or ScoringPass(), reference=reference, stuck=stuck, noise=noise, twin=twin, oscillation=swings,
                       recentring=recentring)

    def _start_recentring(self) -> Recentring | None:
        """A pass's re-centring of the channels the model sees at their level (None: off, or none bounded)."""
        rows = getattr(self, "recentre_rows_", 0)
        if not rows:
            return None
        low, high, median = self._recentring_envelope()
        bounded = np.isfinite(low) & np.isfinite(high)
        model = getattr(self, "level_model_", None)
        return Recentring(low, high, median, rows, model, None if model is None else model.relation_bound_) if bounded.any() else None

    def _recentring_envelope(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each channel's training envelope ``low``, ``high`` and ``median`` (n_channels,) in
        scaled units, ``-inf``/``inf`` for a channel not seen at its level."""
        low, high, median = self.scaler_.transform(np.stack([self.envelope_.low_, self.envelope_.high_, self.envelope_.median_]))
        level = self.level_channels()
        return np.where(level, low, -np.inf), np.where(level, high, np.inf), median

    def without_recentring(self) -> Detector:
        """A shallow copy of this fitted detector that scores a channel outside its training
        envelope at its level (:mod:`anomaly.recentring` off): every row of a run outside it is
        then flagged. ``anomaly fit --no-recentre`` saves such a copy."""
        self.check_fitted()
        plain = copy.copy(self)
        plain.recentre_rows_ = 0
        return plain

    def without_sensor_checks(self, checks=SENSOR_CHECK_NAMES) -> Detector:
        """A shallow copy of this fitted detector whose sensor checks ``checks`` (some of
        ``"stuck"``, ``"noise"``, ``"twin"`` and ``"oscillation"``: stuck, noisy and oscillating
        channels, twins that part, :mod:`anomaly.stuck`, :mod:`anomaly.noise`, :mod:`anomaly.twins`,
        :mod:`anomaly.oscillation`) are off. With all off: the model's own score, which has a
        gradient (:mod:`anomaly.generative.differentiable`) and, in a stream, depends on no row
        before its window. ``anomaly fit --sensor-checks`` saves such a copy."""
        unknown = sorted(set(checks) - set(SENSOR_CHECK_NAMES))
        if unknown:
            raise ConfigError(f"sensor check(s) {unknown} unknown; expected some of {list(SENSOR_CHECK_NAMES)}")
        plain = copy.copy(self)
        for check in checks:
            name = f"{check}_limits_"
            if hasattr(self, name):
                setattr(plain, name, np.zeros_like(getattr(self, name)))
        return plain

    def pass_rows(self, Z: np.ndarray, state: ScoringPass | None, new: int | None = None) -> np.ndarray:
        """Scaled rows (m, c) of the pass of ``state``, the last ``new`` (default: all) of them new,
        as the detector sees them (m, c): the set-point channels as their distance beyond the span
        between the pass's start and their training level
        (:class:`anomaly.conditions.PassReference`). Unchanged without a reference. The new
        rows (all of them on the pass's first call) also go to the pass's sensor checks
        (:class:`anomaly.stuck.RunLengths`, :class:`anomaly.noise.NoiseLevels`)."""
        if state is None:
            return Z
        for check in state.sensor_checks():  # the scaled rows themselves: a frozen reading repeats there
            check.push(Z if new is None or not check.pushed else Z[len(Z) - int(new):])
        if state.recentring is not None:  # the channels at their level; the reference takes the set-point ones
            Z = state.recentring(Z, new)
        return Z if state.reference is None else state.reference(Z, new)

    def scores_of_errors(self, errors: np.ndarray, extra: np.ndarray | None, state: ScoringPass | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Errors (n, c) and scores (n,) of raw errors (n, c) and extra (n,) or None of consecutive rows.

        Without a ``state`` the errors are returned as they are with their row scores; with one
        they continue its pass (:meth:`anomaly.passes.ScoringPass.scores`) and it advances; its
        sensor checks (stuck channels, :mod:`anomaly.stuck`; noisy ones, :mod:`anomaly.noise`)
        then raise the score of a row in which a channel is past a check's limit to at least
        ``sensor_scale_`` times its largest ratio to the limit (other rows keep their scores),
        and the error of such a channel to the row's largest (calibrated) error times its
        ratio, so that it is named first.
        """
        if state is None:
            return errors, self.row_scores(errors, extra)
        errors, scores = state.scores(errors, extra, self.row_scores)
        taken = [ratios for check in state.sensor_checks() if (ratios := check.take(len(scores))) is not None]
        if not taken:  # (n, c) each, >= 1 past a channel's limit; None: no row reaches one
            return errors, scores
        ratios = np.maximum.reduce(taken)
        if not (ratios >= 1.0).any():
            return errors, scores
        past = np.where(ratios >= 1.0, ratios, 0.0).max(axis=1)
        return self.head_.name_first(errors, ratios), np.maximum(scores, self.sensor_scale_ * past)

    def errors_and_extra_scaled(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Errors (n, c) and the per-row extra statistic (n,) or None of scaled rows ``Z`` (n, c)."""
        return self._through_conditions(Z, self._transformed_errors_and_extra, Z.shape[1])

    def _through_conditions(self, Z: np.ndarray, compute, width: int) -> tuple[np.ndarray, np.ndarray | None]:
        """``compute`` (rows after the condition transform -> (n', width) and (n',) or None) on
        scaled rows ``Z`` (n, c), with 0 for the first ``history`` rows the transform drops."""
        history = self.conditions_.history
        if history:
            if len(Z) <= history:  # too short to know whether the detector has an extra statistic
                return np.zeros((len(Z), width), np.float32), np.zeros(len(Z), np.float32)
            return pad_front(*compute(self.conditions_.transform(Z)), history)
        return compute(self.conditions_.transform(Z))  # counters only (or nothing to transform)

    def _transformed_errors_and_extra(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        context = self._window_context()
        n, c = Z.shape
        if context.span == context.emitted == context.stride and n and n % context.span == 0:
            return self._tiled_errors_and_extra(Z, context.span)
        if n < context.span:  # no span covers these rows (a pass shorter than one window): error 0
            return np.zeros((n, c), dtype=np.float32), np.zeros(n, dtype=np.float32)
        warmup = context.warmup
        errors, extra = FoldBack(n - warmup, c), None
        batch = self.engine_.batch_size or n
        for starts, spans in iter_windows(Z, context.span, context.stride, batch):
            E, X = self.forward(np.ascontiguousarray(spans), self.engine_)
            errors.add(starts, E)
            if X is not None:
                extra = extra or FoldBack(n - warmup, 1)
                extra.add(starts, X[..., None])
        X = extra.result()[:, 0] if extra is not None else None
        return pad_front(errors.result(), X, warmup)

    def _tiled_errors_and_extra(self, Z: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Spans that tile the rows exactly once (point-wise PCA, back-to-back windows): no fold-back needed."""
        batch = self.engine_.batch_size or len(Z) // span
        outputs = [self.forward(np.ascontiguousarray(spans), self.engine_)
                   for _, spans in iter_windows(Z, span, span, batch)]
        X = [x.reshape(-1) for _, x in outputs if x is not None]
        return join_arrays([e.reshape(-1, Z.shape[1]) for e, _ in outputs]), (join_arrays(X) if X else None)

    def _errors_and_scores(self, X: pd.DataFrame, source: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        self.check_fitted()
        X, values = self.prepare(X, source)
        check_holds_a_window(len(values), self._window_context().span, source)
        Z, outputs = self.scaler_.transform(values), []
        for rows in pass_slices(X.index, self.schema_.sampling_rate):  # a pause starts a new pass
            state = self.start_pass()
            outputs.append(self.errors_and_scores_scaled(self.pass_rows(Z[rows], state), state))
        return X, join_arrays([E for E, _ in outputs]), join_arrays([scores for _, scores in outputs])

    def check_envelope(self, X: pd.DataFrame, *, source: str = "input") -> list[Excursion]:
        """Channels whose median over ``X`` (n_steps, n_channels) lies outside the training
        envelope, then channels modelled at their level (:meth:`level_channels`) that spend at
        least :data:`anomaly.guard.SHARE_OUTSIDE` of the rows outside it.

        Returns
        -------
        list of Excursion
            Empty when the run is inside the envelope (see :mod:`anomaly.guard`; describe it
            with :func:`anomaly.guard.describe`).
        """
        self.check_fitted()
        _, values = self.prepare(X, source)
        return self.envelope_.check(values, self.level_channels())

    def relation_drifts(self, X: pd.DataFrame, *, source: str = "input") -> list[RelationDrift]:
        """The channels re-centring follows by their relation in ``X`` (n_steps, n_channels): those
        that drifted from what the other channels predict while inside their range
        (:class:`anomaly.recentring.Recentring`), each with the row from which it was first
        shifted, the rows scored around a shifted level and its largest shift in its own units.
        Empty when re-centring is off. Costs a pass of re-centring over ``X`` (no scoring).

        Returns
        -------
        list of RelationDrift
            In the order they were first followed (describe them with :func:`anomaly.guard.relation_note`).
        """
        self.check_fitted()
        if self._start_recentring() is None:
            return []
        X, values = self.prepare(X, source)
        Z, found = self.scaler_.transform(values), {}
        for rows in pass_slices(X.index, self.schema_.sampling_rate):  # a pause starts a new pass
            recentring = self._start_recentring()
            recentring(Z[rows])
            add_followed(found, recentring, rows.stop - rows.start, self.schema_.channels, self.scaler_.scale_,
                         lambda f, first=rows.start: X.index[first + f.row])
        return list(found.values())

    def level_channels(self) -> np.ndarray:
        """Bool (n_channels,): the channels the model sees at their level (not condition or set-point channels)."""
        level = np.ones(self.conditions_.n_channels, dtype=bool)
        level[self.conditions_.indices] = False
        level[self.conditions_.setpoints] = False
        return level

    def declared_conditions(self) -> list[str]:
        """The condition channels declared beside (or instead of) ``"auto"`` (``--condition
        auto,battery_v`` -> ``["battery_v"]``): a refit the guard suggests keeps them."""
        return auto_and_declared(self.conditions)[1]

    def setpoint_channels(self) -> np.ndarray:
        """Bool (n_channels,): the set-point channels (normal between their level at the start of
        each pass and their training level; :mod:`anomaly.conditions`) that are not condition channels."""
        setpoint = np.zeros(self.conditions_.n_channels, dtype=bool)
        setpoint[self.conditions_.setpoints] = True
        setpoint[self.conditions_.indices] = False
        return setpoint

    def errors(self, X: pd.DataFrame, *, source: str = "input") -> pd.DataFrame:
        """Per-step, per-channel reconstruction error.

        Parameters
        ----------
        X : pandas.DataFrame of shape (n_steps, n_channels)
            Channels are matched to the fitted schema by name.

        Returns
        -------
        pandas.DataFrame of shape (n_steps, n_channels), float32
            Aligned to ``X.index``; columns in schema order. Units: squared error in scaled units.
        """
        X, E, _ = self._errors_and_scores(X, source)
        return pd.DataFrame(E, index=X.index, columns=list(self.schema_.channels))

    def score(self, X: pd.DataFrame, *, source: str = "input") -> pd.Series:
        """Anomaly score per step, shape (n_steps,), higher = more anomalous, aligned to ``X.index``.

        ``X`` is one scoring pass, or one per session where its timestamps pause
        (:mod:`anomaly.pauses`)."""
        X, _, scores = self._errors_and_scores(X, source)
        return pd.Series(scores, index=X.index, name="score")

    def predict(self, X: pd.DataFrame, *, source: str = "input") -> pd.Series:
        """Boolean flag per step, shape (n_steps,): score above the fitted threshold."""
        scores = self.score(X, source=source)
        return pd.Series(self._flags(scores.index, scores.to_numpy()), index=scores.index, name="flag")

    def _flags(self, index: pd.Index, scores: np.ndarray) -> np.ndarray:
        """Flags (n,) of the scores (n,) of rows at ``index``, the threshold rule applied to each
        scoring pass on its own (a rule with state, ``Dynamic``'s EWMA, restarts at a pause)."""
        passes = pass_slices(index, self.schema_.sampling_rate)
        if len(passes) == 1:
            return self.head_.flags(scores)
        return np.concatenate([self.head_.flags(scores[rows]) for rows in passes])

    def evaluate_frame(self, X: pd.DataFrame, *, source: str = "input") -> tuple[pd.DataFrame, pd.Series, pd.Series]:
        """Errors, scores and flags of one frame in a single pass (what the CLI writes).

        Returns
        -------
        errors : DataFrame (n_steps, n_channels); scores : Series (n_steps,); flags : Series[bool] (n_steps,)
        """
        X, E, scores = self._errors_and_scores(X, source)
        errors = pd.DataFrame(E, index=X.index, columns=list(self.schema_.channels))
        return errors, pd.Series(scores, index=X.index, name="score"), pd.Series(
            self._flags(X.index, scores), index=X.index, name="flag"
        )

    # -- the stream path: scores that use no row after their hop group -------------
    def _chunk_errors(self, chunks: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Errors (k * n, c) and extra (k * n,) or None of the newest ``n`` rows of each scaled,
        transformed chunk (k, span - 1 + n, c), each from its own chunk only, in row order."""
        context = self._window_context()
        span, k, c = context.span, chunks.shape[0], chunks.shape[2]
        if n <= context.emitted:
            errors, extra = self.forward(np.ascontiguousarray(chunks[:, -span:]), self.engine_)
            errors, extra = errors[:, -n:], None if extra is None else extra[:, -n:]
        elif context.emitted == 1:  # one span per newest row
            spans = np.lib.stride_tricks.sliding_window_view(chunks[:, -(span - 1 + n) :], span, axis=1)
            spans = np.ascontiguousarray(spans.transpose(0, 1, 3, 2)).reshape(k * n, span, c)
            errors, extra = self.forward(spans, self.engine_)
        else:
            raise ConfigError(f"hop={n} must be <= window={context.emitted}, or rows older than the last window get no error")
        return np.asarray(errors).reshape(k * n, c), None if extra is None else np.asarray(extra).reshape(k * n)

    def set_inference_threads(self, threads: int) -> None:
        """Threads of the inference engine (ONNX Runtime's intra-op threads); no effect on the others."""
        self.check_fitted()
        self.engine_.set_threads(threads)

    def stream_rows(self, hop: int = 1) -> int:
        """Rows a streaming step reads to score its ``hop`` newest rows: ``span - 1 + hop``.

        ``span`` is 1 for point-wise detectors (PCA), ``window`` for window autoencoders,
        ``window + 1`` for the forecaster.
        """
        if isinstance(hop, bool) or not isinstance(hop, (int, np.integer)) or hop < 1:
            raise ConfigError(f"hop={hop!r} must be an integer >= 1")
        context = self.scoring_context()
        return context.history + context.span - 1 + int(hop)

    def score_newest(self, values: np.ndarray, n: int = 1, state: ScoringPass | None = None, *,
                     groups: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Errors and scores of the newest ``n`` rows, computed from ``values`` alone (causal);
        with ``groups``, of the newest ``groups`` hop groups of ``n`` rows each.

        Parameters
        ----------
        values : ndarray of shape (m, n_channels)
            Raw (unscaled) finite rows in schema order, oldest first, with
            ``m >= stream_rows(n) + (groups - 1) * n``; only the last that many rows are read.
        n : int, default=1
            Rows to score (a stream's hop). Window autoencoders need ``n <= window``.
        groups : int, default=1
            Consecutive groups of ``n`` rows scored in one call, each from the ``stream_rows(n)``
            rows that end at its last row, as separate calls would score them (to float
            rounding): a stream that fell behind catches up in one call.
        state : ScoringPass or None
            The stream's pass (:meth:`start_pass`), which adaptation, smoothing and set-point
            channels need: it advances by ``n`` rows, and its first call takes every row of
            ``values`` as the pass's first rows (the set-point channels' reference). None scores
            the last ``stream_rows(n)`` rows as a pass of their own.

        Returns
        -------
        errors : ndarray of shape (groups * n, n_channels), float32
        scores : ndarray of shape (groups * n,)
            Equal (to float rounding) to the last ``n`` values of ``score`` on a frame of the
            last ``stream_rows(n)`` rows (window autoencoders: of the last ``window`` rows),
            group by group.
        """
        self.check_fitted()
        span = self.stream_rows(n)
        rows = span + (groups - 1) * n
        if values.ndim != 2 or values.shape[0] < rows or values.shape[1] != len(self.schema_.channels):
            raise DataError(f"expected at least {rows} rows x {len(self.schema_.channels)} channels, got shape {values.shape}")
        if state is None:
            values, state = values[-rows:], self.start_pass()
        Z = self.conditions_.transform(self.pass_rows(self.scaler_.transform(values), state, n * groups)[-rows:])
        for check in [] if state is None else state.sensor_checks():
            check.skip_to(check.pushed - n * groups)  # the newest groups are scored
        # chunk g ends at group g's last row (the transform dropped the history rows)
        chunks = Z[None] if groups == 1 else np.ascontiguousarray(sliding_windows(Z, span - self.conditions_.history, n))
        return self.scores_of_errors(*self._chunk_errors(chunks, n), state)

    def score_stream(self, X: pd.DataFrame, *, hop: int = 1, source: str = "input") -> pd.Series:
        """The scores a stream with this ``hop`` emits for ``X``, computed in one batch pass.

        The stream skips the first ``span - 1`` rows (warm-up), then scores rows in groups of
        ``hop`` once a group's last row has arrived, each group from the ``stream_rows(hop)``
        rows ending there (:meth:`score_newest`). With ``hop=1`` a row's score uses no later
        row. PCA scores each row alone, so this equals :meth:`score`. After a pause
        (:mod:`anomaly.pauses`) the stream starts a new pass, warm-up included.

        Returns
        -------
        pandas.Series of shape (n_steps,)
            Aligned to ``X.index``; NaN for the warm-up rows and the rows of an incomplete
            last group, which a stream does not score.
        """
        self.check_fitted()
        X, values = self.prepare(X, source)
        Z, scores = self.scaler_.transform(values), np.full(len(values), np.nan)
        for rows in pass_slices(X.index, self.schema_.sampling_rate):  # after a pause the stream warms up again
            scores[rows] = self._stream_scores_of_pass(Z[rows], hop)
        return pd.Series(scores, index=X.index, name="score")

    def _stream_scores_of_pass(self, Z: np.ndarray, hop: int) -> np.ndarray:
        """Scores (n,) a stream emits for the scaled rows (n, c) of one pass, NaN where it emits none."""
        rows, history = self.stream_rows(hop), self.conditions_.history
        state = self.start_pass()
        Z = self.pass_rows(Z, state)
        scores = np.full(len(Z), np.nan)
        if len(Z) >= rows:
            Z = self.conditions_.transform(Z)  # row-local, so transforming once equals per chunk
            chunks = sliding_windows(Z, rows - history, hop)  # chunk j ends at the last row of group j
            first, step = rows - hop, self.engine_.batch_size or len(chunks)
            for check in [] if state is None else state.sensor_checks():
                check.skip_to(first)  # the warm-up rows are never scored
            for lo in range(0, len(chunks), step):
                _, part = self.scores_of_errors(*self._chunk_errors(np.ascontiguousarray(chunks[lo : lo + step]), hop), state)
                scores[first + lo * hop : first + lo * hop + len(part)] = part
        return scores

    # -- persistence --------------------------------------------------------
    @abstractmethod
    def _save_artifacts(self, directory: Path) -> None:
        """Write the learnt model (arrays or a Keras file) into ``directory``."""

    @abstractmethod
    def _load_artifacts(self, directory: Path) -> None:
        """Inverse of :meth:`_save_artifacts`."""

    def _load_engine(self, directory: Path, engine: str) -> Engine:
        """The engine of a loaded detector; array-based detectors have only NumPy."""
        if engine not in ENGINE_CHOICES:
            raise ConfigError(f"engine={engine!r} is not one of {list(ENGINE_CHOICES)}")
        if engine == "onnx":
            raise ConfigError(f"{type(self).__name__} has no ONNX engine (it is not a neural detector)")
        return NumpyEngine()

    def save(self, path: str | Path) -> Path:
        """Save the fitted detector as a directory (JSON, NumPy arrays and a Keras file; nothing executable); see :func:`anomaly.bundle.save`."""
        return bundle.save(self, path)
