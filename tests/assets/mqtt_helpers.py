"""A private Mosquitto for tests that need special configuration (ACLs), and
small MQTT client helpers."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from assets.mqtt.connection import BrokerUrl, connect, make_client

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not open port {port}")


class PrivateMosquitto:
    """mosquitto -c <our file> on a free port, with password + ACL files."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.passwd = workdir / "passwd"
        self.acl = workdir / "acl"
        self.pidfile = workdir / "mosquitto.pid"
        self.conf = workdir / "mosquitto.conf"
        self.proc: subprocess.Popen | None = None

    def start(self) -> PrivateMosquitto:
        for f in (self.passwd, self.acl):
            if not f.exists():
                f.write_text("")
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {self.passwd}\n"
            f"acl_file {self.acl}\n"
            "persistence false\n"
            "log_dest stderr\n" + ("user root\n" if os.geteuid() == 0 else "")
            # as root, mosquitto would drop to user "mosquitto", who cannot read
            # our 0600 files in the test's temporary directory
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=open(self.dir / "mosquitto.log", "w")
        )
        self.pidfile.write_text(str(self.proc.pid))
        wait_port(self.port)
        return self

    def url(self, username=None, password=None) -> BrokerUrl:
        return BrokerUrl("127.0.0.1", self.port, username, password, False)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


class Listener:
    """A subscriber recording everything it receives."""

    def __init__(self, broker: BrokerUrl, topic: str):
        self.messages: list[tuple[str, bytes]] = []
        self.ready = threading.Event()
        self.client = make_client(broker, client_id=f"test-listener-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, u, f, rc, p: (c.subscribe(topic, qos=1), None)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.ready.set()
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        connect(self.client, broker)
        self.client.loop_start()
        assert self.ready.wait(5), "listener could not subscribe"

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def connect_as(broker: BrokerUrl, client_id: str | None = None) -> tuple[mqtt.Client, object]:
    """Connect and wait for CONNACK; returns (client, reason_code)."""
    result = {}
    done = threading.Event()
    c = make_client(broker, client_id=client_id or f"test-{uuid.uuid4().hex[:8]}")
    c.reconnect_delay_set(60, 60)

    def on_connect(client, userdata, flags, rc, props):
        result["rc"] = rc
        done.set()

    c.on_connect = on_connect
    connect(c, broker)
    c.loop_start()
    done.wait(5)
    return c, result.get("rc")


def publish_and_wait(c: mqtt.Client, topic: str, body: bytes, qos: int = 1):
    """Publish at QoS 1 and return the PUBACK reason code (MQTT v5 tells the
    publisher when the broker refused it)."""
    got = {}
    done = threading.Event()

    def on_publish(client, userdata, mid, rc, props):
        if mid == info.mid:
            got["rc"] = rc
            done.set()

    c.on_publish = on_publish
    info = c.publish(topic, body, qos=qos)
    done.wait(5)
    return got.get("rc")
