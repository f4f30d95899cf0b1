"""The member register computed from its movements, and the FCA annual-return figures.

Movement kinds: ``allot`` (shares issued at an offer close), ``reinvest``
(shares issued from interest), ``transfer_in``/``transfer_out`` (where the
rules allow transfers), ``withdraw`` (shares bought back at par),
``cancel`` (shares of a member who died or whose membership closed, paid to the
estate or forfeited as the rules say).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date

from .errors import CoopError
from .money import from_pennies
from .rules import SocietyRules

ISSUE_KINDS = ("allot", "reinvest")
OUT_KINDS = ("withdraw", "cancel")
TRANSFER_KINDS = ("transfer_in", "transfer_out")
KINDS = ISSUE_KINDS + OUT_KINDS + TRANSFER_KINDS


@dataclass(frozen=True)
class RegisterLine:
    member: Hashable
    day: date
    kind: str
    pennies: int  # signed: + in, − out


def balances(lines: Iterable[RegisterLine], *, until: date | None = None) -> dict[Hashable, int]:
    """Holdings (pennies) per member at the end of ``until`` (inclusive), or now."""
    out: dict[Hashable, int] = {}
    for ln in sorted(lines, key=lambda x: x.day):
        if until is not None and ln.day > until:
            break
        out[ln.member] = out.get(ln.member, 0) + ln.pennies
        if out[ln.member] < 0:
            raise CoopError(f"the register takes member {ln.member} below zero on {ln.day}")
    return out


def check_transfer(
    rules: SocietyRules, *, pennies: int, from_holding: int, to_holding: int, min_holding: int, max_holding: int
) -> None:
    if not rules.transferable:
        raise CoopError("This society's shares are not transferable (its rules allow withdrawal only).")
    if pennies <= 0:
        raise CoopError("A transfer must be for more than £0.")
    if pennies > from_holding:
        raise CoopError(f"The member holds only £{from_pennies(from_holding):,}.")
    left = from_holding - pennies
    if 0 < left < min_holding:
        raise CoopError(f"The transfer would leave £{from_pennies(left):,}, below the minimum holding.")
    if to_holding + pennies > max_holding:
        raise CoopError(
            f"The transfer would take the receiving member above the maximum holding of £{from_pennies(max_holding):,}."
        )
    if to_holding + pennies < min_holding:
        raise CoopError(f"The receiving member would hold less than the minimum of £{from_pennies(min_holding):,}.")


@dataclass(frozen=True)
class AnnualReturn:
    year_start: date
    year_end: date
    members_at_start: int
    members_at_end: int
    share_capital_at_start: int
    share_capital_at_end: int
    shares_issued: int  # pennies issued in the year (allotments + reinvestment)
    shares_withdrawn: int  # pennies bought back or cancelled in the year
    interest_paid: int  # pennies of interest paid in the year

    def as_dict(self) -> dict:
        return {
            "year_start": self.year_start.isoformat(),
            "year_end": self.year_end.isoformat(),
            "members_at_start": self.members_at_start,
            "members_at_end": self.members_at_end,
            "share_capital_at_start": str(from_pennies(self.share_capital_at_start)),
            "share_capital_at_end": str(from_pennies(self.share_capital_at_end)),
            "shares_issued": str(from_pennies(self.shares_issued)),
            "shares_withdrawn": str(from_pennies(self.shares_withdrawn)),
            "interest_paid": str(from_pennies(self.interest_paid)),
        }


def annual_return(
    lines: list[RegisterLine],
    *,
    year_start: date,
    year_end: date,
    interest_payments: Iterable[tuple[date, int]] = (),
    members_without_shares: int = 0,
) -> AnnualReturn:
    """Figures for the FCA annual return for the year ``[year_start, year_end]`` (inclusive days).

    ``members_without_shares``: members on the roll who hold no shares (rare).
    """
    if year_end < year_start:
        raise CoopError("The year must end after it starts.")
    from datetime import timedelta

    before = balances(lines, until=year_start - timedelta(days=1))
    end = balances(lines, until=year_end)
    in_year = [ln for ln in lines if year_start <= ln.day <= year_end]
    issued = sum(ln.pennies for ln in in_year if ln.kind in ISSUE_KINDS)
    withdrawn = -sum(ln.pennies for ln in in_year if ln.kind in OUT_KINDS)
    interest = sum(p for d, p in interest_payments if year_start <= d <= year_end)
    return AnnualReturn(
        year_start,
        year_end,
        sum(1 for v in before.values() if v > 0) + members_without_shares,
        sum(1 for v in end.values() if v > 0) + members_without_shares,
        sum(before.values()),
        sum(end.values()),
        issued,
        withdrawn,
        interest,
    )
