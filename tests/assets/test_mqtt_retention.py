"""Issue 9 §7: raw telemetry is kept TELEMETRY_RETENTION_DAYS (default 90)
and a Celery task enforces it. On PostgreSQL whole monthly partitions are
dropped; elsewhere rows are deleted. Interval readings are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from assets import storage
from assets.models import IntervalReading, Meter, Telemetry
from assets.tasks import telemetry_retention
from community.models import AuditEvent
from tests.assets.factories import device

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def data(world):
    d = device(world.site, "smart_meter", uid="retention-meter", meter="site")
    stamps = {
        "may": datetime(2026, 5, 3, tzinfo=UTC),  # a whole month before the cutoff
        "aug_early": datetime(2026, 8, 10, tzinfo=UTC),  # before the cutoff, in the cutoff's month
        "sep": datetime(2026, 9, 20, tzinfo=UTC),
        "nov": NOW - timedelta(days=1),
    }
    Telemetry.objects.bulk_create([Telemetry(device=d, ts=ts, power_w=1) for ts in stamps.values()])
    meter = Meter.objects.get(device=d)
    IntervalReading.objects.create(meter=meter, period_start=stamps["may"], import_wh=5, export_wh=0)
    return d, stamps


def test_telemetry_older_than_the_retention_is_removed_readings_kept(data, settings):
    d, stamps = data
    settings.TELEMETRY_RETENTION_DAYS = 90  # cutoff 2026-08-17 12:00
    storage.partitions_ensure(now=NOW)  # on PostgreSQL: months for the rows, moved out of the default partition
    r = storage.telemetry_retention(now=NOW)
    left = set(Telemetry.objects.filter(device=d).values_list("ts", flat=True))
    assert stamps["may"] not in left
    assert {stamps["sep"], stamps["nov"]} <= left
    if storage.is_partitioned("assets_telemetry"):
        assert "assets_telemetry_p202605" in r.dropped_partitions
        assert "assets_telemetry_p202608" not in r.dropped_partitions  # August is not wholly past the cutoff
        assert stamps["aug_early"] in left
        assert not any(p.name == "assets_telemetry_p202605" for p in storage.partitions("assets_telemetry"))
    else:
        assert stamps["aug_early"] not in left
    assert IntervalReading.objects.filter(meter__device=d).count() == 1
    assert AuditEvent.objects.filter(action="assets.telemetry_retention").count() == 1
    # idempotent: nothing more to do
    again = storage.telemetry_retention(now=NOW)
    assert again.dropped_partitions == [] and again.deleted_rows == 0
    assert AuditEvent.objects.filter(action="assets.telemetry_retention").count() == 1


def test_the_setting_is_honoured_by_the_celery_task(data, settings, monkeypatch):
    d, stamps = data
    settings.TELEMETRY_RETENTION_DAYS = 30
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    result = telemetry_retention.apply().get()
    assert result["cutoff"].startswith("2026-10-16")
    left = set(Telemetry.objects.filter(device=d).values_list("ts", flat=True))
    assert stamps["nov"] in left and stamps["may"] not in left


def test_a_retention_below_one_day_is_refused(settings):
    with pytest.raises(ValueError, match="at least 1"):
        storage.telemetry_retention(days=0)


def test_the_task_is_on_the_beat_schedule():
    from community.management.commands.setup_periodic_tasks import collect_schedule

    tasks = {e["task"] for e in collect_schedule()}
    assert {"assets.tasks.telemetry_retention", "assets.tasks.partitions_ensure"} <= tasks
