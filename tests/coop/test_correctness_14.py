"""Issue 14, co-op items 11-13: the reinvestment cap on the commit day, the
minimum holding period from the earliest allotment still held in calendar
years, and the interest day count as a society rule."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.coop import selectors, services
from assets.coop.domain.interest import ACT365F, ACTACT, Movement, interest_run
from assets.coop.domain.rules import SocietyRules
from assets.coop.domain.withdrawals import WithdrawalRequest, add_years, due_date, earliest_still_held
from assets.coop.models import Member, ShareTransaction

from .factories import apply_and_pay, funded_society, make_offer, make_society

Y0, Y1 = date(2025, 1, 1), date(2026, 1, 1)


# ------------------------------------------------------------------ item 13 (domain)


def test_a_leap_year_pays_exactly_the_rate_under_actual_actual_and_366_365ths_under_365_fixed():
    moves = [Movement("ann", date(2023, 12, 1), 100_000)]  # £1,000 held all through 2024
    fixed = interest_run(moves, rate=Decimal("0.04"), start=date(2024, 1, 1), end=date(2025, 1, 1), day_count=ACT365F)
    actual = interest_run(moves, rate=Decimal("0.04"), start=date(2024, 1, 1), end=date(2025, 1, 1), day_count=ACTACT)
    assert fixed.declared_total == 4011  # £40.11
    assert actual.declared_total == 4000  # £40.00


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1990, 2100),
    st.integers(1, 1_000_000),
    st.sampled_from([Decimal("0.01"), Decimal("0.035"), Decimal("0.04"), Decimal("0.05")]),
)
def test_a_full_calendar_year_pays_amount_times_rate_under_actual_actual(year, pennies, rate):
    moves = [Movement("m", date(year - 1, 6, 1), pennies)]
    run = interest_run(moves, rate=rate, start=date(year, 1, 1), end=date(year + 1, 1, 1), day_count=ACTACT)
    exact = Decimal(pennies) * rate
    assert abs(Decimal(run.declared_total) - exact) <= Decimal("0.5")


def test_actual_actual_counts_each_day_in_its_own_year_across_a_year_end():
    # held 1 Jul 2023 - 1 Jul 2024: 184 days of 365, 182 days of 366
    moves = [Movement("m", date(2023, 7, 1), 1_000_000)]
    run = interest_run(moves, rate=Decimal("0.05"), start=date(2023, 7, 1), end=date(2024, 7, 1), day_count=ACTACT)
    exact = Decimal(1_000_000) * Decimal("0.05") * (Decimal(184) / 365 + Decimal(182) / 366)
    assert run.declared_total == int(exact.quantize(Decimal(1)))


# ------------------------------------------------------------------ item 12 (domain)


def test_three_calendar_years_from_31_january_end_on_31_january():
    assert add_years(date(2024, 1, 31), 3) == date(2027, 1, 31)
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)
    rules = SocietyRules(min_holding_period_years=3, notice_period_days=0)
    r = WithdrawalRequest("k", "m", 100, date(2024, 2, 1), date(2024, 1, 31), 10_000)
    assert due_date(rules, r) == date(2027, 1, 31)  # 1,095 days would say 30 Jan 2027


def test_the_holding_period_counts_from_the_earliest_allotment_still_held():
    d = date
    # withdrew everything in 2023, rejoined in 2025: counts from 2025
    assert earliest_still_held([(d(2018, 5, 1), 50_000), (d(2023, 1, 1), -50_000), (d(2025, 3, 1), 20_000)]) == d(
        2025, 3, 1
    )
    # a partial withdrawal uses up the oldest shares first
    moves = [(d(2018, 5, 1), 50_000), (d(2020, 5, 1), 30_000), (d(2022, 1, 1), -50_000)]
    assert earliest_still_held(moves) == d(2020, 5, 1)
    assert earliest_still_held([(d(2018, 5, 1), 50_000), (d(2022, 1, 1), -10_000)]) == d(2018, 5, 1)
    assert earliest_still_held([(d(2018, 5, 1), 50_000), (d(2022, 1, 1), -50_000)]) is None


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 500), st.booleans()), min_size=1, max_size=12))
def test_the_held_since_date_is_the_oldest_share_left_under_first_in_first_out(ops):
    base = date(2015, 1, 1)
    moves, lots = [], []
    for day, amount, out in sorted(ops):
        held = sum(q for _, q in lots)
        if out and held:
            take = min(amount, held)
            moves.append((base + timedelta(days=day), -take))
            while take:  # reference: a queue of unit lots
                q = min(take, lots[0][1])
                lots[0] = (lots[0][0], lots[0][1] - q)
                take -= q
                if lots[0][1] == 0:
                    lots.pop(0)
        else:
            moves.append((base + timedelta(days=day), amount))
            lots.append((base + timedelta(days=day), amount))
    assert earliest_still_held(moves) == (lots[0][0] if lots else None)


# ------------------------------------------------------------------ services

pytestmark_db = pytest.mark.django_db


@pytest.fixture
def surplus(monkeypatch):
    monkeypatch.setattr(selectors, "society_surplus", lambda s, a, b: Decimal("100000.00"))


@pytest.mark.django_db
def test_reinvestment_is_capped_at_the_holding_on_the_commit_day_and_the_excess_paid_with_a_note(world, surplus):
    society = make_society(world, max_holding=Decimal("100000"), min_holding=Decimal("100"))
    first = make_offer(
        society,
        code="ONE",
        min_raise=Decimal(1000),
        target_raise=Decimal(91000),
        max_raise=Decimal(100000),
        max_application=Decimal(100000),
    )
    apply_and_pay(first, "Ann Big", 90000, user=world.users["member"])
    apply_and_pay(first, "Bob Small", 1000)
    services.offer_close(offer=first, today=date(2024, 12, 31), early=True)
    ann = Member.objects.get(full_name="Ann Big")
    services.member_update_details(member=ann, distribution_choice="reinvest")
    # January top-up of £10,000: after the year end, before the distribution
    top = make_offer(
        society,
        code="TOP",
        min_raise=Decimal(100),
        target_raise=Decimal(10000),
        max_raise=Decimal(10000),
        max_application=Decimal(10000),
    )
    apply_and_pay(top, "Ann Big", 10000, user=world.users["member"])
    services.offer_close(offer=top, today=date(2026, 1, 15))
    assert services.holding_of(ann) == Decimal("100000.00")

    dist = services.distribution_commit(
        society=society, start=Y0, end=Y1, interest_rate=Decimal("0.05"), today=date(2026, 2, 1)
    )
    line = dist.lines.get(member=ann)
    assert line.interest == Decimal("4500.00")
    assert (line.new_shares, line.reinvested, line.cash) == (0, Decimal("0.00"), Decimal("4500.00"))
    assert "maximum" in line.note and "£4,500" in line.note
    assert services.holding_of(ann) == Decimal("100000.00")  # not £104,500
    assert not ShareTransaction.objects.filter(member=ann, kind=ShareTransaction.Kind.REINVEST).exists()


@pytest.mark.django_db
def test_a_member_who_withdrew_everything_and_rejoined_waits_the_full_period_again(world):
    society = funded_society(world, {"Ann": 1000, "Bob": 1000}, allot_on=date(2020, 3, 31), notice_period_days=0)
    ann = Member.objects.get(full_name="Ann")
    ShareTransaction.objects.create(
        society=society,
        member=ann,
        day=date(2024, 1, 10),
        kind=ShareTransaction.Kind.WITHDRAW,
        shares=-1000,
        amount=Decimal("-1000"),
    )
    ShareTransaction.objects.create(
        society=society,
        member=ann,
        day=date(2025, 1, 31),
        kind=ShareTransaction.Kind.ALLOT,
        shares=500,
        amount=Decimal("500"),
    )
    req = services.withdrawal_request(member=ann, amount=Decimal("500"), notice_date=date(2025, 2, 1))
    assert services.withdrawal_due_dates(society)[req.pk] == date(2028, 1, 31)


@pytest.mark.django_db
@pytest.mark.parametrize(("rule", "expected"), [("act365f", Decimal("40.11")), ("actact", Decimal("40.00"))])
def test_the_day_count_is_a_society_rule_and_the_preview_says_which(world, monkeypatch, rule, expected):
    monkeypatch.setattr(selectors, "society_surplus", lambda s, a, b: Decimal("1000.00"))
    society = funded_society(world, {"Ann": 1000, "Bob": 100}, allot_on=date(2023, 12, 1), interest_day_count=rule)
    p = selectors.distribution_preview(
        society=society, start=date(2024, 1, 1), end=date(2025, 1, 1), interest_rate=Decimal("0.04")
    )
    got = {ln.member.full_name: ln.interest for ln in p.lines}
    assert got["Ann"] == expected
    assert p.day_count == rule and p.day_count_label.startswith("Actual/")


# ------------------------------------------------------------------ item 14


@pytest.mark.django_db
def test_a_patronage_dividend_is_reachable_from_the_service_and_page(world, client_as, monkeypatch):
    from assets.coop.models import Distribution

    monkeypatch.setattr(selectors, "society_surplus", lambda s, a, b: Decimal("5000.00"))
    society = funded_society(world, {"Ann": 1000, "Bob": 1000, "Cat": 1000}, allot_on=date(2024, 6, 1), kind="coop")
    numbers = {m.full_name: m.number for m in Member.objects.filter(society=society)}
    c = client_as("treasurer")
    from django.urls import reverse

    url = reverse("coop:distribution_new", kwargs={"slug": world.community.slug, "society_id": society.pk})
    data = {
        "year": "2025",
        "interest_rate": "3",
        "fund_contribution": "0",
        "dividend_total": "100",
        "dividend_basis": "patronage",
        "patronage": f"{numbers['Ann']}, 3000\n{numbers['Bob']}, 1000\n",
    }
    r = c.get(url, data)
    assert r.status_code == 200 and b"dividend shared by patronage" in r.content
    r = c.post(url, data)
    assert r.status_code == 302
    dist = Distribution.objects.get(society=society)
    assert dist.dividend_basis == "patronage"
    got = {ln.member.full_name: ln.dividend for ln in dist.lines.select_related("member")}
    assert got == {"Ann": Decimal("75.00"), "Bob": Decimal("25.00"), "Cat": Decimal("0.00")}
    # a community benefit society cannot
    cbs = funded_society(world, {"Dan": 1000}, name="Other CBS", allot_on=date(2024, 6, 1))
    with pytest.raises(Exception, match="co-operative"):
        selectors.distribution_preview(
            society=cbs, start=Y0, end=Y1, interest_rate=Decimal("0.01"), dividend_basis="patronage"
        )


@pytest.mark.django_db
def test_society_revenue_is_posted_to_the_ledger_once_per_month(world, monkeypatch):
    from community.selectors import account_balances, ledger_verify

    society = funded_society(world, {"Ann": 1000}, allot_on=date(2024, 6, 1))
    month_acc = {"ppa_revenue": 12_345, "host_revenue": 6_789, "flex_revenue": 1_000}

    from assets.coop.models import CoopAsset

    CoopAsset.objects.create(
        society=society,
        name="Roof",
        capacity_kw=Decimal(10),
        commissioned_on=date(2024, 1, 1),
        capex=Decimal("10000"),
        life_years=25,
        om_pct_of_capex=Decimal("0.01"),
        insurance_per_year=Decimal("0"),
        admin_per_member_year=Decimal("0"),
        ppa_p_per_kwh=Decimal("8"),
        host_p_per_kwh=Decimal("20"),
    )

    class Acc:
        market_revenue = 0  # no local market here (see test_market_income.py)

    acc = Acc()
    acc.__dict__.update(month_acc)
    from assets.coop.services import revenue as rev

    monkeypatch.setattr(rev, "asset_accounts", lambda asset, month, n: [acc])
    e1 = services.revenue_post(society=society, month=date(2025, 3, 1), today=date(2025, 4, 2))
    e2 = services.revenue_post(society=society, month=date(2025, 3, 15), today=date(2025, 4, 2))
    assert e1.pk == e2.pk  # idempotent
    bal = account_balances(world.community, prefix=f"coop:{society.pk}:")
    assert bal[f"coop:{society.pk}:receivables"] == Decimal("201.34")
    assert bal[f"coop:{society.pk}:energy-revenue"] == Decimal("-191.34")
    assert bal[f"coop:{society.pk}:flex-revenue"] == Decimal("-10.00")
    assert ledger_verify(world.community).ok
    with pytest.raises(Exception, match="not over yet"):
        services.revenue_post(society=society, month=date(2025, 4, 1), today=date(2025, 4, 2))


@pytest.mark.django_db
def test_a_members_statement_is_a_pdf(world, client_as):
    from assets.coop.models import Distribution

    society = funded_society(world, {"Ann": 1000, "Bob": 500}, allot_on=date(2024, 6, 1))
    ann = Member.objects.get(full_name="Ann")
    Member.objects.filter(pk=ann.pk).update(user=world.users["member"])
    selectors_surplus = selectors.society_surplus
    try:
        selectors.society_surplus = lambda s, a, b: Decimal("500.00")
        dist = services.distribution_commit(
            society=society, start=Y0, end=Y1, interest_rate=Decimal("0.04"), today=date(2026, 2, 1)
        )
    finally:
        selectors.society_surplus = selectors_surplus
    assert Distribution.objects.count() == 1
    from django.urls import reverse

    kw = {"slug": world.community.slug, "society_id": society.pk, "distribution_id": dist.pk, "member_id": ann.pk}
    url = reverse("coop:statement", kwargs=kw) + "?format=pdf"
    r = client_as("member").get(url)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert client_as("outsider").get(url).status_code in (302, 403, 404)
