"""Proposals: drafts saved as the applicant types, attachments, submission with its checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.services.audit import audit_record

from ..domain import rules
from ..models import Attachment, Call, Proposal
from ._common import rule_errors, status_change

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
# extension → (content type, the file's first bytes or None for text)
ALLOWED_TYPES = {
    "pdf": ("application/pdf", b"%PDF"),
    "png": ("image/png", b"\x89PNG"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    "csv": ("text/csv", None),
    "txt": ("text/plain", None),
}
DRAFT_FIELDS = ("title", "summary", "description", "team", "organisation", "budget_text", "milestones_text")


def _can_edit(proposal: Proposal, actor: Any) -> bool:
    return actor is not None and (proposal.applicant_id == actor.pk or proposal.team_users.filter(pk=actor.pk).exists())


@transaction.atomic
def proposal_create(*, call: Call, applicant: Any, title: str, now: datetime | None = None) -> Proposal:
    now = now or timezone.now()
    if call.status != Call.Status.OPEN or now < call.opens_at:
        raise DomainError("This call is not open for proposals.")
    if now > call.deadline:
        raise DomainError(f"This call closed on {timezone.localtime(call.deadline):%-d %b %Y at %H:%M}.")
    title = (title or "").strip()
    if not title:
        raise DomainError("Give your project a working title.", field="title")
    p = Proposal.objects.create(
        call=call,
        applicant=applicant,
        title=title[:200],
        stage=Proposal.Stage.CONCEPT if call.two_stage else Proposal.Stage.FULL,
    )
    audit_record(
        actor=applicant,
        action="marketplace.proposal_create",
        summary=f"Started '{p.title}'",
        community=call.community,
        obj=p,
    )
    return p


@transaction.atomic
def proposal_save_draft(
    *,
    proposal: Proposal,
    actor: Any,
    values: dict[str, Any],
    answers: dict[str, bool] | None = None,
    team_users: list | None = None,
    plan_action: Any = "unchanged",
) -> Proposal:
    """Save what the applicant typed so far (the autosave): nothing is checked for completeness here."""
    Proposal.objects.select_for_update().filter(pk=proposal.pk).first()
    proposal.refresh_from_db()
    if not _can_edit(proposal, actor):
        raise DomainError("Only the applicant and their team can edit this proposal.")
    if proposal.status != Proposal.Status.DRAFT:
        raise DomainError("This proposal has been submitted; it can no longer be edited.")
    changed = []
    for name in DRAFT_FIELDS:
        if name in values and values[name] is not None:
            value = str(values[name])
            if name == "title" and not value.strip():
                raise DomainError("A proposal needs a title.", field="title")
            setattr(proposal, name, value[:300] if name == "summary" else value)
            changed.append(name)
    if "requested" in values and values["requested"] not in (None, ""):
        with rule_errors():
            proposal.requested = rules.pounds(values["requested"], what="amount requested", field="requested")
        changed.append("requested")
    if answers is not None:
        known = {q["id"] for q in proposal.call.eligibility}
        proposal.answers = {k: bool(v) for k, v in answers.items() if k in known}
        changed.append("answers")
    if plan_action != "unchanged":
        if plan_action is not None and plan_action.plan.community_id != proposal.call.community_id:
            raise DomainError("That plan action belongs to another community.", field="plan_action")
        proposal.plan_action = plan_action
        changed.append("plan_action")
    proposal.save(update_fields=[*changed, "updated_at"])
    if team_users is not None:
        proposal.team_users.set([u for u in team_users if u.pk != proposal.applicant_id])
    return proposal


def _deadline_for(proposal: Proposal) -> datetime:
    call = proposal.call
    if call.two_stage and proposal.stage == Proposal.Stage.FULL:
        return call.full_deadline
    return call.deadline


@transaction.atomic
def proposal_submit(*, proposal: Proposal, actor: Any, now: datetime | None = None) -> Proposal:
    """Check eligibility, the budget and the deadline; then the proposal goes to the funder."""
    now = now or timezone.now()
    Proposal.objects.select_for_update().filter(pk=proposal.pk).first()
    proposal.refresh_from_db()
    call = proposal.call
    if proposal.applicant_id != getattr(actor, "pk", None):
        raise DomainError("Only the applicant can submit this proposal.")
    if proposal.status != Proposal.Status.DRAFT:
        raise DomainError(f"This proposal is already {proposal.get_status_display().lower()}.")
    deadline = _deadline_for(proposal)
    if call.status != Call.Status.OPEN and not (call.two_stage and proposal.stage == Proposal.Stage.FULL):
        raise DomainError("This call is closed.")
    if now > deadline:
        raise DomainError(
            f"Too late: the deadline was {timezone.localtime(deadline):%-d %b %Y at %H:%M}; "
            "late submissions are not accepted."
        )
    if not proposal.description.strip():
        raise DomainError("Describe the project before submitting.", field="description")
    failures = rules.eligibility_failures(call.eligibility, proposal.answers)
    if failures:
        raise DomainError(" ".join(failures), field="answers", code="ineligible")
    with rule_errors():
        if proposal.stage == Proposal.Stage.FULL:
            lines = rules.parse_budget(proposal.budget_text)
            milestones = rules.parse_milestones(proposal.milestones_text)
            rules.check_budget(
                requested=proposal.requested, lines=lines, milestones=milestones, max_award=call.max_award
            )
            proposal.budget_lines, proposal.milestones = lines, milestones
        elif proposal.requested <= 0 or proposal.requested > call.max_award:
            raise rules.RuleError(f"Ask for between £0.01 and £{call.max_award:,}.", "requested")
    before = proposal.status
    proposal.status = Proposal.Status.SUBMITTED
    proposal.submitted_at = now
    proposal.save(update_fields=["status", "submitted_at", "budget_lines", "milestones", "updated_at"])
    status_change(
        actor=actor,
        obj=proposal,
        community=call.community,
        before=before,
        after=proposal.status,
        summary=f"Submitted '{proposal.title}' ({proposal.get_stage_display().lower()}, £{proposal.requested:,})",
    )
    return proposal


@transaction.atomic
def proposal_withdraw(*, proposal: Proposal, actor: Any) -> Proposal:
    if proposal.applicant_id != getattr(actor, "pk", None):
        raise DomainError("Only the applicant can withdraw this proposal.")
    before = proposal.status
    if not Proposal.objects.filter(
        pk=proposal.pk, status__in=[Proposal.Status.DRAFT, Proposal.Status.SUBMITTED, Proposal.Status.IN_REVIEW]
    ).update(status=Proposal.Status.WITHDRAWN):
        raise DomainError("A decided proposal cannot be withdrawn.")
    proposal.refresh_from_db()
    status_change(
        actor=actor,
        obj=proposal,
        community=proposal.call.community,
        before=before,
        after=proposal.status,
        summary=f"Withdrew '{proposal.title}'",
    )
    return proposal


@transaction.atomic
def attachment_add(*, proposal: Proposal, upload: Any, actor: Any) -> Attachment:
    """Store a file the applicant attached, refusing anything too big or of a type we do not accept."""
    if not _can_edit(proposal, actor):
        raise DomainError("Only the applicant and their team can attach files.", field="file")
    if proposal.status != Proposal.Status.DRAFT:
        raise DomainError("Attach files before you submit.", field="file")
    if upload is None:
        raise DomainError("Choose a file.", field="file")
    if proposal.attachments.count() >= MAX_ATTACHMENTS:
        raise DomainError(f"A proposal has at most {MAX_ATTACHMENTS} attachments.", field="file")
    name = upload.name.rsplit("/", 1)[-1][:200]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED_TYPES:
        raise DomainError(f"'{name}' is not a type we accept ({', '.join(sorted(ALLOWED_TYPES))}).", field="file")
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise DomainError(f"'{name}' is {upload.size / 1048576:.1f} MB; the limit is 10 MB.", field="file")
    if upload.size == 0:
        raise DomainError(f"'{name}' is empty.", field="file")
    content_type, magic = ALLOWED_TYPES[ext]
    head = upload.read(2048)
    upload.seek(0)
    if magic is not None and not head.startswith(magic):
        raise DomainError(f"'{name}' does not look like a .{ext} file.", field="file")
    if magic is None:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            raise DomainError(f"'{name}' is not a plain text file.", field="file") from None
    att = Attachment(proposal=proposal, name=name, size_bytes=upload.size, content_type=content_type, uploaded_by=actor)
    att.file.save(name, upload, save=False)
    att.save()
    audit_record(
        actor=actor,
        action="marketplace.attachment_add",
        summary=f"Attached {name} to '{proposal.title}'",
        community=proposal.call.community,
        obj=att,
    )
    return att
