"""MQTT endpoints of a stream (paho-mqtt >= 2, the ``mqtt`` extra).

An endpoint is written ``mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC[?qos=0|1|2]`` (port 1883 and
QoS 1 by default), or ``mqtts://...[&ca=FILE]`` over TLS (port 8883; :class:`Endpoint`).
:class:`MqttSource` subscribes to a topic and yields each message's payload lines;
:class:`MqttSink` publishes each record as one JSON message. Both connect when entered (a
``with`` block), wait for the broker's acknowledgement, and disconnect when left. They run
no network thread: the caller's thread services the connection (:meth:`_Client.service`:
while the source is iterated, when the sink sends, and through :meth:`_Client.tick` between
records), reconnecting after a lost connection (the source subscribes again).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from anomaly.errors import ConfigError

log = logging.getLogger(__name__)

SCHEMES = ("mqtt", "mqtts")
DEFAULT_PORT, DEFAULT_TLS_PORT = 1883, 8883
#: The environment variable holding the password of an address that names a user without one.
PASSWORD_ENV = "ANOMALY_MQTT_PASSWORD"
#: The environment variable holding the password of an encrypted client key (``key=FILE``).
KEY_PASSWORD_ENV = "ANOMALY_MQTT_KEY_PASSWORD"
#: The TLS files an address may name, and what each is.
TLS_FILES = {"ca": "certificate authority file", "cert": "client certificate file", "key": "client key file"}
#: The longest session an address may ask a broker to keep (``session=SECONDS``): a day.
MAX_SESSION_S = 86_400
CONNECT_TIMEOUT_S = 10.0
SEND_TIMEOUT_S = 5.0  # a sink waits this long for the broker to confirm its last message when closed
POLL_S = 0.2  # how often an idle source yields None, so the caller can check for a stop request
KEEPALIVE_S = 30  # the broker drops a client silent for 1.5 times this: service it more often
TICK_S = 1.0  # :meth:`_Client.tick` services a connection not serviced for this long
RECONNECT_S = (1.0, 30.0)  # the first wait before reconnecting, and the longest (it doubles)


@dataclass(frozen=True)
class Endpoint:
    """A parsed ``mqtt[s]://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC[?OPTION=VALUE&...]`` address.

    Options: ``qos`` (0, 1 or 2; 1 by default), ``ca``, ``cert``, ``key``, ``session``, ``client``.

    ``mqtts://`` connects over TLS (port 8883 by default) and checks the broker's certificate
    against the system's certificate authorities, or those of ``ca=FILE`` (PEM). ``cert=FILE``
    (and ``key=FILE`` unless the certificate's file holds the key) is the client's own
    certificate, for brokers that ask for one (mutual TLS); an encrypted key's password comes
    from the environment variable :data:`KEY_PASSWORD_ENV`. ``session=SECONDS`` connects with
    MQTT 5 and asks the broker to keep the client's session that long after a lost connection:
    the subscription and the QoS 1 and 2 messages that arrive meanwhile, delivered on the
    reconnect (without it, MQTT 3.1.1 and a clean session: they are lost); the session is
    removed when the client disconnects at the end, unless the address names the client:
    ``client=ID`` (a broker's access rules may ask for a given id, as AWS IoT Core's do) keeps
    the session for the next process under that id, which resumes it (a restarted stream scores
    the rows published in between). Two clients with one id on one broker push each other off:
    give the source and the sink ids of their own.

    A user without a password in the address takes it from the environment variable
    :data:`PASSWORD_ENV` (kept out of shell histories and process lists). The password is never
    shown: not by ``str()``, ``repr()`` or any message.
    """

    host: str
    port: int
    topic: str
    qos: int = 1
    tls: bool = False
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    session: int | None = None
    client_id: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str, *, publish: bool = False) -> Endpoint:
        """Parse ``url``; ``publish=True`` refuses topic wildcards (``+``, ``#``).

        Raises
        ------
        ConfigError
            Naming what is wrong with the address (the address quoted without its password).
        """
        parts = urlsplit(url, allow_fragments=False)  # "#" is a topic wildcard here, not a fragment
        shown = repr(_without_password(url, parts))
        if parts.scheme not in SCHEMES:
            raise ConfigError(f"{shown}: expected mqtt://HOST:PORT/TOPIC (or mqtts:// for TLS)")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT)
        except ValueError:
            raise ConfigError(f"{shown}: the port is not a number in 1..65535") from None
        topic = parts.path[1:]
        if not parts.hostname or not topic:
            raise ConfigError(f"{shown}: expected {parts.scheme}://HOST:PORT/TOPIC (host and topic are required)")
        if publish and ("+" in topic or "#" in topic):
            raise ConfigError(f"{shown}: cannot publish to a topic with wildcards")
        options = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(options) - {"qos", "session", "client", *TLS_FILES})
        if unknown:
            raise ConfigError(f"{shown}: unknown option {unknown[0]!r} (known: qos, session, client, {', '.join(TLS_FILES)})")
        qos = options.get("qos", ["1"])[-1]
        if qos not in ("0", "1", "2"):
            raise ConfigError(f"{shown}: qos must be 0, 1 or 2, got {qos!r}")
        files = {name: options.get(name, [None])[-1] for name in TLS_FILES}
        for name, path in files.items():
            if path is not None and not tls:
                raise ConfigError(f"{shown}: {name}= is for TLS: write mqtts://")
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{shown}: {TLS_FILES[name]} {path!r} not found")
        if files["key"] is not None and files["cert"] is None:
            raise ConfigError(f"{shown}: key= needs cert= (the client certificate)")
        session = options.get("session", [None])[-1]
        if session is not None and not (session.isdigit() and 1 <= int(session) <= MAX_SESSION_S):
            raise ConfigError(f"{shown}: session must be a whole number of seconds in 1..{MAX_SESSION_S}, got {session!r}")
        client_id = options.get("client", [None])[-1]
        if client_id is not None and not client_id.strip():
            raise ConfigError(f"{shown}: client= needs an id")
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        if username is not None and password is None:
            password = os.environ.get(PASSWORD_ENV)
        return cls(parts.hostname, port, topic, int(qos), tls, files["ca"], files["cert"], files["key"],
                   None if session is None else int(session), client_id, username, password)

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username is not None else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}/{self.topic}"


def _without_password(url: str, parts) -> str:
    """``url`` with its password, if any, written as ``***``."""
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class _Client:
    """A paho client connected on ``__enter__`` and driven from the caller's thread.

    No network thread: :meth:`service` reads and writes the connection (messages,
    acknowledgements, keep-alive pings) and reconnects after a lost connection. A busy stream
    process then never waits for the interpreter to hand a network thread its turn (that wait
    was most of the stream's latency over MQTT, ``benchmarks/stream_latency.py``).
    """

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self._connected = False
        self._refused = None
        self._lost = False  # the connection was lost: the next connection is a reconnect
        self._retry_at: float | None = None  # when to try reconnecting (monotonic seconds)
        self._retry_delay = RECONNECT_S[0]
        self._dropped = 0  # paho's error code of the last lost connection
        self._serviced = 0.0
        #: Called with ``(connected, again)`` when the connection comes up (``again``: after a
        #: lost one) or is lost (:meth:`pipelines.stream.metrics.StreamMetrics.watch`).
        self.on_connection = None

    @property
    def connected(self) -> bool:
        """Whether the broker has accepted the connection and it has not been lost since."""
        return self._connected

    def _changed(self, up: bool, again: bool = False) -> None:
        if self.on_connection is not None:
            self.on_connection(up, again)

    def _callbacks(self) -> dict:
        """paho callbacks by attribute name."""
        return {"on_connect": self._on_connect, "on_disconnect": self._on_disconnect}

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refused = str(reason_code)
            return
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # paho leaves Nagle's algorithm on: small messages would wait for ACKs
        self._connected, self._retry_delay = True, RECONNECT_S[0]
        self._changed(True, again=self._lost)
        if self._lost:
            log.warning("%s: reconnected", self.endpoint)
            self._lost = False

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._down()
        if reason_code.is_failure:
            log.warning("%s: connection lost (%s); reconnecting", self.endpoint, reason_code)

    def __enter__(self):
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise ConfigError("MQTT needs paho-mqtt: pip install 'robot-anomaly[mqtt]'") from None
        session = self.endpoint.session is not None
        # a session is the broker's for one client id: name ours (an empty one gets a new id from the broker on every connection)
        client_id = self.endpoint.client_id or (f"anomaly-{uuid.uuid4().hex[:16]}" if session else "")
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5 if session else mqtt.MQTTv311)
        for name, callback in self._callbacks().items():
            setattr(self.client, name, callback)  # before connecting: the first acknowledgements come at once
        # no limit on messages in flight (paho's default is 20): acknowledgements are read when the
        # caller's thread services the connection, and a limit would hold records back until then
        self.client.max_inflight_messages_set(0)
        if self.endpoint.username is not None:
            self.client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            self.client.tls_set_context(self._tls_context())
        # MQTT 5: a reconnect resumes the session; the first connection too under a named client (the last process's session)
        resume = {"clean_start": mqtt.MQTT_CLEAN_START_FIRST_ONLY if self.endpoint.client_id is None else False} if session else {}
        try:
            self.client.connect(self.endpoint.host, self.endpoint.port, keepalive=KEEPALIVE_S,
                                properties=self._session_properties("CONNECT", self.endpoint.session) if session else None, **resume)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.endpoint}: cannot connect to the MQTT broker ({exc})") from None
        if not self._wait_for(lambda: self._connected or self._refused or self._retry_at is not None) or not self._connected:
            self._stop()
            raise ConfigError(f"{self.endpoint}: the MQTT broker did not accept the connection ({self._why_not(mqtt)})")
        return self

    def _why_not(self, mqtt) -> str:
        """Why the first connection failed: the broker's refusal, a connection it closed first, or a time-out."""
        if self._refused:
            return self._refused
        if self._retry_at is None:
            return "timed out"
        hint = ": does it want a client certificate (cert=FILE)?" if self.endpoint.tls and self.endpoint.cert is None else ""
        return f"it closed the connection first, {mqtt.error_string(self._dropped)}{hint}"

    def _tls_context(self):
        """The TLS context of an ``mqtts://`` endpoint: the broker's certificate checked (against
        ``ca`` or the system's authorities) and its host name matched; the client's certificate
        when the endpoint names one (an encrypted key's password from :data:`KEY_PASSWORD_ENV`,
        never asked for on the terminal)."""
        try:
            context = ssl.create_default_context(cafile=self.endpoint.ca)
            if self.endpoint.cert is not None:
                context.load_cert_chain(self.endpoint.cert, self.endpoint.key, password=os.environ.get(KEY_PASSWORD_ENV, ""))
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise ConfigError(f"{self.endpoint}: cannot set up TLS ({exc})") from None
        return context

    def _wait_for(self, done, timeout: float = CONNECT_TIMEOUT_S) -> bool:
        """Service the connection until ``done()`` or ``timeout`` seconds; whether it is done."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.service(min(left, POLL_S))
        return True

    def service(self, timeout: float = 0.0) -> None:
        """Read and write what the connection has, waiting up to ``timeout`` seconds for traffic.

        Handles incoming messages and acknowledgements, sends what is queued and the keep-alive
        pings; after a lost connection, tries to reconnect (after 1 s, the wait doubling up to
        30 s; a source subscribes again). Call it at least every few seconds.
        """
        self._serviced = time.monotonic()
        if self._retry_at is not None:
            wait = self._retry_at - self._serviced
            if wait > 0:
                time.sleep(min(wait, timeout))
                return
            self._retry_at = None
            try:
                self.client.reconnect()
            except OSError as exc:
                log.warning("%s: cannot reconnect (%s); trying again in %.0f s", self.endpoint, exc, self._retry_delay)
                self._schedule_retry()
            return
        code = self.client.loop(timeout)
        if code != 0 and not self.client.is_connected():  # MQTT_ERR_SUCCESS; a signal in the wait also returns an error
            self._dropped = code
            self._schedule_retry()

    def _down(self) -> None:
        if self._connected:
            self._connected = False
            self._changed(False)

    def _schedule_retry(self) -> None:
        self._down()
        self._lost = True
        self._retry_at = time.monotonic() + self._retry_delay
        self._retry_delay = min(2 * self._retry_delay, RECONNECT_S[1])

    def tick(self) -> None:
        """:meth:`service` without waiting, when it has not run for :data:`TICK_S` (cheap to call often)."""
        if time.monotonic() - self._serviced >= TICK_S:
            self.service(0.0)

    @staticmethod
    def _session_properties(packet: str, seconds: int):
        """MQTT 5 properties of a ``packet`` ("CONNECT", "DISCONNECT") setting the session's expiry."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(getattr(PacketTypes, packet))
        properties.SessionExpiryInterval = seconds
        return properties

    def _stop(self) -> None:
        """Disconnect; a session kept for reconnects (``session=``) is removed with it, unless the
        client is named (``client=``: the next process under that id resumes it)."""
        ending = self.endpoint.session is not None and self.endpoint.client_id is None and self.client.is_connected()
        self.client.disconnect(properties=self._session_properties("DISCONNECT", 0) if ending else None)

    def __exit__(self, *exc) -> None:
        self._stop()


class MqttSource(_Client):
    """Messages of one topic, as payload lines.

    Iterating yields each non-empty line of each payload (bytes; a payload may hold several
    JSON lines), or None after up to ``POLL_S`` seconds without a message (an idle tick).
    Messages published before ``__enter__`` returned (subscribed) are not seen. The connection
    is serviced while iterating and in :meth:`waiting`.
    """

    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self._lines: deque = deque()  # lines of the payloads read, not yet yielded
        self._subscribed = False

    def _callbacks(self) -> dict:
        return {**super()._callbacks(), "on_subscribe": self._on_subscribe, "on_message": self._on_message}

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        super()._on_connect(client, userdata, flags, reason_code, properties)
        if not reason_code.is_failure:  # also after a reconnect: the broker forgot the subscription
            client.subscribe(self.endpoint.topic, qos=self.endpoint.qos)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            self._refused = f"subscription refused ({reason_codes[0]})"
            if self._subscribed:  # a subscription again after a reconnect
                log.warning("%s: %s", self.endpoint, self._refused)
        self._subscribed = True

    def _on_message(self, client, userdata, message) -> None:
        self._lines.extend(line for line in message.payload.splitlines() if line.strip())

    def __enter__(self):
        super().__enter__()
        if not self._wait_for(lambda: self._subscribed) or self._refused:
            self._stop()
            raise ConfigError(f"{self.endpoint}: cannot subscribe ({self._refused or 'timed out'})")
        return self

    def __iter__(self) -> Iterator[bytes | None]:
        while True:
            if not self._lines:
                self.service(POLL_S)
            yield self._lines.popleft() if self._lines else None

    def waiting(self) -> bool:
        """True when the next line is already here (iterating will not wait for it)."""
        if not self._lines:
            self.service(0.0)
        return bool(self._lines)


class MqttSink(_Client):
    """Publishes each record as one JSON message on the endpoint's topic.

    Between records, call :meth:`~_Client.tick` (the stream loop does) so that its keep-alive
    pings and acknowledgements are handled while nothing is sent. At QoS 1 and 2 the sink
    keeps the ids of the messages the broker has not confirmed yet (paho sends them again after
    a reconnect) and waits for them when it is closed.
    """

    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self._unconfirmed: set[int] = set()

    def _callbacks(self) -> dict:
        return {**super()._callbacks(), "on_publish": self._on_publish}

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._unconfirmed.discard(mid)

    def send(self, records: list[dict]) -> None:
        """Publish ``records`` (JSON-ready dicts), one message each, then read the acknowledgements
        that have arrived."""
        for record in records:
            info = self.client.publish(self.endpoint.topic, json.dumps(record), qos=self.endpoint.qos)
            if self.endpoint.qos > 0:  # confirmed by the broker's acknowledgement, read in service()
                self._unconfirmed.add(info.mid)
        self.service(0.0)

    def __exit__(self, *exc) -> None:
        if self._unconfirmed and not self._wait_for(lambda: not self._unconfirmed, SEND_TIMEOUT_S):
            log.warning("%s: %d message(s) not confirmed by the broker", self.endpoint, len(self._unconfirmed))
        super().__exit__(*exc)
