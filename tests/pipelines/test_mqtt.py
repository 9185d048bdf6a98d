"""`anomaly stream` against a real MQTT broker (Debian's mosquitto on 127.0.0.1, a free port)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
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


class Mosquitto:
    """A private mosquitto on 127.0.0.1 at ``port``, stopped and started again at will."""

    #: Started as root, mosquitto runs as user ``mosquitto``, which cannot read the test's files: stay who we are
    #: (as any other user it cannot switch users, and the line does nothing).
    USER = "user root\n" if os.geteuid() == 0 else ""

    def __init__(self, tmp_path: Path):
        self.exe = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)
        if self.exe is None:
            pytest.skip("mosquitto is not installed (.ci/run installs it)")
        self.port = free_port()
        self.config = tmp_path / "mosquitto.conf"
        # no cap on queued messages: a test publishes 2,000 rows in a burst, faster than a busy
        # machine may consume them, and mosquitto would drop those beyond its default 1,000
        self.config.write_text(self.USER + f"listener {self.port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n")
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not start: {self.proc.stderr.read().decode(errors='replace')[-500:]}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def mosquitto(tmp_path) -> Mosquitto:
    """A started :class:`Mosquitto`, stopped after the test."""
    server = Mosquitto(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker(mosquitto) -> int:
    """The port of a private mosquitto on 127.0.0.1."""
    return mosquitto.port


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
    metrics_port = free_port()
    cmd = [sys.executable, "-m", "anomaly.cli", "stream", "--model", str(arm_model), "--source", f"{url}/in", "--sink", f"{url}/out", "--scores",
           "--severe-ratio", "0", "--metrics-port", str(metrics_port)]  # a lone row far from training would alert at once
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
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            scraped = response.read().decode()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
        scores.close()
    assert proc.returncode == 0
    assert [(r["type"], r["timestamp"]) for r in received] == [("score", 1.0), ("score", 2.0)]
    for endpoint in ("source", "sink"):  # the connection metrics of both MQTT endpoints
        assert f'anomaly_stream_connected{{endpoint="{endpoint}",model="arm"}} 1.0' in scraped
        assert f'anomaly_stream_reconnects_total{{endpoint="{endpoint}",model="arm"}} 0.0' in scraped
    assert stderr.count("warning: ") == 5
    assert stderr.splitlines()[-1] == ("stream ended (SIGINT): 7 rows in, 2 scored, 5 skipped (malformed 1, missing_channels 1, "
                                       "bad_timestamp 1, duplicate_timestamp 2), 0 alerts")


class Streaming:
    """``pipelines.stream.run`` between an MQTT source and sink in a thread (scores emitted), stopped by :meth:`close`.

    ``TOPIC/in`` to ``TOPIC/out`` on the broker at ``port``, or the addresses ``source`` and ``sink``."""

    def __init__(self, port: int, model: Path, topic: str, *, source: str | None = None, sink: str | None = None):
        from anomaly.decisions import AlertLogic
        from pipelines.messages import RowParser
        from pipelines.mqtt import MqttSink, MqttSource
        from pipelines.stream import StreamScorer, run
        from pipelines.stream.metrics import StreamMetrics
        from pipelines.stream.signals import Stop

        det = anomaly.load(model)
        self.stop, self.summary = Stop(), None
        self.source = MqttSource(Endpoint.parse(source or f"mqtt://127.0.0.1:{port}/{topic}/in")).__enter__()
        self.sink = MqttSink(Endpoint.parse(sink or f"mqtt://127.0.0.1:{port}/{topic}/out", publish=True)).__enter__()
        scorer = StreamScorer(det, logic=AlertLogic.from_threshold(det.thresholder_, 0.8, None), name="arm")
        self.metrics = StreamMetrics(scorer)
        self.metrics.watch("source", self.source)
        self.metrics.watch("sink", self.sink)

        def serve():
            self.summary = run(scorer, self.source, self.sink, RowParser(det.schema_.channels), emit_scores=True,
                               stop=self.stop, tick=self.sink.tick, metrics=self.metrics)

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.request()
        self.thread.join(timeout=20)
        self.sink.__exit__(None, None, None)
        self.source.__exit__(None, None, None)
        assert not self.thread.is_alive()
        return self.summary


def row_messages(first: float, n: int) -> list[str]:
    row = simulate(1, seed=3, ambient_c=28).frame.iloc[0]
    return [json.dumps({"timestamp": first + k, **{c: float(v) for c, v in row.items()}}) for k in range(n)]


def test_an_idle_stream_keeps_its_connections_alive(mosquitto, arm_model, monkeypatch, caplog):
    """No network thread: the loop's idle ticks send the keep-alive pings of both clients (a
    broker drops a client silent for 1.5 keep-alive periods)."""
    import pipelines.mqtt

    monkeypatch.setattr(pipelines.mqtt, "KEEPALIVE_S", 2)  # paho pings after 2 s of silence, mosquitto drops a client after 3 s or more
    monkeypatch.setattr(pipelines.mqtt, "TICK_S", 0.25)
    scores = Client(mosquitto.port, "idle/out")
    stream = Streaming(mosquitto.port, arm_model, "idle")
    try:
        time.sleep(10.0)  # nothing arrives for five keep-alive periods (without the pings mosquitto 2.0 drops the sink within 3-7 s)
        publisher = Client(mosquitto.port)
        publisher.client.publish("idle/in", row_messages(1.0, 1)[0], qos=1).wait_for_publish(timeout=10)
        publisher.close()
        received = scores.next(timeout=10)
    finally:
        summary = stream.close()
        scores.close()
    assert (received["type"], received["timestamp"]) == ("score", 1.0)
    assert summary.rows_scored == 1
    assert not [r.getMessage() for r in caplog.records if r.name == "pipelines.mqtt"]  # never lost, never reconnected


def test_the_stream_reconnects_after_the_broker_restarts(mosquitto, arm_model, caplog):
    scores = Client(mosquitto.port, "restart/out")
    stream = Streaming(mosquitto.port, arm_model, "restart")
    publisher = Client(mosquitto.port)

    def metric(name: str) -> list[float]:  # source, sink
        return [stream.metrics.registry.get_sample_value(f"anomaly_stream_{name}", {"model": "arm", "endpoint": end})
                for end in ("source", "sink")]

    try:
        publisher.client.publish("restart/in", row_messages(1.0, 1)[0], qos=1).wait_for_publish(timeout=10)
        assert scores.next(timeout=10)["timestamp"] == 1.0
        assert metric("connected") == [1.0, 1.0] and metric("reconnects_total") == [0.0, 0.0]
        publisher.close()
        scores.close()
        mosquitto.stop()
        deadline = time.monotonic() + 10  # the stream notices: the source at once, the sink when next ticked (a second)
        while metric("connected") != [0.0, 0.0]:
            assert time.monotonic() < deadline, metric("connected")
            time.sleep(0.05)
        mosquitto.start()
        scores = Client(mosquitto.port, "restart/out")
        publisher = Client(mosquitto.port)
        received, deadline = None, time.monotonic() + 60
        for message in row_messages(2.0, 600):  # messages before the stream subscribed again are lost: publish until one comes through
            publisher.client.publish("restart/in", message, qos=1)
            try:
                received = scores.next(timeout=0.1)
                break
            except queue.Empty:
                assert time.monotonic() < deadline, "no score after the broker restarted"
        after = metric("connected"), metric("reconnects_total")
    finally:
        summary = stream.close()
        scores.close()
        publisher.close()
    assert received is not None and received["type"] == "score" and received["timestamp"] >= 2.0
    assert summary.rows_scored >= 2
    assert after == ([1.0, 1.0], [1.0, 1.0])  # connected again, one reconnect each
    logged = [r.getMessage() for r in caplog.records if r.name == "pipelines.mqtt"]
    for topic in ("restart/in", "restart/out"):
        url = f"mqtt://127.0.0.1:{mosquitto.port}/{topic}"
        assert any(m.startswith(f"{url}: connection lost") for m in logged), logged
        assert f"{url}: reconnected" in logged, logged


def test_a_sink_closed_after_a_lost_connection_delivers_what_it_sent_meanwhile(mosquitto, caplog):
    """An alert published while the broker is away is sent on the reconnect, which the sink's
    close waits for (it waited on a message object that raises once its first send failed)."""
    from pipelines.mqtt import MqttSink

    sink = MqttSink(Endpoint.parse(f"mqtt://127.0.0.1:{mosquitto.port}/later/out", publish=True)).__enter__()
    mosquitto.stop()
    deadline = time.monotonic() + 10
    while sink.connected:
        assert time.monotonic() < deadline
        sink.tick()
        time.sleep(0.05)
    sink.send([{"type": "alert", "timestamp": 1.0}])  # no connection: kept to be sent again
    mosquitto.start()
    alerts = Client(mosquitto.port, "later/out")
    try:
        sink.__exit__(None, None, None)  # reconnects, sends, waits for the acknowledgement
        assert alerts.next(timeout=10) == {"type": "alert", "timestamp": 1.0}
    finally:
        alerts.close()
    assert not [r for r in caplog.records if "not confirmed" in r.getMessage()]


class Proxy:
    """A TCP relay from a port of its own to the broker's whose connections can be cut: a network
    that fails between the stream and a broker that keeps running."""

    def __init__(self, target: int):
        self.target, self.port = target, free_port()
        self._sockets: list[socket.socket] = []
        self.restore()

    def restore(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                near, _ = server.accept()
            except OSError:  # closed by cut()
                return
            far = socket.create_connection(("127.0.0.1", self.target))
            self._sockets += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._relay, args=(a, b), daemon=True).start()

    @staticmethod
    def _relay(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        """Close the listening socket and every relayed connection (both ends see it closed)."""
        for sock in (self._server, *self._sockets):  # shutdown first: it wakes the threads blocked on them
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._sockets.clear()
        time.sleep(0.1)  # the accepting thread leaves before the port is bound again


def _logged(caplog, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, f"not logged: {text!r}"
        time.sleep(0.05)


@pytest.mark.parametrize("session", [True, False])
def test_a_session_keeps_the_messages_published_while_the_connection_was_lost(mosquitto, arm_model, session, caplog):
    """``?session=60``: rows published while the network to the broker is down are scored after
    the reconnect; without it (a clean MQTT 3.1.1 session) they are lost."""
    proxy = Proxy(mosquitto.port)
    source = f"mqtt://127.0.0.1:{proxy.port}/blip/in" + ("?session=60" if session else "")
    scores = Client(mosquitto.port, "blip/out")
    stream = Streaming(mosquitto.port, arm_model, "blip", source=source)
    publisher = Client(mosquitto.port)
    rows = row_messages(1.0, 7)
    try:
        assert (stream.source.client.protocol == mqtt.MQTTv5) == session
        publisher.client.publish("blip/in", rows[0], qos=1).wait_for_publish(timeout=10)
        assert scores.next(timeout=10)["timestamp"] == 1.0
        proxy.cut()
        _logged(caplog, f"127.0.0.1:{proxy.port}/blip/in: connection lost")
        for row in rows[1:6]:
            publisher.client.publish("blip/in", row, qos=1).wait_for_publish(timeout=10)
        proxy.restore()
        _logged(caplog, f"127.0.0.1:{proxy.port}/blip/in: reconnected")
        time.sleep(0.5)  # a clean session subscribes again
        publisher.client.publish("blip/in", rows[6], qos=1).wait_for_publish(timeout=10)
        received = []
        while not received or received[-1] < 7.0:
            received.append(scores.next(timeout=15)["timestamp"])
    finally:
        stream.close()
        scores.close()
        publisher.close()
        proxy.cut()
    assert received == ([2.0, 3.0, 4.0, 5.0, 6.0, 7.0] if session else [7.0])
    if session:  # the stream's disconnect at the end removed its session from the broker
        present = queue.Queue()
        check = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=stream.source.client._client_id.decode(), protocol=mqtt.MQTTv5)
        check.on_connect = lambda c, u, flags, *args: present.put(flags.session_present)
        check.connect("127.0.0.1", mosquitto.port, clean_start=False)
        check.loop_start()
        try:
            assert present.get(timeout=10) is False
        finally:
            check.disconnect()
            check.loop_stop()


def test_a_named_client_resumes_the_last_streams_session(mosquitto, arm_model):
    """``?session=60&client=ID``: the session outlives the stream, and the next stream under the
    same id scores the rows published in between."""
    source = f"mqtt://127.0.0.1:{mosquitto.port}/resume/in?session=60&client=robot-1-monitor"
    scores = Client(mosquitto.port, "resume/out")
    publisher = Client(mosquitto.port)
    rows = row_messages(1.0, 4)
    try:
        first = Streaming(mosquitto.port, arm_model, "resume", source=source)
        publisher.client.publish("resume/in", rows[0], qos=1).wait_for_publish(timeout=10)
        assert scores.next(timeout=10)["timestamp"] == 1.0
        first.close()
        for row in rows[1:3]:  # no stream runs
            publisher.client.publish("resume/in", row, qos=1).wait_for_publish(timeout=10)
        second = Streaming(mosquitto.port, arm_model, "resume", source=source)
        publisher.client.publish("resume/in", rows[3], qos=1).wait_for_publish(timeout=10)
        received = [scores.next(timeout=10)["timestamp"] for _ in range(3)]
        second.close()
    finally:
        scores.close()
        publisher.close()
    assert received == [2.0, 3.0, 4.0]


def test_source_and_sink_under_one_client_id_are_refused(arm_model):
    url = "mqtt://127.0.0.1:1/x?client=same"  # refused before any connection
    result = CliRunner().invoke(app, ["stream", "--model", str(arm_model), "--source", f"{url.replace('/x', '/in')}",
                                      "--sink", f"{url.replace('/x', '/out')}"])
    assert result.exit_code == 2
    assert result.output.startswith("error: source and sink name one client id ('same') on one broker"), result.output


@pytest.fixture
def secured(tmp_path) -> dict:
    """A mosquitto with four listeners on one broker: ``plain`` (anonymous, for the test's own
    clients), ``auth`` (user ``robot``, password ``s3cret``), ``tls`` (a certificate for
    127.0.0.1 from a test CA, ``ca`` the CA's PEM file) and ``mtls`` (the same, and a client
    certificate from that CA required: ``client`` and ``key``); yields the ports and the files."""
    server = Mosquitto(tmp_path)
    passwd, openssl = shutil.which("mosquitto_passwd"), shutil.which("openssl")
    if passwd is None or openssl is None:
        pytest.skip("mosquitto_passwd or openssl is not installed")

    def sh(*args):
        subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)

    sh(passwd, "-b", "-c", "passwords", "robot", "s3cret")
    sh(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca")
    sh(openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (tmp_path / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    sh(openssl, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
       "-days", "2", "-extfile", "san.cnf")
    sh(openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=robot-1")
    sh(openssl, "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem", "-days", "2")
    ports = {"plain": server.port, "auth": free_port(), "tls": free_port(), "mtls": free_port()}
    certificates = f"cafile {tmp_path / 'ca.pem'}\ncertfile {tmp_path / 'server.pem'}\nkeyfile {tmp_path / 'server.key'}\n"
    server.config.write_text(
        Mosquitto.USER + "per_listener_settings true\n"
        f"listener {ports['plain']} 127.0.0.1\nallow_anonymous true\n"
        f"listener {ports['auth']} 127.0.0.1\nallow_anonymous false\npassword_file {tmp_path / 'passwords'}\n"
        f"listener {ports['tls']} 127.0.0.1\nallow_anonymous true\n{certificates}"
        f"listener {ports['mtls']} 127.0.0.1\nallow_anonymous true\n{certificates}require_certificate true\n")
    server.start()
    try:
        yield {**ports, **{name: str(tmp_path / f"{name}.pem") for name in ("ca", "client")}, "key": str(tmp_path / "client.key")}
    finally:
        server.stop()


@pytest.mark.parametrize("listener", ["auth", "tls", "mtls"])
def test_a_broker_with_a_password_or_tls(secured, arm_model, listener, monkeypatch):
    """``mqtt://USER@...`` with the password from the environment, ``mqtts://...?ca=FILE``, and
    with a client certificate (``&cert=FILE&key=FILE``): rows in, scores out."""
    from pipelines.mqtt import PASSWORD_ENV

    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    port = secured[listener]
    base = f"mqtt://robot@127.0.0.1:{port}/{listener}" if listener == "auth" else f"mqtts://127.0.0.1:{port}/{listener}"
    query = {"auth": "", "tls": f"?ca={secured['ca']}", "mtls": f"?ca={secured['ca']}&cert={secured['client']}&key={secured['key']}"}[listener]
    scores = Client(secured["plain"], f"{listener}/out")  # the same broker, its plain listener
    stream = Streaming(port, arm_model, listener, source=f"{base}/in{query}", sink=f"{base}/out{query}")
    try:
        assert stream.source.endpoint.tls == (listener != "auth")
        publisher = Client(secured["plain"])
        publisher.client.publish(f"{listener}/in", row_messages(1.0, 1)[0], qos=1).wait_for_publish(timeout=10)
        publisher.close()
        received = scores.next(timeout=10)
    finally:
        stream.close()
        scores.close()
    assert (received["type"], received["timestamp"]) == ("score", 1.0)


def test_a_refused_password_or_certificate_exits_2_without_showing_the_password(secured, arm_model):
    wrong = CliRunner().invoke(app, ["stream", "--model", str(arm_model), "--source", f"mqtt://robot:wr0ng@127.0.0.1:{secured['auth']}/in"])
    assert wrong.exit_code == 2
    assert wrong.output.startswith(f"error: mqtt://robot@127.0.0.1:{secured['auth']}/in: the MQTT broker did not accept the connection ("), wrong.output
    assert "wr0ng" not in wrong.output
    untrusted = CliRunner().invoke(app, ["stream", "--model", str(arm_model), "--source", f"mqtts://127.0.0.1:{secured['tls']}/in"])
    assert untrusted.exit_code == 2  # the test CA is not one of the system's
    assert untrusted.output.startswith(f"error: mqtts://127.0.0.1:{secured['tls']}/in: cannot connect to the MQTT broker ("), untrusted.output
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.output
    anonymous = CliRunner().invoke(app, ["stream", "--model", str(arm_model), "--source", f"mqtts://127.0.0.1:{secured['mtls']}/in?ca={secured['ca']}"])
    assert anonymous.exit_code == 2  # no client certificate where the broker requires one
    assert anonymous.output.startswith(f"error: mqtts://127.0.0.1:{secured['mtls']}/in: the MQTT broker did not accept the connection (it closed "
                                       "the connection first"), anonymous.output
    assert anonymous.output.rstrip().endswith("does it want a client certificate (cert=FILE)?)"), anonymous.output
    bad = CliRunner().invoke(app, ["stream", "--model", str(arm_model), "--source",
                                   f"mqtts://127.0.0.1:{secured['mtls']}/in?ca={secured['ca']}&cert={secured['ca']}&key={secured['key']}"])
    assert bad.exit_code == 2  # a certificate that does not go with the key
    assert bad.output.startswith(f"error: mqtts://127.0.0.1:{secured['mtls']}/in: cannot set up TLS ("), bad.output


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
        ("mqtt://u:s3cret@h/t?retain=1", False, "'mqtt://u:\\*\\*\\*@h/t\\?retain=1': unknown option 'retain'"),
        ("mqtt://h/t?ca=ca.pem", False, "ca= is for TLS: write mqtts://"),
        ("mqtts://h/t?ca=/no/such/ca.pem", False, "certificate authority file '/no/such/ca.pem' not found"),
        ("mqtt://h/t?cert=c.pem", False, "cert= is for TLS: write mqtts://"),
        ("mqtts://h/t?cert=/no/c.pem", False, "client certificate file '/no/c.pem' not found"),
        (f"mqtts://h/t?key={__file__}", False, "key= needs cert="),
        ("mqtt://h/t?session=0", False, "session must be a whole number of seconds in 1..86400, got '0'"),
        ("mqtt://h/t?session=1.5", False, "session must be a whole number of seconds"),
        ("mqtt://h/t?client=", False, "client= needs an id"),
        ("tcp://u:s3cret@h/t", False, "'tcp://u:\\*\\*\\*@h/t': expected mqtt://HOST:PORT/TOPIC \\(or mqtts:// for TLS\\)"),
    ],
)
def test_endpoint_errors(url, publish, message):
    with pytest.raises(ConfigError, match=message) as error:
        Endpoint.parse(url, publish=publish)
    assert "s3cret" not in str(error.value)


def test_endpoint_credentials_and_tls(monkeypatch):
    from pipelines.mqtt import PASSWORD_ENV

    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    endpoint = Endpoint.parse("mqtts://robot:p%40ss@broker/a/b?qos=2")
    assert (endpoint.tls, endpoint.port, endpoint.username, endpoint.password, endpoint.qos, endpoint.ca) == (True, 8883, "robot", "p@ss", 2, None)
    assert str(endpoint) == "mqtts://robot@broker:8883/a/b" and "p@ss" not in repr(endpoint)
    assert Endpoint.parse("mqtt://robot@broker/a").password is None
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert Endpoint.parse("mqtt://robot@broker/a").password == "from-env"
    assert Endpoint.parse("mqtt://robot:given@broker/a").password == "given"  # the address's own wins
    assert Endpoint.parse("mqtt://broker/a").username is None
    assert (Endpoint.parse("mqtt://broker/a?session=300").session, Endpoint.parse("mqtt://broker/a").session) == (300, None)
    assert Endpoint.parse("mqtt://broker/a?client=robot-1").client_id == "robot-1"


def test_endpoint_defaults_and_wildcards():
    assert Endpoint.parse("mqtt://broker/robots/#") == Endpoint("broker", 1883, "robots/#", 1)
    assert Endpoint.parse("mqtt://broker.local:1884/a/b?qos=0", publish=True) == Endpoint("broker.local", 1884, "a/b", 0)
