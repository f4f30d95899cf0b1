from datetime import date
from decimal import Decimal

import pytest

from assets.coop.domain.errors import CoopError
from assets.coop.domain.register import (
    RegisterLine,
    annual_return,
    balances,
    check_transfer,
)
from assets.coop.domain.rules import COOP, SocietyRules, rules_problems, validate_rules
from assets.coop.domain.withdrawals import (
    WithdrawalRequest,
    check_request,
    process_queue,
)


def test_usual_community_share_rules_are_valid():
    assert validate_rules(SocietyRules()) == SocietyRules()
    assert SocietyRules(kind=COOP).may_pay_dividend and not SocietyRules().may_pay_dividend


def test_rules_above_the_statutory_cap_or_inconsistent_are_refused_with_every_reason():
    bad = SocietyRules(
        max_holding=Decimal(150000),
        min_holding=Decimal(200000),
        target_interest_rate=Decimal("0.06"),
        withdrawable=False,
        transferable=False,
    )
    problems = rules_problems(bad)
    assert any("more than the maximum holding" in p for p in problems)
    assert any("target interest rate" in p for p in problems)
    assert any("neither withdrawable nor transferable" in p for p in problems)
    with pytest.raises(CoopError) as err:
        validate_rules(SocietyRules(max_holding=Decimal(150000)))
    assert "s.24" in str(err.value)


def test_transfers_only_where_the_rules_allow():
    with pytest.raises(CoopError, match="not transferable"):
        check_transfer(SocietyRules(), pennies=100, from_holding=1000, to_holding=0, min_holding=0, max_holding=10**9)
    check_transfer(
        SocietyRules(transferable=True), pennies=100, from_holding=1000, to_holding=0, min_holding=0, max_holding=10**9
    )


def test_a_withdrawal_may_not_leave_less_than_the_minimum():
    with pytest.raises(CoopError, match="withdraw everything or at most £50.00"):
        check_request(SocietyRules(), pennies=10_000, holding=15_000, min_holding=10_000)
    check_request(SocietyRules(), pennies=15_000, holding=15_000, min_holding=10_000)


def _req(key, pounds, notice, held_since=date(2020, 1, 1), on_death=False):
    return WithdrawalRequest(key, key, pounds * 100, notice, held_since, pounds * 100, on_death)


def test_the_queue_pays_in_notice_order_and_nobody_jumps_it():
    rules = SocietyRules(notice_period_days=90)
    reqs = [
        _req("late", 100, date(2025, 3, 1)),
        _req("first", 500, date(2025, 1, 1)),
        _req("second", 800, date(2025, 2, 1)),
        _req("new", 100, date(2025, 12, 1)),
    ]
    r = process_queue(rules, reqs, today=date(2025, 7, 1), budget=100_000)
    assert [x.key for x in r.pay] == ["first"]  # £500 paid; £800 does not fit £500 left
    assert [x.key for x in r.waiting] == ["second", "late"]  # the £100 does not overtake
    assert [x.key for x in r.not_due] == ["new"]
    assert r.paid_total == 50_000


def test_the_holding_period_and_suspension_hold_payments_but_a_death_does_not_wait():
    rules = SocietyRules(min_holding_period_years=3)
    reqs = [
        _req("young", 100, date(2025, 1, 1), held_since=date(2024, 1, 1)),
        _req("estate", 100, date(2025, 6, 30), held_since=date(2024, 1, 1), on_death=True),
    ]
    r = process_queue(rules, reqs, today=date(2025, 7, 1), budget=10**6)
    assert [x.key for x in r.pay] == ["estate"] and [x.key for x in r.not_due] == ["young"]
    r = process_queue(SocietyRules(withdrawals_suspended=True), reqs, today=date(2030, 1, 1), budget=10**6)
    assert r.pay == [] and "suspended" in r.message


def test_annual_return_figures():
    lines = [
        RegisterLine("a", date(2024, 5, 1), "allot", 50_000),
        RegisterLine("b", date(2025, 3, 1), "allot", 20_000),
        RegisterLine("c", date(2025, 3, 1), "allot", 10_000),
        RegisterLine("a", date(2025, 9, 1), "withdraw", -50_000),
        RegisterLine("b", date(2025, 12, 31), "reinvest", 800),
        RegisterLine("c", date(2026, 1, 2), "withdraw", -10_000),
    ]
    ar = annual_return(
        lines,
        year_start=date(2025, 1, 1),
        year_end=date(2025, 12, 31),
        interest_payments=[(date(2025, 12, 31), 1234), (date(2024, 12, 31), 999)],
    )
    assert (ar.members_at_start, ar.members_at_end) == (1, 2)
    assert (ar.share_capital_at_start, ar.share_capital_at_end) == (50_000, 30_800)
    assert (ar.shares_issued, ar.shares_withdrawn, ar.interest_paid) == (30_800, 50_000, 1234)
    assert balances(lines) == {"a": 0, "b": 20_800, "c": 0}
