"""The member register: transfers, withdrawals (queued by notice date), deaths and closures."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from community.errors import DomainError
from community.services.audit import audit_record
from community.services.ledger import ledger_post

from ..domain import register as dom_register
from ..domain import withdrawals as dom
from ..domain.money import to_pennies
from ..models import Member, ShareTransaction, Society, WithdrawalRequest
from ._common import SOURCE, domain_errors, member_account, money, society_account
from .society import holding_of


def _when(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time(12)))


def _queued(member: Member) -> Decimal:
    return member.withdrawals.filter(status=WithdrawalRequest.Status.QUEUED).aggregate(s=Sum("amount"))["s"] or Decimal(
        0
    )


@transaction.atomic
def transfer_record(
    *, from_member: Member, to_member: Member, amount: Decimal, day: date, actor: Any | None = None
) -> ShareTransaction:
    society = from_member.society
    if to_member.society_id != society.pk:
        raise DomainError("Both members must belong to the same society.")
    if from_member.pk == to_member.pk:
        raise DomainError("A member cannot transfer shares to themselves.")
    if to_member.status != Member.Status.ACTIVE:
        raise DomainError(f"{to_member} is no longer a member.")
    list(Member.objects.select_for_update().filter(pk__in=[from_member.pk, to_member.pk]).order_by("pk"))
    amount = money(amount, what="transfer", field="amount")
    rules = society.rules()
    with domain_errors("amount"):
        shares = rules.shares_for(amount)
        dom_register.check_transfer(
            rules,
            pennies=to_pennies(amount),
            from_holding=to_pennies(holding_of(from_member) - _queued(from_member)),
            to_holding=to_pennies(holding_of(to_member)),
            min_holding=to_pennies(rules.min_holding),
            max_holding=to_pennies(rules.max_holding),
        )
    out = ShareTransaction.objects.create(
        society=society,
        member=from_member,
        day=day,
        kind=ShareTransaction.Kind.TRANSFER_OUT,
        shares=-shares,
        amount=-amount,
        note=f"to #{to_member.number}",
    )
    inn = ShareTransaction.objects.create(
        society=society,
        member=to_member,
        day=day,
        kind=ShareTransaction.Kind.TRANSFER_IN,
        shares=shares,
        amount=amount,
        note=f"from #{from_member.number}",
    )
    entry = ledger_post(
        community=society.community,
        lines=[(member_account(from_member), amount), (member_account(to_member), -amount)],
        memo=f"Transfer of {shares} shares from #{from_member.number} to #{to_member.number}",
        source=SOURCE,
        idempotency_key=f"coop:transfer:{out.pk}",
        effective_at=_when(day),
        actor=actor,
    )
    ShareTransaction.objects.filter(pk__in=[out.pk, inn.pk]).update(journal_entry=entry)
    if holding_of(from_member) == 0:
        Member.objects.filter(pk=from_member.pk).update(status=Member.Status.CEASED, ceased_on=day)
    audit_record(actor=actor, action="coop.transfer", summary=entry.memo, community=society.community, obj=out)
    return out


@transaction.atomic
def withdrawal_request(
    *, member: Member, amount: Decimal, notice_date: date, on_death: bool = False, actor: Any | None = None
) -> WithdrawalRequest:
    member = Member.objects.select_for_update().select_related("society").get(pk=member.pk)
    society = member.society
    amount = money(amount, what="withdrawal", field="amount")
    rules = society.rules()
    if member.status == Member.Status.CEASED:
        raise DomainError(f"{member} is no longer a member.")
    with domain_errors("amount"):
        rules.shares_for(amount)
        dom.check_request(
            rules,
            pennies=to_pennies(amount),
            holding=to_pennies(holding_of(member) - _queued(member)),
            min_holding=to_pennies(rules.min_holding),
        )
    req = WithdrawalRequest.objects.create(
        society=society, member=member, amount=amount, notice_date=notice_date, on_death=on_death
    )
    audit_record(
        actor=actor,
        action="coop.withdrawal_request",
        summary=f"{member} gave notice to withdraw £{amount:,}",
        community=society.community,
        obj=req,
    )
    return req


def _queue(society: Society) -> list[tuple[dom.WithdrawalRequest, WithdrawalRequest]]:
    out = []
    for r in WithdrawalRequest.objects.filter(society=society, status=WithdrawalRequest.Status.QUEUED).select_related(
        "member"
    ):
        # the holding period runs from the earliest allotment still held (first in, first out)
        first = dom.earliest_still_held(
            [(d, to_pennies(a)) for d, a in r.member.transactions.values_list("day", "amount")]
        )
        out.append(
            (
                dom.WithdrawalRequest(
                    r.pk,
                    r.member_id,
                    to_pennies(r.amount),
                    r.notice_date,
                    first or r.notice_date,
                    to_pennies(holding_of(r.member)),
                    r.on_death,
                ),
                r,
            )
        )
    return out


def withdrawal_due_dates(society: Society) -> dict[int, date]:
    """When each queued withdrawal falls due (notice and minimum holding period both passed)."""
    rules = society.rules()
    return {d.key: dom.due_date(rules, d) for d, _ in _queue(society)}


def withdrawal_queue_preview(*, society: Society, today: date, budget: Decimal) -> dom.QueueResult:
    budget = money(budget, what="budget", field="budget", positive=False)
    with domain_errors("budget"):
        return dom.process_queue(
            society.rules(), [d for d, _ in _queue(society)], today=today, budget=to_pennies(budget)
        )


@transaction.atomic
def withdrawals_pay(*, society: Society, today: date, budget: Decimal, actor: Any | None = None) -> dom.QueueResult:
    """Pay due withdrawals in notice-date order within the budget the board approved."""
    Society.objects.select_for_update().filter(pk=society.pk).first()
    society.refresh_from_db()
    result = withdrawal_queue_preview(society=society, today=today, budget=budget)
    rows = {d.key: r for d, r in _queue(society)}
    bank_acc = society_account(society, "bank")
    rules = society.rules()
    for d in result.pay:
        req = rows[d.key]
        if not WithdrawalRequest.objects.filter(pk=req.pk, status=WithdrawalRequest.Status.QUEUED).update(
            status=WithdrawalRequest.Status.PAID, paid_on=today
        ):
            continue  # paid by a concurrent run
        member = req.member
        amount = req.amount
        entry = ledger_post(
            community=society.community,
            lines=[(member_account(member), amount), (bank_acc, -amount)],
            memo=f"Shares withdrawn by #{member.number}" + (" (estate)" if req.on_death else ""),
            source=SOURCE,
            idempotency_key=f"coop:withdrawal:{req.pk}",
            effective_at=_when(today),
            actor=actor,
        )
        kind = ShareTransaction.Kind.CANCEL if req.on_death else ShareTransaction.Kind.WITHDRAW
        ShareTransaction.objects.create(
            society=society,
            member=member,
            day=today,
            kind=kind,
            shares=-rules.shares_for(amount),
            amount=-amount,
            journal_entry=entry,
            note=f"notice {req.notice_date:%d/%m/%Y}",
        )
        if holding_of(member) == 0 and member.status == Member.Status.ACTIVE:
            Member.objects.filter(pk=member.pk).update(status=Member.Status.CEASED, ceased_on=today)
        elif holding_of(member) == 0:
            Member.objects.filter(pk=member.pk).update(ceased_on=today)
    if result.pay:
        audit_record(
            actor=actor, action="coop.withdrawals_pay", summary=result.message, community=society.community, obj=society
        )
    return result


@transaction.atomic
def member_close(*, member: Member, reason: str, day: date, actor: Any | None = None) -> WithdrawalRequest | None:
    """A member died or left: queue their whole holding for repayment (an estate waits for no notice)."""
    if reason not in ("death", "closure"):
        raise DomainError("The reason is death or closure.", field="reason")
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.status != Member.Status.ACTIVE:
        raise DomainError(f"{member} is already {member.get_status_display().lower()}.")
    member.withdrawals.filter(status=WithdrawalRequest.Status.QUEUED).update(status=WithdrawalRequest.Status.CANCELLED)
    held = holding_of(member)
    if reason == "death":
        member.status = Member.Status.DECEASED
        member.distribution_choice = Member.Choice.PAY
        member.save(update_fields=["status", "distribution_choice"])
    req = None
    if held > 0:
        req = WithdrawalRequest.objects.create(
            society=member.society, member=member, amount=held, notice_date=day, on_death=reason == "death"
        )
    else:
        member.status = Member.Status.DECEASED if reason == "death" else Member.Status.CEASED
        member.ceased_on = day
        member.save(update_fields=["status", "ceased_on"])
    audit_record(
        actor=actor,
        action="coop.member_close",
        summary=f"{member}: {reason}; £{held:,} queued for repayment",
        community=member.society.community,
        obj=member,
    )
    return req


def annual_return(*, society: Society, year_start: date, year_end: date) -> dom_register.AnnualReturn:
    lines = [
        dom_register.RegisterLine(m, d, k, to_pennies(a))
        for m, d, k, a in society.transactions.values_list("member_id", "day", "kind", "amount")
    ]
    # interest is paid on the day the distribution is committed (cash, new shares or a donation)
    payments = [
        (d.declared_on or timezone.localdate(d.committed_at), to_pennies(d.interest_total))
        for d in society.distributions.all()
    ]
    with domain_errors():
        return dom_register.annual_return(lines, year_start=year_start, year_end=year_end, interest_payments=payments)


__all__ = [
    "annual_return",
    "member_close",
    "transfer_record",
    "withdrawal_queue_preview",
    "withdrawal_request",
    "withdrawals_pay",
]
