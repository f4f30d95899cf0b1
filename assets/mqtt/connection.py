"""Connections from an MQTT URL (``mqtt://user:pass@host:1883``, ``mqtts://...``).

paho-mqtt 2.x, callback API version 2, MQTT v5. Reconnects with exponential
back-off (1 s doubling to 60 s). No Django import: the benchmarks and the
simulated devices use it too.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 60


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    protocol: int = 5  # 5 = MQTT v5 (Mosquitto); 4 = 3.1.1 (the embedded amqtt broker speaks only that)

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp"):
            raise ValueError(f"MQTT URL {url!r} must start with mqtt:// or mqtts://")
        tls = parts.scheme == "mqtts"
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        protocol = 4 if query.get("protocol") in ("3", "311", "3.1.1", "4") else 5
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            protocol=protocol,
        )

    def with_credentials(self, username: str | None, password: str | None) -> BrokerUrl:
        return BrokerUrl(self.host, self.port, username, password, self.tls, self.protocol)

    def with_protocol(self, protocol: int) -> BrokerUrl:
        return BrokerUrl(self.host, self.port, self.username, self.password, self.tls, protocol)

    def redacted(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def make_client(
    broker: BrokerUrl,
    *,
    client_id: str,
    persistent: bool = False,
    manual_ack: bool = False,
    will: tuple[str, bytes] | None = None,
) -> mqtt.Client:
    """A configured but unconnected client. ``persistent``: MQTT v5 session that
    survives disconnects (clean_start=False, session expiry one day), so QoS 1
    messages sent while we are away are delivered when we come back."""
    v5 = broker.protocol == 5
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else not persistent,
        manual_ack=manual_ack,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S)
    client.max_queued_messages_set(0)
    client._cem_persistent = persistent  # read by connect()
    return client


def connect_properties(*, persistent: bool, receive_maximum: int | None = None) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    if persistent:
        props.SessionExpiryInterval = 86400
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    return props


def connect(
    client: mqtt.Client,
    broker: BrokerUrl,
    *,
    keepalive: int = 30,
    receive_maximum: int | None = None,
    asynchronous: bool = False,
) -> None:
    persistent = getattr(client, "_cem_persistent", False)
    fn = client.connect_async if asynchronous else client.connect
    if broker.protocol == 5:
        props = connect_properties(persistent=persistent, receive_maximum=receive_maximum)
        fn(broker.host, broker.port, keepalive=keepalive, clean_start=not persistent, properties=props)
    else:
        fn(broker.host, broker.port, keepalive=keepalive)


def from_settings(url: str | None = None) -> BrokerUrl:
    """The broker the platform talks to; the embedded amqtt broker speaks MQTT 3.1.1 only."""
    from django.conf import settings

    broker = BrokerUrl.parse(url or settings.MQTT_URL)
    if getattr(settings, "MQTT_IS_EMBEDDED", False) and not url:
        broker = broker.with_protocol(4)
    return broker


def reason_ok(reason_code) -> bool:
    return not getattr(reason_code, "is_failure", False)
