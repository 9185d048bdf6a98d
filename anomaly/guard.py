"""Validity guard: does the data as a whole lie inside the training envelope?

A detector fitted on one operating condition says nothing reliable about another. Instead of
flagging every row of a cooler day, the guard compares each channel's median over a run (or
the last rows of a stream) with the range the channel covered in training and names the
channels outside it, once::

    model outside its operating envelope: j1_temp -4.02 (training 27.9 .. 28.2), ...

The envelope of a channel is its 0.5th .. 99.5th percentile in training, widened by
:data:`MARGIN` robust standard deviations (1.4826 x MAD) on each side. A file sampled at another
rate than the training data is named too (:func:`rate_note`).

A run can also stay inside every channel's range on the median and still leave it often: a
second program reaches poses the training never did. A channel the detector models at its level
(not a condition or set-point channel, whose level the model does not use) that spends at least
:data:`SHARE_OUTSIDE` of the run outside its range is named too::

    model outside its operating envelope: j3_pos 17% of rows outside (training -2.084 .. -1.353)

Long faults can do that as well (an overheating joint); the line says where the run left the
training data, not why.

A run can also flood while every channel stays inside its range: a battery whose level differs
by session sits within the training range on its own, while beside the load currents it never
did. When the guard names nothing, at least :data:`FLOOD_SHARE` of the run's rows are flagged and
one channel the model sees at its level leads (has the largest error of) at least
:data:`LEAD_SHARE` of the flagged rows, that channel is named (:func:`flood_note`)::

    31% of rows flagged, 87% of them led by battery_v, inside its training range: its level or its
    relation to the other channels differs from training (...)

Set-point channels that lead half the flagged rows together are named when two or more are over
their own limits in a quarter of them (temperatures an ambient drift carries past their training
level, whose names do not say "temperature", so no common move is taken out of them); one alone
is an overheating joint and is not (:func:`flood_leaders`)::

    80% of rows flagged, 100% of them led by ch7, ch23, ..., set-point channels beyond the span
    between their level at the run's start and their training level: ... fit again with
    --condition auto,ch7,ch23,... (modelled by their change)

Re-centring (:mod:`anomaly.recentring`) also follows a channel that drifts away from what the
other channels predict while inside its range; the run's line says so (:func:`relation_note`),
since it decides what is no longer flagged::

    battery_v drifted from what the other channels predict inside its range and is scored around
    its drifting level from 2026-04-01 00:08:59.900 (55% of the rows; by up to -0.4308)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MARGIN = 3.0
#: A run sampled more than this factor faster or slower than the model's training data is named.
RATE_TOLERANCE = 1.1
#: A channel modelled at its level is named when at least this share of a run's rows lie outside its range.
SHARE_OUTSIDE = 0.1
#: Channels named by their share outside that :func:`describe` keeps however many medians are outside.
SHARE_SHOWN = 2
#: A run inside the envelope with at least this share of its rows flagged is a flood (:func:`flood_note`).
FLOOD_SHARE = 0.2
#: A flood is named by the channel that leads at least this share of its flagged rows (or set-point channels together).
LEAD_SHARE = 0.5
#: A set-point channel named in a flood the set-point channels lead is over its own limit in at least this share of its flagged rows.
SETPOINT_OVER_SHARE = 0.25
#: A flood the set-point channels lead is named only when at least this many are over their limits together.
SETPOINT_MIN_NAMED = 2
#: Rows a stream's guard looks back on, and the windows of re-centring (:mod:`anomaly.recentring`), in seconds.
WINDOW_SECONDS = 60.0
#: The window in rows when the model has no sampling rate (numbered rows).
WINDOW_ROWS = 1000
_LOW, _HIGH = 0.5, 99.5


def window_rows(rate: float | None) -> int:
    """Rows in :data:`WINDOW_SECONDS` at the sampling ``rate`` (Hz), or :data:`WINDOW_ROWS` without one."""
    return max(1, int(round(WINDOW_SECONDS * rate))) if rate and np.isfinite(rate) else WINDOW_ROWS


@dataclass(frozen=True)
class Excursion:
    """One channel outside the envelope: its median's ``delta`` from the nearest edge, in the
    channel's units, or (``share`` set, the median inside) the share of the run's rows outside."""

    channel: str
    median: float
    low: float
    high: float
    share: float | None = None

    @property
    def delta(self) -> float:
        """0 for a median inside the range (an excursion by ``share``)."""
        if self.low <= self.median <= self.high:
            return 0.0
        return self.median - self.high if self.median > self.high else self.median - self.low


class Envelope:
    """Per-channel training envelope (fitted on raw, unscaled values).

    Attributes
    ----------
    channels_ : tuple of str
    low_, high_ : ndarray of shape (n_channels,)
    median_ : ndarray of shape (n_channels,)
        The training median (models saved before it: the middle of ``low_ .. high_``).
    """

    def fit(self, values: np.ndarray, channels: tuple[str, ...], unbounded=()) -> Envelope:
        """Fit on training rows (n, n_channels); the channels at the indices ``unbounded`` (counters,
        whose level only says how long the machine has run) are never outside."""
        x = np.asarray(values, dtype=np.float64)
        low, median, high = np.percentile(x, [_LOW, 50.0, _HIGH], axis=0)
        spread = 1.4826 * np.median(np.abs(x - median), axis=0)
        self.channels_ = tuple(channels)
        self.low_, self.high_, self.median_ = low - MARGIN * spread, high + MARGIN * spread, median
        unbounded = np.asarray(unbounded, dtype=np.int64)
        self.low_[unbounded], self.high_[unbounded] = -np.inf, np.inf
        return self

    def check(self, values: np.ndarray, level=None) -> list[Excursion]:
        """Channels whose median over ``values`` (n, n_channels) lies outside the envelope, largest
        excursion first, then those of ``level`` (bool (n_channels,), default: none) with at least
        :data:`SHARE_OUTSIDE` of the rows outside, largest share first."""
        x = np.asarray(values, dtype=np.float64)
        return self.check_median(np.median(x, axis=0), self.outside_counts(x) / max(len(x), 1), level)

    def outside_counts(self, values: np.ndarray) -> np.ndarray:
        """Rows of ``values`` (n, n_channels) outside each channel's range, shape (n_channels,)."""
        return ((values < self.low_) | (values > self.high_)).sum(axis=0)

    def check_median(self, median: np.ndarray, share=None, level=None) -> list[Excursion]:
        """As :meth:`check`, for a run's per-channel median (n_channels,) and share of rows
        outside (n_channels,) or None computed elsewhere."""
        outside = np.flatnonzero((median < self.low_) | (median > self.high_))
        found = [Excursion(self.channels_[i], float(median[i]), float(self.low_[i]), float(self.high_[i])) for i in outside]
        width = dict(zip(self.channels_, np.maximum(self.high_ - self.low_, 1e-12)))
        found.sort(key=lambda e: -abs(e.delta) / width[e.channel])
        if share is None or level is None:
            return found
        often = np.asarray(level, dtype=bool) & (np.asarray(share) >= SHARE_OUTSIDE)
        often[outside] = False
        spread = [Excursion(self.channels_[i], float(median[i]), float(self.low_[i]), float(self.high_[i]), float(share[i]))
                  for i in np.flatnonzero(often)]
        return found + sorted(spread, key=lambda e: -e.share)

    def to_dict(self) -> dict:
        """JSON-ready: an unbounded side (a counter's) is null, as JSON has no infinity."""
        def side(values: np.ndarray) -> list:
            return [float(v) if np.isfinite(v) else None for v in values]
        return {"channels": list(self.channels_), "low": side(self.low_), "high": side(self.high_),
                "median": [float(v) for v in self.median_]}

    @classmethod
    def unbounded(cls, channels: tuple[str, ...]) -> Envelope:
        """An envelope nothing lies outside (models saved before the guard existed)."""
        envelope = cls()
        envelope.channels_ = tuple(channels)
        envelope.low_, envelope.high_ = np.full(len(channels), -np.inf), np.full(len(channels), np.inf)
        envelope.median_ = np.zeros(len(channels))
        return envelope

    @classmethod
    def from_dict(cls, data: dict) -> Envelope:
        envelope = cls()
        envelope.channels_ = tuple(data["channels"])
        envelope.low_ = np.array([-np.inf if v is None else v for v in data["low"]], dtype=np.float64)
        envelope.high_ = np.array([np.inf if v is None else v for v in data["high"]], dtype=np.float64)
        if "median" in data:
            envelope.median_ = np.array(data["median"], dtype=np.float64)
        else:  # saved before the envelope kept it: the middle of a bounded range
            bounded = np.isfinite(envelope.low_) & np.isfinite(envelope.high_)
            envelope.median_ = np.zeros(len(envelope.low_))
            envelope.median_[bounded] = (envelope.low_[bounded] + envelope.high_[bounded]) / 2
        if envelope.median_.shape != envelope.low_.shape:
            raise ValueError(f"{len(envelope.median_)} medians for {len(envelope.low_)} channels")
        return envelope


def describe(excursions: list[Excursion], *, limit: int = 5) -> str:
    """One line naming the channels outside the envelope (empty when there are none): at most
    ``limit``, the largest median excursions first, with up to :data:`SHARE_SHOWN` of the
    channels named by their share outside kept among them (a new program on a cooler day names
    its positions beside the temperatures)."""
    if not excursions:
        return ""
    medians = [e for e in excursions if e.share is None]
    shares = [e for e in excursions if e.share is not None]
    kept = min(len(shares), SHARE_SHOWN, limit)
    shown = medians[: limit - kept] + shares[: limit - len(medians[: limit - kept])]
    parts = [f"{e.channel} {e.delta:+.3g} (training {e.low:.4g} .. {e.high:.4g})" if e.share is None else
             f"{e.channel} {e.share:.0%} of rows outside (training {e.low:.4g} .. {e.high:.4g})" for e in shown]
    more = f" and {len(excursions) - len(shown)} more" if len(excursions) > len(shown) else ""
    return "model outside its operating envelope: " + ", ".join(parts) + more


def refit_names(excursions: list[Excursion], channels, level) -> list[str]:
    """The channels among ``excursions`` whose median lies outside the envelope and that the model
    sees at its level (``level``, bool aligned with ``channels``): those a refit could model by
    their change (:func:`condition_option`)."""
    at_level = {name for name, on in zip(channels, level) if on}
    return [e.channel for e in excursions if e.share is None and e.channel in at_level]


def condition_option(names, declared=()) -> str:
    """The ``fit`` option that keeps auto's choice of condition channels and the model's
    ``declared`` ones (:meth:`anomaly.base.Detector.declared_conditions`), and adds ``names``."""
    kept = list(declared)
    return f"--condition auto,{','.join(kept + [name for name in names if name not in kept])}"


def condition_hint(excursions: list[Excursion], flagged: float, channels, level, *, recentred: bool = False, declared=()) -> str:
    """The refit that would model the channels behind a flood by their change: empty unless a
    channel the model sees at its level has its median outside the envelope (:func:`refit_names`)
    and either at least :data:`FLOOD_SHARE` of the run is flagged (``flagged``, a share) or the
    model re-centres such channels (``recentred``, :mod:`anomaly.recentring`: the flood it
    stopped would otherwise be the sign). A battery that discharges too little over the training
    logs to be taken as a condition is re-centred after a minute outside on a less charged
    battery (without re-centring, every row is flagged); if its level is an operating
    condition, not a fault, ``--condition auto,battery_v`` keeps auto's choice and adds it, and
    models it from the first row (with the model's ``declared`` condition channels kept)."""
    names = refit_names(excursions, channels, level)
    if not names or (flagged < FLOOD_SHARE and not recentred):
        return ""
    own = "its" if len(names) == 1 else "their"
    scored = f"{', '.join(names)} scored around {own} own level after a minute outside; " if recentred else ""
    return (f"{scored}if the level of {', '.join(names)} is an operating condition (a battery's charge, the day's temperature), "
            f"not a fault: fit again with {condition_option(names, declared)}")


def led_rows(ranked: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """How many flagged rows each channel leads, shape (n_channels,): the channel with the largest
    of the (calibrated) errors ``ranked`` (n, n_channels) in each row that ``flags`` (n,) marks."""
    leaders = np.argmax(np.asarray(ranked)[np.asarray(flags, dtype=bool)], axis=1)
    return np.bincount(leaders, minlength=np.shape(ranked)[1])


def flood_leaders(led: np.ndarray, rows: int, level, setpoints=None, over=None) -> list[int]:
    """The indices of the channels that lead a flood inside the envelope, ``[]`` when there is
    none: at least :data:`FLOOD_SHARE` of a run's ``rows`` flagged (``led``: :func:`led_rows`,
    summed over the run; every flagged row is led by one channel) and one channel the model sees
    at its level (``level``, bool (n_channels,)) leading at least :data:`LEAD_SHARE` of them
    (``[it]``), or else set-point channels (``setpoints``, bool (n_channels,); None: none)
    leading at least :data:`LEAD_SHARE` of them together: then every set-point channel over its
    own limit in at least :data:`SETPOINT_OVER_SHARE` of the flagged rows (``over``:
    :func:`over_rows`, summed over the run), most first, when there are at least
    :data:`SETPOINT_MIN_NAMED`. Temperatures that a warmer day or an ambient drift carries past
    their training level together, which the model does not know as temperatures by name, are
    named at once, not the one or two that lead; one alone is what an overheating joint looks
    like (a fault: the simulated arm's faulty runs flood 50-80 % of their rows led by it), and is
    not named. Ask it only when :func:`describe` names nothing."""
    flagged = int(np.sum(led))
    if rows < 1 or flagged < FLOOD_SHARE * rows:
        return []
    top = int(np.argmax(led))
    if np.asarray(level, dtype=bool)[top] and led[top] >= LEAD_SHARE * flagged:
        return [top]
    if setpoints is None or over is None:
        return []
    setpoints = np.asarray(setpoints, dtype=bool)
    if np.sum(np.asarray(led)[setpoints]) < LEAD_SHARE * flagged:
        return []
    over = np.asarray(over)
    named = np.flatnonzero(setpoints & (over >= SETPOINT_OVER_SHARE * flagged))
    if len(named) < SETPOINT_MIN_NAMED:  # one joint overheating is a fault's signature, not a condition's
        return []
    return [int(i) for i in sorted(named, key=lambda i: -over[i])]


def over_rows(ranked: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """How many flagged rows each channel is over its own limit in, shape (n_channels,): its
    calibrated error (``ranked``, (n, n_channels), in units of its normal 99th percentile) above 1
    in the rows ``flags`` (n,) marks."""
    return (np.asarray(ranked)[np.asarray(flags, dtype=bool)] > 1.0).sum(axis=0)


def flood_note(led: np.ndarray, rows: int, channels: tuple[str, ...], level, setpoints=None, over=None, declared=()) -> str:
    """One line naming the channels that lead a flood inside the envelope (:func:`flood_leaders`;
    empty when there is none)."""
    return flood_line(led, rows, channels, flood_leaders(led, rows, level, setpoints, over), level, declared)


def flood_line(led: np.ndarray, rows: int, channels: tuple[str, ...], leaders: list[int], level, declared=()) -> str:
    """The flood note's line for a flood of ``rows`` led by the channels at ``leaders``
    (:func:`flood_leaders`; ``led``: :func:`led_rows`); empty without leaders. Its refit keeps the
    model's ``declared`` condition channels (:func:`condition_option`)."""
    if not leaders:
        return ""
    flagged = int(np.sum(led))
    names = [channels[i] for i in leaders]
    share = f"{flagged / rows:.0%} of rows flagged, {np.sum(np.asarray(led)[leaders]) / flagged:.0%} of them led by {', '.join(names)}"
    if np.asarray(level, dtype=bool)[leaders[0]]:
        return (f"{share}, inside its training range: its level or its relation to the other channels differs from training "
                f"(a battery or a supply whose level changes from session to session: fit on logs of several sessions, or "
                f"declare it beside auto's choice with {condition_option(names, declared)})")
    return (f"{share}, set-point channels beyond the span between their level at the run's start and their training "
            f"level: if their level follows an operating condition (the day's temperature, an ambient drift), not a fault, "
            f"fit again with {condition_option(names, declared)} (modelled by their change)")


def flood_shares(led: np.ndarray, channels: tuple[str, ...], leaders: list[int]) -> dict[str, float]:
    """The share of a flood's flagged rows each of its ``leaders`` leads, by name (a stream's ``led_by``)."""
    flagged = max(int(np.sum(led)), 1)
    return {channels[i]: round(float(led[i] / flagged), 4) for i in leaders}


def run_flood(detector, errors, flags) -> tuple[str, str | None]:
    """:func:`flood_note` of one run read whole and the channels it names, comma-joined
    (``("", None)`` when there is no flood): a fitted detector's per-channel errors (n,
    n_channels) and flags (n,), array-likes (ranked by the detector's calibrated errors)."""
    ranked = detector.head_.calibrated(np.asarray(errors))
    led, level = led_rows(ranked, flags), detector.level_channels()
    leaders = flood_leaders(led, len(flags), level, detector.setpoint_channels(), over_rows(ranked, flags))
    if not leaders:
        return "", None
    channels = detector.schema_.channels
    line = flood_line(led, len(flags), channels, leaders, level, detector.declared_conditions())
    return line, ", ".join(channels[i] for i in leaders)


def rate_note(model_rate: float | None, run_rate: float | None) -> str:
    """One line when a run's sampling rate (Hz) differs from the model's by more than
    :data:`RATE_TOLERANCE` (empty when it does not, or when either is unknown): the alert
    on-delay, the condition channels' lag and the set-point reference count rows at the
    model's rate, so they last longer or shorter in seconds."""
    if not model_rate or not run_rate or 1 / RATE_TOLERANCE <= run_rate / model_rate <= RATE_TOLERANCE:
        return ""
    return (f"sampled at {run_rate:.3g} Hz, the model at {model_rate:.3g} Hz (its alert rules and condition channels "
            f"count rows at the model's rate)")


@dataclass
class RelationDrift:
    """A channel re-centring followed by its relation over a run (:meth:`anomaly.base.Detector.relation_drifts`).

    Attributes
    ----------
    channel : str
        Its name.
    start
        The index label (a timestamp, or a row number) of the row that ended the first window
        past its bound: it is scored around its shifted level from the row after.
    rows : int
        Rows scored around a shifted level (every pass of the run).
    shift : float
        Its largest shift, in the channel's units, with its sign.
    """

    channel: str
    start: object
    rows: int
    shift: float


def add_drift(found: dict[str, RelationDrift], drift: RelationDrift) -> None:
    """Count one pass's follow of a channel (``drift``) into ``found`` (by name): the first
    start, the rows summed, the largest shift kept."""
    if (seen := found.get(drift.channel)) is None:
        found[drift.channel] = drift
        return
    seen.rows += drift.rows
    if abs(drift.shift) > abs(seen.shift):
        seen.shift = drift.shift


def relation_note(drifts: list[RelationDrift], rows: int | None = None) -> str:
    """One line naming the channels re-centring followed by their relation (empty when none):
    what the alarms no longer cover; with ``rows`` (the run's), the share of them each was
    followed on."""
    def extent(d: RelationDrift) -> str:
        return f"by {d.shift:+.4g}" if rows is None else f"{min(d.rows, rows) / max(rows, 1):.0%} of the rows; by up to {d.shift:+.4g}"

    return "; ".join(f"{d.channel} drifted from what the other channels predict inside its range and is scored around its "
                     f"drifting level from {_moment(d.start)} ({extent(d)})" for d in drifts)


def _moment(start) -> str:
    """A row's index label: a timestamp to the millisecond, a row number as it is."""
    return start.isoformat(sep=" ", timespec="milliseconds") if hasattr(start, "isoformat") else str(start)


def joined(*notes: str) -> str:
    """The non-empty ``notes`` joined into one line."""
    return "; ".join(note for note in notes if note)
