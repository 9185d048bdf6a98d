"""Streaming alerts: a stateful scorer fed one row at a time, and the loop around it.

:class:`StreamScorer` (:mod:`pipelines.stream.scorer`, which says which batch score a
streamed score equals) keeps a ring buffer of the last rows and decides alerts; one ``drift``
record says when the recent rows leave the training envelope (:mod:`pipelines.stream.drift`).

:func:`run` connects a source of message lines (stdin or :class:`pipelines.mqtt.MqttSource`)
through a :class:`~pipelines.messages.RowParser` and the scorer to a sink (stdout JSON lines,
:class:`pipelines.mqtt.MqttSink` or an MCAP file, :mod:`pipelines.stream.mcap_sink`). Bad
messages are counted and skipped with one warning each; the loop ends at the end of input or
on a stop request (SIGINT/SIGTERM under :func:`serve`) and returns a :class:`Summary`.
:func:`serve` is the ``anomaly stream`` command. Alerts can leave as ROS DiagnosticArrays
(:mod:`pipelines.stream.diagnostics`), and the loop can feed Prometheus metrics
(:mod:`pipelines.stream.metrics`).
"""

from pipelines.stream.loop import WARNINGS_PER_REASON, run, serve
from pipelines.stream.scorer import Alert, Step, StreamScorer
from pipelines.stream.signals import Stop
from pipelines.stream.sinks import StdoutSink, stdin_lines
from pipelines.stream.summary import Summary

__all__ = ["Alert", "Step", "StreamScorer", "Stop", "Summary", "run", "serve", "StdoutSink", "stdin_lines", "WARNINGS_PER_REASON"]
