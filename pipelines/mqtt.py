"""MQTT endpoints of a stream (paho-mqtt >= 2, the ``mqtt`` extra).

An endpoint is written ``mqtt://HOST[:PORT]/TOPIC[?qos=0|1|2]`` (port 1883 and QoS 1 by
default). :class:`MqttSource` subscribes to a topic and yields each message's payload lines;
:class:`MqttSink` publishes each record as one JSON message. Both connect when entered (a
``with`` block), wait for the broker's acknowledgement, let paho reconnect after a lost
connection (the source subscribes again), and disconnect when left.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from anomaly.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_PORT = 1883
CONNECT_TIMEOUT_S = 10.0
POLL_S = 0.2  # how often an idle source yields None, so the caller can check for a stop request


@dataclass(frozen=True)
class Endpoint:
    """A parsed ``mqtt://HOST:PORT/TOPIC?qos=N`` address."""

    host: str
    port: int
    topic: str
    qos: int = 1

    @classmethod
    def parse(cls, url: str, *, publish: bool = False) -> Endpoint:
        """Parse ``url``; ``publish=True`` refuses topic wildcards (``+``, ``#``).

        Raises
        ------
        ConfigError
            Naming what is wrong with the address.
        """
        parts = urlsplit(url, allow_fragments=False)  # "#" is a topic wildcard here, not a fragment
        if parts.scheme != "mqtt":
            raise ConfigError(f"{url!r}: expected mqtt://HOST:PORT/TOPIC")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigError(f"{url!r}: the port is not a number in 1..65535") from None
        topic = parts.path[1:]
        if not parts.hostname or not topic:
            raise ConfigError(f"{url!r}: expected mqtt://HOST:PORT/TOPIC (host and topic are required)")
        if publish and ("+" in topic or "#" in topic):
            raise ConfigError(f"{url!r}: cannot publish to a topic with wildcards")
        qos = parse_qs(parts.query).get("qos", ["1"])[-1]
        if qos not in ("0", "1", "2"):
            raise ConfigError(f"{url!r}: qos must be 0, 1 or 2, got {qos!r}")
        return cls(parts.hostname, port, topic, int(qos))

    def __str__(self) -> str:
        return f"mqtt://{self.host}:{self.port}/{self.topic}"


class _Client:
    """A paho client connected on ``__enter__`` with its network loop in a background thread."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self._connected = threading.Event()
        self._refused = None

    def _callbacks(self) -> dict:
        """paho callbacks by attribute name."""
        return {"on_connect": self._on_connect, "on_disconnect": self._on_disconnect}

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refused = str(reason_code)
        else:  # paho leaves Nagle's algorithm on: small messages would wait for ACKs (tens of ms)
            client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("%s: connection lost (%s); reconnecting", self.endpoint, reason_code)

    def __enter__(self):
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise ConfigError("MQTT needs paho-mqtt: pip install 'robot-anomaly[mqtt]'") from None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        for name, callback in self._callbacks().items():
            setattr(self.client, name, callback)  # before connecting: the first acknowledgements come at once
        self.client.reconnect_delay_set(1, 30)
        try:
            self.client.connect(self.endpoint.host, self.endpoint.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.endpoint}: cannot connect to the MQTT broker ({exc})") from None
        self.client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S) or self._refused:
            self._stop()
            raise ConfigError(f"{self.endpoint}: the MQTT broker did not accept the connection ({self._refused or 'timed out'})")
        return self

    def _stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __exit__(self, *exc) -> None:
        self._stop()


class MqttSource(_Client):
    """Messages of one topic, as payload lines.

    Iterating yields each non-empty line of each payload (bytes; a payload may hold several
    JSON lines), or None after ``POLL_S`` seconds without a message. Messages published before
    ``__enter__`` returned (subscribed) are not seen.
    """

    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lines: deque = deque()  # lines of a payload not yet yielded
        self._subscribed = threading.Event()

    def _callbacks(self) -> dict:
        return {**super()._callbacks(), "on_subscribe": self._on_subscribe, "on_message": self._on_message}

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        super()._on_connect(client, userdata, flags, reason_code, properties)
        if not reason_code.is_failure:  # also after a reconnect: the broker forgot the subscription
            client.subscribe(self.endpoint.topic, qos=self.endpoint.qos)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            self._refused = f"subscription refused ({reason_codes[0]})"
        self._subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        self._queue.put(message.payload)

    def __enter__(self):
        super().__enter__()
        if not self._subscribed.wait(CONNECT_TIMEOUT_S) or self._refused:
            self._stop()
            raise ConfigError(f"{self.endpoint}: cannot subscribe ({self._refused or 'timed out'})")
        return self

    def __iter__(self) -> Iterator[bytes | None]:
        while True:
            if self._lines:
                yield self._lines.popleft()
                continue
            try:
                payload = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                yield None
                continue
            self._lines.extend(line for line in payload.splitlines() if line.strip())

    def waiting(self) -> bool:
        """True when the next line is already here (iterating will not wait for it)."""
        return bool(self._lines) or not self._queue.empty()


class MqttSink(_Client):
    """Publishes each record as one JSON message on the endpoint's topic."""

    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self._last = None

    def send(self, records: list[dict]) -> None:
        """Publish ``records`` (JSON-ready dicts), one message each."""
        for record in records:
            self._last = self.client.publish(self.endpoint.topic, json.dumps(record), qos=self.endpoint.qos)

    def __exit__(self, *exc) -> None:
        if self._last is not None and self.endpoint.qos > 0:
            try:
                self._last.wait_for_publish(timeout=5.0)  # alerts in flight reach the broker before we leave
            except RuntimeError as exc:  # not connected any more: nothing to wait for
                log.warning("%s: last message not confirmed (%s)", self.endpoint, exc)
        super().__exit__(*exc)
