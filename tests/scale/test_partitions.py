"""Issue 16: telemetry and interval readings as monthly range partitions on
PostgreSQL. The queries the platform makes most -- a site's day, a
community's day, a settlement month, a device's day of telemetry -- touch
one partition (two when the range crosses a month), shown with EXPLAIN.
New months are created ahead by a beat task; rows that landed in the
default partition move into their month when it is created."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from assets import storage
from assets.models import IntervalReading, Meter, Telemetry
from conftest import needs_postgres
from tests.assets.factories import device

pytestmark = needs_postgres

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def touched(qs, table: str) -> set[str]:
    plan = qs.explain()
    return set(re.findall(rf"\b({table}_(?:p\d{{6}}|default))\b", plan))


@pytest.fixture
def readings(world):
    storage.partitions_ensure(now=datetime(2026, 4, 1, tzinfo=UTC), months_ahead=4)  # April..August
    meters = []
    for site in (world.site, world.neighbour_site):
        meters.append(Meter.objects.get_or_create(site=site, kind="site", defaults={"serial": f"P-{site.pk}"})[0])
    rows = []
    t = datetime(2026, 5, 25, tzinfo=UTC)
    while t < datetime(2026, 7, 5, tzinfo=UTC):
        rows += [IntervalReading(meter=m, period_start=t, import_wh=100, export_wh=0) for m in meters]
        t += timedelta(minutes=30)
    IntervalReading.objects.bulk_create(rows)
    return meters


def test_the_tables_are_partitioned_by_month(readings):
    assert storage.is_partitioned("assets_telemetry") and storage.is_partitioned("assets_intervalreading")
    names = [p.name for p in storage.partitions("assets_intervalreading")]
    assert {
        "assets_intervalreading_p202605",
        "assets_intervalreading_p202606",
        "assets_intervalreading_default",
    } <= set(names)
    # rows are where their month is
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text, count(*) FROM assets_intervalreading GROUP BY 1")
        counts = dict(cur.fetchall())
    assert set(counts) == {
        "assets_intervalreading_p202605",
        "assets_intervalreading_p202606",
        "assets_intervalreading_p202607",
    }


def test_a_sites_day_a_communitys_day_and_a_settlement_month_touch_one_partition(world, readings):
    day = datetime(2026, 6, 10, tzinfo=UTC)
    site_day = IntervalReading.objects.filter(
        meter__site=world.site, period_start__gte=day, period_start__lt=day + timedelta(days=1)
    )
    community_day = IntervalReading.objects.filter(
        meter__site__community=world.community, period_start__gte=day, period_start__lt=day + timedelta(days=1)
    )
    month = IntervalReading.objects.filter(
        period_start__gte=datetime(2026, 6, 1, tzinfo=UTC), period_start__lt=datetime(2026, 7, 1, tzinfo=UTC)
    )
    for qs in (site_day, community_day, month):
        assert touched(qs, "assets_intervalreading") == {"assets_intervalreading_p202606"}, qs.explain()
    assert site_day.count() == 48 and community_day.count() == 96
    # a month in local time (BST) crosses the UTC month boundary: two partitions
    bst_month = IntervalReading.objects.filter(
        period_start__gte=datetime(2026, 5, 31, 23, tzinfo=UTC), period_start__lt=datetime(2026, 6, 30, 23, tzinfo=UTC)
    )
    assert touched(bst_month, "assets_intervalreading") == {
        "assets_intervalreading_p202605",
        "assets_intervalreading_p202606",
    }


def test_a_devices_day_of_telemetry_touches_one_partition(world):
    storage.partitions_ensure(now=NOW)
    d = device(world.site, "smart_meter", uid="explain-meter")
    t0 = datetime(2026, 6, 10, tzinfo=UTC)
    Telemetry.objects.bulk_create(
        [Telemetry(device=d, ts=t0 + timedelta(minutes=i), power_w=i) for i in range(0, 1440, 5)]
    )
    qs = Telemetry.objects.filter(device=d, ts__gte=t0, ts__lt=t0 + timedelta(days=1))
    assert touched(qs, "assets_telemetry") == {"assets_telemetry_p202606"}
    assert qs.count() == 288


def test_months_are_created_ahead_idempotently_and_default_rows_move_into_their_month(world):
    d = device(world.site, "smart_meter", uid="late-meter")
    far = datetime(2031, 3, 3, tzinfo=UTC)  # no partition yet: lands in the default partition
    Telemetry.objects.create(device=d, ts=far, power_w=5)
    assert touched(Telemetry.objects.filter(ts=far), "assets_telemetry") == {"assets_telemetry_default"}
    created = storage.partitions_ensure(now=NOW)
    assert "assets_telemetry_p203103" in created  # its month, made for it
    assert {"assets_telemetry_p202606", "assets_telemetry_p202609"} <= set(
        p.name for p in storage.partitions("assets_telemetry")
    )
    assert storage.partitions_ensure(now=NOW) == []  # idempotent
    assert Telemetry.objects.get(device=d, ts=far).power_w == 5
    assert touched(Telemetry.objects.filter(ts=far), "assets_telemetry") == {"assets_telemetry_p203103"}
    # upserts still meet the unique (device, ts) across the partitioned table
    Telemetry.objects.bulk_create(
        [Telemetry(device=d, ts=far, power_w=9)],
        update_conflicts=True,
        unique_fields=["device", "ts"],
        update_fields=["power_w"],
    )
    assert Telemetry.objects.filter(device=d, ts=far).count() == 1
    assert Telemetry.objects.get(device=d, ts=far).power_w == 9
