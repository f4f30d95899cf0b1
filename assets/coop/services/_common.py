"""Helpers every co-op service shares: domain errors, ledger accounts, money."""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation

from community.errors import DomainError
from community.models import LedgerAccount
from community.services.ledger import ledger_account

from ..domain.errors import CoopError
from ..models import BenefitFund, Member, Society

SOURCE = "coop"
PENNY = Decimal("0.01")


@contextlib.contextmanager
def domain_errors(field: str | None = None):
    """Turn the pure domain's CoopError into the platform's DomainError (a 400 / inline form error)."""
    try:
        yield
    except CoopError as exc:
        raise DomainError(str(exc), field=field) from exc


def money(value, *, what: str = "amount", field: str | None = None, positive: bool = True) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError(f"The {what} must be a sum of money in pounds, e.g. 250.00.", field=field) from None
    if not d.is_finite():
        raise DomainError(f"The {what} must be a sum of money in pounds.", field=field)
    if d != d.quantize(PENNY):
        raise DomainError(f"The {what} must be in whole pence.", field=field)
    if positive and d <= 0:
        raise DomainError(f"The {what} must be more than £0.", field=field)
    return d.quantize(PENNY)


def society_account(society: Society, suffix: str) -> LedgerAccount:
    names = {
        "bank": ("Co-op bank account", LedgerAccount.Kind.ASSET),
        "applications": ("Share application money held", LedgerAccount.Kind.LIABILITY),
        "share-interest": ("Interest on shares", LedgerAccount.Kind.EXPENSE),
        "dividends": ("Dividends to members", LedgerAccount.Kind.EQUITY),
        "interest-payable": ("Interest and dividends payable to members", LedgerAccount.Kind.LIABILITY),
        "fund-contribution": ("Contribution to the community fund", LedgerAccount.Kind.EXPENSE),
        "receivables": ("Money owed to the society for its energy", LedgerAccount.Kind.ASSET),
        "energy-revenue": ("Energy revenue (PPA and host building)", LedgerAccount.Kind.INCOME),
        "flex-revenue": ("Flexibility revenue", LedgerAccount.Kind.INCOME),
        "market-revenue": ("Local market revenue (energy sold to neighbours)", LedgerAccount.Kind.INCOME),
    }
    name, kind = names[suffix]
    return ledger_account(
        community=society.community, code=society.ledger_code(suffix), name=f"{society.name}: {name}", kind=kind
    )


def member_account(member: Member) -> LedgerAccount:
    society = member.society
    return ledger_account(
        community=society.community,
        code=society.ledger_code(member.ledger_suffix),
        name=f"{society.name}: shares of member #{member.number}",
        kind=LedgerAccount.Kind.EQUITY,
        user=member.user,
    )


def member_accounts(society: Society, members: list[Member]) -> dict[int, LedgerAccount]:
    """Share accounts for many members in one query (creating any that are missing)."""
    codes = {society.ledger_code(m.ledger_suffix): m for m in members}
    found = {a.code: a for a in LedgerAccount.objects.filter(community=society.community, code__in=list(codes))}
    out = {}
    for code, m in codes.items():
        out[m.pk] = found[code] if code in found else member_account(m)
    return out


def fund_balance_account(fund: BenefitFund) -> LedgerAccount:
    return ledger_account(
        community=fund.community,
        code=f"fund:{fund.pk}:balance",
        name=f"{fund.name}: balance held for the community",
        kind=LedgerAccount.Kind.LIABILITY,
    )


def fund_bank_account(fund: BenefitFund) -> LedgerAccount:
    """Where the fund's money sits: the society's bank for a co-op fund, its own for a corporate one."""
    if fund.kind == BenefitFund.Kind.COOP and fund.society_id:
        return society_account(fund.society, "bank")
    return ledger_account(
        community=fund.community,
        code=f"fund:{fund.pk}:bank",
        name=f"{fund.name}: bank account",
        kind=LedgerAccount.Kind.ASSET,
    )
