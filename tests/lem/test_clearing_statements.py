"""Issue 14: the market's clearing obeys network operators' constraint
statements in force for the period and records which it obeyed."""

from datetime import timedelta
from decimal import Decimal

import pytest

from community.models import ConstraintStatement
from lem import services

from .factories import PERIOD, make_market, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def mw(world):
    return make_market(world)


def statement(world, **kw):
    values = dict(
        community=world.community,
        node=world.feeder,
        reference="DSO-CS-1",
        starts_at=PERIOD - timedelta(hours=1),
        ends_at=PERIOD + timedelta(hours=1),
        import_limit_kw=Decimal("500"),
        export_limit_kw=Decimal("20"),
    )
    values.update(kw)
    return ConstraintStatement.objects.create(**values)


def test_a_constraint_statement_tightens_the_feeder_and_the_run_records_it(mw, world):
    st = statement(world)
    statement(world, reference="DSO-CS-old", starts_at=PERIOD + timedelta(hours=2), ends_at=PERIOD + timedelta(hours=3))
    place(mw, mw.seller, "offer", 30_000, "5")
    place(mw, mw.buyer, "bid", 30_000, "25")
    run = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    # 20 kW for half an hour = 10 kWh may leave Feeder A
    assert run.volume_wh == 10_000
    assert run.binding[0]["node"] == "Feeder A" and run.binding[0]["direction"] == "export"
    assert run.binding[0]["limit_wh"] == 10_000
    assert run.constraint_statement_ids == [st.pk]


def test_without_statements_the_run_records_none_and_uses_capacity(mw, world):
    place(mw, mw.seller, "offer", 30_000, "5")
    place(mw, mw.buyer, "bid", 30_000, "25")
    run = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    assert run.volume_wh == 30_000 and run.constraint_statement_ids == []


def test_a_month_batch_posts_the_rounding_pennies_to_their_own_account(mw, world):
    """Issue 14 item 9 through the batch path: two members each importing 517 Wh
    at 30 p/kWh (15.51 p) pay 16 p each; the supplier keeps 31 p (the exact
    31.02 p rounded once) and the extra penny sits in the rounding account."""
    from community.selectors import account_balances, ledger_verify
    from lem.batch import settlement_settle_range

    from .factories import reading

    services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    reading(mw.seller, PERIOD, 517, 0)
    reading(mw.buyer, PERIOD, 517, 0)
    out = settlement_settle_range(
        market=mw.market, start=PERIOD, end=PERIOD + timedelta(minutes=30), now=PERIOD + timedelta(days=1)
    )
    assert out["settled"] == 1
    bal = account_balances(world.community, prefix="lem:")
    assert bal[f"lem:member:{mw.seller.pk}"] == bal[f"lem:member:{mw.buyer.pk}"] == Decimal("0.16")
    assert bal["lem:supplier"] == Decimal("-0.31") and bal["lem:rounding"] == Decimal("-0.01")
    assert ledger_verify(world.community).ok
