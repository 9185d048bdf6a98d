"""Streaming alerts: a stateful scorer fed one row at a time, and the loop around it.

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
windows included, which a stream cannot see.)

:func:`run` connects a source of message lines (stdin or :class:`pipelines.mqtt.MqttSource`)
through a :class:`~pipelines.messages.RowParser` and the scorer to a sink (stdout JSON lines or
:class:`pipelines.mqtt.MqttSink`). Bad messages are counted and skipped with one warning each;
the loop ends at the end of input or on a stop request (SIGINT/SIGTERM under :func:`serve`)
and returns a :class:`Summary`. :func:`serve` is the ``anomaly stream`` command.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.decisions import AlertLogic
from anomaly.attribution import top_channels
from anomaly.errors import ConfigError, DataError
from anomaly.validation import check_number
from anomaly.registry import load
from pipelines.messages import REASONS, BadMessage, RowParser
from pipelines.mqtt import Endpoint, MqttSink, MqttSource

__all__ = ["Alert", "Step", "StreamScorer", "Stop", "Summary", "run", "serve"]

log = logging.getLogger(__name__)

WARNINGS_PER_REASON = 100  # then one "suppressed" line: a flood of bad input must not flood stderr


def _jsonable(timestamp):
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
        record = {"type": self.kind, "model": self.model, "detector": self.detector, "start": _jsonable(self.start),
                  "timestamp": _jsonable(self.timestamp), "threshold": self.threshold}
        if self.kind == "alert":
            record.update(score=self.score, top_channels=list(self.top_channels))
        else:
            record.update(end=_jsonable(self.end), peak=self.peak)
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
    """

    timestamps: tuple
    scores: np.ndarray
    errors: np.ndarray
    alerts: tuple[Alert, ...]


class StreamScorer:
    """Score a stream row by row and decide alerts.

    Parameters
    ----------
    detector : fitted Detector
        E.g. ``anomaly.load(path, engine="auto")`` (ONNX Runtime when ``model.onnx`` exists).
    hop : int, default=1
        Rows per scoring step (window autoencoders: at most ``window``).
    logic : AlertLogic or None
        Alert rules on the score scale; None means
        ``AlertLogic.from_threshold(detector.thresholder_)`` (enter at the fitted threshold).
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
        self.logic = AlertLogic.from_threshold(detector.thresholder_) if logic is None else logic
        self.top_k = top_k
        self.name = name or type(detector).__name__
        self.channels = tuple(detector.schema_.channels)
        self.rows = detector.stream_rows(hop)
        self.logic.reset()  # checks the rules now, not at the first alert
        self.enter = float(self.logic.enter)
        # every row is written twice (slots i and i + rows), so the newest `rows` rows are one slice
        self._buffer = np.zeros((2 * self.rows, len(self.channels)), dtype=np.float32)
        detector.score_newest(self._buffer[: self.rows], hop)  # checks hop, loads the engine
        self._pushed = 0
        self._times: deque = deque(maxlen=hop)  # timestamps of the current group
        # (timestamp, errors) of the latest scored rows: an alert's start is at most
        # min_duration + merge_gap rows back when it is raised, its end merge_gap + 1 rows back
        self._recent: deque = deque(maxlen=int(self.logic.min_duration) + int(self.logic.merge_gap) + 2)
        self._scored = 0
        self._open_start = None

    def push(self, timestamp, values) -> Step | None:
        """Add one row.

        Parameters
        ----------
        timestamp : number or datetime
            Later than the previous row's (not checked here: see :class:`~pipelines.messages.RowParser`).
        values : array-like of shape (n_channels,)
            Finite readings in the detector's channel order.

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
        if row.shape != (len(self.channels),) or not np.isfinite(row).all():
            raise DataError(f"expected {len(self.channels)} finite values, got shape {row.shape}")
        slot = self._pushed % self.rows
        self._buffer[slot] = row
        self._buffer[slot + self.rows] = row
        self._pushed += 1
        self._times.append(timestamp)
        if self._pushed < self.rows or (self._pushed - self.rows) % self.hop:
            return None
        errors, scores = self.detector.score_newest(self._buffer[slot + 1 : slot + 1 + self.rows], self.hop)
        scores = np.nan_to_num(scores.astype(np.float64), nan=sys.float_info.max, posinf=sys.float_info.max)
        alerts = [alert for t, e, s in zip(self._times, errors, scores) if (alert := self._decide(t, e, float(s)))]
        return Step(tuple(self._times), scores, errors, tuple(alerts))

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
            names = top_channels(pd.DataFrame(mean[None, :], columns=list(self.channels)), self.top_k).iloc[0].split(";")
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
        """End of stream: the "end" message of an event still open, else None."""
        change = self.logic.finish()
        return None if change is None else self._closed(change, self._recent[-1][0])

    @property
    def rows_scored(self) -> int:
        """Rows scored so far."""
        return self._scored


class _Interrupted(Exception):
    """Raised by the signal handler while the loop is blocked waiting for input."""


class Stop:
    """A request to end :func:`run`: from SIGINT/SIGTERM (under :meth:`signals`) or :meth:`request`.

    A stop is noticed between messages; a signal also interrupts a wait for input (stdin
    blocks), so a quiet stream ends at once.
    """

    def __init__(self):
        self.reason: str | None = None
        self._blocked = False

    def request(self, reason: str = "stop requested") -> None:
        """Ask the loop to end after the current message (any thread)."""
        self.reason = self.reason or reason

    def _on_signal(self, signum, frame) -> None:
        self.request(signal.Signals(signum).name)
        if self._blocked:
            raise _Interrupted

    @contextmanager
    def signals(self):
        """Turn SIGINT and SIGTERM into stop requests inside the block (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def next(self, items: Iterator):
        """``next(items)``, interrupted by a signal while it waits.

        Raises
        ------
        StopIteration
            At the end of input.
        _Interrupted
            On a stop request.
        """
        if self.reason:
            raise _Interrupted
        self._blocked = True
        try:
            return next(items)
        finally:
            self._blocked = False


@dataclass
class Summary:
    """Counts of one stream run.

    Attributes
    ----------
    rows_in : int
        Messages received (blank lines and a CSV header not counted).
    rows_scored : int
        Rows that got a score (the others: skipped, warm-up, or an incomplete last group).
    skipped : Counter
        Skipped messages by reason (:data:`pipelines.messages.REASONS`).
    alerts : int
        Events raised.
    ended_by : str
        "end of input", the signal's name, or "output closed".
    """

    rows_in: int = 0
    rows_scored: int = 0
    skipped: Counter = field(default_factory=Counter)
    alerts: int = 0
    ended_by: str = ""

    def line(self) -> str:
        """One line for stderr."""
        detail = ", ".join(f"{reason} {self.skipped[reason]}" for reason in REASONS if self.skipped[reason])
        skipped = sum(self.skipped.values())
        return (f"stream ended ({self.ended_by}): {self.rows_in} rows in, {self.rows_scored} scored, "
                f"{skipped} skipped{f' ({detail})' if detail else ''}, {self.alerts} alerts")


class StdoutSink:
    """Writes each record as one JSON line and flushes at once (latency over throughput)."""

    def __init__(self, stream=None):
        self.stream = sys.stdout if stream is None else stream

    def send(self, records: list[dict]) -> None:
        try:
            self.stream.write("".join(json.dumps(record) + "\n" for record in records))
            self.stream.flush()
        except BrokenPipeError:
            # the reader is gone: point fd 1 at /dev/null so the interpreter's last flush is quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def stdin_lines() -> Iterator[bytes]:
    """Lines of standard input as bytes (decoding is the parser's job, so bad bytes cannot stop us)."""
    yield from sys.stdin.buffer


def _score_records(scorer: StreamScorer, step: Step) -> list[dict]:
    return [{"type": "score", "model": scorer.name, "timestamp": _jsonable(t), "score": float(s), "flag": bool(s > scorer.enter)}
            for t, s in zip(step.timestamps, step.scores)]


def run(scorer: StreamScorer, source: Iterable, sink, parser: RowParser, *, emit_scores: bool = False,
        warn: Callable[[str], None] | None = None, stop: Stop | None = None) -> Summary:
    """Stream ``source`` through ``parser`` and ``scorer`` into ``sink`` until the input ends or a stop.

    Parameters
    ----------
    scorer : StreamScorer
    source : iterable of bytes or str
        Message lines; None items are idle ticks (a chance to notice a stop request).
    sink : object with ``send(list_of_dicts)``
        Receives alert records (and score records with ``emit_scores``) as JSON-ready dicts.
    parser : RowParser
    emit_scores : bool, default=False
        Also send one ``{"type": "score", ...}`` record per scored row.
    warn : callable or None
        Gets one line per skipped message (at most 100 per reason); default: ``log.warning``.
    stop : Stop or None
        Request object to end the loop from elsewhere (:func:`serve` ties it to SIGINT/SIGTERM).

    Returns
    -------
    Summary
        Also after a stop; an open event gets its "end" record first.

    Raises
    ------
    SchemaError
        If a CSV header does not match the model's channels.
    """
    warn = warn or log.warning
    stop = stop or Stop()
    summary = Summary()
    items = iter(source)
    while True:
        try:
            message = stop.next(items)
        except StopIteration:
            summary.ended_by = "end of input"
            break
        except _Interrupted:
            break
        if message is None or not message.strip():
            continue
        try:
            parsed = parser.parse(message)
        except BadMessage as exc:
            summary.rows_in += 1
            summary.skipped[exc.reason] += 1
            count = summary.skipped[exc.reason]
            if count <= WARNINGS_PER_REASON:
                warn(f"message {summary.rows_in} skipped ({exc.reason}): {exc}")
            if count == WARNINGS_PER_REASON:
                warn(f"further {exc.reason!r} warnings suppressed; the summary counts them")
            continue
        if parsed is None:  # CSV header
            continue
        summary.rows_in += 1
        step = scorer.push(*parsed)
        if step is None:
            continue
        summary.alerts += sum(alert.kind == "alert" for alert in step.alerts)
        records = (_score_records(scorer, step) if emit_scores else []) + [alert.to_dict() for alert in step.alerts]
        if records and not _send(sink, records, stop):
            break
    last = scorer.finish()
    if last is not None:
        _send(sink, [last.to_dict()], stop)
    summary.rows_scored = scorer.rows_scored
    summary.ended_by = summary.ended_by or stop.reason or "stopped"
    return summary


def _send(sink, records: list[dict], stop: Stop) -> bool:
    """Send records; False (and a stop) when the output is gone."""
    try:
        sink.send(records)
        return True
    except BrokenPipeError:
        stop.request("output closed")
        return False


def _endpoint(spec: str, *, sink: bool):
    """``"stdin"``/``"stdout"``, or the parsed ``mqtt://`` address."""
    if spec.startswith("mqtt://"):
        return Endpoint.parse(spec, publish=sink)
    if spec == ("stdout" if sink else "stdin"):
        return spec
    raise ConfigError(f"{'sink' if sink else 'source'} {spec!r} must be {'stdout' if sink else 'stdin'} or mqtt://HOST:PORT/TOPIC")


@contextmanager
def _opened(endpoint, *, sink: bool):
    """The source (an iterable of lines) or sink (with ``send``) of an endpoint, for the block."""
    if isinstance(endpoint, str):
        yield StdoutSink() if sink else stdin_lines()
        return
    with (MqttSink(endpoint) if sink else MqttSource(endpoint)) as opened:
        yield opened


def serve(model: str | Path, *, source: str = "stdin", fmt: str = "jsonl", sink: str = "stdout", hop: int = 1,
          threshold_scale: float = 1.0, exit_ratio: float = 0.8, min_duration: int = 25, merge_gap: int = 100,
          cooldown: int = 500, top_k: int = 3, emit_scores: bool = False, engine: str = "auto",
          timestamp: str | None = None, warn: Callable[[str], None] | None = None,
          ready: Callable[[str], None] | None = None) -> Summary:
    """The ``anomaly stream`` command: load a model, stream until end of input or SIGINT/SIGTERM.

    Parameters
    ----------
    model : path of a saved detector (loaded with ``engine``).
    source : "stdin" or "mqtt://HOST:PORT/TOPIC"
    fmt : {"jsonl", "csv"}
    sink : "stdout" or "mqtt://HOST:PORT/TOPIC"
    hop : rows per scoring step.
    threshold_scale : alerts enter above ``threshold_scale x`` the model's fitted threshold ...
    exit_ratio : ... and hold while above ``exit_ratio x`` that level.
    min_duration, merge_gap, cooldown : alert rules in rows (:class:`~anomaly.decisions.AlertLogic`).
    top_k : channels named per alert.
    emit_scores : also emit one score record per scored row.
    engine : {"auto", "keras", "onnx"}
    timestamp : timestamp field name (default: detected).
    warn : one line per skipped message; ready : one line once listening.

    Returns
    -------
    Summary

    Raises
    ------
    ModelFileError, ConfigError, SchemaError
        Before streaming: bad model, options, address, unreachable broker; a CSV header that
        does not match the model.
    """
    check_number("threshold_scale", threshold_scale, low=0.0, low_open=True)
    inlet, outlet = _endpoint(source, sink=False), _endpoint(sink, sink=True)
    det = load(model, engine=engine)
    det.set_inference_threads(1)  # one window per call: a second thread only adds waits on a busy machine
    if type(det.thresholder_).__name__ == "Dynamic":
        log.warning("the stream compares raw scores with the Dynamic threshold's fitted level (no smoothing)")
    logic = AlertLogic.from_threshold(det.thresholder_, exit_ratio, min_duration=min_duration, merge_gap=merge_gap, cooldown=cooldown)
    logic.set_params(enter=logic.enter * threshold_scale, exit=logic.exit * threshold_scale)
    name = Path(model).resolve().name
    scorer = StreamScorer(det, hop=hop, logic=logic, top_k=top_k, name=name)
    parser = RowParser(det.schema_.channels, fmt=fmt, timestamp=timestamp)
    stop = Stop()
    with stop.signals(), _opened(inlet, sink=False) as lines, _opened(outlet, sink=True) as out:
        if ready is not None:
            engine_used = det.engine_.name
            ready(f"streaming {source} -> {sink}: model {name} ({type(det).__name__}, {engine_used}), hop {hop}, "
                  f"alert above {scorer.enter:.4g}, warm-up {scorer.rows - hop} rows")
        return run(scorer, lines, out, parser, emit_scores=emit_scores, warn=warn, stop=stop)
