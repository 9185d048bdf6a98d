"""``anomaly stream``: score a live stream (stdin or MQTT) and emit one JSON alert per event (stdout, MQTT or an MCAP file)."""

from __future__ import annotations

from pathlib import Path

import typer

from anomaly.cli.console import err
from anomaly.decisions import DEFAULT_RULES
from pipelines.stream import serve


def _say(text: str) -> None:
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def stream(
    model: Path = typer.Option(..., "--model", "-m", help="Model directory from `anomaly fit` (uses model.onnx when present)."),
    source: str = typer.Option("stdin", help="stdin | mqtt://[USER@]HOST:PORT/TOPIC (mqtts:// over TLS: ?ca=FILE for a private CA, &cert=FILE&key=FILE for a client certificate; ?session=SECONDS keeps the messages of a lost connection, &client=ID across restarts; the password from $ANOMALY_MQTT_PASSWORD)"),
    format: str = typer.Option("jsonl", "--format", help="jsonl (one JSON object per line) | csv (header line first)."),
    sink: str = typer.Option("stdout", help="stdout | mqtt://HOST:PORT/TOPIC (or mqtts://, as --source) | mcap://PATH: where alerts go, one JSON message each (an MCAP file: alerts as DiagnosticArrays on /diagnostics, every score on /anomaly/score)."),
    hop: int = typer.Option(1, help="Rows per scoring step (window models: at most the window)."),
    threshold_scale: float = typer.Option(1.0, help="Alert above this multiple of the model's fitted threshold."),
    exit_ratio: float = typer.Option(DEFAULT_RULES.exit_ratio, help="An alert holds while the score stays above exit-ratio x that level."),
    min_duration: int = typer.Option(None, help="Rows above the hold level an event needs before it is alerted (default: the model's on-delay: 0.25 s at its sampling rate, 25 rows at 100 Hz, or what a feedback round set)."),
    merge_gap: int = typer.Option(None, help="Rows below the hold level after which a return still continues the event (default: 1 s at the model's rate)."),
    cooldown: int = typer.Option(None, help="Rows after an event's end during which no new alert opens (default: 5 s at the model's rate)."),
    severe_ratio: float = typer.Option(None, help="An event above severe-ratio x the level is alerted at once, however short (a collision); 0 turns this off (default: the model's, 10, or more where its normal training scores spiked higher)."),
    top_k: int = typer.Option(3, help="Channels named per alert."),
    scores: bool = typer.Option(False, "--scores", help="Also emit one score record per scored row."),
    engine: str = typer.Option("auto", help="auto | keras | onnx (see score)."),
    timestamp: str = typer.Option(None, help="Timestamp field (default: detected)."),
    output_format: str = typer.Option("plain", "--output-format", help="plain | diagnostic: alert, end and drift records as ROS diagnostic_msgs/DiagnosticArray messages (JSON)."),
    hardware_id: str = typer.Option("", help="hardware_id of the diagnostic statuses (diagnostic output, MCAP)."),
    metrics_port: int = typer.Option(None, help="Serve Prometheus metrics at http://0.0.0.0:PORT/metrics while streaming."),
):
    """Score a live stream and emit one JSON alert per event (and an "end" record when it closes)."""
    summary = serve(model, source=source, fmt=format, sink=sink, hop=hop, threshold_scale=threshold_scale,
                    exit_ratio=exit_ratio, min_duration=min_duration, merge_gap=merge_gap, cooldown=cooldown,
                    severe_ratio=severe_ratio, top_k=top_k,
                    emit_scores=scores, engine=engine, timestamp=timestamp, output_format=output_format, hardware_id=hardware_id,
                    metrics_port=metrics_port, warn=lambda text: _say(f"warning: {text}"), ready=_say)
    _say(summary.line())
