"""Re-centring: a channel whose level has left the training envelope is scored around its new level.

The validity guard (:mod:`anomaly.guard`) names a run whose channel sits outside the range it
covered in training ("model outside its operating envelope: battery_v -0.219 (training 24.41 ..
25.59)"). Without more, every row of such a run is also flagged: a less charged battery, a
supply at another voltage or a sensor re-mounted with an offset is one alarm from the first row
to the last, blamed on whichever channel the model relates to it. Issue 11 asks for the guard's
line *instead of* that flood.

So in every scoring pass (a file, a stream, a session after a pause), each channel the model
sees at its level (not a condition or set-point channel, which have their own reference) is
watched in consecutive windows of ``rows`` rows (a minute at the model's sampling rate,
:data:`anomaly.guard.WINDOW_SECONDS`, and at least :data:`MIN_WINDOW_ROWS`; a window's
medians over every k-th row, at most about :data:`MEDIAN_ROWS`). A channel whose
window median lies outside its training envelope is re-centred, the rows after the window
shifted by its offset in it (and, after two such windows in a row, by the line through their
offsets: a channel that drifts is followed, not left a window behind), when

* it has been outside since the pass's first window (the run lies outside from its start: a
  less charged battery, a cooler day), or
* it drifted out: the window before was inside and its median moved by at most
  :data:`GRADUAL_SHARE` of the envelope's width since (a battery discharging below anything the
  shorter training logs saw, a supply sagging over a shift), or
* it was re-centred after the window before;

and scored at its level otherwise: a fault that moves a channel out of the envelope in a step
(a binding drive's current, a sensor's jump) stays an alarm as long as it lasts. So a run that
starts outside is flagged for at most its first window, a channel that drifts out is not
flagged for it, and a fault inside either still shows around the new level.

A channel can also drift away from the others while inside its envelope: a battery discharging
over a session longer than the training logs stays inside the range its sag under load covered,
but no longer where the currents put it (a simulated mobile base fitted on two 5-minute logs
kept 39 % of a 20-minute session at full charge in alarm, ``benchmarks/mobile_base.py``). Each
watched channel inside its envelope is therefore also watched by its *relation*: the window's
median of its distance from what the other watched channels inside predict for it. Training
gives each channel a bound on that median (:func:`relation_bounds`: :data:`RELATION_MARGIN`
times its largest in any training window, plus :data:`RELATION_FLOOR`, and at least
:data:`RELATION_MIN_SHARE` of its envelope's width); a channel whose median
crosses the bound while it moves by at most the bound and :data:`GRADUAL_SHARE` of the
envelope's width since the window before drifted from the others and is re-centred by that median (followed along the
line through the last two, as above) for as long as it stays beyond the bound. Only a drift is:
a relation already broken in a pass's first window, or broken in a step, is scored as it is
(a first window that re-centred every relation a new day breaks cost ALFA 8 of its 19 faults).

The offset is the window's median of the channel's distance from what the watched channels
inside their envelope in that window predict for it: the training rows' linear least-squares
estimate (their mean and covariance, scaled units, :class:`LevelModel`). A battery's voltage
sags with the load, so its median over a minute follows the load that minute drew, by several
tenths of its training spread; its distance from the voltage the currents predict is its
charge alone. A channel the
others do not predict (an ambient temperature) gets its distance from its training mean.
Models saved without a level model use the distance of the window's median from the training
median.

The shift is causal and counted in absolute rows of the pass: a file scored whole, in blocks or
as a stream row by row gets the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anomaly.guard import RelationDrift, add_drift, window_rows

__all__ = ["GRADUAL_SHARE", "MEDIAN_ROWS", "MIN_WINDOW_ROWS", "RELATION_FLOOR", "RELATION_MARGIN", "RELATION_MIN_SHARE",
           "Followed", "LevelModel", "Recentring", "add_followed", "recentre_rows", "relation_bounds"]

#: The fewest rows a window holds (data logged every few minutes: its median is a level, not a row).
MIN_WINDOW_ROWS = 20
#: A window's medians are taken over at most about this many of its rows (every k-th): a level
#: does not need 6,000 rows at 100 Hz, and the medians were a quarter of PCA's scoring time.
MEDIAN_ROWS = 1000


def recentre_rows(rate: float | None) -> int:
    """Rows per window at the sampling ``rate`` (Hz; None: numbered rows)."""
    return max(window_rows(rate), MIN_WINDOW_ROWS)


def median_step(rows: int) -> int:
    """A window of ``rows`` rows enters its medians every k-th row: k, so that at most about
    :data:`MEDIAN_ROWS` do (in scoring and in the training windows of :func:`relation_bounds` alike)."""
    return max(1, -(-rows // MEDIAN_ROWS))


#: A channel that crosses its envelope's edge with its window median moving by at most this share
#: of the envelope's width since the window before drifted out (a step is a fault).
GRADUAL_SHARE = 0.25

#: Ridge on the inside channels' covariance, relative to each one's variance (twins are collinear).
RIDGE = 1e-3

#: A channel's relation bound is this many times the largest window median of its distance from
#: the others in training, plus :data:`RELATION_FLOOR` (scaled units). Measured at 1.5 and 3
#: (``benchmarks/other_machine.py``, ``mobile_base.py``, ``conditions.py``): at 1.5 a conveyor's
#: motor current, wandering with its load from window to window, crossed it in normal sessions
#: and was shifted by noise (0 -> 6 false alarms an hour); at 3 no normal session of any
#: benchmark crosses it, and the mobile base's discharge still does.
RELATION_MARGIN = 3.0
#: Scaled units added to every relation bound (a channel the others predict almost exactly).
RELATION_FLOOR = 0.05
#: No relation bound is below this share of the channel's envelope width. A drift smaller than
#: that does not flood the detector's threshold, and the shift by the level model's estimate (not
#: the detector's own model of the channel) costs more than it takes away: on the simulated arm
#: with every unseen condition at once (heavier payload, 80 % speed, drift) the payload moved the
#: gripper current's and the accelerations' relations by 2-9 % of their widths, and shifting them
#: raised 4-20 false alarms an hour (``benchmarks/quantised_temperatures.py``; 0 with a floor of
#: 15 %); the mobile base's discharging battery crosses at 15-35 % of its width.
RELATION_MIN_SHARE = 0.15


class LevelModel:
    """The training rows' mean and covariance (scaled units): what the channels predict of each other.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
    covariance_ : ndarray of shape (n_channels, n_channels)
    relation_bound_ : ndarray of shape (n_channels,) or None
        Each channel's bound on a window's median distance from the others (:func:`relation_bounds`,
        set by the detector's fit; ``inf``: not watched so); None: none is (models saved before it).
    """

    def fit(self, parts) -> LevelModel:
        """Fit on scaled training rows: a list of arrays (n_i, n_channels), one per log, read one at a time."""
        self.relation_bound_ = None
        rows, total, products = 0, 0.0, 0.0
        for Z in parts:
            Z = np.asarray(Z, dtype=np.float64)
            rows, total, products = rows + len(Z), total + Z.sum(axis=0), products + Z.T @ Z
        self.mean_ = np.asarray(total, dtype=np.float64) / max(rows, 1)
        self.covariance_ = (products - rows * np.outer(self.mean_, self.mean_)) / max(rows - 1, 1)
        return self

    def offsets(self, rows: np.ndarray, out, inside) -> np.ndarray:
        """Each channel ``out`` (indices) minus its estimate from the channels ``inside`` (indices),
        per row of ``rows`` (n, n_channels): shape (n, len(out))."""
        distance = rows[:, out] - self.mean_[out]
        if len(inside):
            cov = self.covariance_[np.ix_(inside, inside)]
            ridge = RIDGE * np.diag(np.maximum(np.diag(cov), 1e-12))
            weights = np.linalg.solve(cov + ridge, self.covariance_[np.ix_(inside, out)])  # (s, o)
            distance -= (rows[:, inside] - self.mean_[inside]) @ weights
        return distance

    def relations(self, rows: np.ndarray, channels) -> tuple[np.ndarray, np.ndarray]:
        """Each of ``channels`` (indices, at least 2) minus its estimate from the others of
        ``channels``, per row of ``rows`` (n, n_channels): shape (n, len(channels)), and each
        one's spread about that estimate in training (len(channels),): the residuals and standard
        deviations of the ridge-regularised covariance's conditional means, all at once from its
        inverse. A residual over its spread is the channel's share of the rows' distance from the
        training mean (its reconstruction-based contribution): the channel that moved has the
        largest, its partners only the part of its move they predict."""
        channels = np.asarray(channels, dtype=np.int64)
        cov = self.covariance_[np.ix_(channels, channels)]
        precision = np.linalg.inv(cov + RIDGE * np.diag(np.maximum(np.diag(cov), 1e-12)))
        diagonal = np.diag(precision)
        return (rows[:, channels] - self.mean_[channels]) @ precision / diagonal, 1.0 / np.sqrt(diagonal)

    def to_dict(self) -> dict:
        """JSON-ready (``detector.json``'s ``level_model``): n_channels + n_channels^2 numbers, and
        the relation bounds (null: not watched)."""
        relation = None if self.relation_bound_ is None else [float(b) if np.isfinite(b) else None for b in self.relation_bound_]
        return {"mean": self.mean_.tolist(), "covariance": self.covariance_.tolist(), "relation": relation}

    @classmethod
    def from_dict(cls, data: dict, n_channels: int) -> LevelModel:
        """The model of :meth:`to_dict`; ValueError unless its shapes fit ``n_channels``."""
        model = cls()
        model.mean_ = np.asarray(data["mean"], dtype=np.float64)
        model.covariance_ = np.asarray(data["covariance"], dtype=np.float64)
        relation = data.get("relation")  # saved before relation bounds: none
        model.relation_bound_ = None if relation is None else np.array([np.inf if b is None else b for b in relation], dtype=np.float64)
        shapes = [model.mean_.shape, model.covariance_.shape[:1], model.covariance_.shape[1:]]
        if model.relation_bound_ is not None:
            shapes.append(model.relation_bound_.shape)
        if any(shape != (n_channels,) for shape in shapes):
            raise ValueError(f"a level model of shape {model.covariance_.shape} for {n_channels} channels")
        return model


def relation_bounds(model: LevelModel, parts, watched, rows: int, width) -> np.ndarray:
    """Each channel's bound on a window's median distance from what the other ``watched`` channels
    predict for it (:meth:`LevelModel.relations`), from scaled training logs ``parts`` (each
    (n_i, n_channels)) cut into windows of ``rows`` rows (medians over every k-th row, as
    :class:`Recentring` takes them): :data:`RELATION_MARGIN` x the largest in any window +
    :data:`RELATION_FLOOR`, and at least :data:`RELATION_MIN_SHARE` of the channel's envelope
    ``width`` (n_channels,) in scaled units. Shape (n_channels,); ``inf`` for a channel not
    watched (and for every channel without a full window in training)."""
    watched = np.asarray(watched, dtype=np.int64)
    step = median_step(rows)
    largest = np.full(len(watched), -np.inf)
    for Z in parts:
        for start in range(0, len(Z) - rows + 1, rows):
            window = np.asarray(Z[start : start + rows : step], dtype=np.float64)
            median = np.median(model.relations(window, watched)[0], axis=0)
            largest = np.maximum(largest, np.abs(median))
    bounds = np.full(len(model.mean_), np.inf)
    bounds[watched] = np.maximum(RELATION_MARGIN * largest + RELATION_FLOOR, RELATION_MIN_SHARE * np.asarray(width)[watched])
    bounds[watched[~np.isfinite(largest)]] = np.inf
    return bounds


@dataclass
class Followed:
    """A channel that re-centring followed by its relation in a pass (it drifted from what the
    other channels predict for it while inside its range; :meth:`Recentring.followed`).

    Attributes
    ----------
    channel : int
        The channel's index among the detector's channels.
    row : int
        The pass's row (0-based) that ends the first window past its bound: its shift holds
        from the row after it.
    windows : int
        Windows after which it was shifted (each ``rows`` rows of the pass).
    shift : float
        Its largest shift, scaled units, with its sign (the channel sat that far from what the
        others predict).
    """

    channel: int
    row: int
    windows: int
    shift: float

    def drift(self, channels, scale, start, rows: int = 0) -> RelationDrift:
        """It as a :class:`anomaly.guard.RelationDrift` of a run: named from ``channels``, its
        shift in the channel's own units (``scale``: the scaler's, (n_channels,)), from the index
        label ``start``, shifted on ``rows`` rows."""
        return RelationDrift(channels[self.channel], start, int(rows), self.shift * float(scale[self.channel]))


class Recentring:
    """The per-pass state of re-centring, fed the pass's scaled rows in order.

    Parameters
    ----------
    low, high : array-like of shape (n_channels,)
        Each channel's training envelope in scaled units; a channel not watched has
        ``-inf``/``inf``.
    median : array-like of shape (n_channels,)
        Each channel's training median in scaled units.
    rows : int
        Rows per window (>= 1).
    model : LevelModel or None
        What the channels predict of each other (None: a channel's offset is its window median's
        distance from ``median``).
    relation : array-like of shape (n_channels,) or None
        Each channel's bound on its window median's distance from the others
        (:func:`relation_bounds`; ``inf``: not watched so); None: no channel is (models saved
        before it, or without a level model).
    """

    def __init__(self, low, high, median, rows: int, model: LevelModel | None = None, relation=None):
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.rows = int(rows)
        self.watched = np.flatnonzero(np.isfinite(self.low) & np.isfinite(self.high))
        self.median = np.asarray(median, dtype=np.float64)[self.watched]
        self.model = model
        self._step = median_step(self.rows)  # every k-th row of a window enters its medians
        self._window = np.zeros((-(-self.rows // self._step), len(self.watched)), dtype=np.float64)  # those rows
        self._filled = 0
        self._seen = 0
        self._recentred = np.zeros(len(self.watched), dtype=bool)  # shifted after the last window
        self._last: np.ndarray | None = None  # the last window's median (None before the first)
        self._width = self.high[self.watched] - self.low[self.watched]
        bound = np.full(len(self.watched), np.inf) if relation is None or model is None else np.asarray(relation, np.float64)[self.watched]
        self.relation = bound  # per watched channel
        self._drifted_apart = np.zeros(len(self.watched), dtype=bool)  # shifted by its relation after the last window
        self._last_relation: np.ndarray | None = None  # the last window's relation medians (nan: not inside)
        self._followed: dict[int, Followed] = {}  # by watched position: what the relation rule followed
        self._new: list[Followed] = []  # followed for the first time since the last take_new()
        # segments of the pass from which a shift holds: its first row, and the shift offset + slope x (row - anchor)
        self._starts, self._anchors = [0], [0.0]
        self._offsets, self._slopes = [np.zeros(len(self.watched))], [np.zeros(len(self.watched))]

    def __call__(self, Z: np.ndarray, new: int | None = None) -> np.ndarray:
        """Rows (m, c) of the pass, of which the last ``new`` (default: all; on the first call all
        ``m`` rows) are new, -> the same rows (m, c) float32 with the shifts in force at their
        positions subtracted from the watched channels."""
        m = len(Z)
        new = m if new is None or not self._seen else int(new)
        start = self._seen - (m - new)
        if start < 0 or not 0 <= new <= m:
            raise ValueError(f"{m - new} rows given as seen, but the pass has seen {self._seen}")
        if not len(self.watched):
            return Z
        self._take(np.take(np.asarray(Z[m - new :]), self.watched, axis=1))  # np.take: 5x faster than fancy indexing
        position = np.arange(start, start + m)
        at = np.searchsorted(self._starts, position, side="right") - 1
        used = np.unique(at)
        if not any(self._offsets[i].any() or self._slopes[i].any() for i in used):
            return Z
        at = np.searchsorted(used, at)  # among the segments these rows use
        offsets, slopes = np.array([self._offsets[i] for i in used]), np.array([self._slopes[i] for i in used])
        anchors = np.array([self._anchors[i] for i in used])
        out = np.array(Z, dtype=np.float32)
        out[:, self.watched] -= (offsets[at] + slopes[at] * (position - anchors[at])[:, None]).astype(np.float32)
        return out

    def _update(self, median: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shift after the window just filled (its median (k,)): per channel, its offset in the
        window (k,) and the slope (k,) per row from its offset in the window before, both 0 for a
        channel not re-centred (and the slope for one re-centred after this window only)."""
        outside = (median < self.low[self.watched]) | (median > self.high[self.watched])
        before = self._recentred | self._drifted_apart
        if self._last is None:  # the first window: outside since the pass's start
            self._recentred = outside
        else:
            inside_before = (self._last >= self.low[self.watched]) & (self._last <= self.high[self.watched])
            drifted = inside_before & (np.abs(median - self._last) <= GRADUAL_SHARE * self._width)
            self._recentred = outside & (self._recentred | drifted)
        self._last = median
        offset = np.zeros(len(self.watched))
        out = np.flatnonzero(self._recentred)
        rows = None
        if len(out) and self.model is None:
            offset[out] = median[out] - self.median[out]
        elif len(out):
            rows = self._full_width()
            offset[out] = np.median(self.model.offsets(rows, self.watched[out], self.watched[~outside]), axis=0)
        self._follow_relations(~outside, offset, rows)
        # the last segment holds the window before's offset (a segment starts whenever the offset moves)
        slope = np.where((self._recentred | self._drifted_apart) & before, (offset - self._offsets[-1]) / self.rows, 0.0)
        return offset, slope

    def _full_width(self) -> np.ndarray:
        """The window's rows (k_rows, n_channels) with the watched channels in place (the others 0)."""
        rows = np.zeros((len(self._window), len(self.model.mean_)))
        rows[:, self.watched] = self._window
        return rows

    def _follow_relations(self, inside: np.ndarray, offset: np.ndarray, rows: np.ndarray | None) -> None:
        """Mark the channels ``inside`` their envelope whose window median distance from the
        others inside lies beyond their bound after drifting there (from within the bound the
        window before, moving by at most the bound and :data:`GRADUAL_SHARE` of the envelope's
        width since: a current that steps 1.8 standard deviations away from the speed it
        follows is a fault, though a quarter of its wide envelope is more) or after
        being marked the window before, and set their ``offset`` to that median. A channel that
        drifts also moves its partners' distances from what it predicts for them: the channel
        with the largest distance for its spread (:meth:`LevelModel.relations`) is the one that
        moved; beyond its bound it is taken out and the others' distances measured again without
        it, until the largest left is within its bound (its partners' then are leaks of its move)."""
        watch = inside & np.isfinite(self.relation)
        relation = np.full(len(self.watched), np.nan)
        together = watch.copy()  # the channels still predicting each other
        while together.sum() >= 2:  # the one that moved most leaves them, while it is beyond its bound
            rows = self._full_width() if rows is None else rows
            residuals, spread = self.model.relations(rows, self.watched[together])
            relation[together] = np.median(residuals, axis=0)
            at = np.flatnonzero(together)[np.argmax(np.abs(relation[together]) / spread)]
            if abs(relation[at]) <= self.relation[at]:
                break
            together[at] = False
        apart = watch & ~together  # beyond their bounds, each the one that moved when it left
        if self._last_relation is None:  # a relation broken from the pass's start is scored as it is
            self._drifted_apart = np.zeros_like(apart)
        else:
            within_before = np.abs(self._last_relation) <= self.relation  # nan (not inside then): False
            # a drift, not a step: it crossed its bound moving by at most the bound itself (and a quarter of the width)
            step = np.minimum(GRADUAL_SHARE * self._width, self.relation)
            drifted = within_before & (np.abs(relation - self._last_relation) <= step)
            self._drifted_apart = apart & (self._drifted_apart | drifted)
        self._last_relation = relation
        offset[self._drifted_apart] = relation[self._drifted_apart]
        for k in np.flatnonzero(self._drifted_apart):
            if (seen := self._followed.get(k)) is None:
                seen = self._followed[k] = Followed(int(self.watched[k]), self._seen - 1, 0, 0.0)
                self._new.append(seen)
            seen.windows += 1
            if abs(relation[k]) > abs(seen.shift):
                seen.shift = float(relation[k])

    def followed(self) -> list[Followed]:
        """The channels the relation rule followed in the pass so far, in the order it first did."""
        return list(self._followed.values())  # recorded in that order

    def take_new(self) -> list[Followed]:
        """The channels the relation rule followed for the first time since the last call (a
        stream reports each once)."""
        new, self._new = self._new, []
        return new

    def _take(self, values: np.ndarray) -> None:
        """Feed the watched channels' new rows (n, k); each window they complete sets the shift after it."""
        i = 0
        while i < len(values):
            j = min(len(values), i + self.rows - self._filled)
            first = -self._filled % self._step  # the first of these rows at a multiple of the step
            taken = values[i + first : j : self._step]
            at = (self._filled + first) // self._step
            self._window[at : at + len(taken)] = taken
            self._filled += j - i
            self._seen += j - i
            i = j
            if self._filled == self.rows:
                self._filled = 0
                offset, slope = self._update(np.median(self._window, axis=0))
                if (offset != self._offsets[-1]).any() or (slope != self._slopes[-1]).any():
                    self._starts.append(self._seen)
                    self._anchors.append(self._seen - self.rows / 2)  # the window's middle, where its median lies
                    self._offsets.append(offset)
                    self._slopes.append(slope)


def add_followed(found: dict[str, RelationDrift], recentring: Recentring, length: int, channels, scale, start_of) -> None:
    """Count what ``recentring``'s relation rule followed in a pass of ``length`` rows into
    ``found`` (by channel name, :func:`anomaly.guard.add_drift`): the rows it was shifted on, its
    largest shift in its own units (``scale``: the scaler's, (n_channels,)), and from where,
    ``start_of(followed)`` (the index label of the row that ended its first window)."""
    for f in recentring.followed():
        if f.row + 1 >= length:  # followed from the pass's last row: no row was shifted
            continue
        add_drift(found, f.drift(channels, scale, start_of(f), min(f.windows * recentring.rows, length - f.row - 1)))
