"""Membership fees pro rata (issue 17): for part months and the days a
household actually traded; never for days it was not a participant."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from community.selectors import ledger_verify
from lem import services
from lem.domain.fees import days_in_month, fee_days, membership_fee_pence
from lem.models import MonthlyCharge, Participant

from .factories import NOW, make_market, place, reading


def test_a_whole_month_traded_pays_the_whole_fee():
    june = date(2026, 6, 1)
    days = [june + timedelta(days=i) for i in range(30)]
    n = fee_days(month=june, joined=date(2026, 1, 1), traded_days=days)
    assert n == 30
    assert membership_fee_pence(monthly_fee_pence=150, month=june, days_charged=n) == 150


def test_a_week_traded_pays_a_week():
    nov = date(2026, 11, 1)
    week = [date(2026, 11, d) for d in range(20, 27)]
    n = fee_days(month=nov, joined=date(2026, 11, 20), traded_days=week)
    assert n == 7
    assert membership_fee_pence(monthly_fee_pence=150, month=nov, days_charged=n) == 35  # 150 x 7/30


def test_no_fee_for_days_before_joining_or_after_leaving():
    march = date(2026, 3, 1)
    every_day = [march + timedelta(days=i) for i in range(31)]
    assert fee_days(month=march, joined=date(2026, 3, 10), traded_days=every_day) == 22
    assert fee_days(month=march, joined=date(2026, 3, 10), left=date(2026, 3, 20), traded_days=every_day) == 10
    assert fee_days(month=march, joined=date(2026, 4, 2), traded_days=every_day) == 0


def test_days_without_trades_are_free():
    assert fee_days(month=date(2026, 2, 1), joined=date(2025, 1, 1), traded_days=[]) == 0
    assert membership_fee_pence(monthly_fee_pence=150, month=date(2026, 2, 1), days_charged=0) == 0


def test_bad_day_counts_are_refused():
    with pytest.raises(ValueError, match="days_charged"):
        membership_fee_pence(monthly_fee_pence=150, month=date(2026, 2, 1), days_charged=29)
    assert days_in_month(date(2028, 2, 1)) == 29


@pytest.fixture
def mw(world):
    return make_market(world)


def _trade_on(mw, period):
    place(mw, mw.seller, "offer", 1000, "12", period=period, now=period - timedelta(hours=1))
    place(mw, mw.buyer, "bid", 1000, "25", period=period, now=period - timedelta(hours=1))
    services.market_clear(market=mw.market, period_start=period, now=period)
    reading(mw.buyer, period, 1000, 0)
    reading(mw.seller, period, 0, 1000)


def test_the_statement_never_charges_a_fee_for_days_the_household_was_not_a_participant(mw, world):
    """A household that joined on 20 June and traded on three days pays for
    three days of June, not thirty; the charge grows as more days are traded,
    each change a new ledger entry, and a second run changes nothing."""
    june = date(2026, 6, 1)
    Participant.objects.filter(pk=mw.buyer.pk).update(created_at=datetime(2026, 6, 20, 9, 0, tzinfo=UTC))
    for day in (20, 21, 22):
        _trade_on(mw, datetime(2026, 6, day, 10, 30, tzinfo=UTC))
    assert services.membership_fees_post(market=mw.market, month=june) == 2
    assert MonthlyCharge.objects.get(participant=mw.buyer, month=june).amount == Decimal("0.25")  # £2.50 x 3/30
    assert services.membership_fees_post(market=mw.market, month=june) == 0
    _trade_on(mw, datetime(2026, 6, 25, 10, 30, tzinfo=UTC))
    assert services.membership_fees_post(market=mw.market, month=june) == 2
    assert MonthlyCharge.objects.get(participant=mw.buyer, month=june).amount == Decimal("0.33")  # 4/30
    assert ledger_verify(world.community).ok


def test_a_member_who_joined_late_and_never_traded_pays_nothing(mw):
    Participant.objects.filter(pk=mw.buyer.pk).update(created_at=NOW + timedelta(days=10))
    assert services.membership_fees_post(market=mw.market, month=date(2026, 6, 1)) == 0
    assert not MonthlyCharge.objects.filter(participant=mw.buyer).exists()
