"""Societies and their rules; the register's members."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max

from community.errors import DomainError
from community.models import Community
from community.services.audit import audit_record

from ..domain.bank import check_bank_details
from ..domain.rules import KINDS, rules_problems
from ..models import BenefitFund, Member, Society
from ._common import domain_errors

RULE_FIELDS = (
    "kind",
    "share_price",
    "min_holding",
    "max_holding",
    "target_interest_rate",
    "max_interest_rate",
    "withdrawable",
    "transferable",
    "min_holding_period_years",
    "interest_day_count",
    "notice_period_days",
    "board_may_suspend_withdrawals",
    "withdrawals_suspended",
    "quorum_min",
    "quorum_fraction",
)

# not rules, but kept on the same page: where applicants pay for their shares
BANK_FIELDS = ("bank_account_name", "bank_sort_code", "bank_account_number")


def _set_bank_details(society: Society, details: dict[str, Any]) -> None:
    """All three or none; the sort code and account number checked and written the bank's way."""
    name = (details.get("bank_account_name") or "").strip()
    sort_code = (details.get("bank_sort_code") or "").strip()
    account = (details.get("bank_account_number") or "").strip()
    if not (name or sort_code or account):
        society.bank_account_name = society.bank_sort_code = society.bank_account_number = ""
        return
    if not name:
        raise DomainError(
            "Give the name on the society's bank account, as applicants must write it.", field="bank_account_name"
        )
    with domain_errors("bank_sort_code"):
        sort_code, account = check_bank_details(sort_code, account)
    society.bank_account_name, society.bank_sort_code, society.bank_account_number = name, sort_code, account


def _check(society: Society) -> None:
    problems = rules_problems(society.rules())
    if society.quorum_fraction < 0 or society.quorum_fraction > 1:
        problems.append("The quorum share of members must be between 0 and 1.")
    if problems:
        raise DomainError(" ".join(problems))


@transaction.atomic
def society_create(*, community: Community, name: str, actor: Any | None = None, **rules: Any) -> Society:
    name = (name or "").strip()
    if not name:
        raise DomainError("A society needs a name.", field="name")
    if Society.objects.filter(community=community, name=name).exists():
        raise DomainError(f"{community} already has a society called {name}.", field="name")
    bank = {f: rules.pop(f) for f in BANK_FIELDS if f in rules}
    unknown = set(rules) - set(RULE_FIELDS) - {"registration_number", "year_end_month"}
    if unknown:
        raise DomainError(f"Unknown rule(s): {', '.join(sorted(unknown))}.")
    if rules.get("kind", "cbs") not in KINDS:
        raise DomainError("A society is a community benefit society or a co-operative society.", field="kind")
    society = Society(community=community, name=name, **rules)
    _set_bank_details(society, bank)
    _check(society)
    society.save()
    BenefitFund.objects.create(
        community=community,
        kind=BenefitFund.Kind.COOP,
        society=society,
        name=f"{name} community fund",
        description="Fed by the society's contributions and members' donated interest.",
    )
    audit_record(
        actor=actor,
        action="coop.society_create",
        summary=f"Registered {name} ({society.get_kind_display()})",
        community=community,
        obj=society,
    )
    return society


@transaction.atomic
def society_update_rules(*, society: Society, actor: Any | None = None, **changes: Any) -> Society:
    society = Society.objects.select_for_update().get(pk=society.pk)
    before = {f: str(getattr(society, f)) for f in changes}
    bank = {f: changes[f] for f in BANK_FIELDS if f in changes}
    for f, v in changes.items():
        if f in BANK_FIELDS:
            continue
        if f not in RULE_FIELDS:
            raise DomainError(f"Unknown rule {f!r}.")
        setattr(society, f, v)
    if bank:
        _set_bank_details(society, {f: bank.get(f, getattr(society, f)) for f in BANK_FIELDS})
    if society.withdrawals_suspended and not society.board_may_suspend_withdrawals:
        raise DomainError(
            "The rules do not give the board power to suspend withdrawals.", field="withdrawals_suspended"
        )
    _check(society)
    society.save()
    audit_record(
        actor=actor,
        action="coop.rules_update",
        summary=f"Changed the rules of {society}",
        community=society.community,
        obj=society,
        changes={f: [before[f], str(getattr(society, f))] for f in changes},
    )
    return society


def member_admit(
    *,
    society: Society,
    full_name: str,
    email: str,
    address: str,
    postcode: str,
    admitted_on: date,
    user: Any | None = None,
    date_of_birth: date | None = None,
    sort_code: str = "",
    account_number: str = "",
) -> Member:
    """Add a line to the register (called inside the allotment's transaction)."""
    number = (Member.objects.filter(society=society).aggregate(n=Max("number"))["n"] or 0) + 1
    return Member.objects.create(
        society=society,
        number=number,
        user=user,
        full_name=full_name,
        email=email,
        address=address,
        postcode=postcode,
        date_of_birth=date_of_birth,
        sort_code=sort_code,
        account_number=account_number,
        admitted_on=admitted_on,
    )


@transaction.atomic
def member_update_details(
    *,
    member: Member,
    actor: Any | None = None,
    distribution_choice: str | None = None,
    sort_code: str | None = None,
    account_number: str | None = None,
    address: str | None = None,
    postcode: str | None = None,
) -> Member:
    member = Member.objects.select_for_update().get(pk=member.pk)
    if distribution_choice is not None:
        if distribution_choice not in Member.Choice.values:
            raise DomainError("Choose pay, reinvest or donate.", field="distribution_choice")
        member.distribution_choice = distribution_choice
    if sort_code is not None or account_number is not None:
        with domain_errors("sort_code"):
            member.sort_code, member.account_number = check_bank_details(sort_code or "", account_number or "")
    if address is not None:
        member.address = address.strip()
    if postcode is not None:
        member.postcode = postcode.strip().upper()
    member.save()
    audit_record(
        actor=actor,
        action="coop.member_update",
        summary=f"Updated details of {member}",
        community=member.society.community,
        obj=member,
    )
    return member


def holding_of(member: Member) -> Decimal:
    from django.db.models import Sum

    return member.transactions.aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
