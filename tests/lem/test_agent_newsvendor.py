"""The trading agent minimises expected cost (issue 17): newsvendor quantiles
of its forecast, and its trading never costs a simulated household more than
the supplier alone over a month."""

import calendar
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lem.domain.agent import (
    AgentLimits,
    agent_orders,
    expected_gain_micro,
    expected_local_prices,
    floor_quantities,
    newsvendor_ratios,
    quantile_quantities,
    within_budget,
    worth_trading_today,
)

LIMITS = AgentLimits(min_sell=Decimal("0"), max_buy=Decimal("100"), battery_reserve_pct=20)


def test_the_ratios_are_the_cost_of_missing_over_the_whole_spread():
    # import 30, export 10, a local price of 18: missing a kWh costs 12, buying one too many costs 8
    q_bid, q_offer = newsvendor_ratios(import_price=30, export_price=10, bid_local=18, offer_local=18)
    assert q_bid == pytest.approx(0.6)
    assert q_offer == pytest.approx(0.4)


def test_no_spread_means_no_order():
    assert newsvendor_ratios(import_price=20, export_price=20, bid_local=20, offer_local=20) == (0.0, 0.0)


def test_expected_local_price_follows_the_mechanism():
    assert expected_local_prices(mechanism="club", bid_price=21, offer_price=17, match_tariff=18) == (18, 18)
    buy, sell = expected_local_prices(mechanism="uniform", bid_price=21, offer_price=17)
    assert buy == sell == 19
    buy, sell = expected_local_prices(mechanism="pay_as_bid", bid_price=21, offer_price=17, fee_fraction=0.01)
    assert buy == pytest.approx(21.21) and sell == pytest.approx(20.79)


def test_it_bids_the_quantile_not_the_mean():
    history = [100, 200, 300, 400, 1000]  # one evening with guests pulls the mean up to 400
    q_low, _ = quantile_quantities(np.array(history), 0.25, 0.5)
    q_high, _ = quantile_quantities(np.array(history), 0.75, 0.5)
    assert q_low[0] == 200 and q_high[0] == 400
    orders = agent_orders(
        net_wh=400,
        import_price=Decimal("30"),
        export_price=Decimal("10"),
        limits=LIMITS,
        floor=Decimal("0"),
        cap=Decimal("100"),
        history_net_wh=history,
        mechanism="club",
        match_tariff=Decimal("25"),  # buying costs 15 too many, missing saves only 5: bid low (q = 0.25)
    )
    assert [(o.side, o.quantity_wh) for o in orders] == [("bid", 200)]


def test_it_offers_the_quantile_of_its_exports():
    history = [-100, -200, -300, -400, -500]
    orders = agent_orders(
        net_wh=-300,
        import_price=Decimal("30"),
        export_price=Decimal("10"),
        limits=LIMITS,
        floor=Decimal("0"),
        cap=Decimal("100"),
        history_net_wh=history,
        mechanism="club",
        match_tariff=Decimal("25"),  # selling pays 15 over export, a shortfall costs 5: offer high (q = 0.75)
    )
    assert [(o.side, o.quantity_wh) for o in orders] == [("offer", 400)]


def test_a_home_bids_or_offers_never_both():
    h = np.array([[300, -300], [200, -200], [-50, 50], [400, -400]])
    bid, offer = quantile_quantities(h, 0.5, 0.5)
    assert bid[0] > 0 and offer[0] == 0
    assert offer[1] > 0 and bid[1] == 0


def test_a_whole_day_at_once_equals_period_by_period():
    rng = np.random.default_rng(3)
    h = rng.integers(-800, 800, size=(7, 48, 5))
    q = np.array([0.2, 0.4, 0.5, 0.6, 0.9])
    bid, offer = quantile_quantities(h, q, 1 - q)
    for slot in range(48):
        b, o = quantile_quantities(h[:, slot, :], q, 1 - q)
        assert (b == bid[slot]).all() and (o == offer[slot]).all()


def test_expected_gain_counts_spill_at_its_cost():
    # bid 300 Wh; used 300 on one day, 100 on the other: +300*(30-18) and +100*(30-18) - 200*(18-10)
    g = expected_gain_micro(
        np.array([300, 100]), bid_wh=300, offer_wh=0, import_price=30, export_price=10, bid_local=18, offer_local=18
    )
    assert g == pytest.approx((300 * 12 + 100 * 12 - 200 * 8) / 2)


def test_the_floor_is_what_every_day_of_the_history_used():
    h = np.array([[300, -100], [120, -400], [250, -50]])  # days x (a buyer, a seller)
    bid_floor, offer_floor = floor_quantities(h, np.array([280, 0]), np.array([0, 300]), min_days=3)
    assert list(bid_floor) == [120, 0] and list(offer_floor) == [0, 50]
    # never above the order itself
    bid_floor, _ = floor_quantities(h, np.array([100, 0]), np.array([0, 0]), min_days=3)
    # one day of history says nothing is certain
    assert floor_quantities(h[:1], np.array([280, 0]), np.array([0, 300]))[0].tolist() == [0, 0]
    assert bid_floor[0] == 100


def test_every_wh_ordered_floors_first_risks_only_the_budget():
    bid = np.array([[500, 0], [500, 0]])  # two periods x (a buyer, a seller)
    offer = np.array([[0, 400], [0, 400]])
    floor_b = np.array([[100, 0], [100, 0]])
    floor_o = np.array([[0, 100], [0, 100]])
    # nothing to risk: nothing ordered, floors included (history is not certain)
    b, o = within_budget(bid, offer, floor_b, floor_o, bid_risk=10, offer_risk=20, budget=np.array([0, 0]))
    assert b.sum() == 0 and o.sum() == 0
    # 1,000 micro-pence: half the buyer's floors (200 Wh x 10 would risk 2,000), a quarter of the seller's
    b, o = within_budget(bid, offer, floor_b, floor_o, bid_risk=10, offer_risk=20, budget=np.array([1000, 1000]))
    assert b.tolist() == [[50, 0], [50, 0]] and o.tolist() == [[0, 25], [0, 25]]
    # 6,000: the floors whole (2,000 / 4,000), then the rest of the order with what is left
    # (buyer: 4,000 left for 800 Wh x 10 -> half; seller: 2,000 left for 600 Wh x 20 -> a sixth)
    b, o = within_budget(bid, offer, floor_b, floor_o, bid_risk=10, offer_risk=20, budget=np.array([6000, 6000]))
    assert b.tolist() == [[300, 0], [300, 0]] and o.tolist() == [[0, 150], [0, 150]]
    for budget in (0, 1000, 6000, 12345):
        b, o = within_budget(bid, offer, floor_b, floor_o, bid_risk=10, offer_risk=20, budget=np.full(2, budget))
        assert (b * 10 + o * 20).sum(axis=0).max() <= budget
    # plenty won: the newsvendor quantities stand
    b, o = within_budget(bid, offer, floor_b, floor_o, bid_risk=10, offer_risk=20, budget=np.array([1e9, 1e9]))
    assert (b == bid).all() and (o == offer).all()


def test_the_budget_never_lets_a_month_fall_below_the_stake():
    from lem.domain.value import RISK_SHARE, STAKE_MICRO, risk_budget

    assert risk_budget(np.array([0]))[0] == STAKE_MICRO  # nothing won yet: the stake only
    assert risk_budget(np.array([4_000_000]))[0] == RISK_SHARE * 4_000_000 + STAKE_MICRO
    assert risk_budget(np.array([-STAKE_MICRO // 4]))[0] == STAKE_MICRO - STAKE_MICRO // 4  # what is left of it
    assert risk_budget(np.array([-STAKE_MICRO]))[0] == 0
    # whatever the days bring, losing at most each day's budget keeps the month above -stake
    rng = np.random.default_rng(5)
    for _ in range(200):
        banked = 0.0
        for _day in range(31):
            budget = float(risk_budget(np.array([banked]))[0])
            banked += rng.uniform(-budget, 3 * budget)
            assert banked >= -STAKE_MICRO


def test_a_day_is_traded_only_if_it_pays_its_share_of_the_fee():
    assert list(worth_trading_today(np.array([4.0, 6.0]), 5.0)) == [False, True]


def _replay_month(seed: int, homes: int, month: int, rules):
    """``homes`` demo-like simulated homes (the simulator's weather, demand and devices) trading
    for one whole local calendar month of 2025 under ``rules``: (the replay's result, its calendar)."""
    from lem import simyear
    from lem.domain import value as vd

    sites = simyear.demo_like_sites(homes, seed=seed)
    start = datetime(2025, month, 1, tzinfo=ZoneInfo("Europe/London"))
    year = simyear.simulate_year(sites, start=start, days=calendar.monthrange(2025, month)[1], weather_seed=seed)
    cal = simyear.calendar(year)
    m = len(sites)
    members = vd.Members(
        member=np.ones(m, bool),
        household=np.array([s.household for s in sites]),
        fuel_poor=np.zeros(m, bool),
        max_buy=np.full(m, 100.0),
        min_sell=np.zeros(m),
        source=["wind" if s.wind_rated_w else "solar" for s in sites],
    )
    r = vd.replay(
        import_wh=year.import_wh,
        export_wh=year.export_wh,
        members=members,
        rules=rules,
        calendar=cal,
        battery_spare_wh=year.battery_spare_wh,
    )
    return r, cal


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=1, max_value=10_000),
    homes=st.integers(min_value=4, max_value=10),
    month=st.sampled_from([1, 4, 6, 9, 11]),
    mechanism=st.sampled_from(["uniform", "club", "pay_as_bid"]),
)
@example(seed=3384, homes=6, month=4, mechanism="uniform")  # a battery's export counted as certain lost 2p
@example(seed=338, homes=7, month=6, mechanism="uniform")  # found by the full suite: a floor bought, not used, -2p
@example(seed=6444, homes=6, month=9, mechanism="pay_as_bid")  # a battery home's only trade, a floor offer, undelivered
@example(seed=2215, homes=6, month=9, mechanism="uniform")  # the same: -2p
def test_the_agents_trading_never_costs_a_household_more_than_the_supplier_over_a_month(seed, homes, month, mechanism):
    """Simulated homes (the simulator's weather, demand and devices) trade for
    a month through the real agents, clearing and settlement; fees aside, no
    member's month is worse than the supplier alone by more than the agent's
    stake (`value.STAKE_MICRO`, 1p: what it may risk before its month has won
    anything; an agent that trades ahead of the meter cannot promise 0 with
    nothing at stake). History used to be taken as certain: seed 1, 9 homes,
    June lost 40p; the floors (what every one of the last 7 days used) lost a
    few pence until they too came within the month's budget."""
    from lem.domain import value as vd

    rules = vd.ValueRules(
        mechanism=mechanism,
        import_price=Decimal("24.5"),
        peak_import_price=Decimal("32"),
        export_price=Decimal("15"),
        match_tariff=Decimal("20"),
    )
    r, cal = _replay_month(seed, homes, month, rules)
    assert len(cal.month_labels) == 1
    assert r.matched_wh > 0, "the month traded nothing: the property would say nothing"
    worst = r.month_saving_before.min()
    stake_pence = -(-vd.STAKE_MICRO // vd.MICRO)
    assert worst >= -stake_pence, (
        f"a household paid {-worst}p more than the supplier alone in a month (stake {stake_pence}p) "
        f"(seed {seed}, {homes} homes, month {month}, {mechanism})"
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=1, max_value=10_000),
    homes=st.integers(min_value=4, max_value=10),
    month=st.sampled_from([1, 4, 6, 9, 11]),
)
def test_with_the_fee_capped_at_half_the_saving_every_household_that_trading_saved_money_is_better_off(
    seed, homes, month
):
    """A £1.50 membership fee, a 1 % trade fee and the fee capped at 50 % of the month's trading
    saving (shared savings): no household pays a membership fee above half of what its trading
    saved it after trade fees, and every household whose trading saved it anything ends the month
    better off than with the supplier alone, fees included (issue 17: under a fee without the cap,
    homes whose batteries left little to trade paid more in fees than they won)."""
    from lem.domain import value as vd

    rules = vd.ValueRules(
        import_price=Decimal("24.5"),
        export_price=Decimal("15"),
        match_tariff=Decimal("20"),
        fee_pct=Decimal("1"),
        membership_fee=Decimal("1.50"),
        membership_fee_cap_pct=Decimal("50"),
    )
    r, _ = _replay_month(seed, homes, month, rules)
    saved = r.saving_before - r.trade_fees  # what trading saved, trade fees paid
    assert (r.membership <= np.maximum(saved, 0) // 2).all()
    gained = saved > 0
    assert (r.saving_after[gained] > 0).all(), f"seed {seed}, {homes} homes, month {month}"
    assert r.membership.sum() > 0 or not gained.any(), "the cap is not a waiver: households that gained pay"
