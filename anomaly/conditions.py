"""Condition channels: slow or declared channels modelled by their change, set-point channels
by their distance from the span between the start of each pass and their training level.

An ambient temperature, a payload or a new session moves some channels to a new level that is
normal. A model that reconstructs such a channel's absolute level calls every row of a cooler
day anomalous (a motor temperature with 0.05 degC of noise makes a 1.6 degC shift a 30-sigma
event). :class:`ConditionChannels` replaces each condition channel ``x`` by its change over
``lag`` rows, ``x[t] - x[t - lag]``, before the detector sees it: a constant offset cancels, a
slow drift becomes a small constant, a sudden change still shows for ``lag`` rows.

Which channels: the ones declared (``conditions=["j1_temp", ...]``) or, with
``conditions="auto"``, the *slow* channels of the training data (:func:`slow_channels`): in
at least one training log most of the channel's variance is slower than the change horizon (a
temperature warming up or following the day, a slowly filling tank), and in every other log it
is slow too or sensor noise around a level (logs of several sessions: one warming up, one
already warm). Their level carries the session (the day, the warm-up), not the robot's
behaviour inside it, so another level is a condition, not a fault. Fast channels (positions,
currents, vibration, or any channel that is noise around a set point) keep their levels: a
level shift there is what faults look like. A temperature that only shows sensor noise around
one level in training cannot be told from such a set point: declare it. Conditions are context:
a few channels among many. When more than :data:`AUTO_MAX_SLOW_SHARE` of the channels are slow
by their fast part (a channel slow only by its line, a battery under load, does not count),
slowness is a property of the data as a whole (a server's metrics a minute apart), not of a few
condition channels, and modelling them by their change would leave the model nothing at its
level: none is taken (``slow_left`` records them, ``fit`` says so; declare them to model them
by their change). Counters (:func:`counter_channels`: a row or sequence number, a cycle count,
a clock, an odometer: channels that never turn back in any training log) are left out of the
model under ``"auto"`` and beside declared conditions (their level only says how long the
machine has run, and a later log starts where no training log went); the stuck-sensor check
still watches them (a sequence number that stops counting is a logger that stopped).

Set-point channels (``conditions="auto"`` only, :func:`setpoint_channels`): in every training
log, the channel is white noise around a level that stays or moves slowly (lag-1
autocorrelation around its moving average over the change horizon below
:data:`SETPOINT_MAX_AUTOCORRELATION`, over the channel's own updates: a sensor held between its
samples is judged at its own rate; see :func:`_white`): a steady temperature, one following a
gently drifting ambient, a regulated pressure or voltage. Their
level in training says where that day's set point was, not where every day's is, so each pass
(a training log, a scored file, a stream) takes them as normal anywhere between its own start
(their mean over the pass's first ``reference_rows`` rows; over the rows so far before that)
and their training level, and measures how far beyond that span they are
(:class:`PassReference`): a cooler day stays at its start, an arm switched on cold warms from
its start towards its training level, while a shift that leaves both (a pressure drop, a motor
heating past its level) keeps its size beyond the nearer one for as long as it lasts.
Temperatures (:func:`ambient_channels`) are first measured against their common move (the
ambient). A temperature (by name, :func:`temperature_channels`) that is not slow is a set-point
channel too, whether or not it is white: one read in steps that no training log says anything
about (one level, or fewer than :data:`SETPOINT_MIN_LOG_ROWS` flickers to the next), and one
that ripples with the machine's load cycle (a motor's winding temperature following its current
over a few seconds); its level carries the session as a set point's does. The detector scales
set-point channels and temperatures by at least half their resolution
(:meth:`anomaly.scaling.Scaler.floor_at_resolution`); a set-point channel read in steps that
sits on one level or flickers between two is normal within one step of its span
(:func:`deadbands`). Likewise a condition channel read in steps that ticks only a few times
in training (a slowly warming motor temperature in tenths of a degree, a few minutes long)
changes by one step over the horizon whenever its reading ticks: that change is normal, within
one step its change is 0 (:func:`change_bands`).
A pass that starts already shifted is what the validity guard (:mod:`anomaly.guard`) reports.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from anomaly.drift import SlewFollower, follow_blocks, follower_graph
from anomaly.errors import ConfigError, SchemaError
from anomaly.scaling import read_in_steps

log = logging.getLogger(__name__)

#: Change horizon in seconds when the sampling rate is known.
LAG_SECONDS = 10.0
#: Change horizon in rows when it is not (e.g. SMD's unlabelled 1-minute rows).
LAG_ROWS = 100
#: The change horizon's fewest rows: :data:`LAG_SECONDS` at 1 Hz, kept below 1 Hz (see :func:`lag_rows`).
MIN_LAG_ROWS = 10
#: ``conditions="auto"`` takes channels whose fast part (the log minus its moving average over
#: the change horizon) holds less than this share of their variance (in at least one training log).
AUTO_MAX_FAST_SHARE = 0.25
#: ... or at least this share of their variance in a straight line through the log (a drift under
#: a fast load: a battery's voltage discharging while it sags with the motor currents), unless a
#: temperature that is white noise around its moving level (a set point, see :func:`slow_channels`).
AUTO_MIN_TREND_SHARE = 0.5
#: ``conditions="auto"`` takes no slow channel when more than this share of the channels are slow
#: by their fast part.
AUTO_MAX_SLOW_SHARE = 0.5
#: ``conditions="auto"`` takes as set-point channels those whose lag-1 autocorrelation around
#: their moving level stays below this in every training log (white noise; any motion is above).
SETPOINT_MAX_AUTOCORRELATION = 0.3
#: A set-point channel's reference is its mean over the first ``max(lag, this)`` rows of a pass.
REFERENCE_MIN_ROWS = 100
#: Training logs shorter than this (in a channel's own updates) say nothing about its autocorrelation.
SETPOINT_MIN_LOG_ROWS = 20
#: A channel of fewer levels (among its first :data:`LEVELS_SAMPLE` updates) is judged row by row,
#: not on its updates (see :func:`_white`).
SETPOINT_MIN_LEVELS = 10
#: Updates of a channel whose distinct levels are counted (enough to tell, cheap on long logs).
LEVELS_SAMPLE = 1000
#: Set-point temperatures measured against their common move (:func:`ambient_channels`) need at
#: least this many: with fewer, one heating channel moves the median.
AMBIENT_MIN_CHANNELS = 3
#: A condition channel read in steps that ticks fewer times than this in training gets a change band (:func:`change_bands`).
TICKS_LEARNED = 20
#: A channel that never turns back in a training log is a counter when it takes at least this many values in one.
COUNTER_MIN_LEVELS = 10


def lag_rows(sampling_rate: float | None) -> int:
    """Rows of the change horizon: :data:`LAG_SECONDS` at ``sampling_rate`` Hz, at least
    :data:`MIN_LAG_ROWS`; :data:`LAG_ROWS` without a rate.

    Below 1 Hz the horizon keeps 1 Hz's 10 rows, as the alert rules keep their row counts below
    20 Hz (:func:`anomaly.decisions.rules_at`): a channel's moving average over one or two rows is
    the channel itself, so every channel of a log a minute apart looked slow (no fast part) and
    white around its level, and ``conditions="auto"`` took none (more than half slow). On SMD
    with its 1-minute timestamps (3 machines, the default PCA, point F1 / AUC-PR of its own
    flags) a 1-row horizon gave 0.355 / 0.690, 10 rows 0.570 / 0.707; on ASD's 5-minute rows
    0.207 / 0.246 and 0.243 / 0.263 (``benchmarks/conditions.py``, ``smd-timed``, ``asd-timed``).
    """
    if sampling_rate and np.isfinite(sampling_rate) and sampling_rate > 0:
        return max(MIN_LAG_ROWS, int(round(LAG_SECONDS * sampling_rate)))
    return LAG_ROWS


def _fast_part(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` (n, c) minus its centred moving average over ``lag`` rows (>= 1, < n); only rows
    with a full window, shape (n - lag + 1, c)."""
    sums = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    means = (sums[lag:] - sums[:-lag]) / lag
    middle = lag // 2
    return x[middle : middle + len(means)] - means


def _trend_share(x: np.ndarray) -> np.ndarray:
    """Each channel's share of its variance (c,) in a straight line through the log ``x`` (n, c)
    float64 (the R-squared of a least-squares line over the row number; 0 for a constant channel)."""
    t = np.arange(len(x), dtype=np.float64)
    t -= t.mean()
    centred = x - x.mean(axis=0)
    total = np.einsum("ij,ij->j", centred, centred)
    along = t @ centred
    return np.where(total > 0, along * along / (t @ t) / np.where(total > 0, total, 1.0), 0.0)


def slow_channels(parts: list[np.ndarray], lag: int, temperatures=()) -> np.ndarray:
    """Indices of the channels that are slow in the logs of ``parts`` (scaled logs (n_i, c)):
    slow in at least one log and, in every other, slow too or white noise around a level.

    A channel is slow in a log when its fast part (:func:`_fast_part` over ``lag`` rows) holds
    less than :data:`AUTO_MAX_FAST_SHARE` of its variance, or when a straight line through the
    log holds at least :data:`AUTO_MIN_TREND_SHARE` of it (:func:`_trend_share`), unless it is
    one of ``temperatures`` (indices of channels named as temperatures) and white noise around
    its moving level in that log: such a temperature is a set point, which the ambient's
    common move or the slow-drift follower (:mod:`anomaly.drift`) keep normal while it drifts
    and which still sees a slow overheating past its training level (a temperature following
    an ambient drifting 2 degC an hour rises by 3 times its noise over 5 minutes, a line that
    holds about half its variance). Any other channel has no follower: as a set point a battery
    logged at 1 Hz (its sag white at that rate) kept a session 0.8 V lower in alarm 32 % of the
    time, once it discharged below the pass's start. White noise
    around a set point keeps all of it in its fast part (and is not slow), a cyclic motion of a
    few seconds nearly all, a warm-up of minutes almost none. A battery's voltage drifts down as
    it discharges and sags with every load: its sag can hold more than a quarter of its variance
    over a 15-minute log, but the drift is a line through it, and a longer session (or the next
    one, on a battery less charged) starts where no training log went (a simulated 50 Hz
    mobile base: every row of a session 0.8 V lower flagged, blamed on the battery; with it a
    condition, as many alarms as at the training voltage, ``benchmarks/mobile_base.py``). A
    motion that runs back and forth has no line through it. Logs from several sessions often mix the two kinds of a temperature: a
    session that warms up (slow) and one already warm (sensor noise around a level, see
    :func:`setpoint_channels`); the channel is a condition in both. A log in which it moves in
    any other way (a cyclic motion, a filtered signal) vetoes it. A log of at most ``2 * lag``
    rows is too short to tell and a log in which the channel is constant says nothing. A log in
    which it takes only two values is no evidence of slowness (a reading that dwells at one level
    of its resolution and dips to the next, :func:`_two_levels`), and the shares are of the rows
    the fast part covers (a dip within half a horizon of a log's end was all slow variance).
    """
    return _auto_channels(parts, lag, temperatures)[0]


def counter_channels(parts: list[np.ndarray], lag: int) -> np.ndarray:
    """Indices of the channels that count in the logs of ``parts`` (each (n_i, c)): in every log
    of more than ``2 * lag`` rows they never turn back (non-decreasing or non-increasing
    throughout), and in one of them they take at least :data:`COUNTER_MIN_LEVELS` values.

    A row or sequence number (``Num``, ``header.seq``), a cycle count, a clock kept as a column, an
    odometer or an energy meter: their level says how long the machine has run, not how it runs,
    so a later log starts where no training log went (on a robot log with a row number and a
    cycle count, a file recorded after the training one was flagged on 2,884 of its 3,000 rows,
    blamed on a joint current). Measured noise turns back; so does every motion. Logs too short
    to tell (as for slowness) say nothing; without a long enough log there is no counter.
    """
    counting = np.ones(parts[0].shape[1], dtype=bool)
    levels = np.zeros_like(counting)
    told = False
    for Z in parts:
        if len(Z) <= 2 * lag:
            continue
        told = True
        steps = np.diff(Z, axis=0)
        counting &= (steps >= 0).all(axis=0) | (steps <= 0).all(axis=0)
        levels |= (steps != 0).sum(axis=0) + 1 >= COUNTER_MIN_LEVELS
    return np.flatnonzero(counting & levels) if told else np.zeros(0, dtype=np.int64)


def _auto_channels(parts: list[np.ndarray], lag: int, temperatures=()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The slow channels (:func:`slow_channels`, ``temperatures`` as there), the set-point
    channels (:func:`setpoint_channels`, slow ones included) and, among the slow ones, those
    slow by their line alone (in no log by their fast part) of scaled logs ``parts``, each log
    classified once (a channel with fewer than :data:`SETPOINT_MIN_LOG_ROWS` updates in every
    log is neither)."""
    allowed = np.ones(parts[0].shape[1], dtype=bool)
    named = np.zeros_like(allowed)
    named[np.asarray(temperatures, dtype=np.int64)] = True
    slow_somewhere = np.zeros_like(allowed)
    fast_part_slow = np.zeros_like(allowed)
    white_everywhere = np.ones_like(allowed)
    seen = np.zeros_like(allowed)
    for Z in parts:
        x = Z.astype(np.float64)
        white, known = _white(x, lag)
        white_everywhere &= white | ~known
        seen |= known
        if len(Z) <= 2 * lag:
            continue
        inner = x[lag // 2 : lag // 2 + len(x) - lag + 1]  # the rows the fast part covers (a full window each)
        total = inner.var(axis=0)
        valid = (total > 0) & ~_two_levels(x)
        by_fast_part = (_fast_part(x, lag).var(axis=0) < AUTO_MAX_FAST_SHARE * total) & valid
        slow = by_fast_part | ((_trend_share(x) >= AUTO_MIN_TREND_SHARE) & ~(white & named) & valid)
        allowed &= slow | white | ~known
        slow_somewhere |= slow
        fast_part_slow |= by_fast_part
    slow = allowed & slow_somewhere
    return np.flatnonzero(slow), np.flatnonzero(white_everywhere & seen), np.flatnonzero(slow & ~fast_part_slow)


def _two_levels(x: np.ndarray) -> np.ndarray:
    """Which channels of one log ``x`` (n, c) take at most two values (bool (c,)): a reading that
    dwells at one level of its resolution and dips to the next is not slow however long it
    dwells (its variance sits in the dwell, not in a drift)."""
    low, high = x.min(axis=0), x.max(axis=0)
    return ((x == low) | (x == high)).all(axis=0)


def _white(x: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Which channels of one log ``x`` (n, c) float64 are white noise around a level that stays
    or moves slowly, and which the log says anything about.

    Judged on each channel's own updates: its values with every repeat of the previous row
    dropped, so that a sensor sampled at 1 Hz and held on a 100 Hz grid (how multi-rate topics
    are aligned, and how ALFA's IMU columns are stored) is judged at 1 Hz. The level is the
    updates' moving average over the change horizon (``lag`` rows of ``x``, in updates), or
    their mean when the log holds fewer than two horizons: a temperature following a drifting
    ambient by a few tenths of a degree is sensor noise around a level that moves, while a
    motion, a filtered signal or a switch is not noise around anything. Fewer than
    :data:`SETPOINT_MIN_LOG_ROWS` updates say nothing (a constant channel has one). A channel
    of fewer than :data:`SETPOINT_MIN_LEVELS` levels is judged row by row instead: a coarsely
    quantised sensor flickering between neighbouring levels is white at the log's rate, while a
    switch or a mode flag, whose updates alternate as white noise's would, holds its level for
    many rows. White: lag-1 autocorrelation below :data:`SETPOINT_MAX_AUTOCORRELATION` around
    the level.

    Returns
    -------
    white, known : numpy.ndarray of bool, shape (c,)
    """
    white = np.zeros(x.shape[1], dtype=bool)
    known = np.zeros_like(white)
    for j in range(x.shape[1]):
        v = x[:, j]
        updates = v[np.concatenate([[True], v[1:] != v[:-1]])]
        known[j] = len(updates) >= SETPOINT_MIN_LOG_ROWS
        if not known[j]:
            continue
        series = updates if len(np.unique(updates[:LEVELS_SAMPLE])) >= SETPOINT_MIN_LEVELS else v
        horizon = int(round(lag * len(series) / len(v)))
        if 2 <= horizon and 2 * horizon < len(series):
            u = _fast_part(series[:, None], horizon)[:, 0]
        else:
            u = series - series.mean()
        white[j] = (u[1:] * u[:-1]).sum() < SETPOINT_MAX_AUTOCORRELATION * (u * u).sum()
    return white, known


def setpoint_channels(parts: list[np.ndarray], lag: int) -> np.ndarray:
    """Indices of the channels that are white noise around a level (steady, or moving slowly
    over the change horizon of ``lag`` rows) in every log of ``parts`` (scaled logs (n_i, c))
    that says anything about them (:func:`_white`); a channel with nothing said (fewer than
    :data:`SETPOINT_MIN_LOG_ROWS` updates in every log) is not one.
    """
    return _auto_channels(parts, lag)[1]


class PassReference:
    """Each set-point channel's reference in one scoring pass and where the channel stands
    between it and the channel's training level.

    The reference is the channel's mean over the pass's first ``rows`` rows (over the rows so far
    before that: causal, the first row is its own reference). A set-point channel is normal at
    its reference, at its training level (0 on the scaled axis) or anywhere between: a cooler day
    stays at its start, a machine switched on cold warms from its start towards its training
    level, a pass that starts hot cools towards it. Each row of a set-point channel becomes its
    distance from that span, signed: with ``a`` its shift from the reference and ``b`` its shift
    from the training level, ``sign(a) * min(|a|, |b|)`` when ``a`` and ``b`` have the same sign,
    else 0. A channel that leaves both (a pressure drop, one joint heating past its level) keeps
    its size beyond the nearer one.

    ``ambient`` channels (set-point temperatures, :func:`ambient_channels`) are first measured
    against their common move: per row, the median of their shifts in their own units (scaled
    shift x ``scale``), averaged over the last ``smooth`` rows (causal; the rows so far at the
    pass's start), once from the reference and once from the training level; each ambient
    channel loses it (divided by its ``scale``). A warmer or drifting ambient moves every
    temperature by about the same number of degrees and cancels; one joint heating does not move
    the median and keeps its full size.

    Fed the pass's scaled rows in order (a whole file at once, pieces of a file, or the newest
    rows of a stream together with some rows already seen), it returns the same values however
    the pass is cut.

    Parameters
    ----------
    indices : array-like of int
        The set-point channels (positions in the schema).
    rows : int
        Rows of the reference (>= 1).
    ambient : array-like of int, default ()
        Set-point channels (positions in the schema, among ``indices``) measured against their
        common move; none, or at least :data:`AMBIENT_MIN_CHANNELS`.
    scale : array-like of float, default ()
        Units per scaled unit of each ``ambient`` channel (the scaler's scale).
    smooth : int, default 1
        Rows the common move is averaged over (>= 1).
    follow : array-like of int, default ()
        Set-point channels (positions in the schema, among ``indices``) that are also normal up
        to a slow-drift follower (:class:`anomaly.drift.SlewFollower`, fed the rows after the
        common move): set-point temperatures.
    follow_rows, follow_limit : int, float, default 0, 0.0
        The follower's blocks and largest move per block (:func:`anomaly.drift.follow_blocks`);
        0 rows: no follower.
    deadband : array-like of float, default ()
        Per set-point channel (scaled units, as ``indices``; none: 0): a distance from the span
        within it is 0 and a larger one loses it (:func:`deadbands`).
    """

    def __init__(self, indices, rows: int, ambient=(), scale=(), smooth: int = 1, follow=(), follow_rows: int = 0,
                 follow_limit: float = 0.0, deadband=()):
        self.indices = np.asarray(indices, dtype=np.int64)
        deadband = np.asarray(deadband, dtype=np.float32)
        self.deadband = deadband if deadband.any() else None
        self.rows = int(rows)
        self.ambient = np.asarray(ambient, dtype=np.int64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.smooth = max(int(smooth), 1)
        follow = np.asarray(follow, dtype=np.int64)
        self._follow_at = np.searchsorted(self.indices, follow)  # the followed channels among the set-point ones
        self._follower = SlewFollower(len(follow), follow_rows, follow_limit) if len(follow) and follow_rows else None
        self._followed = np.zeros((0, len(follow)))  # follower references of the last rows (as many as the largest call gave)
        self._sums = np.zeros((0, len(self.indices)))  # prefix sums of the pass's first rows (at most `rows`)
        self._seen = 0
        self._mean: np.ndarray | None = None  # (k,) the reference past the first `rows` rows
        self._at = np.searchsorted(self.indices, self.ambient)  # the ambient channels among the set-point ones
        # ring of the prefix sums of the rows' median shifts (from the reference, from the training level)
        self._median_sums = np.zeros((self.smooth + 1, 2))
        self._common = np.zeros((0, 2))  # common moves of the last rows (as many as the largest call gave)

    def __call__(self, Z: np.ndarray, new: int | None = None) -> np.ndarray:
        """Rows (m, c) of the pass, of which the last ``new`` (default: all) are new, -> the same
        rows (m, c) float32 with each set-point channel's distance from the span between its
        reference and its training level. The first call takes all ``m`` rows as the pass's
        first rows."""
        m = len(Z)
        new = m if new is None or not self._seen else int(new)
        start = self._seen - (m - new)  # pass position of Z[0]
        if start < 0 or not 0 <= new <= m:
            raise ValueError(f"{m - new} rows given as seen, but the pass has seen {self._seen}")
        if len(self.ambient) and m - new > len(self._common):
            raise ValueError(f"{m - new} rows given as seen, but the pass keeps the common move of the last {len(self._common)}")
        if self._follower is not None and m - new > len(self._followed):
            raise ValueError(f"{m - new} rows given as seen, but the pass keeps the follower of the last {len(self._followed)}")
        if len(self._sums) < self.rows:  # extend the prefix sums, summing on from the last one
            taken = np.take(Z[m - new : m - new + self.rows - len(self._sums)], self.indices, axis=1)
            last = self._sums[-1:] if len(self._sums) else np.zeros((1, len(self.indices)))
            self._sums = np.concatenate([self._sums, np.cumsum(np.concatenate([last, taken]), axis=0)[1:]])
        self._seen += new
        if not m:
            return Z
        # the first rows' reference is the mean of the pass's rows so far; every row past the first `rows`: one reference
        head = min(max(self.rows - 1 - start, 0), m)
        early = self._sums[start : start + head] / np.arange(start + 1, start + head + 1)[:, None]
        if head < m and self._mean is None:
            self._mean = self._sums[-1] / self.rows
        late = self._mean if head < m else np.zeros(len(self.indices))
        early, late = early.astype(np.float32), np.asarray(late, dtype=np.float32)  # (head, k), (k,)
        if not len(self.ambient) and self._follower is None and self.deadband is None:
            return self._between_in_place(np.asarray(Z, dtype=np.float32), head, early, late)
        level = np.take(Z, self.indices, axis=1).astype(np.float32, copy=False)  # (m, k) shift from the training level
        shift = np.empty_like(level)  # (m, k) shift from the reference
        np.subtract(level[:head], early, out=shift[:head])
        np.subtract(level[head:], late, out=shift[head:])
        if len(self.ambient):
            at = self._at
            moves = (self._common_moves(shift[:, at], level[:, at], start, new) / self.scale[None, :, None]).astype(np.float32)
            shift[:, at] -= moves[..., 0]
            level[:, at] -= moves[..., 1]
        values = between(shift, level, np)
        if self._follower is not None:  # a followed channel is normal up to its follower too
            at = self._follow_at
            beyond = level.copy()
            beyond[:, at] -= self._follow_references(level[:, at], new).astype(np.float32)
            values = between(values, beyond, np)
        if self.deadband is not None:
            values = within_deadband(values, self.deadband, np)
        out = np.array(Z, dtype=np.float32)
        out[:, self.indices] = values
        return out

    def _between_in_place(self, Z: np.ndarray, head: int, early: np.ndarray, late: np.ndarray) -> np.ndarray:
        """Rows ``Z`` (m, c) float32 with each set-point channel's distance from the span between
        its reference (``early`` (head, k) for the first ``head`` rows, ``late`` (k,) after them)
        and its training level (0), the other channels as they are: ``x - clip(x, low, high)``
        over every channel at once, with ``low = high = 0`` for the others (the values of
        :func:`between`, without gathering and scattering the set-point columns)."""
        c = Z.shape[1]
        low, high = np.zeros((head + 1, c), dtype=np.float32), np.zeros((head + 1, c), dtype=np.float32)
        low[:head, self.indices], high[:head, self.indices] = np.minimum(early, 0.0), np.maximum(early, 0.0)
        low[head, self.indices], high[head, self.indices] = np.minimum(late, 0.0), np.maximum(late, 0.0)
        out = np.empty(Z.shape, dtype=np.float32)  # C order, as a copy of the rows would be
        np.subtract(Z[:head], np.clip(Z[:head], low[:head], high[:head]), out=out[:head])
        np.subtract(Z[head:], np.clip(Z[head:], low[head], high[head]), out=out[head:])
        return out

    def _follow_references(self, values: np.ndarray, new: int) -> np.ndarray:
        """The follower's references (m, k_f) of rows (m, k_f) of the followed channels, of which
        the last ``new`` are new (fed to the follower); the others' are the ones kept."""
        m = len(values)
        references, self._followed = _with_seen(self._followed, self._follower(values[m - new :]), m - new)
        return references

    def _common_moves(self, shift: np.ndarray, level: np.ndarray, start: int, new: int) -> np.ndarray:
        """The common moves (m, 1, 2) of the ambient channels' shifts (m, k_a) from the reference
        and from the training level (scaled), rows from pass position ``start``, of which the last
        ``new`` are new; advances.

        The medians' prefix sums are summed on row by row from the pass's start (a ring of the
        last ``smooth + 1``), so the values do not depend on how the pass is cut; one new row
        (a stream) takes a scalar path with the same arithmetic."""
        m, k, ring = len(shift), shift.shape[1], len(self._median_sums)
        first = start + m - new  # pass position of the first new row
        if new == 1:
            fresh = np.empty((1, 2))
            count = min(first + 1, self.smooth)
            for j, values in enumerate((shift[-1] * self.scale, level[-1] * self.scale)):
                ordered = sorted(values.tolist())
                total = float(self._median_sums[first % ring, j]) + (ordered[(k - 1) // 2] + ordered[k // 2]) / 2
                fresh[0, j] = (total - self._median_sums[(first + 1 - count) % ring, j]) / count
                self._median_sums[(first + 1) % ring, j] = total
        else:
            medians = _middle(np.sort(np.stack([shift[m - new :], level[m - new :]], axis=2) * self.scale[None, :, None], axis=1))
            sums = np.cumsum(np.concatenate([self._median_sums[first % ring][None], medians]), axis=0)  # S_first ..
            position = np.arange(first, first + new)
            count = np.minimum(position + 1, self.smooth)
            back = position + 1 - count  # the prefix sum each row's window starts after
            inside = (back > first)[:, None]  # within this call's rows, else in the ring
            lows = np.where(inside, sums[np.clip(back - first, 0, new)], self._median_sums[back % ring])
            fresh = (sums[1:] - lows) / count[:, None]
            kept = slice(max(new - ring, 0), new)
            self._median_sums[(position[kept] + 1) % ring] = sums[1:][kept]
        common, self._common = _with_seen(self._common, fresh, m - new)
        return common[:, None, :]


def _with_seen(kept: np.ndarray, fresh: np.ndarray, seen: int) -> tuple[np.ndarray, np.ndarray]:
    """Values (seen + k, d) of a call's rows, the last k new (``fresh``, (k, d)) and the first
    ``seen`` given again (their values as ``kept``, (h, d), the pass's last rows, holds them),
    and what to keep next: the last rows, as many as the largest call gave."""
    if not seen and len(kept) <= len(fresh):  # nothing seen given again, and no longer history kept
        return fresh, fresh
    rows = seen + len(fresh)
    return np.concatenate([kept[len(kept) - seen :], fresh]), np.concatenate([kept, fresh])[-max(rows, len(kept)) :]


def _middle(ordered):
    """The median of rows sorted along axis 1: ``ordered`` (n, k, ...) -> (n, ...)."""
    k = ordered.shape[1]
    return (ordered[:, (k - 1) // 2] + ordered[:, k // 2]) / 2


def between(shift, level, ops):
    """Signed distance of set-point values from the span between their reference and their
    training level: ``shift`` and ``level`` (n, k) are their shifts from each; ``ops`` is
    ``numpy`` or ``keras.ops``."""
    if ops is np:  # in place, the same values: a third of the time on a pass of 1M rows x 38 set-point channels
        out = np.abs(shift)
        np.minimum(out, np.abs(level), out=out)
        np.copysign(out, shift, out=out)
        out *= (shift * level) > 0
        return out
    same = ops.greater(shift * level, 0)
    return ops.where(same, ops.sign(shift) * ops.minimum(ops.abs(shift), ops.abs(level)), ops.zeros_like(shift))


def within_deadband(values, band, ops):
    """Signed distances ``values`` (n, k) less their channel's dead band ``band`` (k,), 0 within it."""
    if ops is np:
        out = np.abs(values) - band
        np.maximum(out, 0.0, out=out)
        return np.copysign(out, values, out=out)
    return ops.sign(values) * ops.maximum(ops.abs(values) - band, 0.0)


def deadbands(steps, scale) -> np.ndarray:
    """Each set-point channel's dead band in scaled units: one step of its resolution ``steps``
    (its units) where its scale ``scale`` is at most half a step (the readings sit on one level,
    or flicker between two: the scaler's floor, :meth:`anomaly.scaling.Scaler.floor_at_resolution`),
    else 0.

    A temperature read in half degrees that stayed at one level through training, or flickered
    to the next now and then, has a spread far below its step: one flicker more in a later
    session (the ambient a tenth of a degree closer to the step) was a two-unit move in a
    direction of almost no training variance, an alarm. Within one step of the span the reading
    says nothing the sensor can resolve; a channel whose noise spans several levels has no dead
    band (its scale is its spread).
    """
    steps, scale = np.asarray(steps, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    return np.where(read_in_steps(steps, scale), steps / scale, 0.0).astype(np.float32)


def change_bands(values: np.ndarray, scale) -> np.ndarray:
    """Each condition channel's dead band on its change, in scaled units: one step of its
    resolution where the channel is read in steps (its smallest change between two rows is at
    least half its median nonzero change: its readings tick by whole steps) and ticks fewer
    than :data:`TICKS_LEARNED` times in training, else 0.

    A slowly warming temperature read in tenths of a degree ticks one step every minute or so;
    its change over the horizon is then one step for ``lag`` rows and 0 otherwise. The few ticks
    of a short training log fall at chance phases of the machine's motion, and PCA learns them
    as part of it: in a new session, with the ticks at other phases, a UR-style cobot log fitted
    on three minutes (4 ticks a joint) raised 116 false alarms an hour, 0 with the band (the
    continuous temperatures of the same log: 4 either way); a joint heating 1 degC a minute was
    still found 4-9 s after it began (4-18 s without). A channel that ticks or flickers often in
    training has its ticks learned as the noise they are, and no band: on the simulated arm
    fitted on warm-ups read in tenths of a degree (thousands of flickers) a band took the false
    alarms from 12 an hour to 0 but PCA, the flicker's variance gone, kept 9 components instead
    of 12 and fault recall fell from 0.86 to 0.70; on SMD, bands on every such server metric
    raised the mean F1 from 0.464 to 0.479.

    Parameters
    ----------
    values : ndarray of shape (n_steps, k)
        The condition channels' training rows, in their units.
    scale : array-like of shape (k,)
        The scaler's scale of those channels.

    Returns
    -------
    ndarray of shape (k,), float32
    """
    x = np.asarray(values, dtype=np.float64)
    bands = np.zeros(x.shape[1], dtype=np.float32)
    for j in range(x.shape[1]):
        changes = np.abs(np.diff(x[:, j]))
        changes = changes[changes > 0]
        if 0 < len(changes) < TICKS_LEARNED and changes.min() >= 0.5 * np.median(changes):
            bands[j] = changes.min() / float(np.asarray(scale, dtype=np.float64)[j])
    return bands


def relative_graph(Z, conditions: ConditionChannels, ops):
    """:class:`PassReference` on one whole pass (n, c) as array operations (``ops``: ``numpy``
    or ``keras.ops``), for the differentiable score; equal to it to float rounding."""
    n, k = Z.shape[0], len(conditions.setpoints)
    count = np.minimum(np.arange(n) + 1, conditions.reference_rows)
    level = ops.take(Z, conditions.setpoints.astype(np.int32), axis=1)  # (n, k)
    sums = ops.cumsum(level, axis=0)
    shift = level - ops.take(sums, (count - 1).astype(np.int32), axis=0) / count[:, None].astype(np.float32)
    if len(conditions.ambient):
        at = np.searchsorted(conditions.setpoints, conditions.ambient).astype(np.int32)
        per_unit = np.zeros(k, dtype=np.float32)
        per_unit[at] = 1.0 / conditions.ambient_scale
        shift = shift - _common_move_graph(shift, at, conditions, ops)[:, None] * per_unit
        level = level - _common_move_graph(level, at, conditions, ops)[:, None] * per_unit
    values = between(shift, level, ops)
    if len(conditions.follow) and conditions.follow_rows:
        at = np.searchsorted(conditions.setpoints, conditions.follow).astype(np.int32)
        pick = np.zeros((len(at), k), dtype=np.float32)  # followed column j -> its set-point column
        pick[np.arange(len(at)), at] = 1.0
        references = follower_graph(ops.take(level, at, axis=1), conditions.follow_rows, conditions.follow_limit, ops)
        values = between(values, level - ops.matmul(references, pick), ops)
    if conditions.deadband.any():
        values = within_deadband(values, conditions.deadband, ops)
    onto = np.zeros((k, conditions.n_channels), dtype=np.float32)  # set-point column j -> its schema column
    onto[np.arange(k), conditions.setpoints] = 1.0
    keep = 1.0 - onto.sum(axis=0)
    return Z * keep + ops.matmul(values, onto)


def _common_move_graph(values, at, conditions: ConditionChannels, ops):
    """Per row (n,): the median of the ambient columns ``at`` of ``values`` (n, k) in their units,
    averaged over the last ``ambient_rows`` rows (the rows so far at the start)."""
    n = values.shape[0]
    medians = _middle(ops.sort(ops.take(values, at, axis=1) * conditions.ambient_scale, axis=1))
    sums = ops.concatenate([ops.zeros((1,)), ops.cumsum(medians)])
    position = np.arange(n)
    window = np.minimum(position + 1, conditions.ambient_rows)
    return (ops.take(sums, (position + 1).astype(np.int32)) - ops.take(sums, (position + 1 - window).astype(np.int32))) \
        / window.astype(np.float32)


#: Name tokens of a temperature channel (case-insensitive): :func:`temperature_channels`.
TEMPERATURE_TOKENS = frozenset({"temp", "temps", "tmp", "tmps", "temperature", "temperatures", "temperatur", "temperatura",
                                "thermal", "thermocouple", "thermistor",
                                "rtd", "ntc", "celsius", "kelvin", "fahrenheit"})


def temperature_channels(channels: tuple[str, ...]) -> list[str]:
    """The channels named as temperatures: a token of the name (split at anything but letters,
    and between a lower- and an upper-case letter) is or ends with one of
    :data:`TEMPERATURE_TOKENS` (``j1_temp``, ``Temperature``, ``motorTemp``, ``tmp_j1``, ``motor_temps_l``, ``thermal_2``,
    ``Motortemperatur`` and ``temperatura_motor`` (German, Scandinavian; Spanish, Italian, Portuguese),
    ``field.temperature``, ``motortemp``, ``jointtemperature``, ``winding_RTD``, ``ntc3``,
    ``stator_celsius``; not ``tempo`` or ``attempt``).

    ``auto`` takes those that are not slow as set-point channels (normal between the start of
    each pass and their training level: heating past it still shows) and measures them against
    their common move when there are at least :data:`AMBIENT_MIN_CHANNELS`; it never models them
    by their change by name alone (a steady temperature's level is what shows the simulator's
    heating faults).
    """
    def tokens(name: str) -> set[str]:
        return {t.lower() for t in re.split(r"[^A-Za-z]+|(?<=[a-z])(?=[A-Z])", name) if t}
    return [name for name in channels if any(t.endswith(tuple(TEMPERATURE_TOKENS)) for t in tokens(name))]


def ambient_channels(channels: tuple[str, ...], setpoints) -> np.ndarray:
    """The set-point channels (indices into ``channels``) measured against their common move:
    those named as temperatures (:func:`temperature_channels`), when there are at least
    :data:`AMBIENT_MIN_CHANNELS` of them; none otherwise.

    At steady state every temperature of a machine sits at the ambient plus its own heating, so
    a cooler, warmer or drifting ambient moves all of them by about the same number of degrees;
    a fault heats one part (the median of their moves stays where the others are).
    """
    named = set(temperature_channels(channels))
    found = np.array([i for i in np.asarray(setpoints, dtype=np.int64) if channels[i] in named], dtype=np.int64)
    return found if len(found) >= AMBIENT_MIN_CHANNELS else np.zeros(0, dtype=np.int64)


def auto_and_declared(conditions) -> tuple[bool, list[str]]:
    """Whether the ``conditions`` parameter asks for ``"auto"``, and the channel names it declares
    beside it: ``"auto"`` -> (True, []); ``["auto", "battery_v"]`` -> (True, ["battery_v"]): auto's
    choice plus a channel it did not take (the validity guard named it; CLI ``--condition
    auto,battery_v``); names alone -> (False, names); None -> (False, [])."""
    if conditions is None:
        return False, []
    if isinstance(conditions, str):
        return conditions == "auto", []
    names = list(conditions)
    return "auto" in names, [name for name in names if name != "auto"]


def declared_indices(conditions, channels: tuple[str, ...]) -> np.ndarray:
    """Indices of the declared condition channels for the ``conditions`` parameter (None or names;
    ``"auto"`` is :func:`fit_conditions`' own branch, so any string here is a mistake)."""
    if conditions is None:
        return np.zeros(0, dtype=np.int64)
    if isinstance(conditions, str):
        raise ConfigError(f"conditions={conditions!r} must be None, 'auto' or a list of channel names")
    names = list(conditions)
    missing = [name for name in names if name not in channels]
    if missing:
        raise SchemaError(f"condition channel(s) {missing} not in the data; channels are {list(channels)}")
    return np.array(sorted(channels.index(name) for name in names), dtype=np.int64)


def fit_conditions(conditions, channels: tuple[str, ...], parts: list[np.ndarray], lag: int, scale,
                   sampling_rate: float | None = None) -> ConditionChannels:
    """The :class:`ConditionChannels` of the ``conditions`` parameter on scaled training logs
    ``parts`` (each (n_i, c)) with the scaler's ``scale`` (c,): the condition channels (the slow
    channels under ``"auto"``, the names declared, :func:`declared_indices`, or both for
    ``"auto"`` with names beside it, :func:`auto_and_declared`; less the counters), the counters (:func:`counter_channels`, never a channel
    named as a temperature; none when ``conditions`` is None) and, under ``"auto"``, the set-point
    channels among the others (their
    reference: ``max(lag, REFERENCE_MIN_ROWS)`` rows), the set-point temperatures among
    those measured against their common move (:func:`ambient_channels`, averaged over ``lag``
    rows) and, at a known ``sampling_rate`` (Hz), the set-point temperatures too few for a
    common move normal up to their slow-drift follower too (:mod:`anomaly.drift`)."""
    named = np.array([channels.index(c) for c in temperature_channels(channels)], dtype=np.int64)
    counters = np.zeros(0, dtype=np.int64) if conditions is None else counter_channels(parts, lag)
    # a temperature read in steps that only warmed up in every log never turned back either: it is no counter
    counters = np.setdiff1d(counters, named).astype(np.int64)
    auto, declared = auto_and_declared(conditions)
    if auto:
        indices, white, by_line = _auto_channels(parts, lag, named)
        indices = np.setdiff1d(indices, counters)
        slow_left = np.zeros(0, dtype=np.int64)
        # a drift along a line under a fast load (a battery) does not make the data slow as a whole
        if len(np.setdiff1d(indices, by_line)) > AUTO_MAX_SLOW_SHARE * (len(channels) - len(counters)):
            log.info("%d of %d channels are slow in the training logs: the data is slow as a whole, so none is taken as a "
                     "condition channel (declare them to model them by their change)", len(indices), len(channels))
            indices, slow_left = slow_left, indices
        if declared:  # beside auto's choice, whatever it is
            indices = np.setdiff1d(np.union1d(indices, declared_indices(declared, channels)), counters).astype(np.int64)
        # a temperature that is not slow carries the session in its level like a set point: one read in steps that
        # held its level (or flickered a few times), and one that ripples with the machine's load cycle (not white)
        setpoints = np.setdiff1d(np.union1d(white, named), np.union1d(indices, counters)).astype(np.int64)  # a slow channel is a condition
        ambient = ambient_channels(channels, setpoints)
        follow_rows, follow_limit = follow_blocks(sampling_rate)
        # too few temperatures for a common move: each follows the ambient's drift on its own
        alone = np.setdiff1d(np.intersect1d(setpoints, named), ambient).astype(np.int64)
        follow = alone if follow_rows else np.zeros(0, dtype=np.int64)
    else:
        indices, setpoints = np.setdiff1d(declared_indices(conditions, channels), counters), np.zeros(0, dtype=np.int64)
        ambient = slow_left = follow = setpoints  # none: declared conditions have no set-point channels
        follow_rows, follow_limit = 0, 0.0
    return ConditionChannels(indices, len(channels), lag, setpoints, max(lag, REFERENCE_MIN_ROWS),
                             ambient, np.asarray(scale, dtype=np.float64)[ambient], lag, slow_left, follow, follow_rows,
                             follow_limit, counters=counters)


class ConditionChannels:
    """The fitted change transform of a detector.

    Parameters
    ----------
    indices : array-like of int
        Condition channels (positions in the schema).
    n_channels : int
    lag : int
        Rows of the change horizon.
    setpoints : array-like of int, default ()
        Set-point channels (normal between the start of each pass and their training level).
    reference_rows : int, default 0
        Rows of a pass's reference (:class:`PassReference`); 0 without set-point channels.
    ambient : array-like of int, default ()
        Set-point channels measured against their common move too (:func:`ambient_channels`).
    ambient_scale : array-like of float, default ()
        Units per scaled unit of each ``ambient`` channel.
    ambient_rows : int, default 1
        Rows the common move is averaged over.
    slow_left : array-like of int, default ()
        Channels slow in training but left at their level, because most channels were
        (:data:`AUTO_MAX_SLOW_SHARE`); recorded for the fit report.
    follow : array-like of int, default ()
        Set-point channels normal up to a slow-drift follower too (:mod:`anomaly.drift`).
    follow_rows, follow_limit : int, float, default 0, 0.0
        The follower's blocks (rows) and largest move per block (:func:`anomaly.drift.follow_blocks`).
    deadband : array-like of float, default ()
        Per set-point channel (as ``setpoints``; none: 0): its dead band in scaled units
        (:func:`deadbands`; :meth:`with_deadband`).
    counters : array-like of int, default ()
        Counters (:func:`counter_channels`): left out of the model (:meth:`transform` sets them
        to 0), never outside the validity guard's envelope.
    change_band : array-like of float, default ()
        As ``indices``: each condition channel's dead band on its change, scaled units (empty:
        none); a change within it is 0 and a larger one loses it (:func:`change_bands`;
        :meth:`with_change_band`).
    """

    def __init__(self, indices, n_channels: int, lag: int, setpoints=(), reference_rows: int = 0,
                 ambient=(), ambient_scale=(), ambient_rows: int = 1, slow_left=(), follow=(), follow_rows: int = 0,
                 follow_limit: float = 0.0, deadband=(), counters=(), change_band=()):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.n_channels = int(n_channels)
        self.lag = int(lag) if len(self.indices) else 0
        self.mask = np.zeros(self.n_channels, dtype=np.float32)
        self.mask[self.indices] = 1.0
        self.setpoints = np.asarray(setpoints, dtype=np.int64)
        self.reference_rows = int(reference_rows) if len(self.setpoints) else 0
        self.ambient = np.asarray(ambient, dtype=np.int64)
        self.ambient_scale = np.asarray(ambient_scale, dtype=np.float32)
        self.ambient_rows = int(ambient_rows) if len(self.ambient) else 1
        self.slow_left = np.asarray(slow_left, dtype=np.int64)
        self.follow = np.asarray(follow, dtype=np.int64)
        self.follow_rows = int(follow_rows) if len(self.follow) else 0
        self.follow_limit = float(follow_limit) if self.follow_rows else 0.0
        deadband = np.asarray(deadband, dtype=np.float32)
        self.deadband = deadband if len(deadband) else np.zeros(len(self.setpoints), dtype=np.float32)
        if self.deadband.shape != self.setpoints.shape:
            raise ValueError(f"{len(self.deadband)} dead bands for {len(self.setpoints)} set-point channels")
        self.counters = np.asarray(counters, dtype=np.int64)
        self.keep = np.ones(self.n_channels, dtype=np.float32)
        self.keep[self.counters] = 0.0
        change_band = np.asarray(change_band, dtype=np.float32)
        self.change_band = change_band if len(change_band) else np.zeros(len(self.indices), dtype=np.float32)
        if self.change_band.shape != self.indices.shape:
            raise ValueError(f"{len(self.change_band)} change bands for {len(self.indices)} condition channels")
        self._banded = self.indices[self.change_band > 0]  # the channels whose change has a band, and it
        self._band = self.change_band[self.change_band > 0]
        self._band_row = np.zeros(self.n_channels, dtype=np.float32)  # the same as one row (for tensors)
        self._band_row[self._banded] = self._band

    def rescaled(self, scale) -> ConditionChannels:
        """The same channels for a scaler whose ``scale`` (n_channels,) changed: the choice of
        channels does not depend on the scale (variance shares and autocorrelations), only the
        ambient channels' units per scaled unit do (dead bands are kept: set them after)."""
        return self._replaced(ambient_scale=np.asarray(scale, dtype=np.float64)[self.ambient])

    def with_deadband(self, steps, scale) -> ConditionChannels:
        """The same channels with the set-point channels' dead bands (:func:`deadbands`) of their
        resolution ``steps`` (as ``setpoints``, their units) and the scaler's ``scale`` (n_channels,)."""
        return self._replaced(deadband=deadbands(steps, np.asarray(scale)[self.setpoints]))

    def with_change_band(self, values: np.ndarray, scale) -> ConditionChannels:
        """The same channels with the condition channels' change bands (:func:`change_bands`) of
        their training rows ``values`` (n, n_channels; units) and the scaler's ``scale`` (n_channels,)."""
        return self._replaced(change_band=change_bands(np.asarray(values)[:, self.indices], np.asarray(scale)[self.indices]))

    def _replaced(self, **changes) -> ConditionChannels:
        """The same channels with the constructor arguments ``changes`` instead."""
        return ConditionChannels(**{**self.to_dict(), **changes})

    def start_reference(self) -> PassReference | None:
        """The reference of a new pass, or None without set-point channels."""
        if not len(self.setpoints):
            return None
        return PassReference(self.setpoints, self.reference_rows, self.ambient, self.ambient_scale, self.ambient_rows,
                             self.follow, self.follow_rows, self.follow_limit, self.deadband)

    def relative(self, Z: np.ndarray) -> np.ndarray:
        """Scaled rows (n, c) of one whole pass with the set-point channels as :class:`PassReference` gives them."""
        reference = self.start_reference()
        return Z if reference is None else reference(Z)

    @property
    def history(self) -> int:
        """Rows before the first transformed row (0 when there is no condition channel)."""
        return self.lag

    def transform(self, Z, ops=np):
        """Rows (n, c) -> (n - lag, c): condition channels become their change over ``lag`` rows
        (less their change band, :func:`change_bands`) and counters 0 (NumPy arrays, or Keras
        tensors with ``ops`` ``keras.ops``)."""
        if len(self.counters):
            Z = Z * self.keep
        if not self.lag:
            return Z
        changed = Z[self.lag :] - Z[: -self.lag] * self.mask
        if not len(self._banded):
            return changed
        if ops is not np:
            return within_deadband(changed, self._band_row, ops)  # 0 band elsewhere: unchanged
        changed[:, self._banded] = within_deadband(changed[:, self._banded], self._band, np)
        return changed

    def to_dict(self) -> dict:
        return {"indices": self.indices.tolist(), "n_channels": self.n_channels, "lag": self.lag,
                "setpoints": self.setpoints.tolist(), "reference_rows": self.reference_rows,
                "ambient": self.ambient.tolist(), "ambient_scale": self.ambient_scale.tolist(),
                "ambient_rows": self.ambient_rows, "slow_left": self.slow_left.tolist(), "follow": self.follow.tolist(),
                "follow_rows": self.follow_rows, "follow_limit": self.follow_limit, "deadband": self.deadband.tolist(),
                "counters": self.counters.tolist(), "change_band": self.change_band.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> ConditionChannels:
        """Models saved before set-point channels have none; before ambient channels, none of
        those; before the drift follower, no followed channel; before dead bands, none; before
        counters, none; before change bands, none."""
        return cls(data["indices"], data["n_channels"], data["lag"], data.get("setpoints", ()),
                   data.get("reference_rows", 0), data.get("ambient", ()), data.get("ambient_scale", ()),
                   data.get("ambient_rows", 1), data.get("slow_left", ()), data.get("follow", ()),
                   data.get("follow_rows", 0), data.get("follow_limit", 0.0), data.get("deadband", ()),
                   data.get("counters", ()), data.get("change_band", ()))
