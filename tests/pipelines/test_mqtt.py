"""`anomaly stream` against a real MQTT broker (Debian's mosquitto on 127.0.0.1, a free port)."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import anomaly
from anomaly.cli import app
from anomaly.errors import ConfigError
from datasets.robot_arm import CHANNELS, simulate
from pipelines.mqtt import Endpoint

mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed (extra: mqtt)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker(tmp_path) -> int:
    """A private mosquitto on 127.0.0.1; yields its port."""
    exe = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)
    if exe is None:
        pytest.skip("mosquitto is not installed (.ci/run installs it)")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    # no cap on queued messages: a test publishes 2,000 rows in a burst, faster than a busy
    # machine may consume them, and mosquitto would drop those beyond its default 1,000
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n")
    proc = subprocess.Popen([exe, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not start: {proc.stderr.read().decode(errors='replace')[-500:]}")
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Client:
    """A test-side paho client: subscribe to collect JSON messages, or publish."""

    def __init__(self, port: int, topic: str | None = None):
        self.received: queue.Queue = queue.Queue()
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda c, u, message: self.received.put(json.loads(message.payload))
        self.client.on_subscribe = lambda *args: ready.set()
        self.client.on_connect = lambda c, *args: c.subscribe(topic, qos=1) if topic else ready.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10), "test client could not connect/subscribe"

    def next(self, timeout: float = 30.0) -> dict:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def arm_model(tmp_path_factory) -> Path:
    normal = simulate(60, seed=0, ambient_c=28).frame
    return anomaly.PCADetector().fit(normal).save(tmp_path_factory.mktemp("mqtt") / "arm")


def test_alert_arrives_on_the_output_topic_with_a_start_inside_the_fault(broker, arm_model):
    run = simulate(20, faults=("collision",), seed=2, ambient_c=28)
    fault = run.faults[0]
    url = f"mqtt://127.0.0.1:{broker}/robot/1"
    alerts = Client(broker, "robot/1/alerts")
    cmd = [sys.executable, "-m", "anomaly.cli", "stream", "--model", str(arm_model), "--source", f"{url}/in",
           "--sink", f"{url}/alerts", "--threshold-scale", "3", "--min-duration", "3", "--merge-gap", "0", "--cooldown", "0",
           "--severe-ratio", "0"]  # rules by hand: without merging, the collision's later spikes would each alert at once
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)  # a hung stream fails the test instead of blocking it
    watchdog.start()
    try:
        ready = proc.stderr.readline()
        assert ready.startswith(f"streaming {url}/in -> {url}/alerts: model arm (PCADetector"), ready
        publisher = Client(broker)
        for timestamp, row in run.frame.iterrows():
            message = {"timestamp": timestamp.isoformat(), **{c: float(v) for c, v in row.items()}}
            publisher.client.publish("robot/1/in", json.dumps(message), qos=1)
        publisher.client.publish("robot/1/in", b"sentinel", qos=1).wait_for_publish(timeout=10)
        publisher.close()
        warning = proc.stderr.readline()  # messages are handled in order: every row is in once this comes
        assert warning.startswith(f"warning: message {len(run.frame) + 1} skipped (malformed)"), warning
        first, second = alerts.next(), alerts.next()
        with pytest.raises(queue.Empty):
            alerts.next(timeout=1.0)  # one event, nothing else
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        watchdog.cancel()
        proc.kill()
        alerts.close()
    assert proc.returncode == 0
    n = len(run.frame)
    assert stderr.splitlines()[-1] == f"stream ended (SIGTERM): {n + 1} rows in, {n} scored, 1 skipped (malformed 1), 1 alerts"
    assert first["type"] == "alert" and second["type"] == "end"
    assert set(first) == {"type", "model", "detector", "start", "timestamp", "threshold", "score", "top_channels"}
    assert (first["model"], first["detector"]) == ("arm", "PCADetector")
    assert fault.start <= pd.Timestamp(first["start"]) <= pd.Timestamp(first["timestamp"]) <= fault.end
    assert first["score"] > first["threshold"] and len(first["top_channels"]) == 3 and set(first["top_channels"]) <= set(CHANNELS)
    # the alert ends within the noise check's 25-row window (0.25 s) after the impact
    assert second["start"] == first["start"] and fault.start <= pd.Timestamp(second["end"]) <= fault.end + pd.Timedelta("0.25s")
    assert second["peak"] >= first["score"]


def test_bad_messages_from_the_broker_are_skipped(broker, arm_model):
    url = f"mqtt://127.0.0.1:{broker}/robot/2"
    cmd = [sys.executable, "-m", "anomaly.cli", "stream", "--model", str(arm_model), "--source", f"{url}/in", "--sink", f"{url}/out", "--scores",
           "--severe-ratio", "0"]  # a lone row far from training would alert at once
    scores = Client(broker, "robot/2/out")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr.readline().startswith("streaming")
        row = simulate(1, seed=3, ambient_c=28).frame.iloc[0]
        good = json.dumps({"timestamp": 1.0, **{c: float(v) for c, v in row.items()}})
        later = json.dumps({"timestamp": 2.0, **{c: float(v) for c, v in row.items()}})
        publisher = Client(broker)
        for payload in (b"\x00\xff", b"{}", good.replace('"acc_z"', '"acc_q"'), good, good, f"{good}\n{later}"):
            info = publisher.client.publish("robot/2/in", payload, qos=1)
        info.wait_for_publish(timeout=10)
        publisher.close()
        received = [scores.next(), scores.next()]  # the last one comes after every bad message
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
        scores.close()
    assert proc.returncode == 0
    assert [(r["type"], r["timestamp"]) for r in received] == [("score", 1.0), ("score", 2.0)]
    assert stderr.count("warning: ") == 5
    assert stderr.splitlines()[-1] == ("stream ended (SIGINT): 7 rows in, 2 scored, 5 skipped (malformed 1, missing_channels 1, "
                                       "bad_timestamp 1, duplicate_timestamp 2), 0 alerts")


def test_unreachable_broker_exits_2(arm_model):
    port = free_port()  # nothing listens there
    result = CliRunner().invoke(app, ["stream", "--model", str(arm_model), "--source", f"mqtt://127.0.0.1:{port}/in"])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: mqtt://127.0.0.1:{port}/in: cannot connect to the MQTT broker")


@pytest.mark.parametrize(
    "url,publish,message",
    [
        ("http://h/t", False, "expected mqtt://HOST:PORT/TOPIC"),
        ("mqtt://h:99999/t", False, "port is not a number"),
        ("mqtt://h/", False, "host and topic are required"),
        ("mqtt://h/robots/+/alerts", True, "cannot publish to a topic with wildcards"),
        ("mqtt://h/t?qos=3", False, "qos must be 0, 1 or 2"),
    ],
)
def test_endpoint_errors(url, publish, message):
    with pytest.raises(ConfigError, match=message):
        Endpoint.parse(url, publish=publish)


def test_endpoint_defaults_and_wildcards():
    assert Endpoint.parse("mqtt://broker/robots/#") == Endpoint("broker", 1883, "robots/#", 1)
    assert Endpoint.parse("mqtt://broker.local:1884/a/b?qos=0", publish=True) == Endpoint("broker.local", 1884, "a/b", 0)
