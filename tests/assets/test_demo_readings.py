"""The demo's fast reading insert stores what bulk_create(ignore_conflicts=True) would."""

from datetime import UTC, datetime, timedelta

import pytest

from assets.demo import insert_readings
from assets.models import IntervalReading, Meter

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
def meter(world):
    return Meter.objects.create(site=world.site, kind=Meter.Kind.SITE, serial="DEMO-1")


def test_it_stores_each_reading_as_the_orm_reads_it(meter):
    n = insert_readings(
        [
            (meter.pk, T0, 30, 120, 0, IntervalReading.Source.ESTIMATE),
            (meter.pk, T0 + timedelta(minutes=30), 30, 0, 450, IntervalReading.Source.TELEMETRY),
        ]
    )
    assert n == 2
    got = list(
        IntervalReading.objects.filter(meter=meter)
        .order_by("period_start")
        .values_list("period_start", "period_minutes", "import_wh", "export_wh", "source")
    )
    assert got == [(T0, 30, 120, 0, "estimate"), (T0 + timedelta(minutes=30), 30, 0, 450, "telemetry")]
    assert IntervalReading.objects.filter(meter=meter, period_start=T0).exists()  # a filter on an aware time finds it
    assert all(r.received_at is not None for r in IntervalReading.objects.filter(meter=meter))


def test_a_half_hour_the_meter_already_has_keeps_its_reading(meter):
    IntervalReading.objects.create(meter=meter, period_start=T0, import_wh=7, export_wh=0, source="csv")
    insert_readings(
        [(meter.pk, T0, 30, 999, 0, "estimate"), (meter.pk, T0 + timedelta(minutes=30), 30, 5, 0, "estimate")]
    )
    assert IntervalReading.objects.get(meter=meter, period_start=T0).import_wh == 7
    assert IntervalReading.objects.filter(meter=meter).count() == 2


def test_it_writes_in_batches_and_a_bad_row_writes_nothing(meter):
    rows = [(meter.pk, T0 + timedelta(minutes=30 * k), 30, k, 0, "estimate") for k in range(7)]
    assert insert_readings(rows, batch_size=3) == 7
    assert IntervalReading.objects.filter(meter=meter).count() == 7
    bad = [(meter.pk, T0 - timedelta(minutes=30 * k), 30, 1, 0, "estimate") for k in range(1, 5)]
    bad.append((meter.pk, T0 - timedelta(days=1), 45, 1, 0, "estimate"))  # 45-minute periods are not allowed
    with pytest.raises(ValueError, match="5, 15 or 30-minute period"):
        insert_readings(bad, batch_size=2)
    assert IntervalReading.objects.filter(meter=meter).count() == 7  # the batches before it were rolled back


@pytest.mark.parametrize(
    "row",
    [
        (T0.replace(tzinfo=None), 30, 1, 0),  # a naive time: which zone?
        (T0, 30, -5, 0),  # negative energy
        (T0, 30, 0, -1),
    ],
)
def test_it_refuses_a_reading_the_table_would_not_hold(meter, row):
    start, minutes, imp, exp = row
    with pytest.raises(ValueError, match="a reading needs"):
        insert_readings([(meter.pk, start, minutes, imp, exp, "estimate")])
    assert not IntervalReading.objects.filter(meter=meter).exists()
