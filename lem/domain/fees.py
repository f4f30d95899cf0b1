"""Membership fees pro rata (issue 17): pure, whole pence.

The monthly membership fee pays for running the market, so a household pays
it only for the days it took part AND traded: a member who joined on the
20th, or whose agent traded on 7 days of the month, pays for those days,
never for the days it was not a participant. Days are local calendar days.

A market may also cap the fee at a share of what trading saved the household
that month against the supplier alone (``fee_cap_pct``, a shared-savings
fee): then the fee can never leave a household's month worse off than its
trading made it, and a month that trading saved nothing costs no fee.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

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


def capped_fee_pence(*, fee_pence: int, saving_pence: int, cap_pct: Decimal | None) -> int:
    """The membership fee after the market's shared-savings cap: at most
    ``cap_pct`` % of the month's trading saving against the supplier alone
    (after trade fees, whole pence, rounded down), nothing when trading saved
    nothing; ``cap_pct`` None: no cap."""
    if fee_pence < 0:
        raise ValueError("The membership fee cannot be negative.")
    if cap_pct is None:
        return fee_pence
    cap = Decimal(cap_pct)
    if not 0 <= cap <= 100:
        raise ValueError("The fee cap is a share of the saving: 0-100%.")
    share = int((max(int(saving_pence), 0) * cap / 100).to_integral_value(rounding=ROUND_FLOOR))
    return min(fee_pence, share)


def local_days(times: Iterable[datetime], tz) -> set[date]:
    """The local calendar days of aware datetimes (trade periods)."""
    return {t.astimezone(tz).date() for t in times}
