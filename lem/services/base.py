"""Shared helpers of the market's write paths: periods, prices, rules in force."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from community.errors import DomainError
from community.models import Community, Membership, Role
from lem.domain import clearing as engine
from lem.models import (
    Market,
    Participant,
    RuleVersion,
)

TICK = Decimal("0.001")


SOURCE = "lem"


PEAK_HOURS = range(16, 19)  # local time, when a supplier has a peak import rate


def period_length(market: Market) -> timedelta:
    return timedelta(minutes=market.community.settlement_period_minutes)


def floor_period(market: Market, at: datetime) -> datetime:
    minutes = market.community.settlement_period_minutes
    at = at.astimezone(ZoneInfo("UTC"))
    return at.replace(minute=at.minute - at.minute % minutes, second=0, microsecond=0)


def gate_closure(market: Market, period_start: datetime) -> datetime:
    return period_start - timedelta(minutes=market.gate_closure_minutes)


def _decimal(value: Any, what: str, field: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{what} must be a number.", field=field) from None
    if not d.is_finite():
        raise DomainError(f"{what} must be a number.", field=field)
    return d


def _price(market: Market, value: Any, field: str = "price") -> Decimal:
    d = _decimal(value, "The price", field)
    if d != d.quantize(TICK):
        raise DomainError("Prices have at most 3 decimal places (p/kWh).", field=field)
    if d < market.price_floor or d > market.price_cap:
        raise DomainError(
            f"The price must be between {fmt_price(market.price_floor)} and {fmt_price(market.price_cap)} p/kWh.",
            field=field,
        )
    return d


def fmt_price(d: Decimal) -> str:
    """12.500 -> '12.5', 100.000 -> '100' (p/kWh in messages)."""
    return f"{Decimal(d).quantize(TICK).normalize():f}"


def _ticks(price: Decimal) -> int:
    return int(price * engine.PRICE_SCALE)


def is_household(user: Any, participant: Participant) -> bool:
    """Anyone living at the participant's site trades for it."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.pk == participant.user_id or participant.site.occupants.filter(pk=user.pk).exists()


def _is_operator(user: Any, community: Community) -> bool:
    return Membership.objects.filter(community=community, user=user, role=Role.MARKET_OPERATOR).exists()


def rules_in_force(market: Market, at: datetime) -> RuleVersion:
    rule = (
        market.rule_versions.filter(status=RuleVersion.Status.APPROVED, effective_from__lte=at)
        .order_by("-effective_from", "-number")
        .first()
    )
    if rule is None:
        raise DomainError("The market has no rules in force for that time.")
    return rule


def import_price_at(rule: RuleVersion, market: Market, period_start: datetime) -> Decimal:
    if rule.peak_import_price is not None:
        local = period_start.astimezone(ZoneInfo(market.community.timezone))
        if local.hour in PEAK_HOURS:
            return rule.peak_import_price
    return rule.import_price
