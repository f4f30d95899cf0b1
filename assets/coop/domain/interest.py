"""Interest on shares: amount × rate × days held ÷ 365, summed over holdings.

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


def interest_run(
    movements: Iterable[Movement],
    *,
    rate: Decimal,
    start: date,
    end: date,
    declared_total: int | None = None,
) -> InterestRun:
    """Interest per member for ``[start, end)`` at ``rate`` a year.

    ``declared_total`` (pennies) overrides the computed total, e.g. when the
    board declares a sum rather than a rate; it is then shared pro rata.
    """
    fr_rate = _check_rate(rate)
    pd = penny_days(movements, start, end)
    members = sorted(pd, key=lambda k: (str(type(k)), k))
    weights = [pd[m] for m in members]
    exact = [Fraction(w) * fr_rate / DAYS_PER_YEAR for w in weights]
    if declared_total is None:
        declared_total = round_pennies(sum(exact, Fraction(0)))
    paid = allocate_pennies(declared_total, weights) if members else []
    if not members and declared_total:
        raise CoopError("there is nobody on the register to pay")
    return InterestRun(members, weights, exact, paid, int(declared_total))


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


def interest_total_np(weights: np.ndarray, rate: Decimal) -> int:
    """Declared total in pennies: Σ penny-days × rate ÷ 365, rounded once, exactly."""
    fr_rate = _check_rate(rate)
    total_pd = int(np.asarray(weights, dtype=np.int64).sum(dtype=np.int64))
    return round_pennies(Fraction(total_pd) * fr_rate / DAYS_PER_YEAR)


def interest_np(weights: np.ndarray, rate: Decimal, declared_total: int | None = None) -> tuple[int, np.ndarray]:
    """(declared total, paid per member) in pennies for an array of penny-days."""
    total = interest_total_np(weights, rate) if declared_total is None else int(declared_total)
    return total, allocate_pennies_np(total, np.asarray(weights, dtype=np.int64))


def rate_for_total(total_pennies: int, total_penny_days: int) -> Decimal:
    """The annual rate that a total of ``total_pennies`` represents (for statements)."""
    if total_penny_days <= 0:
        return Decimal(0)
    return (Decimal(total_pennies) * DAYS_PER_YEAR / Decimal(total_penny_days)).quantize(Decimal("0.000001"))


def exact_pro_rata(total: int, weights: Sequence[int]) -> list[Fraction]:
    s = sum(weights)
    return [Fraction(total * w, s) if s else Fraction(0) for w in weights]
