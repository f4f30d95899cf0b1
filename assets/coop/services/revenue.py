"""Society revenue to the ledger: each month's energy and flexibility revenue of
the society's assets (computed from their meters by ``selectors.asset_accounts``)
posted as one balanced entry, idempotent per society and month."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.services.audit import audit_record
from community.services.ledger import ledger_post

from ..domain.money import from_pennies
from ..models import Society
from ..selectors import asset_accounts, month_starts
from ._common import SOURCE, society_account


@transaction.atomic
def revenue_post(*, society: Society, month: date, today: date, actor: Any | None = None):
    """Post the month's revenue: receivable (debit) against energy and
    flexibility revenue (credit). Only whole past months; a second call for
    the same month returns the entry already posted and writes nothing."""
    month = month.replace(day=1)
    month_end = month_starts(month, 2)[1]
    if month_end > today:
        raise DomainError(f"{month:%B %Y} is not over yet: revenue is posted for whole past months.", field="month")
    energy = flex = 0
    for asset in society.assets.all():
        (acc,) = asset_accounts(asset, month, 1)
        energy += acc.ppa_revenue + acc.host_revenue
        flex += acc.flex_revenue
    total = energy + flex
    if total <= 0:
        raise DomainError(f"The society's assets earned nothing in {month:%B %Y}: nothing to post.", field="month")
    lines = [(society_account(society, "receivables"), from_pennies(total))]
    if energy:
        lines.append((society_account(society, "energy-revenue"), -from_pennies(energy)))
    if flex:
        lines.append((society_account(society, "flex-revenue"), -from_pennies(flex)))
    entry = ledger_post(
        community=society.community,
        lines=lines,
        memo=f"{society.name}: revenue for {month:%B %Y} (energy £{from_pennies(energy):,}, flexibility £{from_pennies(flex):,})",
        source=SOURCE,
        reference=f"revenue-{month:%Y-%m}",
        idempotency_key=f"coop:{society.pk}:revenue:{month:%Y-%m}",
        effective_at=timezone.make_aware(datetime.combine(month_end, time(0))),
        actor=actor,
    )
    audit_record(actor=actor, action="coop.revenue_post", summary=entry.memo, community=society.community, obj=entry)
    return entry


def revenue_total(entry) -> Decimal:
    return sum((ln.amount for ln in entry.lines.all() if ln.amount > 0), Decimal(0))
