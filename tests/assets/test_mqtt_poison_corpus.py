"""Issue 9 §1 end to end: a corpus of bad payloads through a real Mosquitto
with the platform's password and ACL files (our own broker on a free port)
and the real bridge on the test database (PostgreSQL in CI).

Every message the broker lets through is acknowledged and kept with a
reason; a good message published after the corpus is stored; a bridge
restarted with the same session gets nothing redelivered (nothing was left
unacked). Spoofed topics never reach the bridge: the broker refuses them."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from assets.models import RejectedMessage, Telemetry
from assets.mqtt.bridge import Bridge
from tests.assets.factories import device
from tests.assets.mqtt_helpers import MOSQUITTO, PrivateMosquitto, connect_as, publish_and_wait

pytestmark = [
    pytest.mark.mqtt,
    pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs the mosquitto binary (apt-get install mosquitto)"),
]


@pytest.fixture
def broker(tmp_path, settings):
    m = PrivateMosquitto(tmp_path)
    settings.MOSQUITTO_PASSWORD_FILE = m.passwd
    settings.MOSQUITTO_ACL_FILE = m.acl
    settings.MOSQUITTO_PID_FILE = m.pidfile
    settings.MQTT_URL = f"mqtt://cem-bridge:bridge-secret@127.0.0.1:{m.port}"
    yield m
    m.stop()


def pump(bridge, until, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = bridge.drain(0.1)
        if batch:
            bridge.process(batch)
        if until():
            return True
    return False


def iso(ts):
    return ts.isoformat().replace("+00:00", "Z")


def test_a_corpus_of_bad_payloads_through_mosquitto_never_stops_the_bridge(
    world, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        a = device(world.site, "battery", uid="home-a-battery", rated_power_w=5000)
        device(world.neighbour_site, "battery", uid="home-b-battery")
    broker.start()
    bridge_url = broker.url("cem-bridge", "bridge-secret")
    client_id = "poison-corpus-bridge"
    bridge = Bridge(bridge_url, client_id=client_id, max_wait_s=0.1)
    bridge.start()
    assert bridge.subscribed.wait(5)
    dev, rc = connect_as(broker.url(a.mqtt_username, a.test_password))
    assert not rc.is_failure, rc
    base = "cem/test-green/home-a-battery"
    now = iso(datetime.now(UTC))
    deep = ("[" * 2000 + "]" * 2000).encode()
    own = [
        (f"{base}/telemetry", b"\x00"),
        (f"{base}/ack", b"\x00"),
        (f"{base}/status", b"\x00"),
        (f"{base}/telemetry", bytes(range(256))),
        (f"{base}/telemetry", b"\xff\xfe not UTF-8"),
        (f"{base}/telemetry", b"x" * 1_048_576),
        (f"{base}/status", b"\x00" * 1_048_576),
        (f"{base}/telemetry", f'{{"ts":"{now}","power_w":NaN}}'.encode()),
        (f"{base}/telemetry", f'{{"ts":"{now}","soc_pct":-Infinity}}'.encode()),
        (f"{base}/telemetry", deep),
        (f"{base}/ack", deep),
        (f"{base}/telemetry", json.dumps({"ts": f"{now}\u0000", "power_w": 1}).encode()),
        (f"{base}/ack", json.dumps({"id": "abc\u0000", "status": "applied"}).encode()),
        (f"{base}/ack", json.dumps({"id": "abc", "status": "applied", "detail": "\u0000" * 600}).encode()),
        (f"{base}/status", json.dumps({"state": "online\u0000"}).encode()),
    ]
    spoofed = [
        ("cem/test-green/home-b-battery/telemetry", b"\x00"),
        ("cem/test-green/home-b-battery/ack", b'{"id":"x","status":"applied"}'),
        (f"{base}/cmd", b"\x00"),
        ("cem/other-community/home-a-battery/telemetry", b"\x00"),
        ("cem/test-green/home-a-battery/telemetry/extra", b"\x00"),
    ]
    for t, body in own:
        rc = publish_and_wait(dev, t, body)
        assert rc is not None and not rc.is_failure, (t, rc)
    for t, body in spoofed:
        rc = publish_and_wait(dev, t, body)
        assert rc is not None and rc.is_failure and "authori" in str(rc).lower(), (t, rc)
    ts = datetime.now(UTC).replace(microsecond=0)
    publish_and_wait(dev, f"{base}/telemetry", json.dumps({"ts": iso(ts), "power_w": -1500}).encode())

    assert pump(bridge, lambda: Telemetry.objects.filter(device=a, ts=ts).exists()), bridge.stats
    assert Telemetry.objects.get(device=a, ts=ts).power_w == -1500
    assert RejectedMessage.objects.count() == len(own)  # each kept once, with a reason
    assert set(RejectedMessage.objects.values_list("topic", flat=True)) <= {t for t, _ in own}
    assert not RejectedMessage.objects.filter(reason="").exists()
    assert bridge.stats["accepted"] == 1 and bridge.stats["dropped"] == 0
    nul = RejectedMessage.objects.get(topic=f"{base}/telemetry", size=1)
    assert (nul.payload_format, nul.payload) == ("hex", "00")
    # all acknowledged: the same session, reconnected, gets nothing redelivered
    bridge.client.disconnect()
    bridge.client.loop_stop()
    again = Bridge(bridge_url, client_id=client_id, max_wait_s=0.1)
    again.start()
    assert again.subscribed.wait(5)
    time.sleep(1.0)
    assert again.drain(0.2) == []
    # and the bridge keeps working
    ts2 = ts + timedelta(seconds=1)
    publish_and_wait(dev, f"{base}/telemetry", json.dumps({"ts": iso(ts2), "power_w": 10}).encode())
    assert pump(again, lambda: Telemetry.objects.filter(device=a, ts=ts2).exists())
    dev.disconnect()
    again.client.disconnect()
    again.client.loop_stop()
