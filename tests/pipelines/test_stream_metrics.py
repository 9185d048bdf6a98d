"""Prometheus metrics of `anomaly stream` (--metrics-port) and the Grafana dashboard that reads them."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame
from typer.testing import CliRunner

import anomaly
from anomaly.cli import app
from anomaly.decisions import AlertLogic
from pipelines.messages import REASONS, RowParser
from pipelines.stream import StreamScorer, run
from pipelines.stream.metrics import PREFIX, StreamMetrics

parser = pytest.importorskip("prometheus_client.parser", reason="prometheus-client is not installed (extra: metrics)")

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "anomaly-stream.json"
SERIES = make_frame(900, channels=4, seed=0)
HOP = 4


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return anomaly.PCADetector().fit(SERIES.iloc[:600]).save(tmp_path_factory.mktemp("models") / "arm")


@pytest.fixture(scope="module")
def faulty() -> pd.DataFrame:
    """150 rows, a fault on ch2 from row 100 to the end (the stream ends inside it)."""
    frame = SERIES.iloc[600:750].copy()
    frame.iloc[100:, 2] += 3.0
    return frame


def json_lines(frame: pd.DataFrame) -> list[str]:
    return [json.dumps({"timestamp": t.isoformat(), **{c: float(v) for c, v in row.items()}}) for t, row in frame.iterrows()]


def scrape(port: int) -> dict[tuple, float]:
    """``{(sample name, sorted label items): value}`` from http://127.0.0.1:port/metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in parser.text_string_to_metric_families(text)
            for s in family.samples}


def scorer_of(model: Path) -> StreamScorer:
    det = anomaly.load(model)
    logic = AlertLogic.from_threshold(det.thresholder_, min_duration=3, merge_gap=0, cooldown=0)
    return StreamScorer(det, hop=HOP, logic=logic, name="arm")


def test_metrics_scraped_over_http_during_a_stream(model, faulty):
    """run() in a thread, paused after the last message until the endpoint was scraped."""
    good = json_lines(faulty)
    lines = good[:50] + ["{oops", "[1]", good[10]] + good[50:]  # 2 malformed, 1 out of order
    consumed, scraped = threading.Event(), threading.Event()

    def source():
        yield from lines
        consumed.set()  # run() asks for the next message only after handling the previous one
        scraped.wait(timeout=30)

    scorer = scorer_of(model)
    metrics = StreamMetrics(scorer)
    sent: list[dict] = []
    sink = type("Sink", (), {"send": lambda self, records: sent.extend(records)})()
    result = {}
    with metrics.serving(0, addr="127.0.0.1") as port:
        thread = threading.Thread(target=lambda: result.update(summary=run(
            scorer, source(), sink, RowParser(scorer.channels), emit_scores=True, warn=lambda _: None, metrics=metrics)))
        thread.start()
        try:
            assert consumed.wait(timeout=30)
            values = scrape(port)
        finally:
            scraped.set()
            thread.join(timeout=30)
    summary = result["summary"]

    model_label = (("model", "arm"),)
    scores = [r["score"] for r in sent if r["type"] == "score"]
    alerts = [r for r in sent if r["type"] == "alert"]
    assert len(scores) == len(good) // HOP * HOP == summary.rows_scored  # an incomplete last group is not scored
    assert alerts and alerts[-1]["top_channels"][0] == "ch2"
    assert values[(PREFIX + "rows_in_total", model_label)] == len(lines) == summary.rows_in
    assert values[(PREFIX + "rows_scored_total", model_label)] == len(scores)
    assert values[(PREFIX + "alerts_total", model_label)] == len(alerts) == summary.alerts
    skipped = {reason: values[(PREFIX + "rows_skipped_total", (("model", "arm"), ("reason", reason)))] for reason in REASONS}
    assert skipped == {reason: dict(malformed=2, out_of_order=1).get(reason, 0) for reason in REASONS}
    assert values[(PREFIX + "score", model_label)] == pytest.approx(scores[-1], rel=1e-6)
    assert values[(PREFIX + "threshold", model_label)] == pytest.approx(scorer.enter) == pytest.approx(alerts[0]["threshold"])

    det = anomaly.load(model)
    last = faulty.iloc[: len(scores)]
    expected = det.head_.calibrated(det.errors(last).to_numpy()[-1:])[0]
    errors = [values[(PREFIX + "channel_error", (("channel", c), ("model", "arm")))] for c in scorer.channels]
    np.testing.assert_allclose(errors, expected, rtol=1e-5)
    assert int(np.argmax(errors)) == 2  # the faulty channel


def test_each_stream_has_its_own_registry(model):
    first, second = StreamMetrics(scorer_of(model)), StreamMetrics(scorer_of(model))  # no "duplicated timeseries"
    first.received("nan_inf")
    assert first.registry.get_sample_value(PREFIX + "rows_skipped_total", {"model": "arm", "reason": "nan_inf"}) == 1
    assert second.registry.get_sample_value(PREFIX + "rows_skipped_total", {"model": "arm", "reason": "nan_inf"}) == 0


def test_the_server_stops_and_frees_its_port(model):
    metrics = StreamMetrics(scorer_of(model))
    with metrics.serving(0, addr="127.0.0.1") as port:
        assert (PREFIX + "threshold", (("model", "arm"),)) in scrape(port)
    with pytest.raises(OSError):  # connection refused
        scrape(port)
    with metrics.serving(port, addr="127.0.0.1") as again:  # released: a restarted stream takes it again
        assert again == port and (PREFIX + "threshold", (("model", "arm"),)) in scrape(port)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_serves_metrics_while_streaming(model, faulty):
    """The real command over a pipe: metrics follow the rows, and nothing is served after the end."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "anomaly.cli", "stream", "--model", str(model), "--metrics-port", str(port)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ready = proc.stderr.readline()
        assert ready.startswith("streaming stdin") and ready.rstrip().endswith(f"metrics on http://0.0.0.0:{port}/metrics"), ready
        proc.stdin.write("\n".join(json_lines(faulty.iloc[:30])) + "\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while (values := scrape(port))[(PREFIX + "rows_scored_total", (("model", "arm"),))] < 30:
            assert time.monotonic() < deadline, values
            time.sleep(0.05)
        assert values[(PREFIX + "rows_in_total", (("model", "arm"),))] == 30
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    assert proc.stderr.read().splitlines()[-1] == "stream ended (end of input): 30 rows in, 30 scored, 0 skipped, 0 alerts"
    with pytest.raises(OSError):
        scrape(port)


def test_no_port_imports_nothing_from_prometheus_client(model, faulty):
    code = ("import sys; from pipelines.stream import serve; "
            f"serve({str(model)!r}); assert 'prometheus_client' not in sys.modules, 'imported'")
    done = subprocess.run([sys.executable, "-c", code], input="\n".join(json_lines(faulty.iloc[:5])) + "\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_port_zero_or_in_use_exits_2_with_one_line_and_writes_nothing(model, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["stream", "--model", str(model), "--metrics-port", "0"], input="")
    assert result.exit_code == 2 and "metrics_port=0 is not allowed" in result.output and result.output.count("error:") == 1
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = tmp_path / "alerts.mcap"
        result = runner.invoke(app, ["stream", "--model", str(model), "--metrics-port", str(port), "--sink", f"mcap://{out}"], input="")
    assert result.exit_code == 2, result.output
    assert f"metrics port {port}: cannot listen" in result.output and result.output.count("error:") == 1
    assert not out.exists()


# -- the Grafana dashboard ----------------------------------------------------------------------
_PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}


def queried_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or variables."""
    expr = re.sub(r'"[^"]*"', "", expr)  # label values, e.g. "$model"
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)  # matchers and ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    return {name for name, call in re.findall(r"(?<![\w$])([A-Za-z_:][\w:]*)\s*(\()?", expr)
            if not call and name not in _PROMQL_WORDS}


def test_dashboard_parses_and_queries_only_exported_metrics(model):
    dashboard = json.loads(DASHBOARD.read_text())
    metrics = StreamMetrics(scorer_of(model))
    metrics.watch("source", SimpleNamespace(connected=True, on_connection=None))  # as an MQTT source's client
    exported = {sample.name for family in metrics.registry.collect() for sample in family.samples}

    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    targets = [(panel["title"], target) for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert {title for title, _ in targets} >= {"Score vs threshold", "Alerts rate", "Top channels by calibrated error"}
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in dashboard["panels"])
    queried = set().union(*(queried_metrics(target["expr"]) for _, target in targets))
    models = re.fullmatch(r"label_values\((\w+), *model\)", variables["model"]["query"]["query"])  # the model picker
    queried.add(models.group(1))
    assert queried <= exported, queried - exported
    assert {PREFIX + "score", PREFIX + "threshold", PREFIX + "alerts_total", PREFIX + "channel_error",
            PREFIX + "connected", PREFIX + "reconnects_total"} <= queried
