"""The stream loop :func:`run`, its endpoints, and :func:`serve` (the ``anomaly stream`` command).

:func:`run` connects a source of message lines (stdin or :class:`pipelines.mqtt.MqttSource`)
through a :class:`~pipelines.messages.RowParser` and the scorer to a sink (stdout JSON lines,
:class:`pipelines.mqtt.MqttSink` or :class:`~pipelines.stream.mcap_sink.McapSink`). Bad
messages are counted and skipped with one warning each; the loop ends at the end of input or
on a stop request (SIGINT/SIGTERM under :func:`serve`) and returns a :class:`Summary`.
:func:`serve` is the ``anomaly stream`` command; it can also serve Prometheus metrics
(:mod:`pipelines.stream.metrics`) and emit alerts as ROS DiagnosticArrays
(:mod:`pipelines.stream.diagnostics`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import ExitStack, contextmanager
from pathlib import Path

from anomaly.decisions import AlertLogic, model_rules
from anomaly.errors import ConfigError
from anomaly.loading import load
from anomaly.validation import check_number
from pipelines.messages import BadMessage, RowParser
from pipelines.mqtt import Endpoint, MqttSink, MqttSource
from pipelines.stream import mcap_sink
from pipelines.stream.diagnostics import DiagnosticSink
from pipelines.stream.metrics import StreamMetrics
from pipelines.stream.scorer import CATCH_UP_GROUPS, Step, StreamScorer, jsonable
from pipelines.stream.signals import Interrupted, Stop
from pipelines.stream.sinks import StdoutSink, stdin_lines
from pipelines.stream.summary import Summary

__all__ = ["WARNINGS_PER_REASON", "run", "serve"]

log = logging.getLogger(__name__)

WARNINGS_PER_REASON = 100  # then one "suppressed" line: a flood of bad input must not flood stderr
#: Rows that arrived while the previous ones were scored, pushed together at most
#: (:meth:`StreamScorer.push_rows`; sources with a ``waiting()`` method: MQTT, stdin).
CATCH_UP_ROWS = CATCH_UP_GROUPS
OUTPUT_FORMATS = ("plain", "diagnostic")


def _score_records(scorer: StreamScorer, step: Step) -> list[dict]:
    return [{"type": "score", "model": scorer.name, "timestamp": jsonable(t), "score": float(s), "flag": bool(s > scorer.enter)}
            for t, s in zip(step.timestamps, step.scores)]


def run(scorer: StreamScorer, source: Iterable, sink, parser: RowParser, *, emit_scores: bool = False,
        warn: Callable[[str], None] | None = None, stop: Stop | None = None, metrics: StreamMetrics | None = None,
        tick: Callable[[], None] | None = None) -> Summary:
    """Stream ``source`` through ``parser`` and ``scorer`` into ``sink`` until the input ends or a stop.

    Parameters
    ----------
    scorer : StreamScorer
    source : iterable of bytes or str
        Message lines; None items are idle ticks (a chance to notice a stop request). A source
        with a ``waiting()`` method (:class:`pipelines.mqtt.MqttSource`,
        :class:`~pipelines.stream.sinks.StdinLines`) that says more lines are already there
        gets them read first and pushed together (at most
        :data:`CATCH_UP_ROWS`, :meth:`StreamScorer.push_rows`): a stream that fell behind
        catches up at batch speed, with the same records.
    sink : object with ``send(list_of_dicts)``
        Receives alert records (and score records with ``emit_scores``) as JSON-ready dicts.
    parser : RowParser
    emit_scores : bool, default=False
        Also send one ``{"type": "score", ...}`` record per scored row.
    warn : callable or None
        Gets one line per skipped message (at most 100 per reason); default: ``log.warning``.
    stop : Stop or None
        Request object to end the loop from elsewhere (:func:`serve` ties it to SIGINT/SIGTERM).
    metrics : StreamMetrics or None
        Updated per message and per step (:mod:`pipelines.stream.metrics`).
    tick : callable or None
        Called once per message or idle tick: services a sink's connection between records
        (:meth:`pipelines.mqtt.MqttSink.tick`: keep-alive pings, acknowledgements).

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
    waiting = getattr(source, "waiting", None)
    rows: list[tuple] = []  # parsed (timestamp, values) not yet pushed: those that arrived while one was scored
    while True:
        try:
            message = stop.next(items)
        except StopIteration:
            summary.ended_by = "end of input"
            break
        except Interrupted:
            break
        if tick is not None:
            tick()
        if message is not None and message.strip():
            parsed = _parsed(parser, message, summary, warn, metrics)
            if parsed is not None:
                rows.append(parsed)
        if not rows or (waiting is not None and waiting() and len(rows) < CATCH_UP_ROWS):
            continue
        step = scorer.push_rows(*zip(*rows))
        rows = []
        if step is not None and not _emitted(step, scorer, sink, stop, summary, emit_scores, metrics):
            break
    if rows and (step := scorer.push_rows(*zip(*rows))) is not None:  # read before the input ended or a stop
        _emitted(step, scorer, sink, stop, summary, emit_scores, metrics)
    last = scorer.finish()
    if last is not None:
        _send(sink, [last.to_dict()], stop)
    summary.rows_scored = scorer.rows_scored
    summary.ended_by = summary.ended_by or stop.reason or "stopped"
    return summary


def _parsed(parser: RowParser, message, summary: Summary, warn: Callable[[str], None], metrics: StreamMetrics | None) -> tuple | None:
    """A message's (timestamp, values), counted; None for a CSV header or a skipped message (warned)."""
    try:
        parsed = parser.parse(message)
    except BadMessage as exc:
        summary.rows_in += 1
        summary.skipped[exc.reason] += 1
        if metrics is not None:
            metrics.received(exc.reason)
        count = summary.skipped[exc.reason]
        if count <= WARNINGS_PER_REASON:
            warn(f"message {summary.rows_in} skipped ({exc.reason}): {exc}")
        if count == WARNINGS_PER_REASON:
            warn(f"further {exc.reason!r} warnings suppressed; the summary counts them")
        return None
    if parsed is None:  # CSV header
        return None
    summary.rows_in += 1
    if metrics is not None:
        metrics.received()
    return parsed


def _emitted(step: Step, scorer: StreamScorer, sink, stop: Stop, summary: Summary, emit_scores: bool,
             metrics: StreamMetrics | None) -> bool:
    """Send a step's records; False when the output is gone."""
    if metrics is not None:
        metrics.scored(step)
    summary.alerts += sum(alert.kind == "alert" for alert in step.alerts)
    records = ((_score_records(scorer, step) if emit_scores else []) + list(step.drifts)
               + [alert.to_dict() for alert in step.alerts])
    return not records or _send(sink, records, stop)


def _send(sink, records: list[dict], stop: Stop) -> bool:
    """Send records; False (and a stop) when the output is gone."""
    try:
        sink.send(records)
        return True
    except BrokenPipeError:
        stop.request("output closed")
        return False


def _endpoint(spec: str, *, sink: bool):
    """``"stdin"``/``"stdout"``, the parsed ``mqtt://`` or ``mqtts://`` address, or a sink's ``mcap://`` file (a Path)."""
    if spec.startswith(("mqtt://", "mqtts://")):
        return Endpoint.parse(spec, publish=sink)
    if sink and spec.startswith("mcap:"):
        return mcap_sink.parse_url(spec)
    if spec == ("stdout" if sink else "stdin"):
        return spec
    raise ConfigError(f"source {spec!r} must be stdin or mqtt://HOST:PORT/TOPIC (mqtts:// for TLS)" if not sink
                      else f"sink {spec!r} must be stdout, mqtt://HOST:PORT/TOPIC (mqtts:// for TLS) or mcap://PATH")


def _shown(endpoint, spec: str) -> str:
    """How messages name an endpoint: an MQTT address without its password, else as given."""
    return str(endpoint) if isinstance(endpoint, Endpoint) else spec


@contextmanager
def _opened(endpoint, *, sink: bool, hardware_id: str = ""):
    """The source (an iterable of lines) or sink (with ``send``) of an endpoint, for the block."""
    if isinstance(endpoint, str):
        yield StdoutSink() if sink else stdin_lines()
        return
    if isinstance(endpoint, Path):
        opened = mcap_sink.McapSink(endpoint, hardware_id=hardware_id)
    else:
        opened = MqttSink(endpoint) if sink else MqttSource(endpoint)
    with opened:
        yield opened


def serve(model: str | Path, *, source: str = "stdin", fmt: str = "jsonl", sink: str = "stdout", hop: int = 1,
          threshold_scale: float = 1.0, exit_ratio: float = 0.8, min_duration: int | None = None,
          merge_gap: int | None = None, cooldown: int | None = None, severe_ratio: float | None = None, top_k: int = 3,
          emit_scores: bool = False, engine: str = "auto",
          timestamp: str | None = None, output_format: str = "plain", hardware_id: str = "", metrics_port: int | None = None,
          warn: Callable[[str], None] | None = None, ready: Callable[[str], None] | None = None) -> Summary:
    """The ``anomaly stream`` command: load a model, stream until end of input or SIGINT/SIGTERM.

    Parameters
    ----------
    model : path of a saved detector (loaded with ``engine``).
    source : "stdin" or "mqtt://HOST:PORT/TOPIC" (``mqtts://`` over TLS, with a user and password: :class:`pipelines.mqtt.Endpoint`)
    fmt : {"jsonl", "csv"}
    sink : "stdout", "mqtt://HOST:PORT/TOPIC" (or ``mqtts://``) or "mcap://PATH"
        An MCAP file gets alerts as DiagnosticArrays on ``/diagnostics`` and every score on
        ``/anomaly/score`` (:mod:`pipelines.stream.mcap_sink`).
    hop : rows per scoring step.
    threshold_scale : alerts enter above ``threshold_scale x`` the model's fitted threshold ...
    exit_ratio : ... and hold while above ``exit_ratio x`` that level.
    min_duration, merge_gap, cooldown : alert rules in rows (:class:`~anomaly.decisions.AlertLogic`);
        None: the default rules at the model's sampling rate (:func:`~anomaly.decisions.model_rules`:
        0.25 s, 1 s, 5 s; 25, 100, 500 rows at 100 Hz).
    severe_ratio : an alert above this multiple of the level is raised at once; None: the model's
        (:func:`~anomaly.decisions.model_rules`: 10, or more where its normal training scores spiked); 0: never.
    top_k : channels named per alert.
    emit_scores : also emit one score record per scored row.
    engine : {"auto", "keras", "onnx"}
    timestamp : timestamp field name (default: detected).
    output_format : {"plain", "diagnostic"}
        "diagnostic": alert, end and drift records leave as ROS DiagnosticArrays
        (:mod:`pipelines.stream.diagnostics`); an MCAP sink always writes those.
    hardware_id : ``hardware_id`` of the diagnostic statuses.
    metrics_port : serve Prometheus metrics at ``http://0.0.0.0:PORT/metrics`` (:mod:`pipelines.stream.metrics`).
    warn : one line per skipped message; ready : one line once listening.

    Returns
    -------
    Summary

    Raises
    ------
    ModelFileError, ConfigError, SchemaError
        Before streaming: bad model, options, address, unreachable broker, metrics port in use;
        a CSV header that does not match the model.
    """
    check_number("threshold_scale", threshold_scale, low=0.0, low_open=True)
    if output_format not in OUTPUT_FORMATS:
        raise ConfigError(f"output_format={output_format!r} is not one of {list(OUTPUT_FORMATS)}")
    if metrics_port is not None:
        check_number("metrics_port", metrics_port, low=1, high=65535, integer=True)
    inlet, outlet = _endpoint(source, sink=False), _endpoint(sink, sink=True)
    if (isinstance(inlet, Endpoint) and isinstance(outlet, Endpoint) and inlet.client_id is not None
            and (inlet.host, inlet.port, inlet.client_id) == (outlet.host, outlet.port, outlet.client_id)):
        raise ConfigError(f"source and sink name one client id ({inlet.client_id!r}) on one broker: they would push each other off; "
                          "give each its own client=")
    det = load(model, engine=engine)
    det.set_inference_threads(1)  # one window per call: a second thread only adds waits on a busy machine
    if type(det.thresholder_).__name__ == "Dynamic":
        log.warning("the stream compares raw scores with the Dynamic threshold's fitted level (no smoothing)")
    given = {"min_duration": min_duration, "merge_gap": merge_gap, "cooldown": cooldown}
    rules = model_rules(det)
    counts = {**rules.counts(), **{name: value for name, value in given.items() if value is not None}}
    severe = rules.severe_ratio if severe_ratio is None else severe_ratio or None
    logic = AlertLogic.from_threshold(det.thresholder_, exit_ratio, severe, **counts)
    logic.set_params(enter=logic.enter * threshold_scale, exit=logic.exit * threshold_scale)
    name = Path(model).resolve().name
    scorer = StreamScorer(det, hop=hop, logic=logic, top_k=top_k, name=name)
    parser = RowParser(det.schema_.channels, fmt=fmt, timestamp=timestamp, ignored=det.schema_.ignored, runs=det.schema_.runs)
    metrics = None if metrics_port is None else StreamMetrics(scorer)
    recording = isinstance(outlet, Path)  # an MCAP file records every score
    stop = Stop()
    with stop.signals(), ExitStack() as stack:
        serving = ""
        if metrics is not None:  # first: a port in use stops us before a broker or a file is touched
            serving = f", metrics on http://0.0.0.0:{stack.enter_context(metrics.serving(metrics_port))}/metrics"
        lines = stack.enter_context(_opened(inlet, sink=False))
        out = stack.enter_context(_opened(outlet, sink=True, hardware_id=hardware_id))
        tick = out.tick if isinstance(out, MqttSink) else None
        if metrics is not None:
            for endpoint, opened in (("source", lines), ("sink", out)):
                if isinstance(opened, (MqttSource, MqttSink)):
                    metrics.watch(endpoint, opened)
        if output_format == "diagnostic" and not recording:
            out = DiagnosticSink(out, hardware_id=hardware_id)
        if ready is not None:
            engine_used = det.engine_.name
            ready(f"streaming {_shown(inlet, source)} -> {_shown(outlet, sink)}: model {name} ({type(det).__name__}, {engine_used}), hop {hop}, "
                  f"alert above {scorer.enter:.4g} for {logic.min_duration} rows (merge gap {logic.merge_gap}, cooldown "
                  f"{logic.cooldown}{'' if logic.severe is None else f', at once above {logic.severe:.4g}'}), "
                  f"warm-up {scorer.rows - hop} rows{serving}")
        return run(scorer, lines, out, parser, emit_scores=emit_scores or recording, warn=warn, stop=stop, metrics=metrics,
                   tick=tick)
