"""The stateful stream scorer: :class:`StreamScorer` fed one row at a time, and its :class:`Alert` and :class:`Step`.

:class:`StreamScorer` keeps a ring buffer of the last rows, scores the newest ``hop`` rows
every ``hop`` rows through the detector's engine (ONNX Runtime when the model was exported),
and feeds each score to an :class:`~anomaly.decisions.AlertLogic` (hysteresis, minimum duration,
merge gap, cooldown, counted in rows). It reports one :class:`Alert` when an event is raised
and one when it ends.

Which batch score a streamed score equals: the stream skips the first ``span - 1`` rows
(warm-up: ``window - 1`` for window autoencoders, ``window`` for the forecaster, none for
PCA), then scores rows in groups of ``hop``, each group from the rows that end at its last
row. :meth:`anomaly.base.Detector.score_stream` computes exactly these scores in one batch
pass; with ``hop=1`` a window model's score of row ``t`` is the newest row's score of
``det.score(frame.iloc[t - window + 1 : t + 1])``, and PCA's equals ``det.score(frame)``.
(Batch ``score`` of window models averages each row over the windows that cover it, later
windows included, which a stream cannot see.) After a pause in the timestamps
(:mod:`anomaly.pauses`: a minute or more without a row) the stream starts a new pass, as
``score_stream`` does: a new warm-up and the set-point channels' new reference; an open alert
ends (its "end" message comes with the next step) and the cooldown does not reach across
(``AlertLogic.pause``), as ``events`` splits at pauses.
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from anomaly.attribution import top_channels
from anomaly.decisions import AlertLogic, model_rules
from anomaly.errors import DataError
from anomaly.pauses import is_pause, pause_length
from pipelines.stream.drift import EnvelopeWatch, followed_record

__all__ = ["CATCH_UP_GROUPS", "Alert", "Step", "StreamScorer", "jsonable"]

#: Hop groups :meth:`StreamScorer.push_rows` scores in one engine call at most.
CATCH_UP_GROUPS = 64


def jsonable(timestamp):
    """A timestamp as JSON: ISO 8601 text for datetimes, else the number."""
    return timestamp.isoformat() if isinstance(timestamp, datetime) else timestamp


@dataclass(frozen=True)
class Alert:
    """One alert message.

    Attributes
    ----------
    kind : {"alert", "end"}
        "alert" when an event is raised (its ``min_duration``-th row), "end" when it closes.
    model : str
        The model's name (its directory name).
    detector : str
        The detector class.
    start : timestamp
        The event's first row.
    timestamp : timestamp
        The row at which this message was decided.
    threshold : float
        The level the score had to exceed (``enter`` of the alert logic).
    score : float or None
        "alert": the score of the raising row.
    top_channels : tuple of str
        "alert": channels with the largest mean error over the event's rows so far.
    end : timestamp or None
        "end": the event's last row above the hold level.
    peak : float or None
        "end": the highest score of the event.
    """

    kind: str
    model: str
    detector: str
    start: object
    timestamp: object
    threshold: float
    score: float | None = None
    top_channels: tuple[str, ...] = ()
    end: object = None
    peak: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready form: ``{"type": kind, ...}`` without the fields that do not apply."""
        record = {"type": self.kind, "model": self.model, "detector": self.detector, "start": jsonable(self.start),
                  "timestamp": jsonable(self.timestamp), "threshold": self.threshold}
        if self.kind == "alert":
            record.update(score=self.score, top_channels=list(self.top_channels))
        else:
            record.update(end=jsonable(self.end), peak=self.peak)
        return record


@dataclass(frozen=True)
class Step:
    """What one scoring step produced.

    Attributes
    ----------
    timestamps : tuple of length n (= hop)
        The scored rows.
    scores : ndarray of shape (n,)
    errors : ndarray of shape (n, n_channels)
        Per-channel errors of the scored rows.
    alerts : tuple of Alert
    drifts : tuple of dict
        ``drift`` records (``type``, ``model``, ``timestamp``, ``message``, ``channels``): the
        recent rows have just left the training envelope, or the recent scored rows have just
        begun to flood inside it (then with ``led_by``), or a channel is followed (then with
        ``followed``) (:mod:`pipelines.stream.drift`); usually none, at most one per hop group.
    """

    timestamps: tuple
    scores: np.ndarray
    errors: np.ndarray
    alerts: tuple[Alert, ...]
    drifts: tuple[dict, ...] = ()


class StreamScorer:
    """Score a stream row by row and decide alerts.

    Parameters
    ----------
    detector : fitted Detector
        E.g. ``anomaly.load(path, engine="auto")`` (ONNX Runtime when ``model.onnx`` exists).
    hop : int, default=1
        Rows per scoring step (window autoencoders: at most ``window``).
    logic : AlertLogic or None
        Alert rules on the score scale; None means the default rules at the model's sampling
        rate entering at its fitted threshold, ``AlertLogic.from_threshold(detector.thresholder_,
        **counts)`` with the row counts of :func:`~anomaly.decisions.model_rules`.
    top_k : int, default=3
        Channels named in an alert.
    name : str or None
        Model name in alerts; None means the detector's class name.

    Notes
    -----
    :meth:`push` returns None during the warm-up (the first ``span - 1`` rows) and between
    scoring steps. The first engine call happens in the constructor (a warm-up on zeros), so
    the first real step is not slowed by it. A non-finite score (only from absurdly large
    inputs) is replaced by the largest float, so it raises an alert instead of stopping the
    stream.

    Examples
    --------
    >>> scorer = StreamScorer(anomaly.load("models/arm"), hop=1)        # doctest: +SKIP
    >>> for timestamp, row in rows:                                      # doctest: +SKIP
    ...     step = scorer.push(timestamp, row)
    ...     if step is not None and step.alerts:
    ...         print(step.alerts)
    """

    def __init__(self, detector, *, hop: int = 1, logic: AlertLogic | None = None, top_k: int = 3, name: str | None = None):
        self.detector = detector
        self.hop = hop
        rules = model_rules(detector)
        self.logic = AlertLogic.from_threshold(detector.thresholder_, severe_ratio=rules.severe_ratio, **rules.counts()) if logic is None else logic
        self.top_k = top_k
        self.name = name or type(detector).__name__
        self.channels = tuple(detector.schema_.channels)
        self.rows = detector.stream_rows(hop)
        self.logic.reset()  # checks the rules now, not at the first alert
        self.enter = float(self.logic.enter)
        # every row is written twice (slots i and i + size), so the newest `size` rows are one slice;
        # `size` holds the rows of CATCH_UP_GROUPS groups, which one engine call scores
        self._size = self.rows + (CATCH_UP_GROUPS - 1) * hop
        self._buffer = np.zeros((2 * self._size, len(self.channels)), dtype=np.float32)
        detector.score_newest(self._buffer[: self.rows], hop)  # checks hop, loads the engine
        self._pushed = 0
        self._waiting: list = []  # timestamps of the rows pushed after the warm-up and not yet scored
        # (timestamp, errors) of the latest scored rows: an alert's start is at most
        # min_duration + merge_gap rows back when it is raised, its end merge_gap + 1 rows back
        self._recent: deque = deque(maxlen=int(self.logic.min_duration) + int(self.logic.merge_gap) + 2)
        self._scored = 0
        self._open_start = None
        self._watch = EnvelopeWatch(detector)
        self._pass = detector.start_pass()  # the stream is one scoring pass until a pause
        self._last = None  # timestamp of the last row
        self._run = None  # run of the last row
        self._ended: list[Alert] = []  # "end" of an alert a pause closed, sent with the next step
        self._pause = pause_length(detector.schema_.sampling_rate)
        self._drift = None

    def push(self, timestamp, values, run=None) -> Step | None:
        """Add one row.

        Parameters
        ----------
        timestamp : number or datetime
            Later than the previous row's (not checked here: see :class:`~pipelines.messages.RowParser`);
            one a pause after it (datetimes, or numbers that are times: :func:`anomaly.schema.time_ns`)
            starts a new pass.
        values : array-like of shape (n_channels,)
            Finite readings in the detector's channel order.
        run : object, optional
            The row's run (the value of the model's run column, ``fit --runs``): a row of
            another run than the previous row's starts a new pass, as a pause does.

        Returns
        -------
        Step or None
            A Step every ``hop`` rows after the warm-up, else None.

        Raises
        ------
        DataError
            If ``values`` has the wrong shape or is not finite in float32.
        """
        row = np.asarray(values, dtype=np.float32)
        if row.shape != (len(self.channels),):
            raise DataError(f"expected {len(self.channels)} finite values, got shape {row.shape}")
        return self.push_rows([timestamp], row[None], [run])

    def push_rows(self, timestamps, values, runs=None) -> Step | None:
        """Add several rows at once (the messages that waited while the previous ones were
        scored): every hop group they complete is scored, :data:`CATCH_UP_GROUPS` groups per
        engine call, with the same scores and alerts (to float rounding) as pushing them one by one.

        Parameters
        ----------
        timestamps : sequence of length k
            As :meth:`push`'s, in order.
        values : array-like of shape (k, n_channels)
        runs : sequence of length k, optional
            As :meth:`push`'s ``run``.

        Returns
        -------
        Step or None
            One Step with every row scored (a multiple of ``hop``, possibly of several groups),
            None when no group was completed.

        Raises
        ------
        DataError
            If ``values`` has the wrong shape or is not finite in float32 (no row is pushed).
        """
        rows = np.asarray(values, dtype=np.float32)
        if rows.shape != (len(timestamps), len(self.channels)) or not np.isfinite(rows).all():
            raise DataError(f"expected {len(self.channels)} finite values per row, got shape {rows.shape}")
        steps = []
        for timestamp, row, run in zip(timestamps, rows, [None] * len(rows) if runs is None else runs):
            new_run, self._run = self._pushed > 0 and run != self._run, run
            if new_run or is_pause(self._last, timestamp, self._pause):  # a new session: a new pass, and an open alert ends
                steps.append(self._score_waiting())
                self._pushed, self._pass, self._waiting = 0, self.detector.start_pass(), []
                if (change := self.logic.pause()) is not None:
                    self._ended.append(self._closed(change, self._last))
            self._last = timestamp
            slot = self._pushed % self._size
            self._buffer[slot] = row
            self._buffer[slot + self._size] = row
            self._pushed += 1
            if self._pushed > self.rows - self.hop:  # the warm-up's rows are never scored
                self._waiting.append(timestamp)
            if (left := self._watch.push(row)) is not None:
                self._drift = {"type": "drift", "model": self.name, "timestamp": jsonable(timestamp), **left}
            if self._pushed == self.rows or len(self._waiting) == CATCH_UP_GROUPS * self.hop:
                steps.append(self._score_waiting())  # the pass's first group alone: its rows are the pass's first
        steps.append(self._score_waiting())
        return _merged([step for step in steps if step is not None])

    def _score_waiting(self) -> Step | None:
        """Score the complete hop groups among the waiting rows (they end with the newest row
        pushed but for an incomplete group's rows); None when there is none."""
        groups = len(self._waiting) // self.hop
        if not groups:
            return None
        rows, incomplete = groups * self.hop, len(self._waiting) % self.hop
        times, self._waiting = self._waiting[:rows], self._waiting[rows:]
        end = (self._pushed - 1 - incomplete) % self._size + self._size + 1  # one past the last scored row's second slot
        read = self.rows + (groups - 1) * self.hop
        errors, scores = self.detector.score_newest(self._buffer[end - read : end], self.hop, self._pass, groups=groups)
        scores = scores.astype(np.float64)
        if not np.isfinite(scores).all():  # rare: a check first (nan_to_num costs 10-20 us a step)
            scores = np.nan_to_num(scores, nan=sys.float_info.max, posinf=sys.float_info.max)
        alerts = [alert for t, e, s in zip(times, errors, scores) if (alert := self._decide(t, e, float(s)))]
        recentring = None if self._pass is None else self._pass.recentring
        if recentring is not None and (followed := recentring.take_new()):
            back = min(self._pushed - 1 - incomplete - followed[0].row, len(times) - 1)  # the row that ended the window, in these groups
            record = followed_record(self.detector, followed, times[-1 - back])
            self._drift = ({"type": "drift", "model": self.name, "timestamp": jsonable(times[-1 - back]), **record} if self._drift is None
                           else {**self._drift, "message": f"{self._drift['message']}; {record['message']}", "followed": record["followed"]})
        if (flood := self._watch.push_scored(self.detector.head_.calibrated(errors), scores > self.enter)) is not None:
            self._drift = self._drift or {"type": "drift", "model": self.name, "timestamp": jsonable(times[-1]), **flood}
        alerts, self._ended = self._ended + alerts, []
        drift, self._drift = self._drift, None
        return Step(tuple(times), scores, errors, tuple(alerts), () if drift is None else (drift,))

    def _decide(self, timestamp, errors: np.ndarray, score: float) -> Alert | None:
        """Advance the alert logic by one scored row."""
        self._recent.append((timestamp, errors))
        change = self.logic.push(score)
        self._scored += 1
        if change is None:
            return None
        if change.kind == "opened":
            rows = list(self._recent)[self._back(change.start) :]
            self._open_start = rows[0][0]
            mean = np.mean([e for _, e in rows], axis=0)
            ranked = self.detector.head_.calibrated(mean[None, :])  # calibrated errors when the head calibrates
            names = top_channels(pd.DataFrame(ranked, columns=list(self.channels)), self.top_k).iloc[0].split(";")
            return self._alert("alert", timestamp, score=change.score, top_channels=tuple(names))
        return self._closed(change, timestamp)

    def _back(self, position: int) -> int:
        """Index in ``_recent`` of the scored row at stream position ``position``."""
        return max(0, len(self._recent) - (self._scored - position))

    def _alert(self, kind: str, timestamp, **fields) -> Alert:
        return Alert(kind, self.name, type(self.detector).__name__, self._open_start, timestamp, self.enter, **fields)

    def _closed(self, change, timestamp) -> Alert:
        end = self._recent[self._back(change.end)][0]
        return self._alert("end", timestamp, end=end, peak=float(change.peak))

    def finish(self) -> Alert | None:
        """End of stream: the "end" message of an event still open (or closed by a pause the
        stream ended in the warm-up after), else None."""
        if self._ended:
            return self._ended.pop()
        change = self.logic.finish()
        return None if change is None else self._closed(change, self._recent[-1][0])

    @property
    def rows_scored(self) -> int:
        """Rows scored so far."""
        return self._scored


def _merged(steps: list[Step]) -> Step | None:
    """One Step of consecutive steps (their rows, alerts and drift records in order), None for none."""
    if len(steps) <= 1:
        return steps[0] if steps else None
    return Step(sum((step.timestamps for step in steps), ()), np.concatenate([step.scores for step in steps]),
                np.concatenate([step.errors for step in steps]), sum((step.alerts for step in steps), ()),
                sum((step.drifts for step in steps), ()))
