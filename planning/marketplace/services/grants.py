"""Grants: the award (committed from the call's fund), the agreement, milestone
payment requests with one or two approvers, monitoring reports and reminders,
outcomes and the plan action marked delivered.

Ledger: award = Dr fund balance / Cr grant payable (through the co-op's
``fund_grant_commit``); payment = Dr grant payable / Cr fund bank.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from assets.coop.services.marketplace_grants import fund_bank, fund_grant_commit
from community.errors import DomainError
from community.models import JournalLine
from community.services.audit import audit_record
from community.services.ledger import ledger_post

from ..domain import rules
from ..models import Grant, GrantMilestone, MonitoringReport, PaymentRequest, Proposal
from ._common import SOURCE, display_name, grant_payable_account, rule_errors, status_change

REMIND_DAYS_BEFORE = 7
REMIND_EVERY_DAYS = 7


def _agreement(proposal: Proposal, amount: Decimal, tranches: list[tuple[str, str, Decimal]]) -> str:
    call = proposal.call
    lines = [
        f"Grant agreement: {proposal.title}",
        f"Between {call.fund.name} (the funder) and {proposal.organisation or display_name(proposal.applicant)} "
        "(the grantee).",
        f"1. The funder grants £{amount:,} for the project described in the proposal, under the call '{call.title}'.",
        "2. The grant is paid in these tranches, each on a payment request once its milestone is met:",
        *[f"   - {t} (due {d}): £{a:,}" for t, d, a in tranches],
        "3. The grantee spends the grant only on the budget it proposed, reports progress by each milestone's due "
        "date and records the project's outcomes and lessons when it completes.",
        f"4. Payments above £{call.second_approval_over:,} are approved by two people.",
        "5. Unspent money is returned to the fund.",
    ]
    return "\n".join(lines)


def grant_award(*, proposal: Proposal, amount: Decimal, actor: Any, now: datetime) -> Grant:
    """Called by ``proposal_decide`` inside its transaction."""
    call = proposal.call
    asked = [Decimal(m["amount"]) for m in proposal.milestones]
    amounts = rules.scale_tranches(asked, amount) if amount != proposal.requested else asked
    tranches = [(m["title"], m["due_on"], a) for m, a in zip(proposal.milestones, amounts, strict=True)]
    grant = Grant.objects.create(
        proposal=proposal,
        call=call,
        amount=amount,
        agreement=_agreement(proposal, amount, tranches),
        awarded_at=now,
    )
    grant.fund_grant = fund_grant_commit(
        fund=call.fund,
        project=proposal.title,
        recipient=proposal.organisation or display_name(proposal.applicant),
        amount=amount,
        decided_on=timezone.localdate(now),
        payable=grant_payable_account(grant),
        idempotency_key=f"mkt:grant:{grant.pk}:award",
        panel_note=f"Through the call '{call.title}'",
        actor=actor,
    )
    grant.award_entry = grant.fund_grant.journal_entry
    grant.save(update_fields=["fund_grant", "award_entry"])
    milestones = GrantMilestone.objects.bulk_create(
        GrantMilestone(grant=grant, title=t, due_on=date.fromisoformat(d), amount=a) for t, d, a in tranches
    )
    reports = [MonitoringReport(grant=grant, title=f"Progress: {m.title}", due_on=m.due_on) for m in milestones]
    last = max((m.due_on for m in milestones), default=timezone.localdate(now))
    reports.append(
        MonitoringReport(grant=grant, title="Final report: outcomes and lessons", due_on=last + timedelta(days=30))
    )
    MonitoringReport.objects.bulk_create(reports)
    return grant


@transaction.atomic
def grant_accept(*, grant: Grant, actor: Any, now: datetime | None = None) -> Grant:
    if grant.proposal.applicant_id != getattr(actor, "pk", None):
        raise DomainError("Only the applicant can sign the grant agreement.")
    if not Grant.objects.filter(pk=grant.pk, status=Grant.Status.OFFERED).update(
        status=Grant.Status.ACTIVE, accepted_at=now or timezone.now(), accepted_by=actor
    ):
        raise DomainError("This agreement is already signed.")
    grant.refresh_from_db()
    status_change(
        actor=actor,
        obj=grant,
        community=grant.call.community,
        before="offered",
        after="active",
        summary=f"Signed the grant agreement for '{grant.proposal.title}'",
    )
    return grant


def grant_paid(grant: Grant) -> Decimal:
    return grant.payment_requests.filter(status=PaymentRequest.Status.PAID).aggregate(s=Sum("amount"))["s"] or Decimal(
        "0.00"
    )


def _open_requests(grant: Grant, exclude: int | None = None) -> Decimal:
    qs = grant.payment_requests.filter(status__in=[PaymentRequest.Status.PENDING, PaymentRequest.Status.PARTLY])
    if exclude:
        qs = qs.exclude(pk=exclude)
    return qs.aggregate(s=Sum("amount"))["s"] or Decimal("0.00")


@transaction.atomic
def payment_request_create(
    *, grant: Grant, amount: Any, milestone: GrantMilestone | None, note: str = "", actor: Any
) -> PaymentRequest:
    Grant.objects.select_for_update().filter(pk=grant.pk).first()
    grant.refresh_from_db()
    proposal = grant.proposal
    if actor is None or not (proposal.applicant_id == actor.pk or proposal.team_users.filter(pk=actor.pk).exists()):
        raise DomainError("Only the grantee asks for payments.")
    if grant.status != Grant.Status.ACTIVE:
        raise DomainError(
            "Sign the grant agreement first." if grant.status == Grant.Status.OFFERED else "This grant is closed."
        )
    with rule_errors():
        amount = rules.pounds(amount, what="payment", field="amount")
    if milestone is not None and milestone.grant_id != grant.pk:
        raise DomainError("That milestone belongs to another grant.", field="milestone")
    left = grant.amount - grant_paid(grant) - _open_requests(grant)
    if amount > left:
        raise DomainError(
            f"That is more than the award allows: £{left:,} of the £{grant.amount:,} is left to request.",
            field="amount",
        )
    req = PaymentRequest.objects.create(
        grant=grant, milestone=milestone, amount=amount, note=(note or "").strip()[:300], requested_by=actor
    )
    audit_record(
        actor=actor,
        action="marketplace.payment_request",
        summary=f"Asked for £{amount:,} for '{proposal.title}'",
        community=grant.call.community,
        obj=req,
    )
    return req


def _fund_bank_balance(grant: Grant) -> Decimal:
    account = fund_bank(grant.call.fund)
    total = JournalLine.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    return Decimal(total).quantize(Decimal("0.01"))


@transaction.atomic
def payment_approve(*, request: PaymentRequest, actor: Any, now: datetime | None = None) -> PaymentRequest:
    """First approval; above the call's threshold a second, different person approves; then it is paid."""
    now = now or timezone.now()
    req = PaymentRequest.objects.select_for_update().get(pk=request.pk)
    grant = Grant.objects.select_for_update().select_related("call__fund", "proposal").get(pk=req.grant_id)
    if actor is None or req.requested_by_id == actor.pk:
        raise DomainError("Someone other than the person who asked must approve a payment.")
    if req.status in (PaymentRequest.Status.PAID, PaymentRequest.Status.REJECTED):
        raise DomainError(f"This request is already {req.get_status_display().lower()}.")
    two = rules.needs_second_approval(req.amount, grant.call.second_approval_over)
    if req.status == PaymentRequest.Status.PENDING:
        req.first_approver = actor
        if two:
            req.status = PaymentRequest.Status.PARTLY
            req.save(update_fields=["first_approver", "status"])
            status_change(
                actor=actor,
                obj=req,
                community=grant.call.community,
                before="pending",
                after="partly",
                summary=f"First approval of £{req.amount:,} for '{grant.proposal.title}'",
            )
            return req
    else:
        if req.first_approver_id == actor.pk:
            raise DomainError(
                f"Payments above £{grant.call.second_approval_over:,} need a second, different person to approve."
            )
        req.second_approver = actor
    paid = grant_paid(grant)
    if paid + req.amount > grant.amount:
        raise DomainError(f"Paying £{req.amount:,} would take the grant past its £{grant.amount:,} award.")
    in_bank = _fund_bank_balance(grant)
    if req.amount > in_bank:
        raise DomainError(f"The fund's bank holds £{in_bank:,}; it cannot pay £{req.amount:,}.")
    req.journal_entry = ledger_post(
        community=grant.call.community,
        lines=[(grant_payable_account(grant), req.amount), (fund_bank(grant.call.fund), -req.amount)],
        memo=f"Grant payment to {grant.proposal.organisation or display_name(grant.proposal.applicant)}: "
        f"{grant.proposal.title}",
        source=SOURCE,
        idempotency_key=f"mkt:payment:{req.pk}",
        reference=f"grant:{grant.pk}",
        effective_at=now,
        actor=actor,
    )
    before = req.status
    req.status = PaymentRequest.Status.PAID
    req.paid_at = now
    req.save(update_fields=["first_approver", "second_approver", "status", "paid_at", "journal_entry"])
    status_change(
        actor=actor,
        obj=req,
        community=grant.call.community,
        before=before,
        after="paid",
        summary=f"Paid £{req.amount:,} to '{grant.proposal.title}'",
    )
    return req


@transaction.atomic
def payment_reject(*, request: PaymentRequest, reason: str, actor: Any) -> PaymentRequest:
    if not (reason or "").strip():
        raise DomainError("Say why the request is rejected.", field="reason")
    before = request.status
    if not PaymentRequest.objects.filter(
        pk=request.pk, status__in=[PaymentRequest.Status.PENDING, PaymentRequest.Status.PARTLY]
    ).update(status=PaymentRequest.Status.REJECTED, note=f"Rejected: {reason.strip()}"[:300]):
        raise DomainError("Only a request awaiting approval can be rejected.")
    request.refresh_from_db()
    status_change(
        actor=actor,
        obj=request,
        community=request.grant.call.community,
        before=before,
        after="rejected",
        summary=f"Rejected £{request.amount:,}: {reason.strip()}"[:300],
    )
    return request


def _grantee(grant: Grant, actor: Any) -> bool:
    p = grant.proposal
    return actor is not None and (p.applicant_id == actor.pk or p.team_users.filter(pk=actor.pk).exists())


@transaction.atomic
def milestone_complete(*, milestone: GrantMilestone, evidence: str, actor: Any, now: datetime | None = None):
    if not _grantee(milestone.grant, actor):
        raise DomainError("Only the grantee marks milestones met.")
    if not (evidence or "").strip():
        raise DomainError("Say what shows the milestone is met.", field="evidence")
    if not GrantMilestone.objects.filter(pk=milestone.pk, completed_at__isnull=True).update(
        completed_at=now or timezone.now(), evidence=evidence.strip()
    ):
        raise DomainError("This milestone is already marked met.")
    milestone.refresh_from_db()
    audit_record(
        actor=actor,
        action="marketplace.milestone_complete",
        summary=f"Milestone met: {milestone.title}",
        community=milestone.grant.call.community,
        obj=milestone,
    )
    return milestone


@transaction.atomic
def report_submit(
    *, report: MonitoringReport, progress: str, spend_to_date: Any, actor: Any, now: datetime | None = None
) -> MonitoringReport:
    if not _grantee(report.grant, actor):
        raise DomainError("Only the grantee submits monitoring reports.")
    if report.submitted_at is not None:
        raise DomainError("This report is already submitted.")
    if not (progress or "").strip():
        raise DomainError("Describe the progress since the last report.", field="progress")
    with rule_errors():
        spend = rules.pounds(spend_to_date, what="spend to date", field="spend_to_date", allow_zero=True)
    if spend > report.grant.amount * 2:
        raise DomainError(
            "That spend is far beyond the whole project's budget; check the figure.", field="spend_to_date"
        )
    report.progress, report.spend_to_date, report.submitted_at = progress.strip(), spend, now or timezone.now()
    report.save(update_fields=["progress", "spend_to_date", "submitted_at"])
    audit_record(
        actor=actor,
        action="marketplace.report_submit",
        summary=f"Report '{report.title}' submitted",
        community=report.grant.call.community,
        obj=report,
    )
    return report


@transaction.atomic
def grant_complete(*, grant: Grant, outcomes: str, lessons: str, actor: Any, now: datetime | None = None) -> Grant:
    """Record outcomes and lessons; the plan's action the project delivers is marked delivered."""
    from planning.services import milestone_mark_delivered

    if not (outcomes or "").strip():
        raise DomainError("Record what the project achieved (its outcomes).", field="outcomes")
    if not (lessons or "").strip():
        raise DomainError("Record the lessons learned, for the next projects.", field="lessons")
    if not Grant.objects.filter(pk=grant.pk, status=Grant.Status.ACTIVE).update(
        status=Grant.Status.COMPLETED,
        outcomes=outcomes.strip(),
        lessons=lessons.strip(),
        completed_at=now or timezone.now(),
    ):
        raise DomainError("Only a grant in delivery can be completed.")
    grant.refresh_from_db()
    status_change(
        actor=actor,
        obj=grant,
        community=grant.call.community,
        before="active",
        after="completed",
        summary=f"Completed '{grant.proposal.title}'",
    )
    action = grant.proposal.plan_action
    if action is not None:
        milestone_mark_delivered(milestone=action, delivered_by=grant.proposal.title, actor=actor)
    return grant


def reminders_send(*, today: date) -> int:
    """Remind grantees of reports due within a week or overdue, at most once every 7 days (beat, daily)."""
    sent = 0
    due = (
        MonitoringReport.objects.filter(
            submitted_at__isnull=True,
            due_on__lte=today + timedelta(days=REMIND_DAYS_BEFORE),
            grant__status=Grant.Status.ACTIVE,
        )
        .select_related("grant__proposal__applicant", "grant__call__community")
        .order_by("id")
    )
    for report in due:
        if (
            report.last_reminded_on
            and (today - report.last_reminded_on).days < REMIND_EVERY_DAYS
            and report.due_on != today
        ):
            continue
        with transaction.atomic():
            if (
                not MonitoringReport.objects.filter(pk=report.pk, submitted_at__isnull=True)
                .exclude(last_reminded_on=today)
                .update(last_reminded_on=today, reminders_sent=report.reminders_sent + 1)
            ):
                continue
            applicant = report.grant.proposal.applicant
            late = report.due_on < today
            subject = f"{'Overdue' if late else 'Due soon'}: {report.title} ({report.grant.proposal.title})"
            body = (
                f"Hello {display_name(applicant)},\n\nThe monitoring report '{report.title}' for "
                f"'{report.grant.proposal.title}' {'was' if late else 'is'} due on {report.due_on:%-d %B %Y}.\n"
                "Please submit it on the project's page.\n"
            )
            if applicant.email:
                transaction.on_commit(
                    lambda s=subject, b=body, to=applicant.email: send_mail(s, b, None, [to], fail_silently=True)
                )
            audit_record(
                actor=None,
                action="marketplace.report_reminder",
                summary=subject[:300],
                community=report.grant.call.community,
                obj=report,
            )
            sent += 1
    return sent
