"""The bridge against the real broker at MQTT_URL (CI: Mosquitto).

The bridge's network thread runs for real; its storage steps run in the test
thread (`drain` + `process`), so they share the test's database transaction."""

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError

from assets import services
from assets.models import DeviceCommand, RejectedMessage, Telemetry
from assets.mqtt.bridge import Bridge
from assets.mqtt.connection import BrokerUrl, connect, make_client
from assets.mqtt.devicepool import DevicePool
from tests.assets.factories import consent, device
from tests.assets.mqtt_helpers import connect_as, publish_and_wait

needs_mqtt = pytest.mark.skipif(not os.environ.get("MQTT_URL"), reason="MQTT broker tests run when MQTT_URL is set")


@pytest.fixture
def broker():
    return BrokerUrl.parse(os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883"))


@pytest.fixture
def community(world):
    """A community slug no parallel test run uses, so shared-broker traffic never mixes."""
    world.community.slug = f"t{uuid.uuid4().hex[:10]}"
    world.community.save(update_fields=["slug"])
    return world.community


def new_bridge(broker, community, client_id=None):
    b = Bridge(
        broker,
        client_id=client_id or f"test-bridge-{uuid.uuid4().hex[:8]}",
        communities=[community.slug],
        max_wait_s=0.1,
    )
    b.start()
    assert b.subscribed.wait(5), "bridge did not subscribe"
    return b


def pump(bridge, until, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = bridge.drain(0.1)
        if batch:
            bridge.process(batch)
        if until():
            return True
    return False


def stop(bridge):
    bridge.client.disconnect()
    bridge.client.loop_stop()


def forget_session(broker, client_id):
    c = make_client(broker, client_id=client_id, persistent=False)
    connect(c, broker)
    c.loop_start()
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()


def tele(ts, **v):
    return json.dumps({"ts": ts.isoformat().replace("+00:00", "Z"), **v}).encode()


@needs_mqtt
def test_telemetry_reaches_the_database_and_redelivery_changes_nothing(broker, community, world):
    d = device(world.site, "battery", rated_power_w=5000)
    bridge = new_bridge(broker, community)
    dev, rc = connect_as(broker)
    now = datetime.now(UTC).replace(microsecond=0)
    topic = f"cem/{community.slug}/{d.uid}/telemetry"
    for i in range(20):
        publish_and_wait(dev, topic, tele(now - timedelta(seconds=20 - i), power_w=100 * i, soc_pct=50))
    assert pump(bridge, lambda: Telemetry.objects.filter(device=d).count() == 20)
    before = list(Telemetry.objects.filter(device=d).order_by("ts").values_list("ts", "power_w", "received_at"))
    # the same messages again (a device retrying, a broker redelivering)
    for i in range(20):
        publish_and_wait(dev, topic, tele(now - timedelta(seconds=20 - i), power_w=100 * i, soc_pct=50))
    pump(bridge, lambda: bridge.stats["accepted"] >= 40)
    assert bridge.stats["accepted"] == 40
    after = list(Telemetry.objects.filter(device=d).order_by("ts").values_list("ts", "power_w", "received_at"))
    assert after == before
    dev.disconnect()
    stop(bridge)
    forget_session(broker, bridge.client._client_id.decode())


@needs_mqtt
def test_malformed_messages_are_rejected_with_reasons_and_the_bridge_carries_on(broker, community, world):
    d = device(world.site, "pv", rated_power_w=4000)
    bridge = new_bridge(broker, community)
    dev, _ = connect_as(broker)
    now = datetime.now(UTC)
    base = f"cem/{community.slug}"
    publish_and_wait(dev, f"{base}/{d.uid}/telemetry", b"not json at all")
    publish_and_wait(dev, f"{base}/{d.uid}/telemetry", tele(now, power_w=-1_000_000))
    publish_and_wait(dev, f"{base}/{d.uid}/telemetry", tele(now + timedelta(days=3), power_w=-10))
    publish_and_wait(dev, f"{base}/nobody/telemetry", tele(now, power_w=1))
    publish_and_wait(dev, f"{base}/{d.uid}/telemetry", tele(now, power_w=-2500))
    assert pump(bridge, lambda: RejectedMessage.objects.count() == 4 and Telemetry.objects.count() == 1)
    reasons = {r.code: r.reason for r in RejectedMessage.objects.all()}
    assert set(reasons) == {"json", "range", "future", "unknown_device"}
    assert "1.5x the device rating of 4000 W" in reasons["range"]
    assert "in the future" in reasons["future"]
    dev.disconnect()
    stop(bridge)
    forget_session(broker, bridge.client._client_id.decode())


@needs_mqtt
def test_a_bridge_restart_loses_nothing_sent_at_qos_1(broker, community, world):
    d = device(world.site, "smart_meter")
    client_id = f"test-bridge-{uuid.uuid4().hex[:8]}"
    first = new_bridge(broker, community, client_id)
    dev, _ = connect_as(broker)
    topic = f"cem/{community.slug}/{d.uid}/telemetry"
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    for i in range(50):
        publish_and_wait(dev, topic, tele(t0 + timedelta(seconds=i), power_w=i))
    time.sleep(0.5)
    # the first bridge received them but dies before storing (nothing acked)
    assert not first.inbox.empty()
    first.client.disconnect()
    first.client.loop_stop()
    # more telemetry while no bridge is running: the broker queues it for the session
    for i in range(50, 100):
        publish_and_wait(dev, topic, tele(t0 + timedelta(seconds=i), power_w=i))
    second = Bridge(broker, client_id=client_id, communities=[community.slug], max_wait_s=0.1)
    second.start()
    assert pump(second, lambda: Telemetry.objects.filter(device=d).count() == 100, timeout=15)
    assert sorted(Telemetry.objects.filter(device=d).values_list("power_w", flat=True)) == list(range(100))
    dev.disconnect()
    stop(second)
    forget_session(broker, client_id)


@needs_mqtt
def test_a_command_is_acked_by_the_device_and_matched(
    broker, community, world, settings, django_capture_on_commit_callbacks
):
    settings.MQTT_URL = os.environ["MQTT_URL"]
    d = device(world.site, "battery", rated_power_w=5000)
    consent(d)
    bridge = new_bridge(broker, community)
    pool = DevicePool(
        broker,
        handler=lambda uid, cmd, now: ("rejected", "battery is at its 20% reserve"),
        client_prefix=f"t{uuid.uuid4().hex[:6]}",
    )
    pool.add(community=community.slug, uid=d.uid, username=None, password=None)
    assert pool.connect_all(timeout=5) == 1
    for _ in range(10):
        pool.poll(0.05)
    with django_capture_on_commit_callbacks(execute=True):
        cmd = services.command_publish(device=d, action="set_power", params={"power_w": -3000})

    def acked():
        pool.poll(0.02)
        cmd.refresh_from_db()
        return cmd.status == DeviceCommand.Status.REJECTED

    assert pump(bridge, acked)
    assert cmd.detail == "battery is at its 20% reserve" and cmd.acked_at >= cmd.sent_at
    # the device's retained "online" status reached the bridge too
    d.refresh_from_db()
    assert d.online
    pool.disconnect_all()
    stop(bridge)
    forget_session(broker, bridge.client._client_id.decode())


def test_a_database_outage_holds_the_batch_and_acks_only_after_it_is_stored(world, monkeypatch):
    """No broker needed: the bridge's storage step, with the database failing twice."""
    d = device(world.site, "smart_meter")
    bridge = Bridge(BrokerUrl.parse("mqtt://127.0.0.1:1"), client_id="unit")
    acked = []
    monkeypatch.setattr(bridge.client, "ack", lambda mid, qos: acked.append(mid))
    real = services.telemetry_ingest
    failures = []

    def flaky(*a, **kw):
        if len(failures) < 2:
            failures.append(1)
            assert acked == []  # nothing acked while the database is down
            raise OperationalError("connection refused")
        return real(*a, **kw)

    monkeypatch.setattr(services, "telemetry_ingest", flaky)
    monkeypatch.setattr("assets.mqtt.bridge.connection.close", lambda: None)  # keep the test's transaction
    from assets.mqtt.bridge import Inbound

    now = datetime.now(UTC)
    batch = [
        Inbound(f"cem/test-green/{d.uid}/telemetry", tele(now - timedelta(seconds=i), power_w=i), i + 1, 1)
        for i in range(5)
    ]
    bridge.process(batch)
    assert bridge.stats["db_retries"] == 2
    assert acked == [1, 2, 3, 4, 5]
    assert Telemetry.objects.filter(device=d).count() == 5
