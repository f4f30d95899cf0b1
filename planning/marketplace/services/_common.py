"""Helpers every marketplace service shares: errors, ledger accounts, the audit of status changes."""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import models

from community.errors import DomainError
from community.models import Community, LedgerAccount
from community.services.audit import audit_record
from community.services.ledger import ledger_account

from ..domain.rules import RuleError

SOURCE = "marketplace"


@contextlib.contextmanager
def rule_errors():
    """Turn the pure rules' RuleError into the platform's DomainError (a 400 / inline form error)."""
    try:
        yield
    except RuleError as exc:
        raise DomainError(str(exc), field=exc.field) from exc


def status_change(*, actor: Any, obj: models.Model, community: Community, before: str, after: str, summary: str):
    """Every status change goes into the audit trail with the from/to pair (issue 12: the full history)."""
    audit_record(
        actor=actor,
        action=f"marketplace.{obj._meta.model_name}_status",
        summary=summary,
        community=community,
        obj=obj,
        changes={"status": [before, after]},
    )


def escrow_account(community: Community) -> LedgerAccount:
    return ledger_account(
        community=community,
        code="mkt:escrow",
        name="Marketplace: client money held for crowdfunding (bank)",
        kind=LedgerAccount.Kind.ASSET,
    )


def fees_account(community: Community) -> LedgerAccount:
    return ledger_account(
        community=community, code="mkt:fees", name="Marketplace: platform fees", kind=LedgerAccount.Kind.INCOME
    )


def grant_payable_account(grant) -> LedgerAccount:
    return ledger_account(
        community=grant.call.community,
        code=f"mkt:grant:{grant.pk}:payable",
        name=f"Grant awarded, not yet paid: {grant.proposal.title}"[:200],
        kind=LedgerAccount.Kind.LIABILITY,
    )


def pledges_account(campaign) -> LedgerAccount:
    return ledger_account(
        community=campaign.community,
        code=f"mkt:campaign:{campaign.pk}:pledges",
        name=f"Pledges held for backers: {campaign.title}"[:200],
        kind=LedgerAccount.Kind.LIABILITY,
    )


def campaign_payable_account(campaign) -> LedgerAccount:
    return ledger_account(
        community=campaign.community,
        code=f"mkt:campaign:{campaign.pk}:payable",
        name=f"Raised, due to the project: {campaign.title}"[:200],
        kind=LedgerAccount.Kind.LIABILITY,
    )


def display_name(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else "someone"
