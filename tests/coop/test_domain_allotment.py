from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.coop.domain.allotment import (
    LEVEL,
    PRO_RATA,
    Application,
    OfferTerms,
    allot,
    check_application,
    offer_terms_problems,
)
from assets.coop.domain.errors import CoopError
from assets.coop.domain.rules import SocietyRules

RULES = SocietyRules(min_holding=Decimal(100), max_holding=Decimal(20000))
TERMS = OfferTerms(
    min_raise=Decimal(1000),
    target_raise=Decimal(2000),
    max_raise=Decimal(3000),
    min_application=Decimal(100),
    max_application=Decimal(20000),
)


def app(key, pounds, paid=None, existing=0):
    paid = pounds if paid is None else paid
    return Application(key, pounds * 100, paid * 100, existing * 100)


def test_applications_outside_the_limits_are_refused_with_the_limit():
    with pytest.raises(CoopError, match="minimum application is £100"):
        check_application(RULES, TERMS, amount=Decimal(50))
    with pytest.raises(CoopError, match="maximum application is £20,000"):
        check_application(RULES, TERMS, amount=Decimal(25000))
    with pytest.raises(CoopError, match="at most £20,000; you already hold £19,950"):
        check_application(RULES, TERMS, amount=Decimal(100), existing_holding=Decimal(19950))
    with pytest.raises(CoopError, match="whole number"):
        check_application(SocietyRules(share_price=Decimal(5)), TERMS, amount=Decimal(101))
    assert check_application(RULES, TERMS, amount=Decimal(250)) == 250


def test_an_offer_below_its_minimum_returns_all_money():
    r = allot(RULES, TERMS, [app("a", 500), app("b", 400)])
    assert not r.succeeded
    assert [x.refund for x in r.lines] == [50_000, 40_000]
    assert r.total_allotted == 0
    assert "below its minimum" in r.message


def test_an_offer_within_its_maximum_allots_what_was_paid_and_refunds_overpayment():
    r = allot(RULES, TERMS, [app("a", 500, paid=520), app("b", 1000)])
    assert r.succeeded and not r.scaled_back
    assert [(x.shares, x.refund) for x in r.lines] == [(500, 2000), (1000, 0)]


def test_an_oversubscribed_offer_is_scaled_back_pro_rata_keeping_minimum_holdings():
    r = allot(RULES, TERMS, [app("a", 100), app("b", 2000), app("c", 4000)])
    assert r.scaled_back
    shares = [x.shares for x in r.lines]
    assert sum(shares) == 3000
    assert shares[0] >= 100  # nobody below the minimum holding
    # after the three minimums, 2,700 shares go pro rata to 0 : 1,900 : 3,900 asked beyond them:
    # 884.48 and 1,815.52 -> 884 and 1,816 by largest remainder
    assert shares == [100, 100 + 884, 100 + 1816]
    assert sum(x.refund for x in r.lines) == (6100 - 3000) * 100


def test_levelling_scales_back_the_largest_applications_first():
    r = allot(RULES, TERMS, [app("a", 100), app("b", 2000), app("c", 4000)], method=LEVEL)
    assert [x.shares for x in r.lines] == [100, 1450, 1450]


def test_existing_members_topping_up_need_no_minimum():
    r = allot(RULES, TERMS, [app("a", 1, existing=100), app("b", 5000)], method=PRO_RATA)
    assert r.lines[0].shares >= 0 and sum(x.shares for x in r.lines) == 3000


def test_offer_terms_are_checked():
    bad = OfferTerms(
        min_raise=Decimal(5),
        target_raise=Decimal(1),
        max_raise=Decimal(10),
        min_application=Decimal(10),
        max_application=Decimal(200000),
    )
    problems = offer_terms_problems(RULES, bad)
    assert any("minimum ≤ target ≤ maximum" in p for p in problems)
    assert any("maximum holding" in p for p in problems)


@settings(max_examples=200, deadline=None)
@given(
    apps=st.lists(st.tuples(st.integers(1, 6000), st.integers(0, 6000), st.integers(0, 300)), min_size=1, max_size=30),
    max_raise=st.integers(1000, 20000),
    method=st.sampled_from([PRO_RATA, LEVEL]),
)
def test_allotment_never_exceeds_the_offer_payments_or_holding_rules(apps, max_raise, method):
    terms = OfferTerms(
        min_raise=Decimal(500),
        target_raise=Decimal(max_raise),
        max_raise=Decimal(max_raise),
        min_application=Decimal(1),
        max_application=Decimal(20000),
    )
    applications = [app(i, a, p, e) for i, (a, p, e) in enumerate(apps)]
    r = allot(RULES, terms, applications, method=method)
    assert r.total_allotted + r.total_refunded == r.total_received
    assert r.total_allotted <= max_raise * 100
    for a, line in zip(applications, r.lines, strict=False):
        assert 0 <= line.allotted <= min(a.paid, a.applied)
        assert line.refund == a.paid - line.allotted >= 0
        held = a.existing + line.allotted
        if line.shares:
            assert 100 * 100 <= held <= 20000 * 100
    if r.succeeded and not r.scaled_back:
        # everybody who could reach the minimum got all they paid for
        assert all(
            line.shares * 100 == min(a.paid, a.applied) // 100 * 100 or line.shares == 0
            for a, line in zip(applications, r.lines, strict=False)
        )
