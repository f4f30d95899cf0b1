"""A whole flexibility event against the real Mosquitto (MQTT_URL) and PostgreSQL
(DATABASE_URL): dispatch over MQTT to simulated devices that obey and ack, an
offline device replaced by the closed loop, completion, M&V and settlement in the
ledger. Plus the broker outage fault: nothing lost, nothing sent twice."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from assets.domain.devices import Battery
from assets.models import DeviceCommand, IntervalReading
from assets.mqtt.connection import BrokerUrl
from assets.mqtt.devicepool import DevicePool
from community.selectors import ledger_verify
from conftest import needs_mqtt, needs_postgres
from tests.assets.test_bridge_live import new_bridge, pump, stop
from tests.vpp.factories import accepted_event, enrol_battery, flat_history, site_meter
from vpp import services
from vpp.models import Event, VppCommand


@pytest.fixture
def broker():
    return BrokerUrl.parse(os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883"))


@pytest.fixture
def live_community(world):
    world.community.slug = f"v{uuid.uuid4().hex[:10]}"
    world.community.settlement_period_minutes = 5  # a whole event in minutes, not hours
    world.community.save(update_fields=["slug", "settlement_period_minutes"])
    return world.community


@pytest.mark.postgres
@pytest.mark.mqtt
@needs_postgres
@needs_mqtt
def test_a_whole_event_over_mosquitto_and_postgresql(
    broker,
    live_community,
    world,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.MQTT_URL = os.environ["MQTT_URL"]
    now = timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
    end = start + timedelta(minutes=10)
    a = enrol_battery(world, at=now - timedelta(days=1), telemetry_at=now, rated=3000)
    b = enrol_battery(
        world, world.neighbour_site, world.neighbour, at=now - timedelta(days=1), telemetry_at=now, rated=3000
    )
    for site in (world.site, world.neighbour_site):
        flat_history(site, start=start, days=20, wh=100, minutes=5)  # 5-minute periods, 1.2 kW
    sims = {
        a.device.uid: Battery(capacity_wh=10_000, soc_pct=80),
        b.device.uid: Battery(capacity_wh=10_000, soc_pct=80),
    }
    seen = []

    def handler(uid, cmd, t):
        seen.append((uid, cmd.command_id))
        r = sims[uid].handle(cmd, t)
        return r.status, r.detail

    bridge = new_bridge(broker, live_community)
    pool = DevicePool(broker, handler=handler, client_prefix=f"v{uuid.uuid4().hex[:6]}")
    for e in (a, b):
        pool.add(community=live_community.slug, uid=e.device.uid, username=None, password=None)
    try:
        assert pool.connect_all(timeout=5) == 2
        ev = accepted_event(world, start=start, now=start - timedelta(hours=2), kw="3.0", volume="3.0")
        ev.ends_at = end
        ev.save(update_fields=["ends_at"])

        # 1. the tick dispatches the current period over MQTT; the devices apply and ack
        with django_capture_on_commit_callbacks(execute=True):
            stats = services.dispatch_tick(now=now)
        assert stats["sent"] >= 1

        def all_acked():
            pool.poll(0.02)
            return not DeviceCommand.objects.filter(status__in=["pending", "sent"]).exists()

        assert pump(bridge, all_acked), "the devices' acks did not come back through the bridge"
        first = list(VppCommand.objects.filter(event=ev).select_related("command"))
        assert sum(c.flex_w for c in first) == 3000
        assert all(c.command.status == "applied" for c in first)

        # 2. the device carrying the load drops off; the next minute's tick replaces it
        carrier = max(first, key=lambda c: c.flex_w).enrolment
        carrier.device.online = False
        carrier.device.save(update_fields=["online"])
        with django_capture_on_commit_callbacks(execute=True):
            stats = services.dispatch_tick(now=now + timedelta(seconds=5))
        assert stats.get("corrections") == 1
        assert pump(bridge, all_acked)
        repl = VppCommand.objects.get(event=ev, rule="replacement")
        assert repl.enrolment_id != carrier.pk and repl.command.status == "applied"

        # 3. a second tick in the same state sends nothing (no duplicate sends)
        n = DeviceCommand.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            services.dispatch_tick(now=now + timedelta(seconds=10))
        assert DeviceCommand.objects.count() == n
        assert len(seen) == len({cid for _, cid in seen}) == n

        # 4. after the event: the meters show the homes using less, and it settles through the ledger
        for site in (world.site, world.neighbour_site):
            IntervalReading.objects.filter(
                meter=site_meter(site), period_start__gte=start, period_start__lt=end
            ).update(import_wh=20)
        services.dispatch_tick(now=end + timedelta(minutes=40))
        ev.refresh_from_db()
        assert ev.status == Event.Status.SETTLED
        assert ev.settlement.delivered_wh == 2 * 2 * 80, [
            (d.baselines, d.actual_wh, d.flags) for d in ev.deliveries.all()
        ]
        assert ev.settlement.revenue > 0 and ledger_verify(world.community).ok
    finally:
        pool.disconnect_all(publish_offline=False)
        stop(bridge)


def test_a_broker_outage_loses_no_command_and_sends_none_twice(world, monkeypatch, django_capture_on_commit_callbacks):
    """The broker is down when the period's commands are made: they stay pending;
    the resend after it returns publishes each exactly once, and a repeat tick adds nothing."""
    from assets import services as asset_services

    up = {"ok": False}
    published = []

    def publish(topic, body, **kw):
        if up["ok"]:
            published.append(body)
        return up["ok"]

    monkeypatch.setattr("assets.mqtt.publisher.publish", publish)
    real = timezone.now()
    start = real.replace(second=0, microsecond=0, minute=0 if real.minute < 30 else 30)
    # the resend 30 s later must fall in the same half-hour whatever the clock says (at 03:29:45 it
    # used to be the next period's dispatch, with a new command)
    now = min(real, start + timedelta(minutes=29))
    enrol_battery(world, at=now - timedelta(days=1), telemetry_at=now)
    ev = accepted_event(world, start=start, now=start - timedelta(hours=2), volume="2.0")
    with django_capture_on_commit_callbacks(execute=True):
        services.event_dispatch_period(event=ev, now=now)
    assert DeviceCommand.objects.get().status == "pending" and published == []
    up["ok"] = True
    assert asset_services.commands_resend_pending(now=now) == 1
    assert asset_services.commands_resend_pending(now=now) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.event_dispatch_period(event=ev, now=now + timedelta(seconds=30)) == []
    assert len(published) == 1 and DeviceCommand.objects.get().status == "sent"
