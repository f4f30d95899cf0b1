from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.coop import selectors, services
from assets.coop.models import Distribution, DistributionLine, FundPayment, Member, ShareTransaction
from community.errors import DomainError
from community.selectors import account_balances, ledger_verify

from .factories import funded_society

pytestmark = pytest.mark.django_db
Y0, Y1 = date(2025, 1, 1), date(2026, 1, 1)


def test_interest_runs_from_allotment_for_the_days_held(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 500}, allot_on=date(2025, 4, 1))  # 275 days
    p = selectors.distribution_preview(
        society=society, start=Y0, end=Y1, interest_rate=Decimal("0.04"), surplus=Decimal(1000)
    )
    got = {ln.member.full_name: ln.interest for ln in p.lines}
    assert got == {"Ann": Decimal("30.14"), "Bob": Decimal("15.07")}  # 1000×4%×275/365 = 30.137


def test_a_society_with_no_surplus_cannot_pay_interest(world):
    # no asset, so its accounts show no surplus: any interest is larger than the surplus
    society = funded_society(world, {"Ann": 1000, "Bob": 500}, allot_on=date(2024, 6, 1))
    with pytest.raises(DomainError, match="no surplus"):
        services.distribution_commit(
            society=society, start=Y0, end=Y1, interest_rate=Decimal("0.04"), today=date(2026, 2, 1)
        )
    assert Distribution.objects.count() == 0


@pytest.fixture
def society_with_surplus(world, monkeypatch):
    society = funded_society(world, {"Ann": 1000, "Bob": 500, "Cat": 300}, allot_on=date(2024, 6, 1))
    monkeypatch.setattr(selectors, "society_surplus", lambda s, a, b: Decimal("500.00"))
    return society


def test_commit_writes_lines_new_shares_fund_receipts_and_ledger(world, society_with_surplus):
    society = society_with_surplus
    services.member_update_details(member=Member.objects.get(full_name="Bob"), distribution_choice="reinvest")
    services.member_update_details(member=Member.objects.get(full_name="Cat"), distribution_choice="donate")
    dist = services.distribution_commit(
        society=society,
        start=Y0,
        end=Y1,
        interest_rate=Decimal("0.04"),
        fund_contribution=Decimal("50"),
        today=date(2026, 2, 1),
        actor=world.users["treasurer"],
    )
    lines = {ln.member.full_name: ln for ln in dist.lines.select_related("member")}
    assert lines["Ann"].cash == Decimal("40.00")
    assert (lines["Bob"].new_shares, lines["Bob"].cash) == (20, Decimal("0.00"))
    assert lines["Cat"].donated == Decimal("12.00")
    assert dist.interest_total == Decimal("72.00")
    assert ShareTransaction.objects.get(kind="reinvest").amount == Decimal("20.00")
    assert sum(FundPayment.objects.values_list("amount", flat=True)) == Decimal("62.00")
    bal = account_balances(world.community, prefix=f"coop:{society.pk}:")
    assert bal[f"coop:{society.pk}:interest-payable"] == Decimal("-40.00")
    assert ledger_verify(world.community).ok
    assert "Ann,12-34-56,12345678,40.00" in selectors.payment_file_csv(dist)
    ar = services.annual_return(society=society, year_start=date(2026, 1, 1), year_end=date(2026, 12, 31))
    assert (ar.interest_paid, ar.shares_issued) == (7200, 2000)  # declared 1 Feb 2026; Bob's 20 new shares
    services.distribution_mark_paid(distribution=dist, paid_on=date(2026, 2, 5))
    bal = account_balances(world.community, prefix=f"coop:{society.pk}:")
    assert bal[f"coop:{society.pk}:interest-payable"] == 0
    with pytest.raises(DomainError, match="already been distributed"):
        services.distribution_commit(
            society=society, start=Y0, end=Y1, interest_rate=Decimal("0.01"), today=date(2026, 2, 1)
        )


def test_a_distribution_larger_than_the_surplus_is_refused_and_writes_nothing(society_with_surplus):
    with pytest.raises(DomainError, match="larger than the surplus"):
        services.distribution_commit(
            society=society_with_surplus,
            start=Y0,
            end=Y1,
            interest_rate=Decimal("0.04"),
            fund_contribution=Decimal("450"),
            today=date(2026, 2, 1),
        )
    assert Distribution.objects.count() == 0 and DistributionLine.objects.count() == 0


def test_a_failure_halfway_leaves_no_partial_payments(society_with_surplus, monkeypatch):
    from assets.coop.services import distributions

    Member.objects.filter(full_name="Bob").update(distribution_choice="reinvest")

    def broken(**kwargs):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(distributions, "ledger_post_many", broken)
    with pytest.raises(RuntimeError):
        services.distribution_commit(
            society=society_with_surplus, start=Y0, end=Y1, interest_rate=Decimal("0.04"), today=date(2026, 2, 1)
        )
    assert Distribution.objects.count() == 0 and DistributionLine.objects.count() == 0
    assert ShareTransaction.objects.filter(kind="reinvest").count() == 0
    assert FundPayment.objects.count() == 0


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    holdings=st.lists(st.integers(min_value=1, max_value=50).map(lambda k: k * 100), min_size=1, max_size=6),
    allot_day=st.integers(min_value=0, max_value=364),
    rate_bp=st.integers(min_value=0, max_value=500),
    choices=st.lists(st.sampled_from(["pay", "reinvest", "donate"]), min_size=6, max_size=6),
)
def test_random_registers_pay_the_declared_total_and_the_ledger_verifies(
    world, monkeypatch, holdings, allot_day, rate_bp, choices
):
    from datetime import timedelta

    monkeypatch.setattr(selectors, "society_surplus", lambda s, a, b: Decimal("100000.00"))
    n = Distribution.objects.count()
    society = funded_society(
        world,
        {f"P{i}": h for i, h in enumerate(holdings)},
        name=f"Society {n}",
        allot_on=Y0 + timedelta(days=allot_day),
        min_holding=Decimal(100),
    )
    for m, c in zip(Member.objects.filter(society=society).order_by("number"), choices, strict=False):
        Member.objects.filter(pk=m.pk).update(distribution_choice=c)
    rate = Decimal(rate_bp) / 10000
    preview = selectors.distribution_preview(
        society=society, start=Y0, end=Y1, interest_rate=rate, fund_contribution=Decimal(1)
    )
    dist = services.distribution_commit(
        society=society, start=Y0, end=Y1, interest_rate=rate, fund_contribution=Decimal(1), today=Y1
    )
    lines = list(dist.lines.all())
    assert sum(ln.interest for ln in lines) == dist.interest_total == preview.totals["interest"]
    assert all(ln.interest >= 0 and ln.cash >= 0 for ln in lines)
    assert all(ln.cash + ln.reinvested + ln.donated == ln.interest + ln.dividend for ln in lines)
    # pro rata within a penny: everyone held from the same day, so interest ∝ holding
    total_held = sum(holdings)
    for ln in lines:
        held = ln.penny_days // ((Y1 - (Y0 + timedelta(days=allot_day))).days * 100)
        assert abs(ln.interest * total_held - dist.interest_total * held) < total_held * Decimal("0.01")
    assert ledger_verify(world.community).ok
