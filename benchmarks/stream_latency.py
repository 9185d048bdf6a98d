"""Streaming latency and throughput of `anomaly stream` (32 channels, window 64).

Models: PCA, and a dense-ae and an lstm-ae with window 64 exported to ONNX (trained for 2 epochs
on 8,000 rows of synthetic sinusoids; their accuracy does not matter here). Each runs as a
subprocess, ``anomaly stream --model M --hop H --scores`` (one score record per scored row,
alert logic included), at hop 1 and hop 10, over two transports:

* **stdin**: the benchmark writes JSON lines into the subprocess's stdin and reads its stdout;
* **mqtt**: the benchmark publishes to an input topic of a private mosquitto on 127.0.0.1 and
  subscribes to the output topic (QoS 1 both ways; two broker hops per message).

Per model and hop, one run without a transport:

* **in-process**: the same loop (``pipelines.stream.run``: parse, score, alert logic, JSON
  records) fed 10,000 messages back to back in the benchmark process, no pipe or broker;
  *latency* = record serialised minus message handed to the loop (the toolkit's own cost,
  per message that completes a hop group), *rows/s* = messages / total time.

Then per transport two runs:

* **paced**: 1,000 messages/s for 10 s. *Latency* = time the score record is read (stdout line
  or MQTT message) minus time the message that completed its hop group was written or
  published, both taken in the benchmark process; p50/p99/max over the scored groups after the
  first 1 s. *Row latency* is the same from each row's own message (adds the wait for the rest
  of its group at hop > 1).
* **flood**: 20,000 messages as fast as the benchmark can send them; *rows/s* = rows scored /
  (last record read - first message sent): the sustained input rate the stream keeps up with.

Reference, **transport alone**: an echo process with the stream's own MQTT source and sink
(``pipelines.mqtt``) that passes each message's timestamp on as a score record (no parsing into
rows, no scoring), paced and flooded as above: the latency the two broker hops and the clients
add by themselves.

Target: sustain 1,000 samples/s at hop 1 with p99 latency under 10 ms. The machine has 2 cores
shared with other jobs: ``os.getloadavg()`` is recorded before each run.

Run: ``python benchmarks/stream_latency.py [model ... echo]`` -> ``benchmarks/results/stream_latency.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import sine_frame, write_result

import anomaly
from anomaly.decisions import AlertLogic
from pipelines.messages import RowParser
from pipelines.stream import StreamScorer, run

CHANNELS, WINDOW, TRAIN_ROWS = 32, 64, 8_000
RATE, PACED_S, FLOOD, SKIP_S = 1_000, 10.0, 20_000, 1.0
HOPS = (1, 10)
ECHO = "echo"  # the transport alone (see the docstring)
MODELS = {
    "pca": None,
    "dense-ae": {"window": WINDOW, "hidden": (64, 32), "latent": 16},
    "lstm-ae": {"window": WINDOW, "units": (32,), "latent": 16},
}

def train(folder: Path) -> dict[str, Path]:
    data = sine_frame(TRAIN_ROWS, CHANNELS, 0, "1ms")
    paths = {}
    for name, params in MODELS.items():
        if params is None:
            paths[name] = anomaly.PCADetector().fit(data).save(folder / name)
            continue
        det = anomaly.make_detector(name, epochs=2, validation_fraction=0.0, **params).fit(data)
        paths[name] = det.save(folder / name)
        det.export_onnx(paths[name] / "model.onnx")
    return paths


def messages(n: int, seed: int) -> list[bytes]:
    """JSON lines with an integer timestamp = message number (easy to match in the output)."""
    values = np.round(sine_frame(n, CHANNELS, seed, "1ms").to_numpy(np.float64), 5)
    names = [f"c{i}" for i in range(CHANNELS)]
    return [json.dumps({"timestamp": i, **dict(zip(names, row.tolist()))}).encode() + b"\n" for i, row in enumerate(values)]


class Broker:
    """A private mosquitto on 127.0.0.1 (no limit on queued messages, so a flood is not dropped)."""

    def __init__(self, folder: Path):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = folder / "mosquitto.conf"
        config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nset_tcp_nodelay true\n")
        self.proc = subprocess.Popen([exe, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.05)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Run:
    """One stream subprocess; ``arrivals`` collects (read time, timestamp) of score records."""

    def __init__(self, model: Path | str, hop: int, broker: Broker | None):
        self.hop, self.broker = hop, broker
        self.arrivals: list[tuple[float, int]] = []
        self.stderr: list[str] = []
        cmd = [sys.executable, "-m", "anomaly.cli", "stream", "--model", str(model), "--hop", str(hop), "--scores"]
        if broker is not None:
            url = f"mqtt://127.0.0.1:{broker.port}/bench"
            cmd = [sys.executable, __file__, "--echo", url] if model == ECHO else cmd + ["--source", f"{url}/in", "--sink", f"{url}/out"]
            self.subscriber = self._client(subscribe="bench/out")
            self.publisher = self._client()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.ready = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if broker is None:
            threading.Thread(target=self._read_stdout, daemon=True).start()
        if not self.ready.wait(120):
            raise RuntimeError(f"stream did not start: {self.stderr}")

    def _client(self, subscribe: str | None = None):
        import paho.mqtt.client as mqtt

        done = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

        def connected(c, *args) -> None:
            c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the stream's own clients do
            c.subscribe(subscribe, qos=1) if subscribe else done.set()

        client.on_connect = connected
        if subscribe:
            client.on_message = lambda c, u, m: self._arrived(time.perf_counter(), m.payload)
            client.on_subscribe = lambda *args: done.set()
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        done.wait(10)
        return client

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace").rstrip())
            if self.stderr[-1].startswith("streaming"):
                self.ready.set()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self._arrived(time.perf_counter(), line)

    def _arrived(self, when: float, payload: bytes) -> None:
        record = json.loads(payload)
        if record["type"] == "score":  # alert records (the data has a few) are not counted
            self.arrivals.append((when, record["timestamp"]))

    def send(self, message: bytes) -> float:
        """Write or publish one message; returns the time it left."""
        if self.broker is None:
            self.proc.stdin.write(message)
            self.proc.stdin.flush()
        else:
            self.publisher.publish("bench/in", message, qos=1)
        return time.perf_counter()

    def wait_for(self, count: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> str:
        if self.broker is None:
            self.proc.stdin.close()
        else:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        if self.broker is not None:
            for client in (self.publisher, self.subscriber):
                client.disconnect()
                client.loop_stop()
        time.sleep(0.1)
        return self.stderr[-1] if self.stderr else ""


def scored_count(n: int, span: int, hop: int) -> int:
    return max(0, (n - span + 1) // hop * hop)


def percentiles(values_ms: np.ndarray) -> dict:
    return {"p50": float(np.percentile(values_ms, 50)), "p99": float(np.percentile(values_ms, 99)),
            "max": float(values_ms.max()), "n": int(len(values_ms))}


class _Handed:
    """Messages with the time each is handed to the loop."""

    def __init__(self, lines: list[bytes]):
        self.lines, self.at = lines, np.empty(len(lines))

    def __iter__(self):
        for i, line in enumerate(self.lines):
            self.at[i] = time.perf_counter()
            yield line


class _Serialised:
    """A sink that serialises like stdout's and notes when each score record was ready."""

    def __init__(self):
        self.ready: dict[int, float] = {}

    def send(self, records: list[dict]) -> None:
        "".join(json.dumps(record) + "\n" for record in records)
        now = time.perf_counter()
        self.ready.update((r["timestamp"], now) for r in records if r["type"] == "score")


def in_process(model: Path, span: int, hop: int) -> dict:
    det = anomaly.load(model)
    det.set_inference_threads(1)  # as `anomaly stream` does
    logic = AlertLogic.from_threshold(det.thresholder_, 0.8, min_duration=25, merge_gap=100, cooldown=500)
    source, sink = _Handed(messages(int(RATE * PACED_S), 1)), _Serialised()
    load = os.getloadavg()
    start = time.perf_counter()
    run(StreamScorer(det, hop=hop, logic=logic), source, sink, RowParser(det.schema_.channels), emit_scores=True)
    elapsed = time.perf_counter() - start
    group = np.array([(when - source.at[t]) * 1e3 for t, when in sink.ready.items() if (t - span + 1) % hop == hop - 1])
    return {"messages": len(source.lines), "rows_per_s": len(source.lines) / elapsed, "latency_ms": percentiles(group), "loadavg_before": load}


def paced(model: Path, span: int, hop: int, broker: Broker | None) -> dict:
    n = int(RATE * PACED_S)
    lines = messages(n, 1)
    load = os.getloadavg()
    run = Run(model, hop, broker)
    sent = np.empty(n)
    start = time.perf_counter()
    for i, line in enumerate(lines):
        delay = start + i / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[i] = run.send(line)
    elapsed = time.perf_counter() - start
    expected = scored_count(n, span, hop)
    run.wait_for(expected)
    summary = run.close()
    read = dict((t, when) for when, t in run.arrivals)
    trigger = {t: span - 1 + ((t - span + 1) // hop) * hop + hop - 1 for t in read}  # last row of t's group
    keep = [t for t in read if sent[t] - start >= SKIP_S]
    group = np.array([(read[t] - sent[trigger[t]]) * 1e3 for t in keep if t == trigger[t]])
    row = np.array([(read[t] - sent[t]) * 1e3 for t in keep])
    return {
        "messages": n, "input_rate_achieved": n / elapsed, "records": len(run.arrivals), "expected_records": expected,
        "latency_ms": percentiles(group), "row_latency_ms": percentiles(row), "loadavg_before": load, "summary": summary,
    }


def flood(model: Path, span: int, hop: int, broker: Broker | None) -> dict:
    lines = messages(FLOOD, 2)
    load = os.getloadavg()
    run = Run(model, hop, broker)
    start = time.perf_counter()
    for line in lines:
        run.send(line)
    sent_s = time.perf_counter() - start
    expected = scored_count(FLOOD, span, hop)
    run.wait_for(expected, timeout=300)
    last = max(when for when, _ in run.arrivals) if run.arrivals else start
    summary = run.close()
    return {
        "messages": FLOOD, "send_rate": FLOOD / sent_s, "records": len(run.arrivals), "expected_records": expected,
        "rows_per_s": len(run.arrivals) / (last - start), "loadavg_before": load, "summary": summary,
    }


def main(names: list[str]) -> None:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        paths = train(folder)
        broker = Broker(folder)
        try:
            for name in (name for name in names if name != ECHO):
                span = anomaly.load(paths[name]).stream_rows(1)
                for hop in HOPS:
                    entry = {"model": name, "transport": "in-process", "hop": hop, "in_process": in_process(paths[name], span, hop)}
                    results.append(entry)
                    r = entry["in_process"]
                    print(f"{name:9s} in-process hop {hop:2d} | {r['rows_per_s']:8,.0f} rows/s, latency p50 {r['latency_ms']['p50']:.3f} "
                          f"p99 {r['latency_ms']['p99']:.3f} max {r['latency_ms']['max']:.1f} ms | load {r['loadavg_before'][0]:.2f}", flush=True)
                for transport in ("stdin", "mqtt"):
                    for hop in HOPS:
                        via = broker if transport == "mqtt" else None
                        entry = {"model": name, "transport": transport, "hop": hop,
                                 "paced": paced(paths[name], span, hop, via), "flood": flood(paths[name], span, hop, via)}
                        results.append(entry)
                        p, f = entry["paced"], entry["flood"]
                        print(f"{name:9s} {transport:5s} hop {hop:2d} | paced {p['input_rate_achieved']:6.0f} msg/s, "
                              f"{p['records']}/{p['expected_records']} records, latency p50 {p['latency_ms']['p50']:.2f} "
                              f"p99 {p['latency_ms']['p99']:.2f} max {p['latency_ms']['max']:.1f} ms | flood {f['rows_per_s']:8,.0f} rows/s "
                              f"({f['records']}/{f['expected_records']}) | load {p['loadavg_before'][0]:.2f}", flush=True)
            if ECHO in names:
                entry = {"model": "transport alone (echo)", "transport": "mqtt", "hop": 1,
                         "paced": paced(ECHO, 1, 1, broker), "flood": flood(ECHO, 1, 1, broker)}
                results.append(entry)
                p, f = entry["paced"], entry["flood"]
                print(f"echo      mqtt  hop  1 | paced {p['input_rate_achieved']:6.0f} msg/s, {p['records']}/{p['expected_records']} records, "
                      f"latency p50 {p['latency_ms']['p50']:.2f} p99 {p['latency_ms']['p99']:.2f} max {p['latency_ms']['max']:.1f} ms | "
                      f"flood {f['rows_per_s']:8,.0f} rows/s | load {p['loadavg_before'][0]:.2f}", flush=True)
        finally:
            broker.close()
    settings = {"channels": CHANNELS, "window": WINDOW, "rate": RATE, "paced_seconds": PACED_S, "flood_messages": FLOOD,
                "skip_seconds": SKIP_S, "hops": list(HOPS), "models": {k: v for k, v in MODELS.items()}}
    target = {"rate": RATE, "hop": 1, "p99_ms": 10.0}
    met = {f"{r['model']}/{r['transport']}": (r["paced"]["latency_ms"]["p99"] < 10.0 and r["paced"]["records"] == r["paced"]["expected_records"]
                                             and r["flood"]["rows_per_s"] >= RATE)
           for r in results if r["hop"] == 1 and "paced" in r and r["model"] in MODELS}
    path = write_result("stream_latency", {"protocol": __doc__.split("Run:")[0].strip(), "settings": settings, "target": target,
                                           "target_met_at_hop_1": met, "loadavg_end": os.getloadavg(), "runs": results})
    print(f"-> {path}")


def echo(url: str) -> None:
    """The transport alone: the stream's MQTT source and sink passing each message's timestamp on
    as a score record (no parsing into rows, no scoring), until SIGTERM."""
    from pipelines.mqtt import Endpoint, MqttSink, MqttSource

    with MqttSource(Endpoint.parse(f"{url}/in")) as source, MqttSink(Endpoint.parse(f"{url}/out", publish=True)) as sink:
        print("streaming", file=sys.stderr, flush=True)
        for line in source:
            if line is not None:
                sink.send([{"type": "score", "timestamp": json.loads(line)["timestamp"], "score": 0.0, "flag": False}])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--echo"]:
        echo(sys.argv[2])
    else:
        main(sys.argv[1:] or [*MODELS, ECHO])
