"""Hypothesis over random sequences of settlement events (issue 4): trades,
settlement, re-runs, late and corrected readings, month batches. After every
sequence the ledger balances to the penny, verify_ledger passes, each member's
ledger balance equals the sum of their settled periods, and editing any stored
entry makes verification fail."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community.models import JournalLine, LedgerAccount
from community.selectors import account_balance, ledger_verify
from lem import services
from lem.batch import settlement_settle_range
from lem.models import SettlementLine

from .factories import PERIOD, make_market, place, reading

pytestmark = pytest.mark.django_db

PERIODS = [PERIOD + timedelta(minutes=30 * i) for i in range(3)]
LATER = PERIOD + timedelta(days=1)

event = st.one_of(
    st.tuples(st.just("reading"), st.integers(0, 2), st.booleans(), st.integers(0, 3000), st.integers(0, 3000)),
    st.tuples(st.just("settle"), st.integers(0, 2)),
    st.tuples(st.just("due")),
    st.tuples(st.just("batch")),
)


class Rollback(Exception):
    pass


@pytest.fixture
def mw(world):
    return make_market(world)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(100, 2000), st.integers(10, 30), st.integers(100, 2000), st.integers(5, 25)),
        min_size=3,
        max_size=3,
    ),
    st.lists(event, min_size=1, max_size=12),
)
def test_random_settlement_sequences_keep_the_ledger_exact(mw, world, books, events):
    try:
        with transaction.atomic():
            for p, (sq, sp, bq, bp) in zip(PERIODS, books, strict=True):
                place(mw, mw.seller, "offer", sq, str(sp), period=p)
                place(mw, mw.buyer, "bid", bq, str(bp), period=p)
                services.market_clear(market=mw.market, period_start=p, now=p)
            clock = LATER
            for e in events:
                clock += timedelta(minutes=1)
                if e[0] == "reading":
                    _, i, buyer, imp, exp = e
                    reading(mw.buyer if buyer else mw.seller, PERIODS[i], imp, exp)
                elif e[0] == "settle":
                    services.settlement_settle_period(market=mw.market, period_start=PERIODS[e[1]], now=clock)
                elif e[0] == "due":
                    services.settlement_settle_due(market=mw.market, now=clock)
                else:
                    settlement_settle_range(
                        market=mw.market, start=PERIODS[0], end=PERIODS[-1] + timedelta(minutes=30), now=clock
                    )
            # invariants
            v = ledger_verify(world.community)
            assert v.ok, v.problems
            for part in (mw.buyer, mw.seller):
                acc = LedgerAccount.objects.filter(community=world.community, code=f"lem:member:{part.pk}").first()
                lines = sum((x.total for x in SettlementLine.objects.filter(participant=part)), Decimal("0"))
                assert (account_balance(acc) if acc else Decimal("0")) == lines
            line = JournalLine.objects.filter(entry__community=world.community).order_by("?").first()
            if line is not None:
                JournalLine.objects.filter(pk=line.pk).update(amount=line.amount + Decimal("0.01"))
                assert not ledger_verify(world.community).ok
            raise Rollback
    except Rollback:
        pass
