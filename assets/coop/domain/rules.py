"""A registered society's rules, as far as the share register needs them.

Two kinds of society (Co-operative and Community Benefit Societies Act 2014):

* a **community benefit society** (CBS) exists for the community; it may pay
  members *interest* on their shares, as a cost of the capital, at a rate no
  more than needed to attract it, and never a share of the profit;
* a **co-operative society** exists for its members; besides interest it may
  pay a *dividend*, a share of the surplus.

Both give one member one vote whatever the holding. Community shares are
withdrawable (the society buys them back at par after notice) and not
transferable; an individual member's withdrawable holding is capped by law
at £100,000 (s.24 of the 2014 Act).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import CoopError

CBS = "cbs"
COOP = "coop"
KINDS = {CBS: "community benefit society", COOP: "co-operative society"}

STATUTORY_MAX_HOLDING = Decimal(100000)


@dataclass(frozen=True)
class SocietyRules:
    kind: str = CBS
    share_price: Decimal = Decimal(1)
    min_holding: Decimal = Decimal(100)  # £ a member must hold
    max_holding: Decimal = Decimal(100000)  # £ a member may hold
    target_interest_rate: Decimal = Decimal("0.03")  # fraction per year
    max_interest_rate: Decimal = Decimal("0.05")
    withdrawable: bool = True
    transferable: bool = False
    min_holding_period_years: int = 3  # calendar years, before a withdrawal may be paid
    interest_day_count: str = "actact"  # "act365f" | "actact" (see .interest)
    notice_period_days: int = 90
    board_may_suspend_withdrawals: bool = True
    withdrawals_suspended: bool = False

    @property
    def may_pay_dividend(self) -> bool:
        return self.kind == COOP

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def shares_for(self, amount: Decimal) -> int:
        """How many whole shares ``amount`` pounds buys (refuses part shares)."""
        amount = Decimal(amount)
        n = amount / self.share_price
        if n != n.to_integral_value():
            raise CoopError(f"£{amount} is not a whole number of £{self.share_price} shares")
        return int(n)


def rules_problems(rules: SocietyRules) -> list[str]:
    """Every problem with ``rules``, as sentences; empty when the rules are sound."""
    p: list[str] = []
    if rules.kind not in KINDS:
        p.append(f"The society must be a community benefit society or a co-operative society, not {rules.kind!r}.")
    if rules.share_price <= 0:
        p.append("The share price must be more than £0.")
    if rules.min_holding < 0:
        p.append("The minimum holding cannot be negative.")
    if rules.max_holding <= 0:
        p.append("The maximum holding must be more than £0.")
    if rules.min_holding > rules.max_holding:
        p.append(f"The minimum holding (£{rules.min_holding}) is more than the maximum holding (£{rules.max_holding}).")
    if rules.withdrawable and rules.max_holding > STATUTORY_MAX_HOLDING:
        p.append(
            f"A member may hold at most £{STATUTORY_MAX_HOLDING:,} of withdrawable shares "
            f"(Co-operative and Community Benefit Societies Act 2014, s.24); the rules say £{rules.max_holding:,}."
        )
    if rules.share_price > 0:
        for label, value in (("minimum holding", rules.min_holding), ("maximum holding", rules.max_holding)):
            if value >= 0 and (value / rules.share_price) != (value / rules.share_price).to_integral_value():
                p.append(f"The {label} (£{value}) is not a whole number of £{rules.share_price} shares.")
    if rules.target_interest_rate < 0 or rules.max_interest_rate < 0:
        p.append("Interest rates cannot be negative.")
    if rules.target_interest_rate > rules.max_interest_rate:
        p.append(
            f"The target interest rate ({rules.target_interest_rate:.2%}) is above the maximum ({rules.max_interest_rate:.2%})."
        )
    if rules.max_interest_rate > Decimal("0.20"):
        p.append("A maximum interest rate above 20% a year is not a plausible return on community shares.")
    if rules.min_holding_period_years < 0 or rules.notice_period_days < 0:
        p.append("Holding and notice periods cannot be negative.")
    if rules.interest_day_count not in ("act365f", "actact"):
        p.append(
            f"The day-count convention must be actual/365 fixed or actual/actual, not {rules.interest_day_count!r}."
        )
    if not rules.withdrawable and not rules.transferable:
        p.append("Shares that are neither withdrawable nor transferable could never be realised: allow one of them.")
    if rules.withdrawals_suspended and not rules.board_may_suspend_withdrawals:
        p.append("Withdrawals are suspended but the rules do not give the board that power.")
    return p


def validate_rules(rules: SocietyRules) -> SocietyRules:
    problems = rules_problems(rules)
    if problems:
        raise CoopError(problems)
    return rules
