"""Society revenue to the ledger: each month's energy, flexibility and local market
revenue of the society's assets (computed from their meters and the market's
settlement by ``selectors.asset_accounts``) posted as one balanced entry,
idempotent per society and month.

The local market's income is read from the market's settled periods; while any
period of the month still waits for meter data the month is not posted (the
PPA is paid on the exports the market did not buy, so both need the settled
figure). The monthly task runs daily for the first days of the month, so the
month is posted once the market has settled it, and only once."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.models import JournalEntry
from community.services.audit import audit_record
from community.services.ledger import ledger_post

from ..domain.money import from_pennies
from ..models import Society
from ..selectors import asset_accounts, asset_market_months, month_starts
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
    key = f"coop:{society.pk}:revenue:{month:%Y-%m}"
    posted = JournalEntry.objects.filter(community=society.community, idempotency_key=key).first()
    if posted is not None:
        return posted  # run twice: posted once
    energy = flex = market = 0
    for asset in society.assets.all():
        pending = asset_market_months(asset, [month]).get(month)
        if pending is not None and pending.pending:
            raise DomainError(
                f"The local market has not settled {pending.pending} half-hours of {month:%B %Y} yet "
                "(meter data awaited): the month's revenue is posted once it has.",
                field="month",
            )
        (acc,) = asset_accounts(asset, month, 1)
        energy += acc.ppa_revenue + acc.host_revenue
        flex += acc.flex_revenue
        market += acc.market_revenue
    total = energy + flex + market
    if total <= 0:
        raise DomainError(f"The society's assets earned nothing in {month:%B %Y}: nothing to post.", field="month")
    lines = [(society_account(society, "receivables"), from_pennies(total))]
    if energy:
        lines.append((society_account(society, "energy-revenue"), -from_pennies(energy)))
    if flex:
        lines.append((society_account(society, "flex-revenue"), -from_pennies(flex)))
    if market:
        lines.append((society_account(society, "market-revenue"), -from_pennies(market)))
    entry = ledger_post(
        community=society.community,
        lines=lines,
        memo=f"{society.name}: revenue for {month:%B %Y} (energy £{from_pennies(energy):,}, "
        f"flexibility £{from_pennies(flex):,}, local market £{from_pennies(market):,})",
        source=SOURCE,
        reference=f"revenue-{month:%Y-%m}",
        idempotency_key=key,
        effective_at=timezone.make_aware(datetime.combine(month_end, time(0))),
        actor=actor,
    )
    audit_record(actor=actor, action="coop.revenue_post", summary=entry.memo, community=society.community, obj=entry)
    return entry


def revenue_total(entry) -> Decimal:
    return sum((ln.amount for ln in entry.lines.all() if ln.amount > 0), Decimal(0))
