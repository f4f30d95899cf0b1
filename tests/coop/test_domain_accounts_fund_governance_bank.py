from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from assets.coop.domain import accounts, bank, fund, governance
from assets.coop.domain.errors import CoopError


def test_a_loan_is_repaid_exactly_over_its_term():
    sched = accounts.loan_schedule(accounts.Loan("bank", Decimal(10000), Decimal("0.06"), 60, date(2025, 1, 1)))
    assert len(sched) == 60
    assert sum(p.principal for p in sched) == 1_000_000
    assert sched[-1].balance == 0
    assert sched[0].interest == 5000  # 6%/12 of £10,000
    assert abs(sched[0].payment - 19333) <= 1  # the textbook annuity payment £193.33


def test_monthly_accounts_price_the_meter_and_spread_annual_costs():
    fin = accounts.AssetFinance(
        capex=Decimal(30000),
        life_years=25,
        om_pct_of_capex=Decimal("0.015"),
        insurance_per_year=Decimal(300),
        admin_per_member_year=Decimal(12),
        ppa_p_per_kwh=Decimal(8),
        host_p_per_kwh=Decimal(15),
    )
    months = [
        accounts.MonthInput(date(2025, m, 1), exported_wh=1_000_000, onsite_wh=2_000_000, members=100)
        for m in range(1, 13)
    ]
    acc = accounts.monthly_accounts(fin, months)
    assert acc[0].ppa_revenue == 8000 and acc[0].host_revenue == 30000  # 1,000 kWh × 8p; 2,000 kWh × 15p
    assert sum(a.om_cost for a in acc) == 45_000
    assert sum(a.admin_cost for a in acc) == 120_000  # 100 members × £12
    assert sum(a.depreciation for a in acc) == 120_000  # £30,000 / 25
    assert accounts.year_surplus(acc) == 12 * 38000 - 45_000 - 30_000 - 120_000 - 120_000


def test_the_benefit_fund_is_paid_per_mw_and_never_overdrawn():
    assert fund.contribution_due(
        capacity_kw=Decimal(5000), pounds_per_mw_year=Decimal(5000), start=date(2025, 1, 1), end=date(2026, 1, 1)
    ) == Decimal("25000.00")
    bal = fund.balance([Decimal(100)], [Decimal(30)])
    assert bal == Decimal("70.00")
    with pytest.raises(CoopError, match="cannot grant"):
        fund.check_grant(balance_now=bal, amount=Decimal("70.01"))


T0 = datetime(2025, 6, 1, 18, tzinfo=UTC)
T1 = datetime(2025, 6, 8, 18, tzinfo=UTC)


def test_votes_outside_the_window_or_twice_are_refused():
    with pytest.raises(CoopError, match="outside that window"):
        governance.check_vote(member=1, choice="for", at=T1, opens=T0, closes=T1, eligible=True, already_voted=False)
    with pytest.raises(CoopError, match="one member, one vote"):
        governance.check_vote(member=1, choice="for", at=T0, opens=T0, closes=T1, eligible=True, already_voted=True)
    # a vote entered for someone who came in person is not held to the online window
    governance.check_vote(
        member=1,
        choice="for",
        at=T1,
        opens=T0,
        closes=T1,
        eligible=True,
        already_voted=False,
        channel=governance.IN_PERSON,
    )


def test_quorum_and_majorities():
    q = governance.quorum_needed(members=200, quorum_min=10, quorum_fraction=Decimal("0.1"))
    assert q == 20
    assert not governance.tally(["for"] * 19, kind="ordinary", quorum=q).quorate
    t = governance.tally(["for"] * 14 + ["against"] * 5 + ["abstain"] * 2, kind="special", quorum=q)
    assert t.quorate and not t.passed  # 14/19 < 75%
    assert governance.tally(["for"] * 15 + ["against"] * 5, kind="special", quorum=q).passed


STATEMENT = """Date,Description,Amount,Transaction ID
2025-03-01,FP SMITH J CS-0001,250.00,T1
02/03/2025,Faster payment cs 0002 jones,"1,000.00",T2
2025-03-03,INTEREST,0.12,T3
2025-03-04,refund,-20.00,T4
not a date,CS-0001,10,T5
"""


def test_a_statement_is_matched_and_bad_lines_are_reported_by_number():
    rows, errors = bank.parse_statement(STATEMENT)
    assert [e.line for e in errors] == [5, 6]
    matches, unmatched, dupes = bank.match_statement(rows, {"CS-0001": 1, "CS-0002": 2})
    assert [(m.row.line, m.key, m.row.pennies) for m in matches] == [(2, 1, 25000), (3, 2, 100000)]
    assert [e.line for e in unmatched] == [4] and "matches no application" in unmatched[0].message
    again, _, dupes = bank.match_statement(rows, {"CS-0001": 1, "CS-0002": 2}, already_imported={"T1", "T2"})
    assert again == [] and len(dupes) == 2


def test_a_statement_without_the_columns_is_refused():
    with pytest.raises(CoopError, match="no date, amount"):
        bank.parse_statement("foo,bar\n1,2\n")


def test_payment_file_and_bank_details():
    assert bank.check_bank_details("12 34 56", "12345678") == ("12-34-56", "12345678")
    with pytest.raises(CoopError, match="sort code"):
        bank.check_bank_details("1234", "12345678")
    csv_text = bank.payment_file([bank.PaymentLine("Ann", "12-34-56", "12345678", 4000, "SOLAR COOP INTEREST 2025")])
    assert csv_text.splitlines()[1] == "Ann,12-34-56,12345678,40.00,SOLAR COOP INTERES"


def test_months_before_commissioning_carry_no_running_costs():
    fin = accounts.AssetFinance(capex=Decimal("12000"), insurance_per_year=Decimal("120"))
    acc = accounts.monthly_accounts(
        fin,
        [
            accounts.MonthInput(date(2025, 1, 1), 0, 0, members=10, in_service=False),
            accounts.MonthInput(date(2025, 2, 1), 0, 0, members=10),
        ],
    )
    assert acc[0].operating_costs == 0 and acc[0].depreciation == 0
    assert acc[1].insurance_cost == 1000 and acc[1].depreciation == 4000
