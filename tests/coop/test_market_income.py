"""Issue 17: the co-op's accounts see the local market's income for the generation it owns,
read through ``community.panels.providers`` (the co-op never imports the market), and the
monthly revenue posting puts it in the ledger once. Settlement here is the market's real one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from assets.coop import selectors, services
from assets.coop.models import CoopAsset
from assets.coop.tasks import revenue_post_last_month
from assets.models import IntervalReading, Meter
from community.errors import DomainError
from community.models import JournalEntry, JournalLine
from community.panels import providers
from lem import services as lem_services
from lem.models import SettlementLine
from tests.lem.factories import PERIOD, make_market, place, reading

from .factories import make_society

pytestmark = pytest.mark.django_db

JUNE = date(2026, 6, 1)


def _coop_owns_the_sellers_generation(world, mw):
    """The society's array exports through the seller's site meter (as the school's does in the demo)."""
    society = make_society(world)
    generation = Meter.objects.create(site=mw.seller.site, kind=Meter.Kind.GENERATION, serial="ARRAY-GEN")
    IntervalReading.objects.create(
        meter=generation, period_start=PERIOD, period_minutes=30, import_wh=0, export_wh=1000
    )
    asset = CoopAsset.objects.create(
        society=society,
        name="Roof array",
        generation_meter=generation,
        export_meter=Meter.objects.get(site=mw.seller.site, kind=Meter.Kind.SITE),
        capacity_kw=Decimal(4),
        commissioned_on=date(2026, 1, 1),
        capex=Decimal(100),
    )
    return society, asset


def _trade_and_settle(mw, *, seller_export=1000):
    place(mw, mw.seller, "offer", 1000, "12")
    place(mw, mw.buyer, "bid", 1000, "25")
    lem_services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    reading(mw.buyer, PERIOD, 1000, 0)
    reading(mw.seller, PERIOD, 0, seller_export)
    return lem_services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=1))


def _market_lines(society):
    return JournalLine.objects.filter(account__code=society.ledger_code("market-revenue"))


def test_the_co_op_finds_the_markets_income_reader_without_importing_the_market():
    assert [f"{f.__module__}.{f.__name__}" for f in providers("income", "market_income")] == [
        "lem.income.market_income"
    ]
    # and every app's panels, not only the first app's
    found = {f.__module__ for f in providers("panels", "community_panels")}
    assert {"assets.coop.panels", "lem.panels"} <= found


def test_the_accounts_show_what_the_market_settled_for_the_assets_exports(world, client_as):
    mw = make_market(world)
    society, asset = _coop_owns_the_sellers_generation(world, mw)
    _trade_and_settle(mw)
    sold = SettlementLine.objects.get(participant=mw.seller)
    assert sold.local_income > 0 and sold.sold_wh == 1000
    (june,) = selectors.asset_accounts(asset, JUNE, 1)
    assert june.market_wh == 1000
    assert june.market_revenue == int(sold.local_income * 100)
    assert june.ppa_revenue == 0  # what the market bought did not go to the PPA
    r = client_as("treasurer").get(
        reverse("coop:accounts", kwargs={"slug": world.community.slug, "society_id": society.pk, "asset_id": asset.pk})
        + "?year=2026"
    )
    assert r.status_code == 200
    assert "Local market" in r.content.decode()
    assert r.context["totals"]["market_revenue"] == sold.local_income


def test_the_monthly_posting_puts_the_market_income_in_the_ledger_once(world):
    mw = make_market(world)
    society, asset = _coop_owns_the_sellers_generation(world, mw)
    _trade_and_settle(mw)
    income = SettlementLine.objects.get(participant=mw.seller).local_income
    assert revenue_post_last_month(today="2026-07-03") == 1
    assert revenue_post_last_month(today="2026-07-04") == 1  # run twice: posted once
    (line,) = _market_lines(society)
    assert line.amount == -income  # credit: income
    entry = line.entry
    assert "local market £" in entry.memo
    assert sum(ln.amount for ln in entry.lines.all()) == 0
    assert JournalEntry.objects.filter(idempotency_key=f"coop:{society.pk}:revenue:2026-06").count() == 1


def test_a_month_the_market_has_not_settled_is_not_posted_until_it_has(world):
    mw = make_market(world)
    society, asset = _coop_owns_the_sellers_generation(world, mw)
    place(mw, mw.seller, "offer", 1000, "12")
    place(mw, mw.buyer, "bid", 1000, "25")
    lem_services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    reading(mw.buyer, PERIOD, 1000, 0)  # the seller's meter data is late
    lem_services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=1))
    services.account_entry_add(asset=asset, month=JUNE, kind="flex", amount=Decimal(20), description="flex")
    with pytest.raises(DomainError, match="has not settled 1 half-hours of June 2026"):
        services.revenue_post(society=society, month=JUNE, today=date(2026, 7, 3))
    assert not JournalEntry.objects.filter(idempotency_key=f"coop:{society.pk}:revenue:2026-06").exists()
    # the data arrives; the next daily run posts the month, market income included
    reading(mw.seller, PERIOD, 0, 1000)
    lem_services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=2))
    assert revenue_post_last_month(today="2026-07-04") == 1
    (line,) = _market_lines(society)
    assert line.amount == -SettlementLine.objects.get(participant=mw.seller).local_income


def test_the_revenue_task_is_in_the_beat_schedule():
    from community.management.commands.setup_periodic_tasks import collect_schedule

    tasks = {e["task"] for e in collect_schedule()}
    assert revenue_post_last_month.name in tasks
    assert revenue_post_last_month.name == "assets.coop.tasks.revenue_post_last_month"
