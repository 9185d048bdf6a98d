"""ROS-native outputs of `anomaly stream`: DiagnosticArray records (--output-format diagnostic) and the MCAP sink."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_frame
from typer.testing import CliRunner

import anomaly
from anomaly.cli import app
from pipelines.stream.diagnostics import DiagnosticSink, Level, to_diagnostic

make_reader = pytest.importorskip("mcap.reader", reason="mcap is not installed (extra: ros)").make_reader

SERIES = make_frame(1300, channels=4, seed=0)
FAULT = slice(400, 480)
RULES = ["--threshold-scale", "2", "--min-duration", "3", "--merge-gap", "5", "--cooldown", "0"]
ALERT = {"type": "alert", "model": "arm", "detector": "PCADetector", "start": "2026-01-01T00:00:07.570000",
         "timestamp": "2026-01-01T00:00:07.590000", "threshold": 3.2774670553207406, "score": 40.87865447998047,
         "top_channels": ["j2_current", "acc_z", "j1_current"]}
END = {"type": "end", "model": "arm", "detector": "PCADetector", "start": "2026-01-01T00:00:07.570000",
       "timestamp": "2026-01-01T00:00:07.780000", "threshold": 3.2774670553207406, "end": "2026-01-01T00:00:07.770000",
       "peak": 365.23150634765625}
DRIFT = {"type": "drift", "model": "arm", "timestamp": 12.5, "message": "model outside its operating envelope: j1_temp -4.02",
         "channels": {"j1_temp": -4.02, "j2_temp": -3.5}}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return anomaly.PCADetector().fit(SERIES.iloc[:600]).save(tmp_path_factory.mktemp("models") / "pca")


@pytest.fixture(scope="module")
def faulty() -> pd.DataFrame:
    frame = SERIES.iloc[600:].copy()
    frame.iloc[FAULT, 2] += 3.0
    return frame


def ns(timestamp) -> int:
    return pd.Timestamp(timestamp).value  # naive = UTC


def values(status: dict) -> dict:
    return {v["key"]: v["value"] for v in status["values"]}


# -- DiagnosticArray records ----------------------------------------------------------------------
def test_alert_becomes_an_error_status_naming_the_top_channels():
    array = to_diagnostic(ALERT, hardware_id="arm-7", frame_id="base_link")
    stamp = ns(ALERT["timestamp"])
    assert array["header"] == {"stamp": {"sec": stamp // 10**9, "nanosec": 590_000_000}, "frame_id": "base_link"}
    [status] = array["status"]
    assert status["level"] == Level.ERROR == 2 and status["name"] == "anomaly/arm" and status["hardware_id"] == "arm-7"
    assert status["message"] == "score 40.88, alert level 3.277; top channels j2_current, acc_z, j1_current"
    assert values(status) == {"type": "alert", "detector": "PCADetector", "start": ALERT["start"], "timestamp": ALERT["timestamp"],
                              "threshold": "3.2774670553207406", "score": "40.87865447998047", "top_channels": "j2_current,acc_z,j1_current"}
    assert all(isinstance(v["value"], str) for v in status["values"])
    json.dumps(array)


def test_end_is_ok_and_drift_is_warn_with_one_value_per_channel():
    end = to_diagnostic(END)["status"][0]
    assert end["level"] == Level.OK and end["message"] == "anomaly ended (peak 365.2, threshold 3.277)"
    assert values(end)["end"] == END["end"] and values(end)["peak"] == "365.23150634765625"
    drift = to_diagnostic(DRIFT, received_ns=1_700_000_000_123_456_789)
    assert drift["header"]["stamp"] == {"sec": 1_700_000_000, "nanosec": 123_456_789}  # a number is not a time: receive time
    status = drift["status"][0]
    assert status["level"] == Level.WARN and status["message"] == DRIFT["message"]
    assert values(status) == {"type": "drift", "timestamp": "12.5", "message": DRIFT["message"], "channels.j1_temp": "-4.02",
                              "channels.j2_temp": "-3.5"}


def test_timezone_aware_stamps_are_converted_to_utc():
    aware = datetime(2026, 1, 1, 4, 0, 7, 590000, tzinfo=timezone(timedelta(hours=2)))
    array = to_diagnostic({**ALERT, "timestamp": aware.isoformat()})  # "2026-01-01T04:00:07.590000+02:00"
    assert array["header"]["stamp"] == {"sec": ns("2026-01-01T02:00:07") // 10**9, "nanosec": 590_000_000}


def test_diagnostic_sink_converts_alerts_and_passes_scores_on():
    sent = []
    sink = DiagnosticSink(type("Sink", (), {"send": lambda self, records: sent.append(records)})(), hardware_id="arm-7")
    score = {"type": "score", "model": "arm", "timestamp": 3.0, "score": 0.5, "flag": False}
    sink.send([score, ALERT, END])
    assert len(sent) == 1 and sent[0][0] == score
    assert [r["status"][0]["level"] for r in sent[0][1:]] == [2, 0] and sent[0][1]["status"][0]["hardware_id"] == "arm-7"


def command(model, *args) -> list[str]:
    return [sys.executable, "-m", "anomaly.cli", "stream", "--model", str(model), *args]


def json_lines(frame: pd.DataFrame) -> list[str]:
    return [json.dumps({"timestamp": t.isoformat(), **{c: float(v) for c, v in row.items()}}) for t, row in frame.iterrows()]


def test_command_emits_diagnostic_arrays_on_stdout(model, faulty):
    text = "\n".join(json_lines(faulty)) + "\n"
    done = subprocess.run(command(model, "--output-format", "diagnostic", "--hardware-id", "arm-7", "--scores", *RULES),
                          input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    scores = [r for r in out if r.get("type") == "score"]
    arrays = [r for r in out if "status" in r]
    assert len(scores) == len(faulty) and len(scores) + len(arrays) == len(out)  # scores stay plain records
    statuses = [a["status"][0] for a in arrays]
    assert {s["name"] for s in statuses} == {"anomaly/pca"} and {s["hardware_id"] for s in statuses} == {"arm-7"}
    alerts = [s for s in statuses if s["level"] == Level.ERROR]
    assert alerts and [s["level"] for s in statuses].count(Level.OK) == len(alerts)
    inside = [s for s in alerts if faulty.index[FAULT.start] <= pd.Timestamp(values(s)["start"]) < faulty.index[FAULT.stop]]
    assert len(inside) == 1 and values(inside[0])["top_channels"].split(",")[0] == "ch2"


# -- the MCAP sink --------------------------------------------------------------------------------
def read_mcap(path: Path) -> tuple[dict, list[tuple[str, int, dict]]]:
    """(channels by topic as (schema name, schema encoding, message encoding), [(topic, log_time, message), ...])."""
    with path.open("rb") as stream:
        reader = make_reader(stream, validate_crcs=True)
        summary = reader.get_summary()
        assert summary is not None  # finished: the summary section and footer were written
        channels = {c.topic: (summary.schemas[c.schema_id].name, summary.schemas[c.schema_id].encoding, c.message_encoding)
                    for c in summary.channels.values()}
        messages = [(channel.topic, message.log_time, json.loads(message.data)) for _, channel, message in reader.iter_messages()]
    return channels, messages


def test_mcap_sink_records_diagnostics_and_scores(model, faulty, tmp_path):
    out = tmp_path / "alerts.mcap"
    text = "\n".join(json_lines(faulty)) + "\n"
    done = subprocess.run(command(model, "--sink", f"mcap://{out}", "--top-k", "2", *RULES), input=text, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    channels, messages = read_mcap(out)
    assert channels == {"/diagnostics": ("diagnostic_msgs/msg/DiagnosticArray", "jsonschema", "json"),
                        "/anomaly/score": ("anomaly/Score", "jsonschema", "json")}
    scores = [(t, m) for topic, t, m in messages if topic == "/anomaly/score"]
    assert len(scores) == len(faulty)  # every score is recorded, without --scores
    assert [t for t, _ in scores] == [ns(t) for t in faulty.index]  # log time = the row's timestamp
    assert [m["score"] for _, m in scores] == pytest.approx(anomaly.load(model).score(faulty).to_numpy(), rel=1e-5, abs=1e-5)

    diagnostics = [(t, m["status"][0]) for topic, t, m in messages if topic == "/diagnostics"]
    alerts = [(t, s) for t, s in diagnostics if s["level"] == Level.ERROR]
    summary = done.stderr.splitlines()[-1]
    assert summary == f"stream ended (end of input): 700 rows in, 700 scored, 0 skipped, {len(alerts)} alerts"
    assert alerts and sum(s["level"] == Level.OK for _, s in diagnostics) == len(alerts) == len(diagnostics) / 2
    first = next(s for _, s in alerts if pd.Timestamp(values(s)["start"]) >= faulty.index[FAULT.start])
    top = values(first)["top_channels"].split(",")
    assert top[0] == "ch2" and len(top) == 2 and top[0] in first["message"]
    assert all(t == ns(values(s)["timestamp"]) for t, s in diagnostics)


def test_mcap_file_is_complete_after_sigint(model, faulty, tmp_path):
    out = tmp_path / "alerts.mcap"
    proc = subprocess.Popen(command(model, "--sink", f"mcap://{out}", *RULES), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr.readline().startswith(f"streaming stdin -> mcap://{out}")
        proc.stdin.write("\n".join(json_lines(faulty.iloc[:440]) + ["sentinel"]) + "\n")  # ends inside the fault: an event is open
        proc.stdin.flush()
        warning = proc.stderr.readline()  # the sentinel: every row before it is in
        assert warning.startswith("warning: message 441 skipped (malformed)"), warning
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        summary = proc.stderr.read().splitlines()[-1]
    finally:
        proc.kill()
    _, messages = read_mcap(out)
    statuses = [m["status"][0] for topic, _, m in messages if topic == "/diagnostics"]
    assert sum(topic == "/anomaly/score" for topic, _, _ in messages) == 440
    assert statuses and statuses[-1]["level"] == Level.OK  # the open event got its end record
    alerts = sum(s["level"] == Level.ERROR for s in statuses)
    assert summary == f"stream ended (SIGINT): 441 rows in, 440 scored, 1 skipped (malformed 1), {alerts} alerts"


@pytest.mark.parametrize(
    "sink,message",
    [
        ("mcap://", "expected mcap://PATH"),
        ("mcap:alerts.mcap", "expected mcap://PATH"),
        ("mcap://{tmp}/missing/alerts.mcap", "missing does not exist"),
        ("mcap://{tmp}", "is a folder, not a file"),
        ("file://alerts.mcap", "must be stdout, mqtt://HOST:PORT/TOPIC (mqtts:// for TLS) or mcap://PATH"),
    ],
)
def test_bad_mcap_sink_exits_2_with_one_line_and_writes_nothing(model, tmp_path, monkeypatch, sink, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["stream", "--model", str(model), "--sink", sink.format(tmp=tmp_path)], input="")
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.count("error:") == 1 and len(result.output.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_bad_output_format_exits_2(model):
    result = CliRunner().invoke(app, ["stream", "--model", str(model), "--output-format", "ros"], input="")
    assert result.exit_code == 2 and "output_format='ros' is not one of ['plain', 'diagnostic']" in result.output
