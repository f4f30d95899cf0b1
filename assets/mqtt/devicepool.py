"""Many simulated devices, each its own MQTT client with its own credentials,
driven from one thread through paho's external-loop API (select on the
sockets, ``loop_read`` / ``loop_write`` / ``loop_misc``) -- a thousand devices
need no thousand threads.

Each device connects with a retained last will ``offline`` on its status
topic, publishes a retained ``online`` when connected, subscribes to its own
``cmd`` topic and answers every command on its ``ack`` topic.
"""

from __future__ import annotations

import logging
import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from assets.domain import payloads, topics

from .connection import RECONNECT_MAX_S, RECONNECT_MIN_S, BrokerUrl, connect, make_client, reason_ok

log = logging.getLogger(__name__)

# handler(uid, command, now) -> (status, detail)
CommandHandler = Callable[[str, payloads.Command, datetime], tuple[str, str]]


@dataclass
class SimDeviceLink:
    community: str
    uid: str
    username: str | None
    password: str | None
    client: mqtt.Client | None = None
    connected: bool = False
    next_retry: float = 0.0
    backoff: float = RECONNECT_MIN_S


class DevicePool:
    def __init__(self, broker: BrokerUrl, *, handler: CommandHandler, client_prefix: str = "sim"):
        self.broker = broker
        self.handler = handler
        self.client_prefix = client_prefix
        self.links: dict[str, SimDeviceLink] = {}
        self.selector = selectors.DefaultSelector()
        self._registered: dict[int, SimDeviceLink] = {}
        self.commands_handled = 0

    # -- setup -------------------------------------------------------------
    def add(self, *, community: str, uid: str, username: str | None, password: str | None) -> None:
        link = SimDeviceLink(community, uid, username, password)
        broker = self.broker.with_credentials(username, password) if username else self.broker
        status_topic = topics.build(community, uid, topics.STATUS)
        c = make_client(
            broker,
            client_id=f"{self.client_prefix}-{community}-{uid}",
            persistent=True,
            will=(status_topic, b"offline"),
        )
        c.user_data_set(link)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        link.client = c
        self.links[uid] = link

    def connect_all(self, *, timeout: float = 30.0) -> int:
        for link in self.links.values():
            self._try_connect(link)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(link.connected for link in self.links.values()):
            self.poll(0.05)
        return sum(link.connected for link in self.links.values())

    def _try_connect(self, link: SimDeviceLink) -> None:
        broker = self.broker.with_credentials(link.username, link.password) if link.username else self.broker
        try:
            if link.client.socket() is None:
                connect(link.client, broker, keepalive=30)
            else:
                link.client.reconnect()
        except OSError as exc:
            link.next_retry = time.monotonic() + link.backoff
            link.backoff = min(link.backoff * 2, RECONNECT_MAX_S)
            log.warning("device %s cannot reach the broker (%s); retry in %.0f s", link.uid, exc, link.backoff)
            return
        self._register(link)

    def _register(self, link: SimDeviceLink) -> None:
        sock = link.client.socket()
        if sock is None:
            return
        fd = sock.fileno()
        if fd in self._registered:
            try:
                self.selector.unregister(fd)
            except (KeyError, ValueError):
                pass
        self.selector.register(sock, selectors.EVENT_READ, link)
        self._registered[fd] = link

    def _unregister_dead(self) -> None:
        for fd, link in list(self._registered.items()):
            sock = link.client.socket()
            if sock is None or sock.fileno() != fd:
                try:
                    self.selector.unregister(fd)
                except (KeyError, ValueError):
                    pass
                del self._registered[fd]

    # -- callbacks -----------------------------------------------------------
    def _on_connect(self, client, link: SimDeviceLink, flags, reason_code, properties):
        if not reason_ok(reason_code):
            log.warning("device %s refused by the broker: %s", link.uid, reason_code)
            return
        link.connected = True
        link.backoff = RECONNECT_MIN_S
        client.subscribe(topics.build(link.community, link.uid, topics.CMD), qos=1)
        client.publish(topics.build(link.community, link.uid, topics.STATUS), b"online", qos=1, retain=True)

    def _on_disconnect(self, client, link: SimDeviceLink, flags, reason_code, properties):
        link.connected = False
        link.next_retry = time.monotonic() + link.backoff
        link.backoff = min(link.backoff * 2, RECONNECT_MAX_S)

    def _on_message(self, client, link: SimDeviceLink, msg):
        now = datetime.now(UTC)
        try:
            cmd = payloads.parse_command(msg.payload)
        except payloads.PayloadError as exc:
            # Without an id there is nothing to ack against; log it.
            log.warning("device %s got an unreadable command: %s", link.uid, exc.reason)
            return
        status, detail = self.handler(link.uid, cmd, now)
        self.commands_handled += 1
        client.publish(
            topics.build(link.community, link.uid, topics.ACK),
            payloads.build_ack(command_id=cmd.command_id, status=status, detail=detail, ts=now),
            qos=1,
        )

    # -- running -------------------------------------------------------------
    def publish(self, uid: str, kind: str, body: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        link = self.links[uid]
        if not link.connected:
            return False
        info = link.client.publish(topics.build(link.community, uid, kind), body, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def poll(self, timeout: float) -> None:
        """One turn of the loop: read what arrived, write what is queued,
        keep-alives and reconnects."""
        for link in self.links.values():
            if link.client.want_write():
                link.client.loop_write()
        if self._registered:
            for key, _ in self.selector.select(timeout):
                rc = key.data.client.loop_read()
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    key.data.connected = False
        else:
            time.sleep(timeout)
        now = time.monotonic()
        for link in self.links.values():
            c = link.client
            if c.want_write():
                c.loop_write()
            c.loop_misc()
            if c.socket() is None and now >= link.next_retry:
                self._unregister_dead()
                self._try_connect(link)
        self._unregister_dead()
        for link in self.links.values():
            sock = link.client.socket()
            if sock is not None and sock.fileno() not in self._registered:
                self._register(link)

    def disconnect_all(self, *, publish_offline: bool = True) -> None:
        for link in self.links.values():
            if link.connected and publish_offline:
                self.publish(link.uid, topics.STATUS, b"offline", retain=True)
        for _ in range(5):
            self.poll(0.02)
        for link in self.links.values():
            try:
                link.client.disconnect()
                link.client.loop_write()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        self.selector.close()
