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

from pipelines.stream.loop import WARNINGS_PER_REASON, run, serve
from pipelines.stream.scorer import Alert, Step, StreamScorer
from pipelines.stream.signals import Stop
from pipelines.stream.sinks import StdoutSink, stdin_lines
from pipelines.stream.summary import Summary

__all__ = ["Alert", "Step", "StreamScorer", "Stop", "Summary", "run", "serve", "StdoutSink", "stdin_lines", "WARNINGS_PER_REASON"]
