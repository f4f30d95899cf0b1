"""Benefit funds granting through the project marketplace's calls (issue 12).

The marketplace (a higher app) calls these; the co-op never imports it. A grant
awarded through a call is a ``FundGrant`` like one the panel awards here, so the
fund's page and its balance count it, but its money moves from the fund's
balance to a payable account the marketplace names (the grant is committed,
then paid out in milestone tranches from the fund's bank), not straight out of
the bank.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.models import JournalEntry, LedgerAccount
from community.services.audit import audit_record
from community.services.ledger import ledger_post

from ..domain import fund as dom
from ..models import BenefitFund, FundGrant
from ..selectors import fund_totals
from ._common import SOURCE, domain_errors, fund_balance_account, fund_bank_account, money


def fund_available(fund: BenefitFund) -> Decimal:
    """What the fund can still commit (paid in less every grant, including those made through calls)."""
    return fund_totals(fund)["balance"]


def fund_bank(fund: BenefitFund) -> LedgerAccount:
    """The ledger account grant payments leave from."""
    return fund_bank_account(fund)


@transaction.atomic
def fund_grant_commit(
    *,
    fund: BenefitFund,
    project: str,
    recipient: str,
    amount: Decimal,
    decided_on: date,
    payable: LedgerAccount,
    idempotency_key: str,
    panel_note: str = "",
    actor: Any | None = None,
) -> FundGrant:
    """Commit ``amount`` of the fund to a project: Dr fund balance, Cr ``payable``. Idempotent by key."""
    BenefitFund.objects.select_for_update().filter(pk=fund.pk).first()  # two calls cannot both spend the balance
    done = JournalEntry.objects.filter(community=fund.community, idempotency_key=idempotency_key).first()
    if done is not None:
        existing = FundGrant.objects.filter(journal_entry=done).first()
        if existing is not None:
            return existing
    amount = money(amount, what="grant", field="amount")
    if payable.community_id != fund.community_id:
        raise DomainError("The grant's payable account belongs to another community.")
    with domain_errors("amount"):
        dom.check_grant(balance_now=fund_totals(fund)["balance"], amount=amount)
    grant = FundGrant.objects.create(
        fund=fund,
        project=project.strip()[:200],
        recipient=recipient.strip()[:200],
        amount=amount,
        decided_on=decided_on,
        panel_note=panel_note,
    )
    grant.journal_entry = ledger_post(
        community=fund.community,
        lines=[(fund_balance_account(fund), amount), (payable, -amount)],
        memo=f"{fund.name}: committed to {grant.recipient} for {grant.project}",
        source=SOURCE,
        idempotency_key=idempotency_key,
        effective_at=timezone.make_aware(datetime.combine(decided_on, time(12))),
        reference=f"fundgrant:{grant.pk}",
        actor=actor,
    )
    grant.save(update_fields=["journal_entry"])
    audit_record(
        actor=actor,
        action="coop.fund_grant_call",
        summary=f"£{amount:,} of {fund.name} committed to {grant.recipient} through a call",
        community=fund.community,
        obj=grant,
    )
    return grant
