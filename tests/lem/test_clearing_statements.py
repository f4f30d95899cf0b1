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
