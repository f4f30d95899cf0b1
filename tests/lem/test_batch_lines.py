"""The settlement lines' one index is also their integrity rule (issue 14 item 10):
one line per member per period, whichever path wrote it."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from lem import services
from lem.models import SettlementLine

from .factories import PERIOD, make_market, place, reading

pytestmark = pytest.mark.django_db


def test_a_second_line_for_the_same_member_and_period_is_refused(world):
    from lem.batch import settlement_settle_range

    mw = make_market(world)
    place(mw, mw.seller, "offer", 800, "12")
    place(mw, mw.buyer, "bid", 900, "25")
    services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    reading(mw.seller, PERIOD, 0, 700)
    reading(mw.buyer, PERIOD, 1000, 0)
    later = PERIOD + timedelta(days=1)
    settlement_settle_range(market=mw.market, start=PERIOD, end=PERIOD + timedelta(minutes=30), now=later)
    line = SettlementLine.objects.get(participant=mw.buyer)
    with pytest.raises(IntegrityError), transaction.atomic():
        SettlementLine.objects.create(run=line.run, participant=mw.buyer, period_start=PERIOD)
    # the batch and the per-period path run again: still one line each, same money
    before = {x.participant_id: x.total for x in SettlementLine.objects.all()}
    settlement_settle_range(market=mw.market, start=PERIOD, end=PERIOD + timedelta(minutes=30), now=later)
    services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=later)
    assert {x.participant_id: x.total for x in SettlementLine.objects.all()} == before
