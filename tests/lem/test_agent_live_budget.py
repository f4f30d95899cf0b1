"""Issue 17: the live agent orders within the replay's risk budget.

What its orders could lose if none of what it buys were used and none of
what it sells delivered stays within what the household's trading has won
this month by its settled lines, plus the 1p stake, less the worst case of
what is not yet metered. Through the database: real orders, clearing and
settlement (factories' rules: import 30p, export 10p, no trade fees)."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest

from lem import services
from lem.domain.value import STAKE_MICRO
from lem.models import Order, SettlementLine
from lem.services.agents import agent_risk_budgets

from .factories import PERIOD, RULES, make_market, place, reading

pytestmark = pytest.mark.django_db

# mid-month, so a settled day of the same month can come before it
D = PERIOD + timedelta(days=9)  # 2026-06-10 10:30 UTC
BEFORE_GATE = D - timedelta(minutes=30)
IMPORT, EXPORT = Decimal("30"), Decimal("10")


@pytest.fixture
def mw(world):
    # no membership fee: these tests are about the risk budget (the fee has its own test)
    return make_market(world, rules={**RULES, "membership_fee": "0"})


def week_of_readings(mw, period, days=7):
    """The buyer imports 800 Wh and the seller exports 1,200 Wh at this time every day."""
    for d in range(1, days + 1):
        reading(mw.buyer, period - timedelta(days=d), 800, 0)
        reading(mw.seller, period - timedelta(days=d), 0, 1200)


def worst_micro(orders) -> int:
    """What the orders lose if all filled at their limit and none used / delivered, micro-pence."""
    total = Decimal(0)
    for o in orders:
        per_kwh = o.price - EXPORT if o.side == Order.Side.BID else IMPORT - o.price
        total += o.quantity_wh * per_kwh * 1000  # Wh x p/kWh = milli-pence; x 1000 = micro-pence
    return int(total)


def won_micro(participant) -> int:
    """Trading's saving against the supplier alone on its settled lines, micro-pence."""
    won = sum(
        line.supplier_only - (line.total + line.discount)
        for line in SettlementLine.objects.filter(participant=participant)
    )
    return int(won * 100 * 1_000_000)


def trade_the_day_before(mw, *, settle: bool):
    """Yesterday at this time the buyer bought 800 Wh from the seller (both metered as usual)."""
    p = D - timedelta(days=1)
    place(mw, mw.seller, "offer", 800, "12", period=p, now=p - timedelta(minutes=30))
    place(mw, mw.buyer, "bid", 800, "25", period=p, now=p - timedelta(minutes=30))
    services.market_clear(market=mw.market, period_start=p, now=p)
    if settle:
        run = services.settlement_settle_period(market=mw.market, period_start=p, now=p + timedelta(hours=1))
        assert run.status == "settled"


def test_with_nothing_won_this_month_the_agent_orders_only_what_the_stake_covers(mw):
    week_of_readings(mw, D)
    assert services.agent_place_orders(market=mw.market, period_start=D, now=BEFORE_GATE) == 2
    for who in (mw.buyer, mw.seller):
        orders = list(Order.objects.filter(participant=who, source=Order.Source.AGENT))
        assert len(orders) == 1
        assert 0 < worst_micro(orders) <= STAKE_MICRO
    # the forecast alone would have asked for the whole 800 / 1,200 Wh
    assert Order.objects.get(participant=mw.buyer).quantity_wh < 800


def test_after_a_settled_day_that_won_x_the_agent_may_risk_up_to_x(mw):
    week_of_readings(mw, D)
    trade_the_day_before(mw, settle=True)
    for who in (mw.buyer, mw.seller):
        x = won_micro(who)
        assert x > 0  # both did better than the supplier alone yesterday
        assert agent_risk_budgets(market=mw.market, participant_ids=[who.pk], period_start=D)[who.pk].won_micro == x
    services.agent_place_orders(market=mw.market, period_start=D, now=BEFORE_GATE)
    for who in (mw.buyer, mw.seller):
        orders = list(Order.objects.filter(participant=who, source=Order.Source.AGENT, period_start=D))
        assert len(orders) == 1
        assert STAKE_MICRO < worst_micro(orders) <= won_micro(who) + STAKE_MICRO


def test_a_trade_not_yet_settled_holds_back_its_worst_case(mw, caplog):
    week_of_readings(mw, D)
    trade_the_day_before(mw, settle=False)
    budgets = agent_risk_budgets(market=mw.market, participant_ids=[mw.buyer.pk, mw.seller.pk], period_start=D)
    # 800 Wh bought at 12-25p that may go unused (sold back at 10p): more than the 1p stake
    assert budgets[mw.buyer.pk].won_micro == 0
    assert budgets[mw.buyer.pk].at_risk_micro > STAKE_MICRO
    assert budgets[mw.buyer.pk].budget_micro == 0
    with caplog.at_level(logging.INFO, logger="lem.services.agents"):
        made = services.agent_place_orders(market=mw.market, period_start=D, now=BEFORE_GATE)
    assert made == 0
    assert not Order.objects.filter(period_start=D).exists()
    assert "risk budget" in caplog.text


def test_a_run_twice_places_nothing_twice_and_the_next_periods_share_the_budget(mw, caplog):
    week_of_readings(mw, D)
    week_of_readings(mw, D + timedelta(minutes=30))
    with caplog.at_level(logging.INFO, logger="lem.services.agents"):
        first = services.agents_run_due(market=mw.market, now=BEFORE_GATE - timedelta(minutes=1))
    assert first == 2
    orders = list(Order.objects.filter(source=Order.Source.AGENT))
    # the first period's orders, not yet cleared, are at risk: they took the whole
    # stake, so the next period gets nothing (and the log says why)
    assert {o.period_start for o in orders} == {D}
    assert f"period {(D + timedelta(minutes=30)).isoformat()}: no orders for 2 participant(s)" in caplog.text
    for who in (mw.buyer, mw.seller):
        assert worst_micro([o for o in orders if o.participant_id == who.pk]) <= STAKE_MICRO
    assert services.agents_run_due(market=mw.market, now=BEFORE_GATE - timedelta(minutes=1)) == 0
    assert Order.objects.count() == len(orders)


def test_with_no_readings_the_agent_places_nothing_and_says_why(mw, caplog):
    week_of_readings(mw, D, days=3)  # a few days say little
    with caplog.at_level(logging.INFO, logger="lem.services.agents"):
        made = services.agent_place_orders(market=mw.market, period_start=D, now=BEFORE_GATE)
    assert made == 0
    assert not Order.objects.exists()
    assert "fewer than 7 days of readings" in caplog.text


def test_an_agent_starts_a_day_only_if_it_expects_to_win_the_days_share_of_the_membership_fee(world, caplog):
    mw = make_market(world)  # £2.50 a month: 8.33p a day traded in June
    week_of_readings(mw, D)
    # the rest of the day, expected: the buyer's 800 Wh save 10p/kWh (8p), the seller's 1,200 Wh earn 10p/kWh (12p)
    with caplog.at_level(logging.INFO, logger="lem.services.agents"):
        made = services.agent_place_orders(market=mw.market, period_start=D, now=BEFORE_GATE)
    assert made == 1
    assert Order.objects.get().participant == mw.seller
    assert "membership fee" in caplog.text


def test_after_a_traded_day_an_agent_goes_on_only_while_the_month_pays_for_the_next_days_fee(world, caplog):
    mw = make_market(world)  # 8.33p a day traded
    week_of_readings(mw, D)
    trade_the_day_before(mw, settle=True)
    for who in (mw.buyer, mw.seller):  # yesterday won less than its day's fee and today's together
        assert 0 < won_micro(who) < 2 * 833 * 10_000
    with caplog.at_level(logging.INFO, logger="lem.services.agents"):
        made = services.agent_place_orders(market=mw.market, period_start=D, now=BEFORE_GATE)
    assert made == 0
    assert "membership fee" in caplog.text


def test_with_the_fee_capped_at_a_share_of_the_saving_an_agent_trades_any_day_it_expects_to_gain(world, caplog):
    """The same buyer as above (8p expected today, under the day's 8.33p of the fee) orders
    when the rules cap the fee at half of what the month's trading saved: a day's fee can then
    never cost more than the day gains."""
    mw = make_market(world, rules={**RULES, "membership_fee_cap_pct": "50"})
    week_of_readings(mw, D)
    with caplog.at_level(logging.INFO, logger="lem.services.agents"):
        made = services.agent_place_orders(market=mw.market, period_start=D, now=BEFORE_GATE)
    assert made == 2
    assert {o.participant for o in Order.objects.all()} == {mw.buyer, mw.seller}
    assert "membership fee" not in caplog.text
