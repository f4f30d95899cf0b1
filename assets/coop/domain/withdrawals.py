"""The withdrawal queue: members asking for their money back, paid in notice-date order.

A request becomes *due* when its notice period has run and the shares have
been held for the rules' minimum period. The board approves a budget (the
cash the society can spare); due requests are paid strictly in the order of
their notice date (ties: the order received), and the queue stops at the
first request the remaining budget cannot cover, so nobody is overtaken by a
later, smaller request. A member's estate (death) is not held to the notice
or holding periods. Nothing is paid while the board has suspended withdrawals.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import CoopError
from .money import from_pennies
from .rules import SocietyRules


@dataclass(frozen=True)
class WithdrawalRequest:
    key: Hashable
    member: Hashable
    pennies: int
    notice_date: date
    held_since: date  # earliest allotment still held (for the holding period)
    holding: int  # pennies the member holds now
    on_death: bool = False


def check_request(rules: SocietyRules, *, pennies: int, holding: int, min_holding: int) -> None:
    if not rules.withdrawable:
        raise CoopError("This society's shares are not withdrawable.")
    if pennies <= 0:
        raise CoopError("A withdrawal must be for more than £0.")
    if pennies > holding:
        raise CoopError(f"You hold £{from_pennies(holding):,}; you cannot withdraw £{from_pennies(pennies):,}.")
    left = holding - pennies
    if 0 < left < min_holding:
        raise CoopError(
            f"After this withdrawal you would hold £{from_pennies(left):,}, below the minimum of "
            f"£{from_pennies(min_holding):,}: withdraw everything or at most £{from_pennies(holding - min_holding):,}."
        )


def add_years(d: date, years: int) -> date:
    """The same calendar day ``years`` later (29 Feb -> 28 Feb in a common year)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def earliest_still_held(movements: Sequence[tuple[date, int]]) -> date | None:
    """The allotment date of the oldest shares a member still holds.

    ``movements``: (day, pennies) in and out of the holding. Shares leave
    first in, first out, so a member who withdrew everything and rejoined
    counts from the rejoining, and a partial withdrawal uses up the oldest
    shares first. None when nothing is held."""
    lots: list[list] = []  # [day, pennies left], oldest first
    first = 0
    for day, pennies in sorted(movements, key=lambda m: (m[0], m[1] < 0)):
        if pennies > 0:
            lots.append([day, pennies])
            continue
        out = -pennies
        while out and first < len(lots):
            take = min(out, lots[first][1])
            lots[first][1] -= take
            out -= take
            if lots[first][1] == 0:
                first += 1
        if out:
            raise CoopError("the register withdraws more shares than the member holds")
    return lots[first][0] if first < len(lots) else None


def due_date(rules: SocietyRules, r: WithdrawalRequest) -> date:
    if r.on_death:
        return r.notice_date
    return max(
        r.notice_date + timedelta(days=rules.notice_period_days),
        add_years(r.held_since, rules.min_holding_period_years),
    )


@dataclass(frozen=True)
class QueueResult:
    pay: list[WithdrawalRequest]
    waiting: list[WithdrawalRequest]  # due but not affordable yet
    not_due: list[WithdrawalRequest]
    paid_total: int
    message: str


def process_queue(
    rules: SocietyRules, requests: Sequence[WithdrawalRequest], *, today: date, budget: int
) -> QueueResult:
    if budget < 0:
        raise CoopError("The withdrawal budget cannot be negative.")
    if rules.withdrawals_suspended:
        return QueueResult(
            [],
            [r for r in requests if due_date(rules, r) <= today],
            [r for r in requests if due_date(rules, r) > today],
            0,
            "The board has suspended withdrawals: nothing is paid.",
        )
    ordered = sorted(enumerate(requests), key=lambda ir: (not ir[1].on_death, ir[1].notice_date, ir[0]))
    pay, waiting, not_due = [], [], []
    left = budget
    blocked = False
    for _, r in ordered:
        if due_date(rules, r) > today:
            not_due.append(r)
            continue
        if not blocked and r.pennies <= left:
            pay.append(r)
            left -= r.pennies
        else:
            blocked = True
            waiting.append(r)
    paid = budget - left
    msg = f"Pay {len(pay)} withdrawals totalling £{from_pennies(paid):,}"
    if waiting:
        msg += f"; {len(waiting)} due withdrawals wait for more cash"
    return QueueResult(pay, waiting, not_due, paid, msg + ".")
