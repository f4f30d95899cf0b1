"""The whole chain against the real broker at MQTT_URL (CI: Mosquitto): the
simulator's devices (``assets.mqtt.simulator.Neighbourhood``) publish their
telemetry over MQTT, the bridge stores it, the controller steps on each batch
and its commands travel back over MQTT to the simulated batteries, whose acks
come back through the bridge. A cloud passes over the estate's PV and the
controller holds the import limit."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from assets import services as asset_services
from assets.models import Device, DeviceCommand, Telemetry
from assets.mqtt.bridge import Bridge
from assets.mqtt.connection import BrokerUrl
from assets.mqtt.simulator import Neighbourhood
from tests.balancing.factories import estate
from vpp.balancing import services
from vpp.balancing.models import ControlStep, Schedule

needs_mqtt = pytest.mark.skipif(not os.environ.get("MQTT_URL"), reason="MQTT broker tests run when MQTT_URL is set")
pytestmark = [needs_mqtt, pytest.mark.mqtt]


def pump(bridge, until, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = bridge.drain(0.1)
        if batch:
            bridge.process(batch)
        if until():
            return True
    return False


def test_the_controller_holds_the_import_limit_through_a_cloud_over_mqtt(world, django_capture_on_commit_callbacks):
    broker = BrokerUrl.parse(os.environ["MQTT_URL"])
    world.community.slug = f"pw{uuid.uuid4().hex[:10]}"
    world.community.save(update_fields=["slug"])
    seg, node, _ = estate(world, homes=4, import_limit_w=4_000)
    # a June midday (telemetry may be up to 400 days old; the simulator never runs ahead of the clock)
    start = datetime(2026, 6, 16, 10, 50, tzinfo=UTC)
    Schedule.objects.create(
        segment=seg,
        starts_at=start.replace(minute=45),
        created_at=start,
        net_w=[-6_000] * 12,
        import_limit_w=[4_000] * 12,
        export_limit_w=[20_000] * 12,
    )
    bridge = Bridge(
        broker, client_id=f"pw-bridge-{uuid.uuid4().hex[:8]}", communities=[world.community.slug], max_wait_s=0.1
    )
    bridge.start()
    assert bridge.subscribed.wait(5)
    hood = Neighbourhood(
        world.community,
        broker=broker,
        speed=1,
        start=start,
        step_s=60,
        use_credentials=False,
        client_prefix=f"pw{uuid.uuid4().hex[:6]}",
    )
    assert hood.pool.connect_all(timeout=20) == len(hood.device_site)
    sun = {"k": 1.0}
    hood.weather.cloud.step = lambda dt: sun["k"]  # the sky is ours to set: sun, then a thick cloud
    try:
        hood.advance_to(hood.sim_now + timedelta(minutes=1))
        bats = list(Device.objects.filter(site__network_node=node, kind="battery"))
        with django_capture_on_commit_callbacks(execute=True):  # the morning's plan: soak up the sun
            asset_services.command_publish_many(
                commands=[(b, "set_power", {"power_w": 3_000}) for b in bats],
                valid_for=timedelta(minutes=30),
                source="balancing",
                now=hood.sim_now,
            )
        deadline = time.monotonic() + 10
        while DeviceCommand.objects.exclude(status="applied").exists() and time.monotonic() < deadline:
            hood.pool.poll(0.05)
            pump(bridge, lambda: False, timeout=0.2)
        nets = []
        for minute in range(14):
            if minute == 6:
                sun["k"] = 0.05
            n0 = Telemetry.objects.count()
            hood.advance_to(hood.sim_now + timedelta(minutes=1))
            assert pump(bridge, lambda n0=n0: Telemetry.objects.count() >= n0 + len(hood.device_site))
            nets.append(sum(int(s.meter.power_w) for s in hood.sites.values()))
            seg.refresh_from_db()
            with django_capture_on_commit_callbacks(execute=True):
                services.control_step(segment=seg, now=hood.sim_now)
            # the commands cross the broker to the simulated batteries; their acks come back
            sent = DeviceCommand.objects.filter(device__site__network_node=node).exclude(
                status__in=["applied", "rejected", "expired"]
            )
            deadline = time.monotonic() + 10
            while sent.exists() and time.monotonic() < deadline:
                hood.pool.poll(0.05)
                pump(bridge, lambda sent=sent: not sent.exists(), timeout=0.3)
        assert DeviceCommand.objects.filter(device__site__network_node=node, status="applied").exists()
        assert ControlStep.objects.filter(segment=seg).count() == 14
        # the cloud took the estate past its limit for the minute before the step could act ...
        assert max(nets[6:8]) > seg.import_limit_w, nets
        # ... then the limit holds
        assert max(nets[8:]) <= seg.import_limit_w, nets
    finally:
        hood.pool.disconnect_all()
        bridge.client.disconnect()
        bridge.client.loop_stop()
