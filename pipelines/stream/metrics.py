"""Prometheus metrics of a stream (``prometheus-client``, a dependency of the base install): :class:`StreamMetrics`.

Every metric has the label ``model`` (the scorer's name):

=====================================  =======  ==========================================================
``anomaly_stream_rows_in_total``       counter  messages received (blank lines and a CSV header not counted)
``anomaly_stream_rows_scored_total``   counter  rows that got a score
``anomaly_stream_rows_skipped_total``  counter  skipped messages, label ``reason`` (:data:`pipelines.messages.REASONS`)
``anomaly_stream_alerts_total``        counter  events raised
``anomaly_stream_score``               gauge    score of the last scored row
``anomaly_stream_threshold``           gauge    the level a score must exceed to alert (the alert logic's enter)
``anomaly_stream_channel_error``       gauge    calibrated error of the last scored row, label ``channel``
``anomaly_stream_connected``           gauge    1 while an MQTT endpoint is connected, 0 while it is lost; label ``endpoint``
``anomaly_stream_reconnects_total``    counter  connections an MQTT endpoint got back after losing one; label ``endpoint``
=====================================  =======  ==========================================================

The two connection metrics exist for the MQTT endpoints of the stream only (``endpoint``: source,
sink; :meth:`StreamMetrics.watch`).

The metrics live in their own ``CollectorRegistry``, so several streams (or tests) can run in
one process; :meth:`StreamMetrics.serving` serves them over HTTP at ``/metrics``. Nothing is
imported from ``prometheus_client`` until a :class:`StreamMetrics` is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from anomaly.errors import ConfigError
from pipelines.messages import REASONS

__all__ = ["PREFIX", "StreamMetrics"]

PREFIX = "anomaly_stream_"


class StreamMetrics:
    """The metrics of one stream, updated by :func:`pipelines.stream.run` per message and per step.

    Parameters
    ----------
    scorer : StreamScorer
        Gives the model name, the channels, the threshold and the error calibration
        (``scorer.detector.head_.calibrated``).

    Attributes
    ----------
    registry : prometheus_client.CollectorRegistry
        Holds only this stream's metrics.

    Raises
    ------
    ConfigError
        If prometheus-client is not installed.
    """

    def __init__(self, scorer):
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge
        except ImportError:
            raise ConfigError("metrics need prometheus-client (a dependency of robot-anomaly): pip install prometheus-client") from None
        self.registry = CollectorRegistry()
        self._calibrated = scorer.detector.head_.calibrated
        model = {"model": scorer.name}
        metric = self._metric
        self._rows_in = metric(Counter, "rows_in", "Messages received").labels(**model)
        self._rows_scored = metric(Counter, "rows_scored", "Rows that got a score").labels(**model)
        skipped = metric(Counter, "rows_skipped", "Messages skipped, by reason", "reason")
        self._skipped = {reason: skipped.labels(reason=reason, **model) for reason in REASONS}
        self._alerts = metric(Counter, "alerts", "Events raised").labels(**model)
        self._score = metric(Gauge, "score", "Score of the last scored row").labels(**model)
        metric(Gauge, "threshold", "Level a score must exceed to raise an alert").labels(**model).set(scorer.enter)
        errors = metric(Gauge, "channel_error", "Calibrated error of the last scored row, per channel", "channel")
        self._errors = [errors.labels(channel=channel, **model) for channel in scorer.channels]
        self._model = model
        self._connection = {}  # made by the first watch(): a stream without MQTT has no connection metrics

    def _metric(self, kind, name: str, text: str, *labels: str):
        """A ``kind`` (prometheus_client's Counter or Gauge) named ``PREFIX + name`` in this stream's
        registry, with the label ``model`` and ``labels``."""
        return kind(PREFIX + name, text, ["model", *labels], registry=self.registry)

    def watch(self, endpoint: str, client) -> None:
        """Follow an MQTT client's connection (:class:`pipelines.mqtt.MqttSource` or ``MqttSink``)
        as ``endpoint`` ("source", "sink"): ``connected`` now, and each change it reports."""
        if not self._connection:
            from prometheus_client import Counter, Gauge

            self._connection = {
                "connected": self._metric(Gauge, "connected", "1 while the MQTT endpoint is connected", "endpoint"),
                "reconnects": self._metric(Counter, "reconnects", "Connections an MQTT endpoint got back after losing one", "endpoint"),
            }
        connected = self._connection["connected"].labels(endpoint=endpoint, **self._model)
        reconnects = self._connection["reconnects"].labels(endpoint=endpoint, **self._model)

        def changed(up: bool, again: bool) -> None:
            connected.set(1.0 if up else 0.0)
            if again:
                reconnects.inc()

        connected.set(1.0 if client.connected else 0.0)
        client.on_connection = changed

    def received(self, reason: str | None = None) -> None:
        """Count one message; ``reason`` (one of :data:`~pipelines.messages.REASONS`) when it was skipped."""
        self._rows_in.inc()
        if reason is not None:
            self._skipped[reason].inc()

    def scored(self, step) -> None:
        """Count a :class:`~pipelines.stream.Step`'s rows and alerts; set the score and channel errors of its last row."""
        self._rows_scored.inc(len(step.scores))
        self._alerts.inc(sum(alert.kind == "alert" for alert in step.alerts))
        self._score.set(float(step.scores[-1]))
        for gauge, value in zip(self._errors, self._calibrated(step.errors[-1:])[0]):
            gauge.set(float(value))

    @contextmanager
    def serving(self, port: int, addr: str = "0.0.0.0") -> Iterator[int]:
        """Serve ``/metrics`` on ``addr:port`` in a background thread for the block; yields the bound port.

        ``port=0`` lets the system pick a free port (tests).

        Raises
        ------
        ConfigError
            If the port cannot be bound (in use, not allowed).
        """
        from prometheus_client import start_http_server

        try:
            server, thread = start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"metrics port {port}: cannot listen on {addr}:{port} ({exc.strerror or exc})") from None
        try:
            yield server.server_port
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
