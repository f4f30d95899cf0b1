"""Interest on shares: amount × rate × days held ÷ days in a year, summed over holdings
(the year's length per the society's day-count rule, below).

A member's holding changes only through the register's movements (allotment,
reinvestment, transfer in: positive; withdrawal, transfer out: negative).
Between movements the holding is constant, so over a period ``[start, end)``

    Σ_holdings amount × days held  =  Σ_movements pennies × (end − max(day, start))

for every movement dated before ``end`` (a movement dated on or after ``end``
adds nothing). Interest accrues from the allotment day and stops on the
withdrawal day (half-open days, ARCHITECTURE "Units"). We call
``pennies × days`` *penny-days*; a member's exact interest in pennies is
``penny_days × rate ÷ 365``.

The declared total is the exact sum rounded once to the penny; it is then
shared out over members in proportion to their penny-days by largest
remainder, so the amounts paid add up to the declared total exactly and each
is within a penny of the member's exact interest.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np

from .errors import CoopError
from .money import allocate_pennies, allocate_pennies_np, round_pennies

DAYS_PER_YEAR = 365

# Day-count conventions (a society rule, issue 14 item 13):
# * actual/365 fixed: every day is 1/365 of a year, so a leap year pays
#   366/365 of the rate (£1,000 at 4 % for 2024 -> £40.11);
# * actual/actual: a day is 1/365 or 1/366 of its own calendar year, so a
#   full year pays exactly the rate in any year (£1,000 at 4 % -> £40.00).
# Either way the exact interest in pennies is weight x rate / denominator,
# with integer weights, so rounding and sharing out stay exact.
ACT365F, ACTACT = "act365f", "actact"
DAY_COUNTS = {ACT365F: "Actual/365 fixed", ACTACT: "Actual/actual"}
ACTACT_DENOMINATOR = 365 * 366


def day_count_denominator(day_count: str) -> int:
    if day_count == ACT365F:
        return DAYS_PER_YEAR
    if day_count == ACTACT:
        return ACTACT_DENOMINATOR
    raise CoopError(f"unknown day-count convention {day_count!r} (use {', '.join(DAY_COUNTS)})")


def _year_segments(start: int, end: int) -> list[tuple[int, int, int]]:
    """Calendar-year pieces (a, b, days in that year) of the ordinal range [start, end)."""
    out = []
    y = date.fromordinal(start).year
    while True:
        y0, y1 = date(y, 1, 1).toordinal(), date(y + 1, 1, 1).toordinal()
        a, b = max(start, y0), min(end, y1)
        if a < b:
            out.append((a, b, y1 - y0))
        if y1 >= end:
            return out
        y += 1


@dataclass(frozen=True)
class Movement:
    """One line of the share register: ``pennies`` of shares in or out on ``day``."""

    member: Hashable
    day: date
    pennies: int


@dataclass(frozen=True)
class Holding:
    """A block of shares held from ``start`` (allotment) until ``end`` (withdrawal) or still held."""

    member: Hashable
    pennies: int
    start: date
    end: date | None = None


def _check_period(start: date, end: date) -> None:
    if end <= start:
        raise CoopError(f"the interest period must end after it starts ({start} to {end})")


def _check_rate(rate: Decimal) -> Fraction:
    rate = Decimal(rate)
    if not rate.is_finite() or rate < 0:
        raise CoopError(f"the interest rate must be zero or more, got {rate}")
    return Fraction(rate)


def penny_days(movements: Iterable[Movement], start: date, end: date) -> dict[Hashable, int]:
    """Penny-days per member over ``[start, end)`` (members with movements only)."""
    _check_period(start, end)
    out: dict[Hashable, int] = {}
    for m in movements:
        if m.day >= end:
            out.setdefault(m.member, 0)
            continue
        days = (end - max(m.day, start)).days
        out[m.member] = out.get(m.member, 0) + m.pennies * days
    for member, value in out.items():
        if value < 0:
            raise CoopError(f"the register for member {member} withdraws more shares than it holds")
    return out


def holding_penny_days(holdings: Iterable[Holding], start: date, end: date) -> dict[Hashable, int]:
    """The same figure computed holding by holding (amount × days held), for cross-checks."""
    _check_period(start, end)
    out: dict[Hashable, int] = {}
    for h in holdings:
        a = max(h.start, start)
        b = min(h.end, end) if h.end is not None else end
        days = max(0, (b - a).days)
        out[h.member] = out.get(h.member, 0) + h.pennies * days
    return out


@dataclass(frozen=True)
class InterestRun:
    members: list[Hashable]
    penny_days: list[int]
    exact: list[Fraction]  # exact interest per member in pennies
    paid: list[int]  # pennies, sums to declared_total
    declared_total: int  # pennies

    def as_dict(self) -> dict[Hashable, int]:
        return dict(zip(self.members, self.paid, strict=False))


def interest_weights(movements: Iterable[Movement], start: date, end: date, day_count: str) -> dict[Hashable, int]:
    """Integer weights per member such that exact interest = weight x rate / denominator."""
    day_count_denominator(day_count)
    movements = list(movements)
    if day_count == ACT365F:
        return penny_days(movements, start, end)
    out: dict[Hashable, int] = {}
    for a, b, year_days in _year_segments(start.toordinal(), end.toordinal()):
        pd = penny_days(movements, date.fromordinal(a), date.fromordinal(b))
        for k, v in pd.items():
            out[k] = out.get(k, 0) + v * (ACTACT_DENOMINATOR // year_days)
    return out


def interest_run(
    movements: Iterable[Movement],
    *,
    rate: Decimal,
    start: date,
    end: date,
    declared_total: int | None = None,
    day_count: str = ACT365F,
) -> InterestRun:
    """Interest per member for ``[start, end)`` at ``rate`` a year.

    ``declared_total`` (pennies) overrides the computed total, e.g. when the
    board declares a sum rather than a rate; it is then shared pro rata.
    """
    fr_rate = _check_rate(rate)
    movements = list(movements)
    pd = penny_days(movements, start, end)
    wts = interest_weights(movements, start, end, day_count)
    denominator = day_count_denominator(day_count)
    members = sorted(pd, key=lambda k: (str(type(k)), k))
    weights = [wts[m] for m in members]
    exact = [Fraction(w) * fr_rate / denominator for w in weights]
    if declared_total is None:
        declared_total = round_pennies(sum(exact, Fraction(0)))
    paid = allocate_pennies(declared_total, weights) if members else []
    if not members and declared_total:
        raise CoopError("there is nobody on the register to pay")
    return InterestRun(members, [pd[m] for m in members], exact, paid, int(declared_total))


# ---------------------------------------------------------------- vectorised


def penny_days_np(
    member_idx: np.ndarray,
    day: np.ndarray,
    pennies: np.ndarray,
    *,
    start: int,
    end: int,
    n_members: int,
) -> np.ndarray:
    """Vectorised penny-days per member index (days as integer ordinals).

    ``member_idx`` 0..n_members-1, ``day`` ordinals, ``pennies`` signed int64.
    Exact: integer arithmetic in int64 (a member's penny-days are at most
    £100,000 × 100 × 366 × years, far below 2**63).
    """
    if end <= start:
        raise CoopError("the interest period must end after it starts")
    day = np.asarray(day, dtype=np.int64)
    held_days = end - np.clip(day, start, end)  # 0 for movements on/after end
    contrib = np.asarray(pennies, dtype=np.int64) * held_days
    out = np.zeros(n_members, dtype=np.int64)
    np.add.at(out, np.asarray(member_idx, dtype=np.int64), contrib)
    if (out < 0).any():
        bad = int(np.flatnonzero(out < 0)[0])
        raise CoopError(f"the register for member #{bad} withdraws more shares than it holds")
    return out


def interest_weights_np(
    member_idx: np.ndarray,
    day: np.ndarray,
    pennies: np.ndarray,
    *,
    start: int,
    end: int,
    n_members: int,
    day_count: str,
) -> tuple[np.ndarray, int]:
    """(weights, denominator) per member index: exact interest = weight x rate / denominator."""
    denominator = day_count_denominator(day_count)
    if day_count == ACT365F:
        return penny_days_np(member_idx, day, pennies, start=start, end=end, n_members=n_members), denominator
    if end <= start:
        raise CoopError("the interest period must end after it starts")
    out = np.zeros(n_members, dtype=np.int64)
    for a, b, year_days in _year_segments(start, end):
        pd = penny_days_np(member_idx, day, pennies, start=a, end=b, n_members=n_members)
        out += pd * (ACTACT_DENOMINATOR // year_days)
    return out, denominator


def interest_total_np(weights: np.ndarray, rate: Decimal, denominator: int = DAYS_PER_YEAR) -> int:
    """Declared total in pennies: Σ weights × rate ÷ denominator (penny-days ÷ 365 for
    actual/365 fixed), rounded once, exactly."""
    fr_rate = _check_rate(rate)
    total_pd = int(np.asarray(weights, dtype=np.int64).sum(dtype=np.int64))
    return round_pennies(Fraction(total_pd) * fr_rate / denominator)


def interest_np(
    weights: np.ndarray, rate: Decimal, declared_total: int | None = None, denominator: int = DAYS_PER_YEAR
) -> tuple[int, np.ndarray]:
    """(declared total, paid per member) in pennies for an array of weights."""
    total = interest_total_np(weights, rate, denominator) if declared_total is None else int(declared_total)
    return total, allocate_pennies_np(total, np.asarray(weights, dtype=np.int64))


def rate_for_total(total_pennies: int, total_penny_days: int) -> Decimal:
    """The annual rate that a total of ``total_pennies`` represents (for statements)."""
    if total_penny_days <= 0:
        return Decimal(0)
    return (Decimal(total_pennies) * DAYS_PER_YEAR / Decimal(total_penny_days)).quantize(Decimal("0.000001"))


def exact_pro_rata(total: int, weights: Sequence[int]) -> list[Fraction]:
    s = sum(weights)
    return [Fraction(total * w, s) if s else Fraction(0) for w in weights]
