from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.coop.domain.errors import CoopError
from assets.coop.domain.interest import (
    Holding,
    Movement,
    holding_penny_days,
    interest_np,
    interest_run,
    penny_days,
    penny_days_np,
)

Y0, Y1 = date(2025, 1, 1), date(2026, 1, 1)


def test_a_full_year_at_four_percent_on_a_thousand_pounds_is_forty_pounds():
    run = interest_run([Movement("ann", date(2024, 6, 1), 100_000)], rate=Decimal("0.04"), start=Y0, end=Y1)
    assert run.as_dict() == {"ann": 4000}
    assert run.declared_total == 4000


def test_interest_runs_from_allotment_and_stops_at_withdrawal():
    # £1,000 allotted 1 Apr (275 days to year end), £400 withdrawn 1 Oct (92 days left)
    moves = [Movement("bob", date(2025, 4, 1), 100_000), Movement("bob", date(2025, 10, 1), -40_000)]
    run = interest_run(moves, rate=Decimal("0.05"), start=Y0, end=Y1)
    exact = Fraction(100_000 * 275 - 40_000 * 92) * Fraction(5, 100) / 365
    assert run.exact == [exact]
    assert run.paid == [round(exact)]


def test_movements_after_the_period_earn_nothing_and_before_earn_the_whole_year():
    pd = penny_days([Movement("a", date(2020, 1, 1), 100), Movement("b", Y1, 100)], Y0, Y1)
    assert pd == {"a": 100 * 365, "b": 0}


def test_it_refuses_a_register_that_withdraws_more_than_held():
    with pytest.raises(CoopError, match="withdraws more"):
        penny_days([Movement("a", Y0, 100), Movement("a", date(2025, 2, 1), -200)], Y0, Y1)


def test_it_refuses_a_negative_rate_and_an_empty_period():
    with pytest.raises(CoopError):
        interest_run([], rate=Decimal("-0.01"), start=Y0, end=Y1)
    with pytest.raises(CoopError):
        interest_run([], rate=Decimal("0.01"), start=Y1, end=Y0)


@st.composite
def registers(draw):
    """Random registers: holdings with allotment and optional withdrawal dates."""
    n = draw(st.integers(min_value=1, max_value=25))
    holdings = []
    for i in range(n):
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            start = Y0 + timedelta(days=draw(st.integers(min_value=-400, max_value=400)))
            end = None
            if draw(st.booleans()):
                end = start + timedelta(days=draw(st.integers(min_value=0, max_value=500)))
            holdings.append(Holding(f"m{i:03d}", draw(st.integers(min_value=1, max_value=10_000_000)), start, end))
    return holdings


def _movements(holdings):
    out = []
    for h in holdings:
        out.append(Movement(h.member, h.start, h.pennies))
        if h.end is not None:
            out.append(Movement(h.member, h.end, -h.pennies))
    return out


rates = st.decimals(min_value=Decimal(0), max_value=Decimal("0.2"), places=4)


@settings(max_examples=200, deadline=None)
@given(holdings=registers(), rate=rates)
def test_random_registers_pay_the_declared_total_to_the_penny(holdings, rate):
    run = interest_run(_movements(holdings), rate=rate, start=Y0, end=Y1)
    assert sum(run.paid) == run.declared_total
    assert all(p >= 0 for p in run.paid)
    # the declared total is the exact total rounded once
    assert abs(run.declared_total - sum(run.exact)) <= Fraction(1, 2)
    # each member within a penny of amount × rate × days ÷ 365 over their holdings
    by_holding = holding_penny_days(holdings, Y0, Y1)
    for member, paid in run.as_dict().items():
        exact = Fraction(by_holding.get(member, 0)) * Fraction(rate) / 365
        assert abs(paid - exact) < 1 + Fraction(1, 2)  # rounding of total moves at most ½p overall


@settings(max_examples=200, deadline=None)
@given(holdings=registers(), total=st.integers(min_value=0, max_value=10**8))
def test_a_declared_sum_is_shared_pro_rata_within_a_penny(holdings, total):
    moves = _movements(holdings)
    pd = penny_days(moves, Y0, Y1)
    if sum(pd.values()) == 0:
        return
    run = interest_run(moves, rate=Decimal(0), start=Y0, end=Y1, declared_total=total)
    assert sum(run.paid) == total
    s = sum(run.penny_days)
    for paid, w in zip(run.paid, run.penny_days, strict=False):
        assert paid >= 0
        assert abs(paid * s - total * w) < s


@settings(max_examples=100, deadline=None)
@given(holdings=registers(), rate=rates)
def test_the_vectorised_run_pays_exactly_what_the_reference_run_pays(holdings, rate):
    moves = _movements(holdings)
    run = interest_run(moves, rate=rate, start=Y0, end=Y1)
    index = {m: i for i, m in enumerate(run.members)}
    w = penny_days_np(
        np.array([index[m.member] for m in moves]),
        np.array([m.day.toordinal() for m in moves]),
        np.array([m.pennies for m in moves]),
        start=Y0.toordinal(),
        end=Y1.toordinal(),
        n_members=len(run.members),
    )
    assert w.tolist() == run.penny_days
    total, paid = interest_np(w, rate)
    assert total == run.declared_total
    assert paid.tolist() == run.paid
