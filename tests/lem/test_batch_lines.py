"""Settlement lines are one per member and local day (issue 14 item 10); the
table's one index is also their integrity rule, whichever path wrote them."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from lem import selectors, services
from lem.batch import day_start, settlement_settle_range
from lem.models import SettlementLine

from .factories import PERIOD, make_market, place, reading

pytestmark = pytest.mark.django_db


def _trade(mw, p, used=1000, delivered=700):
    place(mw, mw.seller, "offer", 800, "12", period=p)
    place(mw, mw.buyer, "bid", 900, "25", period=p)
    services.market_clear(market=mw.market, period_start=p, now=p)
    reading(mw.seller, p, 0, delivered)
    reading(mw.buyer, p, used, 0)


def test_a_second_line_for_the_same_member_and_day_is_refused(world):
    mw = make_market(world)
    _trade(mw, PERIOD)
    later = PERIOD + timedelta(days=1)
    settlement_settle_range(market=mw.market, start=PERIOD, end=PERIOD + timedelta(minutes=30), now=later)
    line = SettlementLine.objects.get(participant=mw.buyer)
    assert line.period_start == day_start(mw.market, PERIOD) and line.periods == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        SettlementLine.objects.create(run=line.run, participant=mw.buyer, period_start=line.period_start)
    # the batch and the per-period path run again: still one line each, same money
    before = {x.participant_id: x.total for x in SettlementLine.objects.all()}
    settlement_settle_range(market=mw.market, start=PERIOD, end=PERIOD + timedelta(minutes=30), now=later)
    services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=later)
    assert {x.participant_id: x.total for x in SettlementLine.objects.all()} == before


def test_periods_settled_one_by_one_and_by_the_batch_share_the_day_line(world):
    mw = make_market(world)
    periods = [PERIOD + timedelta(minutes=30 * i) for i in range(4)]
    for i, p in enumerate(periods):
        _trade(mw, p, used=1000 + 50 * i, delivered=600 + 40 * i)
    later = PERIOD + timedelta(days=1)
    services.settlement_settle_period(market=mw.market, period_start=periods[0], now=later)
    settlement_settle_range(market=mw.market, start=periods[0], end=periods[-1] + timedelta(minutes=30), now=later)
    for part in (mw.buyer, mw.seller):
        day = SettlementLine.objects.get(participant=part)
        detail = selectors.statement_periods(part, periods[0], periods[-1] + timedelta(minutes=30))
        assert day.periods == 4 and [x.period_start for x in detail] == periods
        assert day.total == sum(x.total for x in detail)
        assert day.import_wh == sum(x.import_wh for x in detail)


def test_a_late_reading_replaces_the_period_in_its_day_line(world):
    mw = make_market(world)
    periods = [PERIOD + timedelta(minutes=30 * i) for i in range(2)]
    for p in periods:
        _trade(mw, p)
    later = PERIOD + timedelta(days=1)
    settlement_settle_range(market=mw.market, start=periods[0], end=periods[-1] + timedelta(minutes=30), now=later)
    before = SettlementLine.objects.get(participant=mw.buyer)
    reading(mw.buyer, periods[1], 2500, 0)  # corrected: 1,500 Wh more from the supplier
    run = services.settlement_settle_period(market=mw.market, period_start=periods[1], now=later)
    assert run.revision == 1
    after = SettlementLine.objects.get(participant=mw.buyer)
    assert after.periods == 2 and after.import_wh == before.import_wh + 1500
    assert after.from_supplier_wh == before.from_supplier_wh + 1500
    detail = selectors.statement_periods(mw.buyer, periods[0], periods[-1] + timedelta(minutes=30))
    assert detail[1].import_wh == 2500 and after.total == sum(x.total for x in detail)


def test_a_member_who_joins_before_a_re_settlement_counts_that_period_once(world):
    from assets.models import Meter
    from lem.models import Participant

    mw = make_market(world)
    periods = [PERIOD + timedelta(minutes=30 * i) for i in range(2)]
    for p in periods:
        _trade(mw, p)
    later = PERIOD + timedelta(days=1)
    settlement_settle_range(market=mw.market, start=periods[0], end=periods[-1] + timedelta(minutes=30), now=later)
    site = world.school
    Meter.objects.get_or_create(site=site, kind=Meter.Kind.SITE, defaults={"serial": "M-late"})
    late = Participant.objects.create(market=mw.market, site=site, user=world.users["outsider"], pseudonym="Late")
    reading(late, periods[1], 400, 0)
    reading(mw.buyer, periods[1], 1200, 0)  # a correction: the period is settled again, now with three members
    run = services.settlement_settle_period(market=mw.market, period_start=periods[1], now=later)
    assert run.revision == 1
    assert SettlementLine.objects.get(participant=late).periods == 1
    assert SettlementLine.objects.get(participant=mw.buyer).periods == 2
    (line,) = selectors.statement_periods(late, periods[0], later)
    assert line.import_wh == 400 and line.period_start == periods[1]
