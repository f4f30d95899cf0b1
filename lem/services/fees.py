"""Monthly membership fees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from community.services import EntrySpec, ledger_post_many
from lem.domain import settlement as sm
from lem.models import (
    Market,
    MonthlyCharge,
)
from lem.services.base import rules_in_force
from lem.services.orders import member_account
from lem.services.settlement import _account


def month_bounds(market: Market, month: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(market.community.timezone)
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    nxt = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(ZoneInfo("UTC")), nxt.astimezone(ZoneInfo("UTC"))


@transaction.atomic
def membership_fees_post(*, market: Market, month: date, actor: Any = None) -> int:
    """Charge the monthly membership fee once per member and month."""
    month = month.replace(day=1)
    start, _ = month_bounds(market, month)
    rule = rules_in_force(market, start)
    if rule.membership_fee <= 0:
        return 0
    cache: dict = {}
    specs, made = [], 0
    for p in market.participants.filter(active=True).order_by("pk"):
        charge, created = MonthlyCharge.objects.get_or_create(
            participant=p, month=month, defaults={"amount": rule.membership_fee}
        )
        specs.append(
            EntrySpec(
                lines=[(member_account(p), charge.amount), (_account(market, sm.OPERATOR, cache), -charge.amount)],
                memo=f"Membership fee {month:%B %Y} ({p.pseudonym})",
                source="lem.fees",
                idempotency_key=f"lem:membership:{p.pk}:{month:%Y-%m}",
                effective_at=start,
            )
        )
        made += created
    if specs:
        ledger_post_many(community=market.community, entries=specs, actor=actor)
    return made
