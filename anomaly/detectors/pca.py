"""PCA reconstruction detector with Hotelling's T-squared and the Q (SPE) statistic."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anomaly.base import Detector, ScoringContext, join_arrays, pad_front, store_params
from anomaly.bundle import load_arrays, save_arrays
from anomaly.engine import Engine
from anomaly.errors import ConfigError, DataError, ModelFileError
from anomaly.validation import check_number
from anomaly.windows import sliding_windows

STATISTICS = ("spe", "t2", "combined")
_ARRAYS = ("mean", "components", "explained_variance", "limits")
#: Saved by models fitted with a channel limit (``statistic="combined"``); older models have none.
_CHANNEL_LIMITS = "channel_limits"
#: Floor of a channel limit: a channel whose training errors are all 0 (it never moved) has this one.
_FLOOR = 1e-12
#: Fewest training rows at any channel count: the 99th-percentile limits and threshold rank
#: the training rows (from 3 rows the threshold came out exactly 1, the top row's own score).
MIN_TRAINING_ROWS = 50


def min_training_rows(n_channels: int) -> int:
    """Fewest training rows PCA accepts for ``n_channels`` channels: ``max(MIN_TRAINING_ROWS,
    2 * n_channels)``, so that the covariance is estimated from twice as many rows as it has
    dimensions."""
    return max(MIN_TRAINING_ROWS, 2 * n_channels)


class PCADetector(Detector):
    """Principal-component reconstruction of each time step.

    Two statistics per step: the Q statistic (SPE), the squared residual after projection on
    the principal subspace, and Hotelling's T-squared, the distance inside the subspace. The
    per-channel error is each channel's share of the statistic(s) the score uses, so that the
    channels named for an alarm are the ones behind it:

    * ``"spe"``: the channel's squared residual (the row sum is SPE);
    * ``"t2"``: the channel's reconstruction-based contribution to T-squared (Alcala and Qin,
      2009), ``(D x)_j**2 / D_jj`` with ``D = P diag(1 / variance) P^T``: how much T-squared
      falls when channel ``j`` alone is reconstructed;
    * ``"combined"``: the sum of both, each divided by its statistic's training 99th
      percentile (``limits_``). A fault inside the kept subspace (a weakly correlated channel
      is often its own component) shows only in T-squared; with squared residuals alone its
      channel was never named: on the simulated arm the overheating joint's temperature was
      in none of the top channels of its alarms (HitRate@150 % 0.00, all faults 0.23), with
      both contributions 0.97 (all faults 0.46; SMD and ASD unchanged).

    Fitted on (scaled) normal data: at least :func:`min_training_rows` rows (fewer is a
    :class:`~anomaly.errors.DataError`).

    Parameters
    ----------
    n_components : int or float, default=0.95
        Number of components, or the fraction of variance to keep when in (0, 1). Always
        capped at ``n_channels - 1``: keeping every component would make the residual pure
        rounding noise (a pitfall measured on SKAB).
    statistic : {"spe", "t2", "combined"}, default="combined"
        What :meth:`score` returns: the mean squared residual (SPE / n_channels), T-squared,
        or the larger of SPE and T-squared, each divided by its 99th percentile on the
        training data (the logical OR of two control limits, as one score), and of the
        channel limits (``channel_limit``). SPE alone misses
        faults inside the kept subspace: a weakly correlated channel often becomes its own
        component, and its fault then shows only in T-squared. For ``"t2"`` and
        ``"combined"`` the score is computed from the statistics, not from the per-channel
        errors (which attribute it, see above).
    channel_limit : float or None, default=99.99
        ``"combined"`` only: a third control limit per channel. Each channel's error (its
        share of SPE and T-squared, below) is divided by its own ``channel_limit``-th
        percentile on the training data, and the score is at least the largest of these
        ratios. SPE and T-squared sum over all channels, so a fault in one channel must
        outgrow every channel's normal error before they see it; a channel limit sees it once
        it outgrows that channel's own. On the simulated arm a slipping gripper's holding
        current (55 % of normal) or a drifting encoder stayed below the SPE limit; with channel
        limits (and the default threshold) their event recall over the unseen conditions rose
        from 0.38 / 0.67 to 0.62 / 0.88, SMD's point F1 from 0.38 to 0.45 (AUC-PR 0.61 -> 0.64)
        (``benchmarks/conditions.py``). The 99.99th percentile, not the 99.9th: at the 99.9th a
        heavier payload (normal) raised 24 false alarms an hour instead of 4. None: SPE and
        T-squared alone (models saved before this parameter load that way).
    changes : int, default=0
        Rows of change each row also carries (dynamic PCA, Ku et al. 1995): with ``changes=N``
        a row's features are its channels, then, for each channel modelled at its level (not a
        condition or set-point channel, not a counter: they keep their own transform), its
        differences from each of the ``N`` rows before it. A fault in how channels move
        together in time (one that stops lagging another, a rhythm that changes) is invisible
        to rows taken one at a time. Each channel's error is its level's plus its changes'
        (shape ``(n, n_channels)`` as always); the first ``N`` rows of each pass score 0.
        Measured (``benchmarks/changes.py``): ASD F1 / AUC-PR 0.255 / 0.248 -> 0.362 / 0.400 at
        ``N=4`` (SMD 0.464 / 0.648 -> 0.463 / 0.665), but on the 100 Hz simulated arm the
        heavier payload's false alarms rose from 4 to 24 an hour (its currents change faster:
        normal) and a UR-style cobot log (125 Hz) missed its friction fault, so the default
        stays 0; on a 10 Hz conveyor drive it took false alarms from 1.0-2.6 to 1.0 an hour,
        every fault found: for metrics logged a few times a second or slower. Scoring costs
        about 3x (28 channels, ``N=4``).
    scaling : {"standard", "robust", "minmax", "none"}, default="standard"
    nan_policy : {"raise", "ffill", "interpolate"}, default="raise"
    threshold : Threshold or None, default=None
        Rule fitted on training scores; None means :class:`~anomaly.thresholds.QuietLogs`. Fitted on two or more
        logs, the scores are held out: each log scored by a PCA of the others (same number
        of components), so the rule sees what a new session scores. On ALFA's 9 normal flights
        the in-sample 99th percentile flagged 5.9 % of the faulty flights' normal rows before
        their onsets, the held-out one 0.2 %. A single log is scored in-sample.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        ``n_features`` is ``n_channels``, plus ``changes x len(changing_)`` with changes.
    components_ : ndarray of shape (n_components_, n_features)
    explained_variance_ : ndarray of shape (n_components_,)
    n_components_ : int
    changing_ : ndarray of int
        Channels that carry their changes (empty with ``changes=0``).
    fold_ : ndarray of shape (n_features, n_channels)
        0/1: which channel each feature's error belongs to (derived, not saved).
    limits_ : ndarray of shape (2,)
        99th percentiles of SPE and T-squared on the training data (for ``"combined"``).
    channel_limits_ : ndarray of shape (n_features,) or None
        Each feature's ``channel_limit``-th percentile of its error on the training data (for a
        set-point channel with a dead band, at least the error of a move of one scaled unit in
        it alone) (``"combined"`` with a ``channel_limit``; None otherwise).
    t2_map_ : ndarray of shape (n_features, n_features)
        ``D = P diag(1 / explained_variance_) P^T`` (T-squared is ``x^T D x``) with column ``j``
        divided by ``sqrt(D_jj)``: the channels' T-squared contributions of a centred row ``x``
        are ``(x @ t2_map_)**2`` (derived from the components, not saved).
    Plus the attributes of :class:`anomaly.base.Detector`.

    Examples
    --------
    >>> from datasets.robot_arm import simulate
    >>> det = PCADetector().fit(simulate(60, seed=0).frame)
    >>> det.errors(simulate(60, seed=1).frame).shape
    (6000, 28)
    """

    STEP_DEAD_BANDS = True

    def __init__(self, n_components=0.95, *, statistic="combined", channel_limit=99.99, changes=0, scaling="standard",
                 nan_policy="raise", threshold=None, aggregate="mean", conditions="auto", adapt=None, smooth=None):
        store_params(self, locals())

    def _window_context(self) -> ScoringContext:
        """Spans of ``changes + 1`` rows (the row and the rows its changes are taken from), one error
        each; single rows once fitted with no channel to take changes of (all condition channels)."""
        return ScoringContext(self._lookback() + 1, 1, 1)

    def _lookback(self) -> int:
        """Rows before each row that its features read: ``changes``, or 0 when the fitted condition
        channels leave no channel to take changes of (``changing_`` once fitted: a stream asks
        on every step)."""
        changing = getattr(self, "changing_", None)
        if changing is None and hasattr(self, "conditions_"):  # conditions fitted, the model not yet
            changing = self.changing_channels()
        if changing is not None and not len(changing):
            return 0
        return self._changes()

    def _changes(self) -> int:
        changes = self.changes
        if isinstance(changes, bool) or not isinstance(changes, (int, np.integer)) or changes < 0:
            raise ConfigError(f"changes={changes!r} must be an int >= 0")
        return int(changes)

    def changing_channels(self) -> np.ndarray:
        """Channels (positions) that carry their changes as features: every channel modelled at its
        level (not a condition or set-point channel, not a counter); empty with ``changes=0``."""
        if not self._changes():
            return np.empty(0, dtype=np.int64)
        c = self.conditions_
        return np.setdiff1d(np.arange(c.n_channels), np.concatenate([c.indices, c.setpoints, c.counters]))

    def _features(self, spans, ops):
        """Feature rows (k, n_features) of spans (k, changes + 1, c): the newest row, then for each
        earlier row ``i`` of the span its difference from the newest in the changing channels."""
        newest = spans[:, -1, :]
        changing = self.changing_
        if not len(changing):
            return newest
        earlier = ops.take(spans[:, :-1, :], changing, axis=2)  # (k, changes, f)
        moves = ops.expand_dims(ops.take(newest, changing, axis=1), 1) - earlier
        return ops.concatenate([newest, ops.reshape(moves, (-1, moves.shape[1] * moves.shape[2]))], axis=1)

    def _fold(self, errors, ops):
        """Per-channel errors (k, c) of per-feature errors (k, n_features): a channel's error is its
        level's plus its changes'."""
        if not len(self.changing_):
            return errors
        return ops.matmul(errors, self.fold_)

    def _set_changes(self) -> None:
        """``changing_`` and ``fold_`` (n_features, c), from the fitted condition channels."""
        self.changing_ = self.changing_channels()
        c, f = self.conditions_.n_channels, len(self.changing_)
        fold = np.zeros((c + self._changes() * f, c), dtype=np.float32)
        fold[np.arange(c), np.arange(c)] = 1.0
        fold[c + np.arange(self._changes() * f), np.tile(self.changing_, self._changes())] = 1.0
        self.fold_ = fold

    def _feature_rows(self, Z: np.ndarray) -> np.ndarray:
        """Feature rows (n - changes, n_features) of the transformed scaled rows ``Z`` (n, c) of one pass."""
        span = self._lookback() + 1
        return self._features(sliding_windows(Z, span), np) if span > 1 else Z

    def _cross_fit_params(self) -> dict:
        """Cross-fitted threshold: each training log scored by a PCA of the others, with this
        fit's number of components (so T-squared counts the same dimensions)."""
        return dict(self.get_params(deep=False), n_components=self.n_components_)

    def _choose_components(self, variance: np.ndarray) -> int:
        n_channels = variance.shape[0]
        cap = max(1, n_channels - 1)
        k = self.n_components
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1:
            return int(min(k, cap))
        if isinstance(k, float) and 0.0 < k < 1.0:
            ratio = np.cumsum(variance) / max(variance.sum(), np.finfo(float).tiny)
            return int(min(np.searchsorted(ratio, k) + 1, cap))
        raise ConfigError(f"n_components={k!r} must be an int >= 1 or a float in (0, 1)")

    def _fit(self, parts: list[np.ndarray]) -> None:
        self._set_changes()
        span = self._lookback() + 1
        Z = join_arrays([self._feature_rows(Z) for Z in parts if len(Z) >= span])  # changes never cross logs
        if self.statistic not in STATISTICS:
            raise ConfigError(f"statistic={self.statistic!r} is not one of {list(STATISTICS)}")
        if self.channel_limit is not None:
            check_number("channel_limit", self.channel_limit, low=0.0, high=100.0, low_open=True)
        n, c = Z.shape  # c: features (the channels, then their changes)
        if n < min_training_rows(c):
            raise DataError(f"PCA needs at least {min_training_rows(c)} training rows for {c} channels "
                            f"(max({MIN_TRAINING_ROWS}, 2 x channels)), got {n}")
        x = Z.astype(np.float64)
        mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        variance = s**2 / max(len(x) - 1, 1)
        k = self._choose_components(variance)
        self.n_components_ = k
        self.mean_ = mean.astype(np.float32)
        self.components_ = vt[:k].astype(np.float32)
        self.explained_variance_ = np.maximum(variance[:k], 1e-12).astype(np.float32)
        self._set_t2_map()
        centred, residual, t2 = self._parts(Z, np)
        self.limits_ = np.maximum(np.percentile([residual.sum(axis=1), t2], 99.0, axis=1), 1e-12).astype(np.float32)
        self.channel_limits_ = None
        if self.statistic == "combined" and self.channel_limit is not None:
            errors = self._combined_errors(centred, residual, np)
            limits = np.percentile(errors, self.channel_limit, axis=0)
            unit = self._unit_errors()
            banded = self.conditions_.setpoints[self.conditions_.deadband > 0]
            limits[banded] = np.maximum(limits[banded], unit[banded])
            ticking = self.conditions_.change_band > 0  # as set points: a change half a step past the band
            changed = self.conditions_.indices[ticking]
            limits[changed] = np.maximum(limits[changed], unit[changed] * (self.conditions_.change_band[ticking] / 2.0) ** 2)
            self.channel_limits_ = np.maximum(limits, _FLOOR).astype(np.float32)

    def _unit_errors(self) -> np.ndarray:
        """Each channel's combined error (c,) of a move of one scaled unit in it alone (half a
        step for a set-point channel read in steps): the floor of the channel limit of a
        set-point channel with a dead band (:func:`anomaly.conditions.deadbands`). Within its
        band it is 0 in nearly every training row, so its 99.99th percentile is 0 and any move
        past the band, however small, outgrew it: on the simulated arm with its temperatures
        read in half degrees an ambient drift then raised 60 alarms an hour, blamed on the
        motion channels. A condition channel with a change band (:func:`anomaly.conditions.change_bands`)
        has the error of a change half a step past its band as its floor (``unit x (band / 2)**2``):
        its banded change is 0 in training, so any float residue outgrew a percentile of zeros.
        Other channels keep their percentile: a server metric constant in training whose first
        change is its fault (ASD omi-4: F1 0.20, 0.15 with the floor)."""
        n_features = self.mean_.shape[0]
        unit = np.eye(n_features, dtype=np.float32)  # a move in one feature alone (a lasting move: no change)
        centred, residual, _ = self._parts(unit + self.mean_, np)
        return np.diagonal(self._combined_errors(centred, residual, np))

    def _set_t2_map(self) -> None:
        """The map of T-squared contributions, ``D / sqrt(diag D)`` column by column; 0 for a
        channel with no loading on the kept components (``diag D`` below 1e-9 of the largest):
        reconstructing it alone changes T-squared by nothing, and dividing by the square root of
        a float residue (1e-16) gave it contributions of other channels' motion 1e6 times over. A
        temperature whose change is 0 in training (a change band) then had a channel limit set
        by that noise, 10 times the error of its heating at 1 degC a minute, on the UR-style log."""
        components = self.components_.astype(np.float64)
        matrix = (components.T / self.explained_variance_.astype(np.float64)) @ components
        diagonal = np.diagonal(matrix)
        inside = diagonal > 1e-9 * diagonal.max()
        self.t2_map_ = np.where(inside[None, :], matrix / np.sqrt(np.where(inside, diagonal, 1.0)), 0.0).astype(np.float32)

    def _parts(self, rows, ops):
        """Centred rows (n, c), squared residual (n, c) and T-squared (n,) of rows (n, c)."""
        centred = rows - self.mean_
        latent = ops.matmul(centred, ops.transpose(self.components_))
        residual = ops.square(centred - ops.matmul(latent, self.components_))
        t2 = ops.einsum("ij,ij->i", latent, latent / self.explained_variance_)
        return centred, residual, t2

    def forward(self, spans, engine: Engine):
        """Per-channel errors (k, 1, c) and the statistic (k, 1) of single rows (k, 1, c): the
        squared residual and T-squared (``"spe"``), the T-squared contributions and T-squared
        (``"t2"``), or both contributions over their limits and the combined score."""
        ops = engine.ops
        centred, residual, t2 = self._parts(self._features(spans, ops), ops)
        if self.statistic == "spe":
            errors, extra = residual, t2
        elif self.statistic == "t2":
            errors, extra = ops.square(ops.matmul(centred, self.t2_map_)), t2
        else:
            errors = self._combined_errors(centred, residual, ops)
            extra = ops.maximum(ops.sum(residual, axis=-1) / float(self.limits_[0]), t2 / float(self.limits_[1]))
            if self.channel_limits_ is not None:
                extra = ops.maximum(extra, ops.max(errors / self.channel_limits_, axis=-1))
                errors = self._name_unprecedented(errors, ops)
        return ops.expand_dims(self._fold(errors, ops), 1), ops.expand_dims(extra, 1)

    def _name_unprecedented(self, errors, ops):
        """Errors (n, c) with each channel that never moved in training (its channel limit at the
        floor: a protective-stop flag, a mode that stayed off) and moves now raised to twice its
        row's largest error where it is not that already, so that it is named first: its move is
        what the score (its ratio to that floor, 1e11 and more) says, while its own error is small
        beside a busy channel's (a cobot's stop flag rising with a current fault was not among the
        three channels named). No benchmark data set changes by more than 0.001 HitRate (ASD
        omi-4, omi-6)."""
        still = self.channel_limits_ <= _FLOOR
        if not still.any():
            return errors
        largest = ops.max(errors, axis=-1, keepdims=True)
        behind = ops.logical_and(ops.logical_and(errors / self.channel_limits_ >= 1.0, still), errors < largest)
        return ops.where(behind, 2.0 * largest, errors)

    def _combined_errors(self, centred, residual, ops):
        """Per-channel errors (n, c) of ``"combined"`` from centred rows and squared residuals
        (n, c): squared residual and T-squared contribution, each over its statistic's limit."""
        return residual / float(self.limits_[0]) + ops.square(ops.matmul(centred, self.t2_map_)) / float(self.limits_[1])

    def row_scores(self, errors, extra, ops=np):
        if self.statistic == "spe":
            return self.head_.reduce(errors, ops)
        return extra  # T-squared, or the combined score forward computed from both statistics

    def _statistics(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SPE (Q) (n, 1) and Hotelling T-squared (n,) per step of transformed scaled rows ``Z`` (n, c)
        (0 for the first ``changes`` rows)."""
        warmup = self._lookback()
        if len(Z) <= warmup:
            return np.zeros((len(Z), 1), np.float32), np.zeros(len(Z), np.float32)
        _, residual, t2 = self._parts(self._feature_rows(Z), np)
        return pad_front(residual.sum(axis=1, keepdims=True), t2, warmup)

    def t_squared(self, X) -> np.ndarray:
        """Hotelling's T-squared per step, shape (n_steps,), for a frame of the fitted channels
        (the frame is one pass, as :meth:`score` sees it before adaptation and smoothing: the
        condition channels' first ``lag`` rows are 0)."""
        return self._statistics_of(X)[1]

    def spe(self, X) -> np.ndarray:
        """Q statistic (squared prediction error) per step, shape (n_steps,); as :meth:`t_squared`."""
        return self._statistics_of(X)[0]

    def _statistics_of(self, X) -> tuple[np.ndarray, np.ndarray]:
        self.check_fitted()
        _, values = self.prepare(X, "input")
        spe, t2 = self._through_conditions(self.conditions_.relative(self.scaler_.transform(values)), self._statistics, 1)
        return spe[:, 0], t2

    def _save_artifacts(self, directory: Path) -> None:
        arrays = {name: getattr(self, name + "_") for name in _ARRAYS}
        if self.channel_limits_ is not None:
            arrays[_CHANNEL_LIMITS] = self.channel_limits_
        save_arrays(directory, arrays)

    def _load_artifacts(self, directory: Path) -> None:
        arrays = {name: value.astype(np.float32) for name, value in load_arrays(directory, _ARRAYS, optional=(_CHANNEL_LIMITS,)).items()}
        self.channel_limits_ = arrays.pop(_CHANNEL_LIMITS, None)
        for name, value in arrays.items():
            setattr(self, name + "_", value)
        if self.channel_limits_ is None:
            self.channel_limit = None  # saved before channel limits (or without them): scored as it was
        elif self.channel_limits_.shape != self.mean_.shape:
            raise ModelFileError(f"{directory}: channel limits of shape {self.channel_limits_.shape} for {self.mean_.shape[0]} channels")
        self.n_components_ = int(self.components_.shape[0])
        self._set_changes()
        if self.mean_.shape[0] != self.fold_.shape[0]:
            raise ModelFileError(f"{directory}: {self.mean_.shape[0]} features for {self.conditions_.n_channels} channels "
                                 f"with changes={self.changes}")
        self._set_t2_map()
