"""Creating and updating markets."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.models import Community
from community.services import audit_record
from lem.models import (
    Market,
    RuleVersion,
)
from lem.services.base import _decimal
from lem.services.rules import _clean_rules


@transaction.atomic
def market_create(
    *,
    community: Community,
    actor: Any,
    name: str = "",
    gate_closure_minutes: int = 15,
    price_floor: Decimal = Decimal("0"),
    price_cap: Decimal = Decimal("100"),
    rules_need_vote: bool = True,
    rules: dict,
    now: datetime | None = None,
) -> Market:
    if Market.objects.filter(community=community).exists():
        raise DomainError("This community already has a market.")
    if not 0 <= int(gate_closure_minutes) <= 1440:
        raise DomainError(
            "Gate closure must be between 0 and 1,440 minutes before delivery.", field="gate_closure_minutes"
        )
    if Decimal(price_floor) > Decimal(price_cap):
        raise DomainError("The price floor must be below the cap.", field="price_floor")
    cleaned = _clean_rules(rules)
    now = now or timezone.now()
    market = Market.objects.create(
        community=community,
        name=name or f"{community.name} energy market",
        gate_closure_minutes=gate_closure_minutes,
        price_floor=price_floor,
        price_cap=price_cap,
        rules_need_vote=rules_need_vote,
    )
    RuleVersion.objects.create(
        market=market,
        number=1,
        effective_from=now - timedelta(days=3650),
        status=RuleVersion.Status.APPROVED,
        proposed_by=actor if getattr(actor, "is_authenticated", False) else None,
        decided_at=now,
        reason="Initial rules",
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="lem.market_create",
        summary=f"Opened the market {market.name}",
        community=community,
        obj=market,
    )
    return market


@transaction.atomic
def market_update(
    *, market: Market, actor: Any, gate_closure_minutes: int, price_floor: Any, price_cap: Any, rules_need_vote: bool
) -> Market:
    floor = _decimal(price_floor, "The price floor", "price_floor")
    cap = _decimal(price_cap, "The price cap", "price_cap")
    if floor > cap:
        raise DomainError("The price floor must be below the cap.", field="price_floor")
    try:
        gc = int(gate_closure_minutes)
    except (TypeError, ValueError):
        raise DomainError("Gate closure must be a whole number of minutes.", field="gate_closure_minutes") from None
    if not 0 <= gc <= 1440:
        raise DomainError(
            "Gate closure must be between 0 and 1,440 minutes before delivery.", field="gate_closure_minutes"
        )
    before = {
        "gate_closure_minutes": market.gate_closure_minutes,
        "price_floor": str(market.price_floor),
        "price_cap": str(market.price_cap),
    }
    market.gate_closure_minutes, market.price_floor, market.price_cap = gc, floor, cap
    market.rules_need_vote = bool(rules_need_vote)
    market.save(update_fields=["gate_closure_minutes", "price_floor", "price_cap", "rules_need_vote"])
    audit_record(
        actor=actor,
        action="lem.market_update",
        summary="Changed the market configuration",
        community=market.community,
        obj=market,
        changes={"before": before},
    )
    return market
