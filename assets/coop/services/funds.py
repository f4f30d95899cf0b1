"""Benefit funds: payments in (a corporate anchor's £/MW/yr) and grants out, decided by a panel."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.models import Community
from community.services.audit import audit_record
from community.services.ledger import ledger_post

from ..domain import fund as dom
from ..models import AccountEntry, BenefitFund, CoopAsset, FundGrant, FundPayment
from ..selectors import fund_totals
from ._common import SOURCE, domain_errors, fund_balance_account, fund_bank_account, money


def _when(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time(12)))


@transaction.atomic
def corporate_fund_create(
    *,
    community: Community,
    name: str,
    company_name: str,
    asset_name: str,
    capacity_kw: Decimal,
    pounds_per_mw_year: Decimal = Decimal(0),
    profit_share: Decimal = Decimal(0),
    description: str = "",
    actor: Any | None = None,
) -> BenefitFund:
    if not (name or "").strip() or not (company_name or "").strip():
        raise DomainError("A fund needs a name and the company that pays into it.", field="name")
    if Decimal(capacity_kw) < 0 or Decimal(pounds_per_mw_year) < 0 or not (0 <= Decimal(profit_share) <= 1):
        raise DomainError("Capacity and £/MW must not be negative; the profit share is between 0 and 1.")
    fund = BenefitFund.objects.create(
        community=community,
        kind=BenefitFund.Kind.CORPORATE,
        name=name.strip(),
        company_name=company_name.strip(),
        asset_name=asset_name,
        capacity_kw=capacity_kw,
        pounds_per_mw_year=pounds_per_mw_year,
        profit_share=profit_share,
        description=description,
    )
    audit_record(actor=actor, action="coop.fund_create", summary=f"Set up {fund.name}", community=community, obj=fund)
    return fund


@transaction.atomic
def fund_payment_record(
    *, fund: BenefitFund, amount: Decimal, received_on: date, description: str, actor: Any | None = None
) -> FundPayment:
    BenefitFund.objects.select_for_update().filter(pk=fund.pk).first()
    amount = money(amount, what="payment", field="amount")
    pay = FundPayment.objects.create(
        fund=fund, amount=amount, received_on=received_on, description=(description or "Payment in").strip()[:200]
    )
    pay.journal_entry = ledger_post(
        community=fund.community,
        lines=[(fund_bank_account(fund), amount), (fund_balance_account(fund), -amount)],
        memo=f"{fund.name}: {pay.description}",
        source=SOURCE,
        idempotency_key=f"fund:payment:{pay.pk}",
        effective_at=_when(received_on),
        actor=actor,
    )
    pay.save(update_fields=["journal_entry"])
    audit_record(
        actor=actor,
        action="coop.fund_payment",
        summary=f"£{amount:,} paid into {fund.name}",
        community=fund.community,
        obj=pay,
    )
    return pay


@transaction.atomic
def fund_grant_award(
    *,
    fund: BenefitFund,
    project: str,
    recipient: str,
    amount: Decimal,
    decided_on: date,
    panel_note: str = "",
    actor: Any | None = None,
) -> FundGrant:
    BenefitFund.objects.select_for_update().filter(pk=fund.pk).first()  # two grants cannot both spend the balance
    amount = money(amount, what="grant", field="amount")
    if not (project or "").strip() or not (recipient or "").strip():
        raise DomainError("A grant names the project and who receives it.", field="project")
    with domain_errors("amount"):
        dom.check_grant(balance_now=fund_totals(fund)["balance"], amount=amount)
    grant = FundGrant.objects.create(
        fund=fund,
        project=project.strip(),
        recipient=recipient.strip(),
        amount=amount,
        decided_on=decided_on,
        panel_note=panel_note,
    )
    grant.journal_entry = ledger_post(
        community=fund.community,
        lines=[(fund_balance_account(fund), amount), (fund_bank_account(fund), -amount)],
        memo=f"{fund.name}: grant to {grant.recipient} for {grant.project}",
        source=SOURCE,
        idempotency_key=f"fund:grant:{grant.pk}",
        effective_at=_when(decided_on),
        actor=actor,
    )
    grant.save(update_fields=["journal_entry"])
    audit_record(
        actor=actor,
        action="coop.fund_grant",
        summary=f"£{amount:,} granted to {grant.recipient}",
        community=fund.community,
        obj=grant,
    )
    return grant


@transaction.atomic
def account_entry_add(
    *, asset: CoopAsset, month: date, kind: str, amount: Decimal, description: str, actor: Any | None = None
) -> AccountEntry:
    if kind not in AccountEntry.Kind.values:
        raise DomainError("An entry is a cost or flexibility revenue.", field="kind")
    amount = money(amount, what="amount", field="amount")
    if not (description or "").strip():
        raise DomainError("Say what the entry is for.", field="description")
    e = AccountEntry.objects.create(
        asset=asset, month=month.replace(day=1), kind=kind, amount=amount, description=description.strip()
    )
    audit_record(
        actor=actor,
        action="coop.account_entry",
        summary=f"{e.get_kind_display()} £{amount:,} for {month:%b %Y}: {description}",
        community=asset.society.community,
        obj=e,
    )
    return e


def contribution_due(fund: BenefitFund, start: date, end: date) -> Decimal:
    with domain_errors():
        return dom.contribution_due(
            capacity_kw=fund.capacity_kw, pounds_per_mw_year=fund.pounds_per_mw_year, start=start, end=end
        )
