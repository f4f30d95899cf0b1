"""Issue 16: the bridge keeps up with a town's telemetry.

A batch of telemetry is one upsert; interval readings are rebuilt from the
counters in a few set-based queries however many devices sent them, and off
the bridge's receive path, as a task on the ``ingest`` queue that is safe to
run twice (or once per bridge for the same periods)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from assets import selectors, services, tasks
from assets.models import Device, IntervalReading, Meter, Telemetry
from assets.mqtt.bridge import Bridge, Inbound
from assets.mqtt.connection import BrokerUrl
from config.celery import app
from conftest import needs_postgres
from tests.assets.factories import device

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
_mid = itertools.count(1)


def iso(ts):
    return ts.isoformat().replace("+00:00", "Z")


def meters(world, n: int) -> list[Device]:
    """``n`` smart meters, each feeding a site meter (created in bulk: no password hashing)."""
    start = Device.objects.count()
    devices = Device.objects.bulk_create(
        [
            Device(
                community=world.community,
                site=world.site,
                uid=f"rollup-{start + i}",
                name=f"meter {i}",
                kind="smart_meter",
                rated_power_w=20_000,
            )
            for i in range(n)
        ]
    )
    devices = list(Device.objects.filter(uid__in=[d.uid for d in devices]).order_by("pk"))
    Meter.objects.bulk_create([Meter(site=world.site, device=d, kind="site", serial=f"R{d.pk:07d}") for d in devices])
    return devices


def counters(devices, *, minutes=65, step=5, start=T0):
    """Cumulative counters every ``step`` minutes: device i imports 60*(i+1) Wh an hour."""
    return [
        (
            f"cem/{d.community.slug}/{d.uid}/telemetry",
            json.dumps({"ts": iso(start + timedelta(minutes=m)), "import_wh": (i + 1) * m, "export_wh": 0}).encode(),
        )
        for m in range(0, minutes + 1, step)
        for i, d in enumerate(devices)
    ]


def ingest(msgs, devices) -> services.IngestResult:
    directory = selectors.device_directory({(d.community.slug, d.uid) for d in devices})
    return services.telemetry_ingest(msgs, now=NOW, directory=directory)


def rollup_queries(world, n: int) -> int:
    devices = meters(world, n)
    r = ingest(counters(devices), devices)
    with CaptureQueriesContext(connection) as ctx:
        written = services.readings_from_telemetry(dirty=r.dirty)
    assert written == 2 * n  # two complete half-hours each
    return len(ctx.captured_queries)


def test_the_readings_roll_up_takes_as_many_queries_for_fifty_devices_as_for_two(world):
    """It used to take three queries a device: at 10,000 homes, seconds of
    the bridge's time every flush."""
    two = rollup_queries(world, 2)
    fifty = rollup_queries(world, 50)
    assert fifty == two <= 5


def test_readings_from_the_roll_up_are_the_counters_differences(world):
    devices = meters(world, 3)
    services.readings_from_telemetry(dirty=ingest(counters(devices), devices).dirty)
    got = {
        (m.device.uid, r.period_start): r.import_wh
        for m in Meter.objects.select_related("device")
        for r in m.readings.all()
    }
    assert got == {(d.uid, T0 + timedelta(minutes=30 * k)): 30 * (i + 1) for i, d in enumerate(devices) for k in (0, 1)}


def test_the_roll_up_task_run_twice_or_once_per_bridge_writes_each_reading_once(world):
    devices = meters(world, 4)
    dirty = ingest(counters(devices), devices).dirty
    periods = services.dirty_encode(dirty)
    first = tasks.readings_rollup(periods)
    rows = sorted(IntervalReading.objects.values_list("meter_id", "period_start", "import_wh", "export_wh"))
    assert first == {"written": 8, "failed_devices": []} and len(rows) == 8
    # the same task again (a redelivery), and two bridges' overlapping halves
    tasks.readings_rollup(periods)
    half = set(list(dirty)[: len(dirty) // 2 + 1])
    tasks.readings_rollup(services.dirty_encode(half))
    tasks.readings_rollup(services.dirty_encode(dirty - half | set(list(half)[:1])))
    assert sorted(IntervalReading.objects.values_list("meter_id", "period_start", "import_wh", "export_wh")) == rows


@needs_postgres  # SQLite stores any 64-bit integer; PostgreSQL's integer column refuses it
def test_one_devices_unstorable_readings_do_not_stop_the_others_in_the_task(world):
    calm, wild = meters(world, 2)
    msgs = counters([calm], minutes=60)
    for m in range(0, 61, 5):  # ~1 TWh in five minutes: no integer column holds that reading
        jump = 10**12 if m > 30 else 0
        msgs.append(
            (
                f"cem/{wild.community.slug}/{wild.uid}/telemetry",
                json.dumps({"ts": iso(T0 + timedelta(minutes=m)), "import_wh": 1000 + jump, "export_wh": 0}).encode(),
            )
        )
    dirty = ingest(msgs, [calm, wild]).dirty
    out = tasks.readings_rollup(services.dirty_encode(dirty))
    assert out["failed_devices"] == [wild.pk]
    assert IntervalReading.objects.filter(meter__device=calm).count() == 2


@pytest.fixture
def eager_celery():
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


def test_the_bridge_hands_the_roll_up_to_the_ingest_queue(world, monkeypatch, eager_celery):
    """With ``readings_on_queue`` the bridge only queues the periods it saw;
    the task (run eagerly here, by a worker on ``ingest`` in production)
    writes the readings."""
    assert app.amqp.router.route({}, "assets.tasks.readings_rollup")["queue"].name == "ingest"
    devices = meters(world, 3)
    bridge = Bridge(BrokerUrl.parse("mqtt://127.0.0.1:1"), client_id="rollup-test", readings_on_queue=True)
    monkeypatch.setattr(bridge.client, "ack", lambda mid, qos: None)  # no broker: acks go nowhere
    bridge.process([Inbound(t, p, next(_mid), 1, datetime.now(UTC)) for t, p in counters(devices)], now=NOW)
    bridge.flush_derived(force=True)
    assert bridge.stats["rollups_queued"] == 1
    assert IntervalReading.objects.filter(meter__device__in=devices).count() == 6
    assert not bridge._dirty


def test_a_redelivered_batch_keeps_the_first_arrival_time_and_the_latest_values(world):
    d = device(world.site, "battery", uid="rollup-battery", rated_power_w=5000)
    topic = f"cem/{d.community.slug}/{d.uid}/telemetry"
    first = [(topic, json.dumps({"ts": iso(T0), "power_w": 100, "soc_pct": 50}).encode())]
    ingest(first, [d])
    row = Telemetry.objects.get(device=d, ts=T0)
    again = [(topic, json.dumps({"ts": iso(T0), "power_w": 150, "soc_pct": 51.5, "indoor_c": 20}).encode())]
    ingest(again, [d])
    later = Telemetry.objects.get(device=d, ts=T0)
    assert (later.power_w, later.soc_pct, later.temperature_c) == (150, 51.5, 20.0)
    assert later.received_at == row.received_at and Telemetry.objects.filter(device=d).count() == 1


_starts = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)).map(
    lambda t: t.replace(second=0, microsecond=0)
)


@given(st.sets(st.tuples(st.integers(1, 10**9), _starts, st.sampled_from([15, 30, 60])), max_size=50))
def test_the_dirty_periods_survive_the_trip_through_the_task_queue(dirty):
    periods = services.dirty_encode(dirty)
    assert services.dirty_decode(json.loads(json.dumps(periods))) == dirty
