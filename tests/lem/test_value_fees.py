"""Membership fees pro rata (issue 17): for part months and the days a
household actually traded; never for days it was not a participant."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import models
from hypothesis import given
from hypothesis import strategies as st

from community.selectors import ledger_verify
from lem import services
from lem.domain.fees import capped_fee_pence, days_in_month, fee_days, membership_fee_pence
from lem.models import MonthlyCharge, Participant

from .factories import NOW, RULES, make_market, place, reading


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


# --- shared savings: the fee at most a share of what trading saved ---------------------


@given(
    fee=st.integers(0, 10_000),
    saving=st.integers(-100_000, 100_000),
    cap=st.one_of(st.none(), st.decimals(0, 100, places=2)),
)
def test_a_capped_fee_never_takes_more_than_its_share_of_the_month_s_saving(fee, saving, cap):
    got = capped_fee_pence(fee_pence=fee, saving_pence=saving, cap_pct=cap)
    assert 0 <= got <= fee
    if cap is None:
        assert got == fee
    else:
        assert got <= max(saving, 0) * cap / 100  # so trading + fee is never below (1 - cap) x the saving
        assert got == fee or got > max(saving, 0) * cap / 100 - 1  # and no less than it (whole pence, down)
        if saving <= 0:
            assert got == 0


def test_a_cap_outside_0_to_100_percent_is_refused():
    with pytest.raises(ValueError, match="0-100"):
        capped_fee_pence(fee_pence=100, saving_pence=500, cap_pct=Decimal("101"))
    with pytest.raises(ValueError, match="negative"):
        capped_fee_pence(fee_pence=-1, saving_pence=500, cap_pct=Decimal("50"))


@pytest.fixture
def capped(world):
    return make_market(world, rules={**RULES, "membership_fee_cap_pct": "50"})


def _trade_and_settle(mw, period, *, used_wh=1000):
    place(mw, mw.seller, "offer", 1000, "12", period=period, now=period - timedelta(hours=1))
    place(mw, mw.buyer, "bid", 1000, "25", period=period, now=period - timedelta(hours=1))
    services.market_clear(market=mw.market, period_start=period, now=period)
    reading(mw.buyer, period, used_wh, 0)
    reading(mw.seller, period, 0, 1000)
    services.settlement_settle_period(market=mw.market, period_start=period, now=period + timedelta(hours=1))


def test_a_capped_fee_is_at_most_half_of_what_trading_saved_and_follows_the_saving(capped, world):
    """Rules v1 cap the £2.50 membership fee at 50 % of the month's trading saving. One day's
    trade of 1 kWh saves each side a few pence, less than twice the day's 8p share of the fee:
    each pays half its saving. A household whose bought kWh went unused saved nothing and pays
    nothing. Running twice changes nothing; a second day trues the charges up."""
    june = date(2026, 6, 1)
    _trade_and_settle(capped, datetime(2026, 6, 3, 10, 30, tzinfo=UTC))
    saved = services.month_savings_pence(capped.market, june)
    assert saved[capped.buyer.pk] > 0 and saved[capped.seller.pk] > 0
    assert services.membership_fees_post(market=capped.market, month=june) == 2
    for p in (capped.buyer, capped.seller):
        fee = MonthlyCharge.objects.get(participant=p, month=june).amount
        assert fee == Decimal(min(8, saved[p.pk] // 2)) / 100  # £2.50 x 1/30 = 8p, or half the saving
        assert fee * 100 <= Decimal(saved[p.pk]) / 2
    assert services.membership_fees_post(market=capped.market, month=june) == 0
    _trade_and_settle(capped, datetime(2026, 6, 4, 10, 30, tzinfo=UTC))
    saved2 = services.month_savings_pence(capped.market, june)
    assert services.membership_fees_post(market=capped.market, month=june) == 2
    for p in (capped.buyer, capped.seller):
        assert MonthlyCharge.objects.get(participant=p, month=june).amount == Decimal(min(17, saved2[p.pk] // 2)) / 100
    assert ledger_verify(world.community).ok


def test_a_household_whose_trading_saved_nothing_pays_no_capped_fee(capped):
    july = date(2026, 7, 1)
    # the buyer used none of the kWh it bought: sold back at the export price, a loss
    _trade_and_settle(capped, datetime(2026, 7, 2, 10, 30, tzinfo=UTC), used_wh=0)
    assert services.month_savings_pence(capped.market, july)[capped.buyer.pk] < 0
    services.membership_fees_post(market=capped.market, month=july)
    assert not MonthlyCharge.objects.filter(participant=capped.buyer, month=july, amount__gt=0).exists()


def test_a_capped_fee_that_falls_to_nothing_and_rises_again_is_posted_each_time(capped, world):
    """A late reading wipes out the buyer's saving (its bought kWh unused), then a corrected
    one restores it: the charge goes 5p -> 0 -> 5p and each change reaches the ledger (the
    ledger's idempotency keys once made the second 0 -> 5p a duplicate of the first posting)."""
    from community.models import JournalLine
    from lem.services.orders import member_account

    june = date(2026, 6, 1)
    period = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)
    _trade_and_settle(capped, period)
    amounts = []
    for used in (None, 0, 1000):
        if used is not None:  # the meter operator's late correction, settled again
            reading(capped.buyer, period, used, 0)
            services.settlement_settle_period(market=capped.market, period_start=period, now=period + timedelta(days=1))
        services.membership_fees_post(market=capped.market, month=june)
        charge = MonthlyCharge.objects.filter(participant=capped.buyer, month=june).first()
        amounts.append(charge.amount if charge else Decimal("0"))
        posted = JournalLine.objects.filter(account=member_account(capped.buyer), entry__source="lem.fees").aggregate(
            s=models.Sum("amount")
        )["s"] or Decimal("0")
        assert posted == amounts[-1]  # the ledger says what the charge says
    assert amounts[0] > 0 and amounts[1] == 0 and amounts[2] == amounts[0]
    assert ledger_verify(world.community).ok
