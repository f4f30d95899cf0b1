"""A distribution run: interest (and, for a co-operative, a dividend) out of the surplus.

The board proposes a rate and a contribution to the community benefit fund;
the proposal is refused when it breaks the rules or the year's surplus
cannot pay for it. Each member's interest is shared out by largest remainder
(see :mod:`.interest`); a co-operative society's dividend likewise, pro rata
to shareholding over the year or, when given, to patronage (e.g. kWh bought).

Each member then chooses what happens to their money:

* ``pay``: paid to their bank account (the payment file);
* ``reinvest``: as many whole new shares as the money buys, within the
  maximum holding; the odd pence (and anything over the cap) are paid;
* ``donate``: given to the community benefit fund.

Everything here is arrays in, arrays out so that 20,000 members run in
milliseconds (``bench/dividends.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

import numpy as np

from .errors import CoopError
from .interest import DAYS_PER_YEAR, interest_total_np
from .money import allocate_pennies_np, from_pennies, to_pennies
from .rules import COOP, SocietyRules

PAY, REINVEST, DONATE = 0, 1, 2
CHOICES = {"pay": PAY, "reinvest": REINVEST, "donate": DONATE}
CHOICE_NAMES = {v: k for k, v in CHOICES.items()}


@dataclass(frozen=True)
class Proposal:
    surplus: Decimal  # £ available before share interest (the year's accounts)
    interest_rate: Decimal  # fraction a year, e.g. Decimal("0.04")
    fund_contribution: Decimal = Decimal(0)  # £ to the community benefit fund
    dividend_total: Decimal = Decimal(0)  # £, co-operative societies only


def max_affordable_rate(
    *,
    surplus: Decimal,
    total_penny_days: int,
    fund_contribution: Decimal = Decimal(0),
    dividend_total: Decimal = Decimal(0),
    rules: SocietyRules | None = None,
    denominator: int = DAYS_PER_YEAR,
) -> Decimal:
    """Highest rate (to 0.01%) the surplus can pay after the fund and dividend, capped by the rules."""
    available = to_pennies(surplus) - to_pennies(fund_contribution) - to_pennies(dividend_total)
    if available <= 0 or total_penny_days <= 0:
        return Decimal(0)
    # Round the rate down so that the rounded interest total cannot exceed what is available.
    rate = Fraction(available) * denominator / total_penny_days
    rate_dec = (Decimal(rate.numerator) / Decimal(rate.denominator)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    while rate_dec > 0 and interest_total_np(np.array([total_penny_days]), rate_dec, denominator) > available:
        rate_dec -= Decimal("0.0001")
    if rules is not None:
        rate_dec = min(rate_dec, rules.max_interest_rate)
    return rate_dec


def check_proposal(rules: SocietyRules, proposal: Proposal, *, interest_total: int) -> None:
    """Refuse a proposal the rules or the surplus do not allow (``interest_total`` in pennies)."""
    problems = []
    rate = Decimal(proposal.interest_rate)
    if rate < 0:
        problems.append("The interest rate cannot be negative.")
    if rate > rules.max_interest_rate:
        problems.append(f"The rules cap interest at {rules.max_interest_rate:.2%} a year; the proposal is {rate:.2%}.")
    if Decimal(proposal.fund_contribution) < 0 or Decimal(proposal.dividend_total) < 0:
        problems.append("Contributions and dividends cannot be negative.")
    if Decimal(proposal.dividend_total) > 0 and rules.kind != COOP:
        problems.append(
            "A community benefit society pays interest on shares, never a dividend (a share of the profit): "
            "set the dividend to £0."
        )
    surplus = to_pennies(proposal.surplus, what="surplus")
    wanted = interest_total + to_pennies(proposal.fund_contribution) + to_pennies(proposal.dividend_total)
    if wanted > 0 and surplus <= 0:
        problems.append(f"There is no surplus to distribute (the accounts show £{from_pennies(surplus)}).")
    elif wanted > surplus:
        problems.append(
            f"The distribution (£{from_pennies(wanted):,} = interest £{from_pennies(interest_total):,}"
            f" + fund £{Decimal(proposal.fund_contribution):,} + dividend £{Decimal(proposal.dividend_total):,})"
            f" is larger than the surplus of £{from_pennies(surplus):,}."
        )
    if problems:
        raise CoopError(problems)


@dataclass
class DistributionResult:
    """Per-member arrays (pennies) in the order of the input, plus totals."""

    interest: np.ndarray
    dividend: np.ndarray
    choice: np.ndarray
    cash: np.ndarray
    reinvested: np.ndarray  # pennies turned into shares
    new_shares: np.ndarray  # number of shares
    donated: np.ndarray
    capped: np.ndarray  # bool: wanted to reinvest more than the maximum holding allowed
    interest_total: int
    dividend_total: int
    fund_contribution: int

    @property
    def gross(self) -> np.ndarray:
        return self.interest + self.dividend

    def totals(self) -> dict[str, Decimal]:
        return {
            "interest": from_pennies(self.interest_total),
            "dividend": from_pennies(self.dividend_total),
            "cash": from_pennies(int(self.cash.sum())),
            "reinvested": from_pennies(int(self.reinvested.sum())),
            "donated": from_pennies(int(self.donated.sum())),
            "fund_contribution": from_pennies(self.fund_contribution),
            "to_fund": from_pennies(self.fund_contribution + int(self.donated.sum())),
            "members_paid": Decimal(int((self.gross > 0).sum())),
        }


def run_distribution(
    rules: SocietyRules,
    proposal: Proposal,
    *,
    penny_days: np.ndarray,
    holdings: np.ndarray,
    choices: np.ndarray | None = None,
    patronage: np.ndarray | None = None,
    interest_weights: np.ndarray | None = None,
    denominator: int = DAYS_PER_YEAR,
) -> DistributionResult:
    """Compute (never commit) a distribution; raises :class:`CoopError` if it is not allowed.

    ``penny_days``: per member over the year (see :func:`.interest.penny_days_np`);
    ``holdings``: pennies of shares each member holds on the day the
    distribution is committed (the reinvestment cap applies then, not at the
    year end: a top-up after the year end counts); what the cap stops from
    being reinvested is paid in cash and flagged in ``capped``;
    ``interest_weights`` / ``denominator``: the society's day count (see
    :func:`.interest.interest_weights_np`); default penny-days / 365;
    ``choices``: PAY/REINVEST/DONATE per member (default PAY);
    ``patronage``: non-negative integer weights for a co-operative's dividend.
    """
    w = np.asarray(penny_days, dtype=np.int64)
    n = w.size
    holdings = np.asarray(holdings, dtype=np.int64)
    if holdings.shape != w.shape:
        raise CoopError("holdings and penny-days must list the same members")
    choice = np.zeros(n, dtype=np.int8) if choices is None else np.asarray(choices, dtype=np.int8)
    if choice.shape != w.shape or ((choice < 0) | (choice > 2)).any():
        raise CoopError("each member's choice must be pay, reinvest or donate")

    iw = w if interest_weights is None else np.asarray(interest_weights, dtype=np.int64)
    if iw.shape != w.shape:
        raise CoopError("interest weights must list the same members")
    interest_total = interest_total_np(iw, Decimal(proposal.interest_rate), denominator)
    check_proposal(rules, proposal, interest_total=interest_total)
    interest = allocate_pennies_np(interest_total, iw) if interest_total else np.zeros(n, dtype=np.int64)

    dividend_total = to_pennies(proposal.dividend_total)
    if dividend_total:
        basis = w if patronage is None else np.asarray(patronage, dtype=np.int64)
        if basis.shape != w.shape:
            raise CoopError("patronage must list the same members")
        dividend = allocate_pennies_np(dividend_total, basis)
    else:
        dividend = np.zeros(n, dtype=np.int64)

    gross = interest + dividend
    price = to_pennies(rules.share_price)
    max_hold = to_pennies(rules.max_holding)
    reinvest_mask = choice == REINVEST
    room_shares = np.maximum(0, (max_hold - holdings) // price)
    new_shares = np.where(reinvest_mask, np.minimum(gross // price, room_shares), 0)
    capped = reinvest_mask & (gross // price > room_shares)
    reinvested = new_shares * price
    donated = np.where(choice == DONATE, gross, 0)
    cash = gross - reinvested - donated
    return DistributionResult(
        interest=interest,
        dividend=dividend,
        choice=choice,
        cash=cash,
        reinvested=reinvested,
        new_shares=new_shares,
        donated=donated,
        capped=capped,
        interest_total=interest_total,
        dividend_total=dividend_total,
        fund_contribution=to_pennies(proposal.fund_contribution),
    )
