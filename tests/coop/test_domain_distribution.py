from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.coop.domain.distribution import (
    DONATE,
    PAY,
    REINVEST,
    Proposal,
    max_affordable_rate,
    run_distribution,
)
from assets.coop.domain.errors import CoopError
from assets.coop.domain.rules import COOP, SocietyRules

CBS_RULES = SocietyRules()
COOP_RULES = SocietyRules(kind=COOP)


def _w(*pounds_full_year):
    return np.array([p * 100 * 365 for p in pounds_full_year], dtype=np.int64)


def test_members_are_paid_interest_on_their_shares():
    r = run_distribution(
        CBS_RULES,
        Proposal(surplus=Decimal(1000), interest_rate=Decimal("0.04")),
        penny_days=_w(1000, 500),
        holdings=np.array([100_000, 50_000]),
    )
    assert r.interest.tolist() == [4000, 2000]
    assert r.cash.tolist() == [4000, 2000]
    assert r.totals()["interest"] == Decimal("60.00")


def test_a_distribution_larger_than_the_surplus_is_refused():
    with pytest.raises(CoopError, match="larger than the surplus"):
        run_distribution(
            CBS_RULES,
            Proposal(surplus=Decimal(50), interest_rate=Decimal("0.04"), fund_contribution=Decimal(0)),
            penny_days=_w(1000, 500),
            holdings=np.array([100_000, 50_000]),
        )


def test_a_rate_above_the_rules_cap_is_refused():
    with pytest.raises(CoopError, match="cap interest at 5.00%"):
        run_distribution(
            CBS_RULES,
            Proposal(surplus=Decimal(100000), interest_rate=Decimal("0.06")),
            penny_days=_w(1000),
            holdings=np.array([100_000]),
        )


def test_a_community_benefit_society_cannot_pay_a_dividend_but_a_coop_can():
    p = Proposal(surplus=Decimal(1000), interest_rate=Decimal("0.02"), dividend_total=Decimal(100))
    with pytest.raises(CoopError, match="never a dividend"):
        run_distribution(CBS_RULES, p, penny_days=_w(1000, 1000), holdings=np.array([1, 1]))
    r = run_distribution(
        COOP_RULES, p, penny_days=_w(1000, 1000), holdings=np.array([1, 1]), patronage=np.array([3, 1])
    )
    assert r.dividend.tolist() == [7500, 2500]


def test_reinvestment_buys_whole_shares_within_the_cap_and_pays_the_rest():
    rules = SocietyRules(max_holding=Decimal(1010))
    r = run_distribution(
        rules,
        Proposal(surplus=Decimal(1000), interest_rate=Decimal("0.05")),
        penny_days=_w(300, 1000, 1000),
        holdings=np.array([30_000, 100_000, 100_000]),
        choices=np.array([REINVEST, REINVEST, DONATE]),
    )
    # £15.00 -> 15 shares; £50 but only £10 room -> 10 shares + £40 cash; £50 donated
    assert r.new_shares.tolist() == [15, 10, 0]
    assert r.cash.tolist() == [0, 4000, 0]
    assert r.donated.tolist() == [0, 0, 5000]
    assert r.totals()["to_fund"] == Decimal("50.00")


def test_the_affordable_rate_never_costs_more_than_the_surplus():
    w = _w(1234, 999, 17)
    rate = max_affordable_rate(surplus=Decimal("33.33"), total_penny_days=int(w.sum()))
    r = run_distribution(
        SocietyRules(max_interest_rate=Decimal("0.2")),
        Proposal(surplus=Decimal("33.33"), interest_rate=rate),
        penny_days=w,
        holdings=np.zeros(3, dtype=np.int64),
    )
    assert r.interest_total <= 3333
    assert rate == max_affordable_rate(surplus=Decimal("33.33"), total_penny_days=int(w.sum()))
    assert max_affordable_rate(surplus=Decimal("1e6"), total_penny_days=int(w.sum()), rules=CBS_RULES) == Decimal(
        "0.05"
    )


@settings(max_examples=150, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=80),
    rate=st.decimals(min_value=Decimal(0), max_value=Decimal("0.05"), places=4),
    choices=st.lists(st.sampled_from([PAY, REINVEST, DONATE]), min_size=80, max_size=80),
    dividend=st.integers(min_value=0, max_value=10**6),
)
def test_every_penny_declared_is_paid_reinvested_or_donated_and_none_is_negative(weights, rate, choices, dividend):
    w = np.array(weights, dtype=np.int64)
    if w.sum() == 0:
        dividend = 0
    n = w.size
    rules = SocietyRules(kind=COOP)
    r = run_distribution(
        rules,
        Proposal(surplus=Decimal(10000000), interest_rate=rate, dividend_total=Decimal(dividend) / 100),
        penny_days=w,
        holdings=np.zeros(n, dtype=np.int64),
        choices=np.array(choices[:n]),
    )
    assert int(r.interest.sum()) == r.interest_total
    assert int(r.dividend.sum()) == r.dividend_total == dividend
    assert (r.cash >= 0).all() and (r.reinvested >= 0).all() and (r.donated >= 0).all()
    assert (r.cash + r.reinvested + r.donated == r.interest + r.dividend).all()
