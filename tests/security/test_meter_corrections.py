"""§6: a meter reading is corrected only through a service that records who,
when, why and the previous value, and the market re-settles the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest

from assets import services as asset_services
from assets.models import IntervalReading, Meter, MeterCorrection
from community.errors import DomainError
from community.models import AuditEvent, JournalEntry
from community.selectors import account_balances, ledger_verify
from lem import services as lem_services
from tests.lem.factories import PERIOD, make_market, place, reading


@pytest.fixture
def mw(world):
    return make_market(world)


def _settled(mw):
    place(mw, mw.seller, "offer", 1000, "12")
    place(mw, mw.buyer, "bid", 1000, "25")
    lem_services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    reading(mw.buyer, PERIOD, 1000, 0)
    reading(mw.seller, PERIOD, 0, 1000)
    return lem_services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=1))


def test_a_correction_records_who_when_why_and_the_previous_value_and_asks_for_resettlement(
    mw, world, django_capture_on_commit_callbacks
):
    _settled(mw)
    meter = Meter.objects.get(site=mw.buyer.site, kind=Meter.Kind.SITE)
    with mock.patch("celery.current_app.send_task") as send, django_capture_on_commit_callbacks(execute=True):
        correction = asset_services.meter_reading_correct(
            meter=meter,
            period_start=PERIOD,
            import_wh=2000,
            export_wh=0,
            reason="Meter read on site by the DNO: 2 kWh",
            actor=world.users["asset_operator"],
        )
    assert (correction.previous_import_wh, correction.import_wh) == (1000, 2000)
    assert correction.corrected_by == world.users["asset_operator"]
    assert IntervalReading.objects.get(meter=meter, period_start=PERIOD).import_wh == 2000
    assert AuditEvent.objects.filter(action="assets.reading_correct", actor=world.users["asset_operator"]).exists()
    send.assert_called_once_with(asset_services.RESETTLE_TASK)


def test_the_market_resettles_a_corrected_period_by_reversal(mw, world):
    _settled(mw)
    meter = Meter.objects.get(site=mw.buyer.site, kind=Meter.Kind.SITE)
    with mock.patch("celery.current_app.send_task"):
        asset_services.meter_reading_correct(
            meter=meter, period_start=PERIOD, import_wh=2000, export_wh=0, reason="DNO site read", actor=None
        )
    st = lem_services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=3))
    assert st.revision == 1
    assert JournalEntry.objects.filter(reverses__isnull=False).count() == 1
    assert account_balances(world.community, "lem:")[f"lem:member:{mw.buyer.pk}"] == Decimal("0.49")
    assert ledger_verify(world.community).ok


def test_correcting_to_the_same_value_twice_changes_nothing(mw, world):
    meter = Meter.objects.get(site=mw.buyer.site, kind=Meter.Kind.SITE)
    with mock.patch("celery.current_app.send_task"):
        first = asset_services.meter_reading_correct(
            meter=meter, period_start=PERIOD, import_wh=700, export_wh=0, reason="estimate from the bill", actor=None
        )
        again = asset_services.meter_reading_correct(
            meter=meter, period_start=PERIOD, import_wh=700, export_wh=0, reason="estimate from the bill", actor=None
        )
    assert first.pk == again.pk and MeterCorrection.objects.count() == 1
    assert first.previous_import_wh is None  # there was no reading before


@pytest.mark.parametrize(
    "change, field",
    [
        ({"import_wh": -1}, "import_wh"),
        ({"export_wh": "lots"}, "export_wh"),
        ({"reason": ""}, "reason"),
        ({"period_start": PERIOD + timedelta(minutes=7)}, "period_start"),
        ({"period_start": datetime(2999, 1, 1, tzinfo=UTC)}, "period_start"),
    ],
)
def test_bad_corrections_are_refused_naming_the_field(mw, world, change, field):
    meter = Meter.objects.get(site=mw.buyer.site, kind=Meter.Kind.SITE)
    args = {
        "meter": meter,
        "period_start": PERIOD,
        "import_wh": 1,
        "export_wh": 0,
        "reason": "site read",
        "actor": None,
    }
    with pytest.raises(DomainError) as err:
        asset_services.meter_reading_correct(**{**args, **change})
    assert err.value.field == field
    assert not MeterCorrection.objects.exists()
