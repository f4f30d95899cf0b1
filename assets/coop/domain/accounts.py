"""The asset's accounts: monthly revenue from its meter, costs, loans, surplus.

Revenue (seed 002 C.4 "Revenues"):

* energy exported under a PPA: exported Wh × PPA price p/kWh (the seed gives
  ~8p/kWh as the 7-year average wholesale price, a reasonable baseline);
* energy used by the host building: on-site Wh × host price p/kWh (a school
  saves 20-30p/kWh against its tariff, so a host price below that is a saving
  for the school and income for the society);
* flexibility revenue (entered, later from the VPP);
* local market income: what the community's market paid for the part of the
  exports its members bought (settled credits, read from the market). That
  energy did not go to the PPA, so the PPA is paid on the rest of the exports.

Costs (seed C.4 "Costs"): O&M and insurance ~1-5% of capital cost a year;
member administration ~£12 per member a year; loan interest; depreciation of
the capital cost over the asset's life. Annual figures are spread over the
twelve calendar months by largest remainder, so a year's months add up to the
annual figure to the penny.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .errors import CoopError
from .money import from_pennies, spread_evenly, to_pennies


def energy_revenue_pennies(wh: int, price_p_per_kwh: Decimal) -> int:
    """Wh × p/kWh → pennies, rounded half up once."""
    if wh < 0:
        raise CoopError("energy cannot be negative")
    value = Decimal(int(wh)) * Decimal(price_p_per_kwh) / 1000
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Loan:
    name: str
    principal: Decimal
    annual_rate: Decimal  # e.g. Decimal("0.06")
    term_months: int
    first_payment: date  # the first day of the month of the first repayment


@dataclass(frozen=True)
class LoanPayment:
    month: date
    payment: int  # pennies
    interest: int
    principal: int
    balance: int  # after this payment


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def loan_schedule(loan: Loan) -> list[LoanPayment]:
    """Level (annuity) repayments; interest rounded to the penny each month,
    the last payment clears the balance exactly."""
    if loan.term_months <= 0:
        raise CoopError("A loan must be repaid over at least one month.")
    if loan.principal <= 0:
        raise CoopError("A loan's principal must be more than £0.")
    if loan.annual_rate < 0:
        raise CoopError("A loan's interest rate cannot be negative.")
    bal = to_pennies(loan.principal, what="loan principal")
    r = Decimal(loan.annual_rate) / 12
    n = loan.term_months
    if r == 0:
        pay = -(-bal // n)
    else:
        pay_dec = Decimal(bal) * r / (1 - (1 + r) ** (-n))
        pay = int(pay_dec.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    out = []
    start = date(loan.first_payment.year, loan.first_payment.month, 1)
    for k in range(n):
        interest = int((Decimal(bal) * r).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        principal = pay - interest
        if k == n - 1 or principal > bal:
            principal = bal
        bal -= principal
        out.append(LoanPayment(_add_months(start, k), principal + interest, interest, principal, bal))
        if bal == 0:
            break
    return out


@dataclass(frozen=True)
class AssetFinance:
    capex: Decimal
    life_years: int = 25
    om_pct_of_capex: Decimal = Decimal("0.015")  # a year
    insurance_per_year: Decimal = Decimal(0)
    admin_per_member_year: Decimal = Decimal(12)  # seed C.4: ~£12/member a year
    ppa_p_per_kwh: Decimal = Decimal(8)
    host_p_per_kwh: Decimal = Decimal(15)
    loans: tuple[Loan, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class MonthInput:
    month: date  # first day of the month
    exported_wh: int
    onsite_wh: int
    members: int
    flex_revenue: Decimal = Decimal(0)
    other_costs: Decimal = Decimal(0)
    in_service: bool = True  # before commissioning there is no O&M, insurance, admin or depreciation
    market_wh: int = 0  # of the exports, sold to neighbours in the local market
    market_revenue: Decimal = Decimal(0)  # £ the market settled for them


@dataclass(frozen=True)
class MonthAccount:
    month: date
    exported_wh: int
    onsite_wh: int
    ppa_revenue: int
    host_revenue: int
    flex_revenue: int
    om_cost: int
    insurance_cost: int
    admin_cost: int
    other_costs: int
    loan_interest: int
    depreciation: int
    loan_principal: int
    market_wh: int = 0
    market_revenue: int = 0

    @property
    def revenue(self) -> int:
        return self.ppa_revenue + self.host_revenue + self.flex_revenue + self.market_revenue

    @property
    def operating_costs(self) -> int:
        return self.om_cost + self.insurance_cost + self.admin_cost + self.other_costs

    @property
    def surplus(self) -> int:
        """Profit before interest on shares (pennies)."""
        return self.revenue - self.operating_costs - self.loan_interest - self.depreciation

    @property
    def cash_flow(self) -> int:
        return self.revenue - self.operating_costs - self.loan_interest - self.loan_principal

    def as_dict(self) -> dict:
        d = {
            k: getattr(self, k)
            for k in (
                "ppa_revenue",
                "host_revenue",
                "flex_revenue",
                "market_revenue",
                "om_cost",
                "insurance_cost",
                "admin_cost",
                "other_costs",
                "loan_interest",
                "depreciation",
                "loan_principal",
                "revenue",
                "operating_costs",
                "surplus",
                "cash_flow",
            )
        }
        out = {k: from_pennies(v) for k, v in d.items()}
        out.update(month=self.month, exported_wh=self.exported_wh, onsite_wh=self.onsite_wh, market_wh=self.market_wh)
        return out


def monthly_accounts(finance: AssetFinance, months: list[MonthInput]) -> list[MonthAccount]:
    if finance.capex < 0:
        raise CoopError("The capital cost cannot be negative.")
    if finance.life_years <= 0:
        raise CoopError("The asset's life must be at least one year.")
    capex = to_pennies(finance.capex, what="capital cost")
    om_year = int((Decimal(capex) * Decimal(finance.om_pct_of_capex)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    ins_year = to_pennies(finance.insurance_per_year, what="insurance")
    admin_member_year = to_pennies(finance.admin_per_member_year, what="admin cost")
    dep_year = capex // finance.life_years
    om_m, ins_m, dep_m = spread_evenly(om_year, 12), spread_evenly(ins_year, 12), spread_evenly(dep_year, 12)
    loan_rows: dict[date, tuple[int, int]] = {}
    for loan in finance.loans:
        for p in loan_schedule(loan):
            i, pr = loan_rows.get(p.month, (0, 0))
            loan_rows[p.month] = (i + p.interest, pr + p.principal)
    out = []
    for m in months:
        if m.month.day != 1:
            raise CoopError(f"months are identified by their first day, got {m.month}")
        k = m.month.month - 1
        admin = spread_evenly(admin_member_year * m.members, 12)[k] if m.in_service else 0
        li, lp = loan_rows.get(m.month, (0, 0))
        running = 1 if m.in_service else 0
        if m.market_wh < 0:
            raise CoopError("energy sold in the local market cannot be negative")
        market_wh = min(m.market_wh, m.exported_wh)  # the market cannot have sold more than left the site
        out.append(
            MonthAccount(
                month=m.month,
                exported_wh=m.exported_wh,
                onsite_wh=m.onsite_wh,
                ppa_revenue=energy_revenue_pennies(m.exported_wh - market_wh, finance.ppa_p_per_kwh),
                host_revenue=energy_revenue_pennies(m.onsite_wh, finance.host_p_per_kwh),
                flex_revenue=to_pennies(m.flex_revenue, what="flexibility revenue"),
                om_cost=om_m[k] * running,
                insurance_cost=ins_m[k] * running,
                admin_cost=admin,
                other_costs=to_pennies(m.other_costs, what="other costs"),
                loan_interest=li,
                depreciation=dep_m[k] * running,
                loan_principal=lp,
                market_wh=market_wh,
                market_revenue=to_pennies(m.market_revenue, what="local market income"),
            )
        )
    return out


def year_surplus(accounts: list[MonthAccount]) -> int:
    return sum(a.surplus for a in accounts)
