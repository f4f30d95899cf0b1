"""The platform's outgoing MQTT connection, created lazily in the process
that first publishes (a web worker, a Celery worker, the bridge) and shared
by its threads."""

from __future__ import annotations

import logging
import os
import threading
import time

import paho.mqtt.client as mqtt

from .connection import connect, from_settings, make_client

log = logging.getLogger(__name__)

_lock = threading.Lock()
_client: mqtt.Client | None = None
_connected = threading.Event()
_pid: int | None = None


def _on_connect(client, userdata, flags, reason_code, properties):
    if not reason_code.is_failure:
        _connected.set()
    else:
        log.warning("MQTT publisher refused: %s", reason_code)


def _on_disconnect(client, userdata, flags, reason_code, properties):
    _connected.clear()


def client() -> mqtt.Client:
    global _client, _pid
    with _lock:
        if _client is None or _pid != os.getpid():  # a forked worker needs its own socket
            broker = from_settings()
            c = make_client(broker, client_id=f"cem-publisher-{os.getpid()}-{int(time.time() * 1000) % 100000}")
            c.on_connect = _on_connect
            c.on_disconnect = _on_disconnect
            _connected.clear()
            connect(c, broker, asynchronous=True)
            c.loop_start()
            _client, _pid = c, os.getpid()
        return _client


def publish(topic: str, body: bytes, *, qos: int = 1, retain: bool = False, wait_s: float = 3.0) -> bool:
    """Queue a message; False if the broker cannot be reached within ``wait_s``
    (the caller keeps the command pending and retries)."""
    c = client()
    if not _connected.wait(wait_s):
        return False
    info = c.publish(topic, body, qos=qos, retain=retain)
    return info.rc == mqtt.MQTT_ERR_SUCCESS


def close() -> None:
    global _client
    with _lock:
        if _client is not None:
            _client.disconnect()
            _client.loop_stop()
            _client = None
            _connected.clear()
