"""Enrolling participants, their agents and credit."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction

from community.errors import DomainError
from community.models import Site
from community.services import audit_record
from lem.models import (
    Market,
    Participant,
)
from lem.services.base import _decimal, _is_operator, _price, is_household


def _pseudonym(market: Market, site: Site) -> str:
    h = hashlib.sha256(f"{market.pk}:{site.pk}".encode()).hexdigest()[:4].upper()
    return f"Trader {h}-{site.pk}"


@transaction.atomic
def participant_enrol(*, market: Market, site: Site, user: Any, actor: Any, fuel_poor: bool = False) -> Participant:
    community = market.community
    if site.community_id != community.pk:
        raise DomainError("That site is not in this community.", field="site")
    if _is_operator(user, community):
        raise DomainError("The market operator runs the market and may not trade in it.", code="forbidden")
    if not site.occupants.filter(pk=user.pk).exists():
        raise DomainError("Only the site's household can trade for it.", field="site", code="forbidden")
    existing = Participant.objects.filter(market=market, site=site).first()
    if existing:
        return existing
    p = Participant.objects.create(
        market=market, site=site, user=user, pseudonym=_pseudonym(market, site), fuel_poor=fuel_poor
    )
    audit_record(
        actor=actor,
        action="lem.participant_enrol",
        summary=f"{site.name} joined the market as {p.pseudonym}",
        community=community,
        obj=p,
    )
    return p


@transaction.atomic
def participant_update_agent(
    *,
    participant: Participant,
    actor: Any,
    agent_enabled: bool,
    min_sell_price: Any,
    max_buy_price: Any,
    battery_reserve_pct: Any,
) -> Participant:
    if not is_household(actor, participant):
        raise DomainError("Only the household can change its trading agent.", code="forbidden")
    market = participant.market
    ms = _price(market, min_sell_price, "min_sell_price")
    mb = _price(market, max_buy_price, "max_buy_price")
    try:
        reserve = int(battery_reserve_pct)
    except (TypeError, ValueError):
        raise DomainError("The battery reserve must be a whole percentage.", field="battery_reserve_pct") from None
    if not 0 <= reserve <= 100:
        raise DomainError("The battery reserve must be between 0 and 100%.", field="battery_reserve_pct")
    participant.agent_enabled = bool(agent_enabled)
    participant.min_sell_price, participant.max_buy_price, participant.battery_reserve_pct = ms, mb, reserve
    participant.save(update_fields=["agent_enabled", "min_sell_price", "max_buy_price", "battery_reserve_pct"])
    audit_record(
        actor=actor,
        action="lem.agent_update",
        summary=f"{participant.pseudonym} changed their agent's limits",
        community=market.community,
        obj=participant,
    )
    return participant


@transaction.atomic
def participant_set_credit(*, participant: Participant, actor: Any, credit_limit: Any, fuel_poor: bool) -> Participant:
    if not (_is_operator(actor, participant.market.community) or getattr(actor, "is_superuser", False)):
        raise DomainError("Only the market operator sets credit limits.", code="forbidden")
    limit = _decimal(credit_limit, "The credit limit", "credit_limit")
    if limit < 0:
        raise DomainError("The credit limit cannot be negative.", field="credit_limit")
    participant.credit_limit, participant.fuel_poor = limit, bool(fuel_poor)
    participant.save(update_fields=["credit_limit", "fuel_poor"])
    audit_record(
        actor=actor,
        action="lem.participant_credit",
        summary=f"Credit limit of {participant.pseudonym} set to £{limit}",
        community=participant.market.community,
        obj=participant,
    )
    return participant
