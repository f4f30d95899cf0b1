"""The market's write paths end to end: orders -> clearing -> settlement -> ledger."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from community.errors import DomainError
from community.models import JournalEntry, JournalLine
from community.selectors import account_balances, ledger_verify
from lem import selectors, services
from lem.models import ClearingRun, Order, RuleVersion, SettlementLine, SettlementRun, Trade

from .factories import NOW, PERIOD, make_market, place, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def mw(world):
    return make_market(world)


# ----------------------------------------------------------------- orders


@pytest.mark.parametrize(
    "change, message",
    [
        ({"quantity_wh": 0}, "more than 0 Wh"),
        ({"quantity_wh": -5}, "more than 0 Wh"),
        ({"quantity_wh": "lots"}, "whole number of Wh"),
        ({"price": Decimal("100.5")}, "between 0 and 100 p/kWh"),
        ({"price": Decimal("-1")}, "between"),
        ({"price": Decimal("1.2345")}, "3 decimal places"),
        ({"period_start": PERIOD - timedelta(hours=1)}, "already started"),
        ({"period_start": PERIOD + timedelta(minutes=7)}, "30-minute boundary"),
        ({"side": "swap"}, "is a bid"),
        ({"nominees": [1, 2, 3, 4]}, "at most three"),
    ],
)
def test_bad_orders_are_refused_with_a_clear_message_and_nothing_is_written(mw, change, message):
    args = dict(side="bid", quantity_wh=500, price=Decimal("20"), period_start=PERIOD)
    args.update(change)
    with pytest.raises(DomainError, match=message):
        services.order_place(participant=mw.buyer, actor=mw.buyer.user, now=NOW, **args)
    assert Order.objects.count() == 0


def test_orders_after_gate_closure_are_refused(mw):
    late = PERIOD - timedelta(minutes=mw.market.gate_closure_minutes)
    with pytest.raises(DomainError, match="Gate closure for that period has passed"):
        place(mw, mw.buyer, "bid", 100, "20", now=late)


def test_a_household_cannot_order_for_a_site_it_does_not_own(mw):
    with pytest.raises(DomainError, match="your own site"):
        services.order_place(
            participant=mw.buyer,
            actor=mw.seller.user,
            side="bid",
            quantity_wh=100,
            price=Decimal("20"),
            period_start=PERIOD,
            now=NOW,
        )


def test_the_market_operator_may_not_trade(mw, world):
    from community.models import Membership

    Membership.objects.create(community=world.community, user=world.neighbour, role="market_operator")
    with pytest.raises(DomainError, match="may not trade"):
        place(mw, mw.buyer, "bid", 100, "20")


def test_orders_are_editable_and_cancellable_until_gate_closure_then_frozen(mw):
    o = place(mw, mw.buyer, "bid", 100, "20")
    services.order_update(order=o, actor=mw.buyer.user, quantity_wh=200, price="21", now=NOW)
    o.refresh_from_db()
    assert (o.quantity_wh, o.price) == (200, Decimal("21.000"))
    frozen_at = PERIOD - timedelta(minutes=mw.market.gate_closure_minutes)
    with pytest.raises(DomainError, match="frozen"):
        services.order_cancel(order=o, actor=mw.buyer.user, now=frozen_at)
    services.order_cancel(order=o, actor=mw.buyer.user, now=NOW)
    assert Order.objects.get(pk=o.pk).status == Order.Status.CANCELLED


def test_a_member_over_their_credit_limit_cannot_bid_and_is_told_why(mw):
    mw.buyer.credit_limit = Decimal("0.00")
    mw.buyer.save()
    _trade_and_settle(mw)  # the buyer now owes money
    with pytest.raises(DomainError, match="over your credit limit of £0.00"):
        place(mw, mw.buyer, "bid", 100, "20", period=PERIOD + timedelta(hours=2), now=NOW + timedelta(hours=1))
    # offers are still allowed: selling reduces what they owe
    place(mw, mw.buyer, "offer", 100, "20", period=PERIOD + timedelta(hours=2), now=NOW + timedelta(hours=1))


# ----------------------------------------------------------------- clearing


def _trade_and_settle(mw, buyer_import=1000, seller_export=1000):
    place(mw, mw.seller, "offer", 1000, "12")
    place(mw, mw.buyer, "bid", 1000, "25")
    run = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    reading(mw.buyer, PERIOD, buyer_import, 0)
    reading(mw.seller, PERIOD, 0, seller_export)
    st = services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=1))
    return run, st


def test_clearing_at_gate_closure_makes_trades_at_one_price_and_is_idempotent(mw):
    place(mw, mw.seller, "offer", 1000, "12")
    place(mw, mw.buyer, "bid", 600, "25")
    with pytest.raises(DomainError, match="has not passed yet"):
        services.market_clear(market=mw.market, period_start=PERIOD, now=NOW)
    run = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD - timedelta(minutes=15))
    assert run.status == ClearingRun.Status.DONE
    assert run.volume_wh == 600
    assert run.clearing_price == Decimal("12.000")  # the offer is only part-filled: no price above 12 clears
    t = Trade.objects.get()
    assert (t.buyer, t.seller, t.quantity_wh, t.energy_source) == (mw.buyer, mw.seller, 600, "solar")
    again = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    assert again.pk == run.pk and Trade.objects.count() == 1
    assert set(Order.objects.values_list("status", flat=True)) == {"cleared"}


def test_an_empty_or_one_sided_book_clears_with_no_trades_and_says_so(mw):
    run = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    assert run.volume_wh == 0 and "empty" in run.message
    p2 = PERIOD + timedelta(minutes=30)
    place(mw, mw.buyer, "bid", 100, "20", period=p2)
    run = services.market_clear(market=mw.market, period_start=p2, now=p2)
    assert "no offers" in run.message


def test_a_past_period_replays_to_the_identical_result_and_explains_itself(mw):
    place(mw, mw.seller, "offer", 1000, "12")
    bid = place(mw, mw.buyer, "bid", 1500, "25")
    run = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    replay = services.market_replay(run=run)
    assert replay.identical, replay.message
    bid.refresh_from_db()
    assert "Matched 1000 of 1500 Wh" in services.explain_order(bid)
    # tampering with the stored book is detected
    Order.objects.filter(pk=bid.pk).update(price=Decimal("99"))
    assert not services.market_replay(run=run).identical


def test_a_binding_feeder_limit_splits_prices_and_the_run_says_which(mw, world):
    # Feeder A (the seller's) may export 100 kW -> 50 kWh per half hour
    place(mw, mw.seller, "offer", 80_000, "5")
    place(mw, mw.buyer, "bid", 80_000, "25")
    run = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    assert run.volume_wh == 50_000
    assert run.binding and run.binding[0]["node"] == "Feeder A" and run.binding[0]["direction"] == "export"
    assert run.area_prices["Feeder A"] == "5.000"


# ----------------------------------------------------------------- settlement and ledger


def test_settlement_charges_trades_and_imbalances_and_the_ledger_balances(mw, world):
    run, st = _trade_and_settle(mw, buyer_import=1500, seller_export=800)
    assert st.status == SettlementRun.Status.SETTLED
    price = run.clearing_price  # 18.5
    buyer = SettlementLine.objects.get(run=st, participant=mw.buyer)
    seller = SettlementLine.objects.get(run=st, participant=mw.seller)
    assert buyer.local_cost == Decimal("0.19")  # 1 kWh x 18.5p -> 18.5p, rounded half up
    assert buyer.supplier_cost == Decimal("0.15")  # 500 Wh more than bought, at 30p
    assert seller.local_income == Decimal("0.19")  # same price both sides: the same pennies
    assert seller.supplier_cost == Decimal("0.06")  # 200 Wh sold but not delivered, at 30p
    assert price == Decimal("18.500")
    v = ledger_verify(world.community)
    assert v.ok
    bal = account_balances(world.community, "lem:")
    assert sum(bal.values()) == 0
    assert bal[f"lem:member:{mw.buyer.pk}"] == Decimal("0.34")


def test_settlement_waits_for_meter_data_and_never_settles_on_zeros(mw):
    place(mw, mw.seller, "offer", 1000, "12")
    place(mw, mw.buyer, "bid", 1000, "25")
    services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    reading(mw.buyer, PERIOD, 1000, 0)
    st = services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=1))
    assert st.status == SettlementRun.Status.PENDING
    assert st.missing == [mw.seller.pk]
    assert JournalEntry.objects.count() == 0 and SettlementLine.objects.count() == 0


def test_rerunning_settlement_changes_nothing_and_late_data_is_corrected_by_reversal(mw, world):
    _, st = _trade_and_settle(mw)
    entries = JournalEntry.objects.count()
    again = services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=2))
    assert again.revision == 0 and JournalEntry.objects.count() == entries
    # a corrected reading arrives late: the buyer used 2 kWh, not 1
    reading(mw.buyer, PERIOD, 2000, 0)
    st = services.settlement_settle_period(market=mw.market, period_start=PERIOD, now=PERIOD + timedelta(hours=3))
    assert st.revision == 1 and "Re-settled" in st.message
    assert JournalEntry.objects.filter(reverses__isnull=False).count() == 1
    bal = account_balances(world.community, "lem:")
    # net: 18.5p locally + 1 kWh at 30p = 49p (rounded per side); nothing counted twice
    assert bal[f"lem:member:{mw.buyer.pk}"] == Decimal("0.49")
    assert ledger_verify(world.community).ok
    call_command("verify_ledger")


def test_editing_a_stored_ledger_line_makes_verification_fail(mw, world):
    _trade_and_settle(mw)
    line = JournalLine.objects.filter(entry__source="lem.settlement").first()
    JournalLine.objects.filter(pk=line.pk).update(amount=line.amount + Decimal("0.01"))
    assert not ledger_verify(world.community).ok


def test_membership_fees_are_charged_once_a_month(mw, world):
    """Pro rata for the days traded (issue 17): one day of June's 30 is 1/30 of £2.50."""
    from datetime import date

    from lem.models import MonthlyCharge

    _trade_and_settle(mw)
    assert services.membership_fees_post(market=mw.market, month=date(2026, 6, 1)) == 2
    assert services.membership_fees_post(market=mw.market, month=date(2026, 6, 1)) == 0
    assert MonthlyCharge.objects.get(participant=mw.buyer).amount == Decimal("0.08")


def test_payments_reduce_what_a_member_owes(mw, world):
    _trade_and_settle(mw)
    owes = services.participant_owes(mw.buyer)
    services.payment_record(
        participant=mw.buyer, actor=world.users["market_operator"], amount=str(owes), reference="BACS-1"
    )
    assert services.participant_owes(mw.buyer) == 0
    with pytest.raises(DomainError, match="already recorded"):
        services.payment_record(
            participant=mw.buyer, actor=world.users["market_operator"], amount="1.00", reference="BACS-1"
        )
    with pytest.raises(DomainError, match="Only the market operator"):
        services.payment_record(participant=mw.buyer, actor=mw.buyer.user, amount="1.00", reference="X")


def test_the_monthly_statement_adds_up_and_shows_savings_and_provenance(mw):
    from datetime import date

    _trade_and_settle(mw, buyer_import=1500, seller_export=1000)
    services.membership_fees_post(market=mw.market, month=date(2026, 6, 1))
    s = selectors.statement(mw.buyer, date(2026, 6, 1))
    assert s.bought_local_wh == 1000 and s.from_supplier_wh == 500
    assert (
        s.total
        == s.local_cost + s.supplier_cost + s.fees - s.discount + s.membership_fee - s.local_income - s.supplier_income
    )
    assert s.supplier_only == Decimal("0.45")  # 1.5 kWh x 30p
    assert s.savings == s.supplier_only - s.total
    assert s.sources[0]["source"] == "solar" and s.sources[0]["wh"] == 1000


# ----------------------------------------------------------------- rules


def test_rule_changes_apply_only_after_the_members_vote(mw, world):
    later = NOW + timedelta(days=2)
    rule = services.rule_propose(
        market=mw.market,
        actor=world.users["member"],
        values={**_rules(), "import_price": "32"},
        effective_from=later,
        reason="Supplier raised prices",
        now=NOW,
    )
    assert rule.status == RuleVersion.Status.PROPOSED
    assert services.rules_in_force(mw.market, later + timedelta(hours=1)).number == 1
    services.rule_vote(rule=rule, voter=world.users["member"], choice="yes")
    services.rule_vote(rule=rule, voter=world.neighbour, choice="yes")
    services.rule_vote(rule=rule, voter=world.neighbour, choice="no")  # changing your vote keeps one vote
    with pytest.raises(DomainError, match="Only members"):
        services.rule_vote(rule=rule, voter=world.users["funder"], choice="yes")
    assert rule.votes.count() == 2
    services.rule_vote(rule=rule, voter=world.neighbour, choice="yes")
    services.rule_decide(rule=rule, actor=world.users["market_operator"], now=NOW + timedelta(days=1))
    rule.refresh_from_db()
    assert rule.status == RuleVersion.Status.APPROVED
    assert services.rules_in_force(mw.market, later + timedelta(hours=1)).import_price == Decimal("32")
    assert services.rules_in_force(mw.market, NOW).number == 1  # the past keeps its rules


def _rules():
    from .factories import RULES

    return dict(RULES)


def test_each_clearing_and_settlement_records_the_rule_version_it_used(mw):
    run, st = _trade_and_settle(mw)
    assert run.rule.number == 1 and st.rule.number == 1


# ----------------------------------------------------------------- agent


def test_the_agent_bids_for_a_forecast_need_within_the_households_limits(mw):
    for d in range(1, 8):
        reading(mw.buyer, PERIOD - timedelta(days=d), 800, 0)
        reading(mw.seller, PERIOD - timedelta(days=d), 0, 1200)
    mw.buyer.max_buy_price = Decimal("20")
    mw.buyer.save()
    made = services.agent_place_orders(market=mw.market, period_start=PERIOD, now=NOW)
    assert made == 2
    bid = Order.objects.get(participant=mw.buyer)
    offer = Order.objects.get(participant=mw.seller)
    # nothing won this month yet: only what the 1p stake covers if none of it were
    # used (bought at 20p, sold back at 10p) or delivered (sold at 16.667p, bought in at 30p)
    assert (bid.side, bid.quantity_wh, bid.price, bid.source) == ("bid", 100, Decimal("20.000"), "agent")
    assert (offer.side, offer.quantity_wh) == ("offer", 75)
    assert offer.price >= mw.seller.min_sell_price
    assert services.agent_place_orders(market=mw.market, period_start=PERIOD, now=NOW) == 0


def test_a_month_settled_in_one_batch_equals_period_by_period_settlement(mw, world):
    from lem.batch import settlement_settle_range
    from lem.domain import settlement as sm

    mw.buyer.fuel_poor = True
    mw.buyer.save()
    periods = [PERIOD + timedelta(minutes=30 * i) for i in range(4)]
    for i, p in enumerate(periods):
        place(mw, mw.seller, "offer", 700 + 100 * i, "12", period=p)
        place(mw, mw.buyer, "bid", 900, "25", period=p)
        services.market_clear(market=mw.market, period_start=p, now=p)
        if i != 3:  # the last period's seller reading is missing
            reading(mw.seller, p, 0, 650 + 90 * i)
        reading(mw.buyer, p, 1000 + 37 * i, 0)
    out = settlement_settle_range(
        market=mw.market, start=periods[0], end=periods[-1] + timedelta(minutes=30), now=PERIOD + timedelta(days=1)
    )
    assert out == {"settled": 3, "pending": 1, "skipped": 0}
    assert SettlementRun.objects.get(period_start=periods[3]).missing == [mw.seller.pk]
    entries = JournalEntry.objects.count()
    for p in periods[:3]:
        inputs = services._period_inputs(mw.market, p)
        rule = services.rules_in_force(mw.market, p)
        one = sm.settle_period(
            members=[x.id for x in inputs.participants],
            trades=inputs.trades,
            meters=inputs.meters,
            rules=services._rules_for(rule, mw.market, p),
            fuel_poor=[mw.buyer.pk],
        )
        for part in (mw.buyer, mw.seller):
            (line,) = selectors.statement_periods(part, p, p + timedelta(minutes=30))
            assert line.total * 100 == one.member_bill(part.pk)
        # the per-period service sees nothing new: same state hash, nothing re-posted
        run = services.settlement_settle_period(market=mw.market, period_start=p, now=PERIOD + timedelta(days=1))
        assert run.revision == 0
    assert JournalEntry.objects.count() == entries
    assert ledger_verify(world.community).ok
    # the missing reading arrives: the per-period path settles the last period
    reading(mw.seller, periods[3], 0, 800)
    assert services.settlement_settle_due(market=mw.market, now=PERIOD + timedelta(days=1)) >= 1
    assert SettlementRun.objects.get(period_start=periods[3]).status == "settled"


def test_a_late_reading_for_a_batch_settled_period_is_corrected_with_the_difference(mw, world):
    from community.models import LedgerAccount
    from community.selectors import account_balance
    from lem.batch import settlement_settle_range

    periods = [PERIOD + timedelta(minutes=30 * i) for i in range(3)]
    for p in periods:
        place(mw, mw.seller, "offer", 800, "12", period=p)
        place(mw, mw.buyer, "bid", 900, "25", period=p)
        services.market_clear(market=mw.market, period_start=p, now=p)
        reading(mw.seller, p, 0, 700)
        reading(mw.buyer, p, 1000, 0)
    later = PERIOD + timedelta(days=1)
    settlement_settle_range(market=mw.market, start=periods[0], end=periods[-1] + timedelta(minutes=30), now=later)
    assert JournalEntry.objects.filter(source="lem.settlement").count() == 1  # one entry for the day

    def check_ledger_matches_lines():
        for part in (mw.buyer, mw.seller):
            acc = LedgerAccount.objects.get(community=world.community, code=f"lem:member:{part.pk}")
            lines = sum(x.total for x in SettlementLine.objects.filter(participant=part))
            assert account_balance(acc) == lines
        assert ledger_verify(world.community).ok

    check_ledger_matches_lines()
    reading(mw.buyer, periods[1], 2500, 0)  # corrected: the buyer used much more
    services.settlement_settle_due(market=mw.market, now=later + timedelta(minutes=5))
    run = SettlementRun.objects.get(period_start=periods[1])
    assert run.revision == 1
    assert JournalEntry.objects.filter(idempotency_key__endswith=":correction").count() == 1
    check_ledger_matches_lines()
    # and once more, unchanged: nothing new
    n = JournalEntry.objects.count()
    services.settlement_settle_period(market=mw.market, period_start=periods[1], now=later + timedelta(minutes=9))
    assert JournalEntry.objects.count() == n


def test_a_renewable_only_bid_takes_solar_but_not_grid_energy(mw, world):
    from lem.models import Participant

    third = Participant.objects.create(
        market=mw.market, site=world.school, user=world.users["member"], pseudonym="School"
    )
    place(mw, mw.seller, "offer", 300, "10", energy_source="solar")
    services.order_place(
        participant=third,
        actor=None,
        source="agent",
        side="offer",
        quantity_wh=300,
        price="5",
        period_start=PERIOD,
        energy_source="grid",
        now=NOW,
    )
    bid = place(mw, mw.buyer, "bid", 500, "25", renewable_only=True)
    services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    bid.refresh_from_db()
    assert bid.filled_wh == 300
    assert set(Trade.objects.values_list("energy_source", flat=True)) == {"solar"}


def test_a_club_market_shares_local_generation_at_the_match_tariff(world):
    from .factories import RULES

    mw = make_market(world, rules={**RULES, "mechanism": "club", "match_tariff": "18"})
    place(mw, mw.seller, "offer", 600, "12")  # willing at the tariff: a club never trades outside a limit
    place(mw, mw.buyer, "bid", 1000, "25")
    run = services.market_clear(market=mw.market, period_start=PERIOD, now=PERIOD)
    assert run.mechanism == "club" and run.volume_wh == 600
    assert set(Trade.objects.values_list("buyer_price", flat=True)) == {Decimal("18.000")}
