"""Membership fees pro rata (issue 17): pure, whole pence.

The monthly membership fee pays for running the market, so a household pays
it only for the days it took part AND traded: a member who joined on the
20th, or whose agent traded on 7 days of the month, pays for those days,
never for the days it was not a participant. Days are local calendar days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from .settlement import MICRO, round_half_up


def days_in_month(month: date) -> int:
    first = month.replace(day=1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return (nxt - first).days


def fee_days(
    *,
    month: date,
    joined: date,
    left: date | None = None,
    traded_days: Iterable[date] = (),
) -> int:
    """The days of ``month`` the member is charged for: days it was a
    participant (``joined`` <= day, and before ``left`` if it left) on which it
    traded."""
    first = month.replace(day=1)
    last = first + timedelta(days=days_in_month(first) - 1)
    start = max(first, joined)
    end = min(last, left - timedelta(days=1)) if left is not None else last
    if start > end:
        return 0
    return sum(1 for d in set(traded_days) if start <= d <= end)


def membership_fee_pence(*, monthly_fee_pence: int, month: date, days_charged: int) -> int:
    """``monthly_fee_pence`` x days charged / days in the month, half up."""
    n = days_in_month(month)
    if not 0 <= days_charged <= n:
        raise ValueError(f"days_charged must be within 0-{n} for {month:%B %Y}.")
    if monthly_fee_pence < 0:
        raise ValueError("The membership fee cannot be negative.")
    return round_half_up(monthly_fee_pence * MICRO * days_charged // n)


def local_days(times: Iterable[datetime], tz) -> set[date]:
    """The local calendar days of aware datetimes (trade periods)."""
    return {t.astimezone(tz).date() for t in times}
