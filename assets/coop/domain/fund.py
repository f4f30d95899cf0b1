"""The corporate anchor's community benefit fund (seed 002 4.2.3, B.5).

The company pays in either a fixed sum per MW installed per year (the usual
UK community-benefit arrangement for wind and solar) or a share of the
asset's profit; a community panel grants it out to projects. The balance
can never go below zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .errors import CoopError
from .money import from_pennies, to_pennies


def contribution_due(*, capacity_kw: Decimal, pounds_per_mw_year: Decimal, start: date, end: date) -> Decimal:
    """£/MW/yr × MW × days in ``[start, end)`` ÷ 365, to the penny."""
    if end <= start:
        raise CoopError("The contribution period must end after it starts.")
    if capacity_kw < 0 or pounds_per_mw_year < 0:
        raise CoopError("Capacity and the rate per MW cannot be negative.")
    days = (end - start).days
    value = Decimal(capacity_kw) / 1000 * Decimal(pounds_per_mw_year) * days / 365
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def profit_share_due(*, profit: Decimal, share: Decimal) -> Decimal:
    if not (0 <= share <= 1):
        raise CoopError("The profit share must be between 0% and 100%.")
    if profit <= 0:
        return Decimal("0.00")
    return (Decimal(profit) * Decimal(share)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def balance(payments_in: Iterable[Decimal], grants_out: Iterable[Decimal]) -> Decimal:
    return from_pennies(sum(to_pennies(p) for p in payments_in) - sum(to_pennies(g) for g in grants_out))


def check_grant(*, balance_now: Decimal, amount: Decimal) -> None:
    if amount <= 0:
        raise CoopError("A grant must be for more than £0.")
    if to_pennies(amount) > to_pennies(balance_now):
        raise CoopError(f"The fund holds £{Decimal(balance_now):,}; it cannot grant £{Decimal(amount):,}.")
