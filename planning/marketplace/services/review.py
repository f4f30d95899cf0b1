"""Review and decision: reviewers assigned by the funder, conflicts, scores against
the rubric, community votes, and the decision with its reasons and message."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from community.errors import DomainError
from community.models import Membership, Role
from community.services.audit import audit_record

from ..domain import rules
from ..models import Call, CommunityVote, Grant, Proposal, Review, ReviewAssignment
from ._common import display_name, rule_errors, status_change

OPEN_FOR_REVIEW = (Proposal.Status.SUBMITTED, Proposal.Status.IN_REVIEW)


def part_of(proposal: Proposal, user: Any) -> bool:
    """Is ``user`` the applicant or on the team? Then they may never review or vote on it."""
    return proposal.applicant_id == user.pk or proposal.team_users.filter(pk=user.pk).exists()


def rubric(call: Call) -> list[rules.Rubric]:
    return [rules.Rubric(c.pk, c.name, c.weight, c.scale_max) for c in call.criteria.all()]


@transaction.atomic
def reviewer_assign(*, proposal: Proposal, reviewer: Any, actor: Any) -> ReviewAssignment:
    call = proposal.call
    if proposal.status not in OPEN_FOR_REVIEW:
        raise DomainError("Only submitted proposals are reviewed.", field="reviewer")
    if not Membership.objects.filter(community=call.community, user=reviewer, role=Role.REVIEWER).exists():
        raise DomainError(f"{display_name(reviewer)} is not one of the community's reviewers.", field="reviewer")
    if part_of(proposal, reviewer):
        raise DomainError(
            f"{display_name(reviewer)} is part of this proposal and can never review it.", field="reviewer"
        )
    assignment, created = ReviewAssignment.objects.get_or_create(
        proposal=proposal, reviewer=reviewer, stage=proposal.stage, defaults={"assigned_by": actor}
    )
    if created:
        audit_record(
            actor=actor,
            action="marketplace.reviewer_assign",
            summary=f"Asked {display_name(reviewer)} to review '{proposal.title}'",
            community=call.community,
            obj=assignment,
        )
    if Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.SUBMITTED).update(
        status=Proposal.Status.IN_REVIEW
    ):
        status_change(
            actor=actor,
            obj=proposal,
            community=call.community,
            before="submitted",
            after="in_review",
            summary=f"'{proposal.title}' is in review",
        )
        proposal.status = Proposal.Status.IN_REVIEW
    return assignment


@transaction.atomic
def conflict_declare(*, assignment: ReviewAssignment, reason: str, actor: Any) -> ReviewAssignment:
    if assignment.reviewer_id != getattr(actor, "pk", None):
        raise DomainError("Only the assigned reviewer can declare their conflict.")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say what the conflict is (e.g. 'my neighbour leads this project').", field="reason")
    if not ReviewAssignment.objects.filter(pk=assignment.pk, status=ReviewAssignment.Status.PENDING).update(
        status=ReviewAssignment.Status.CONFLICTED, conflict_reason=reason[:300]
    ):
        raise DomainError("This review is already submitted or declared.")
    assignment.refresh_from_db()
    status_change(
        actor=actor,
        obj=assignment,
        community=assignment.proposal.call.community,
        before="pending",
        after="conflicted",
        summary=f"{display_name(actor)} declared a conflict on '{assignment.proposal.title}'",
    )
    return assignment


def score_preview(*, call: Call, scores: dict[str, Any]) -> Decimal:
    """The weighted total so far (unscored criteria count 0): what the rubric shows live."""
    with rule_errors():
        return rules.weighted_total(rubric(call), scores, partial=True)


@transaction.atomic
def review_submit(
    *,
    assignment: ReviewAssignment,
    scores: dict[str, Any],
    recommendation: str,
    comment_panel: str = "",
    comment_applicant: str = "",
    actor: Any,
) -> Review:
    locked = ReviewAssignment.objects.select_for_update().select_related("proposal__call").get(pk=assignment.pk)
    proposal = locked.proposal
    if locked.reviewer_id != getattr(actor, "pk", None):
        raise DomainError("Only the assigned reviewer can score this proposal.")
    if part_of(proposal, actor):
        raise DomainError("You are part of this proposal: you can never score it.")
    if locked.status == ReviewAssignment.Status.CONFLICTED:
        raise DomainError("You declared a conflict of interest on this proposal, so you cannot score it.")
    if locked.status == ReviewAssignment.Status.SUBMITTED:
        raise DomainError("You have already submitted this review.")
    if proposal.status != Proposal.Status.IN_REVIEW:
        raise DomainError("This proposal is no longer in review.")
    if recommendation not in Review.Recommendation.values:
        raise DomainError("Choose a recommendation.", field="recommendation")
    criteria = rubric(proposal.call)
    with rule_errors():
        total = rules.weighted_total(criteria, scores)
    review = Review.objects.create(
        assignment=locked,
        proposal=proposal,
        scores={str(c.id): int(str(scores[str(c.id)])) for c in criteria},
        weighted_total=total,
        recommendation=recommendation,
        comment_panel=(comment_panel or "").strip(),
        comment_applicant=(comment_applicant or "").strip(),
    )
    locked.status = ReviewAssignment.Status.SUBMITTED
    locked.save(update_fields=["status"])
    status_change(
        actor=actor,
        obj=locked,
        community=proposal.call.community,
        before="pending",
        after="submitted",
        summary=f"Reviewed '{proposal.title}': {total}%",
    )
    return review


@transaction.atomic
def community_vote_cast(*, proposal: Proposal, voter: Any, support: bool) -> CommunityVote:
    call = proposal.call
    if not call.community_review:
        raise DomainError("This call has no community vote.")
    if proposal.status not in OPEN_FOR_REVIEW:
        raise DomainError("Voting on this proposal has closed.")
    if not Membership.objects.filter(community=call.community, user=voter, role=Role.MEMBER).exists():
        raise DomainError("Only members vote: one member, one vote.")
    if part_of(proposal, voter):
        raise DomainError("You cannot vote on your own proposal.")
    vote, _ = CommunityVote.objects.update_or_create(proposal=proposal, voter=voter, defaults={"support": support})
    return vote


DECISIONS = {"approve", "decline", "invite"}


@transaction.atomic
def proposal_decide(
    *,
    proposal: Proposal,
    decision: str,
    reasons: str,
    message: str,
    amount: Any = None,
    actor: Any,
    now: datetime | None = None,
) -> Proposal:
    """Approve (with the award), decline, or (two-stage concepts) invite a full proposal."""
    from .grants import grant_award

    now = now or timezone.now()
    Proposal.objects.select_for_update().filter(pk=proposal.pk).first()
    proposal.refresh_from_db()
    call = proposal.call
    if decision not in DECISIONS:
        raise DomainError("Choose approve, decline or invite a full proposal.", field="decision")
    if proposal.status not in OPEN_FOR_REVIEW:
        raise DomainError(f"This proposal is {proposal.get_status_display().lower()}; it cannot be decided now.")
    if actor is not None and part_of(proposal, actor):
        raise DomainError("You are part of this proposal and cannot decide on it.")
    reasons, message = (reasons or "").strip(), (message or "").strip()
    if not reasons:
        raise DomainError("Record the reasons for the decision.", field="reasons")
    if not message:
        raise DomainError("Write the message the applicant will read.", field="message")
    before = proposal.status
    if decision == "invite":
        if proposal.stage != Proposal.Stage.CONCEPT:
            raise DomainError("Only a concept can be invited to a full proposal.", field="decision")
        proposal.stage = Proposal.Stage.FULL
        proposal.status = Proposal.Status.DRAFT
    elif decision == "decline":
        proposal.status = Proposal.Status.DECLINED
    else:
        if proposal.stage != Proposal.Stage.FULL:
            raise DomainError("A concept is invited to a full proposal before any award.", field="decision")
        with rule_errors():
            award = rules.pounds(proposal.requested if amount in (None, "") else amount, what="award", field="amount")
        if award > proposal.requested:
            raise DomainError(f"The award cannot exceed the £{proposal.requested:,} requested.", field="amount")
        committed = Grant.objects.filter(call=call).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
        if committed + award > call.budget:
            raise DomainError(
                f"The call has £{call.budget - committed:,} of its £{call.budget:,} budget left.", field="amount"
            )
        proposal.status = Proposal.Status.APPROVED
    proposal.decided_at = now
    proposal.decided_by = actor
    proposal.decision_reasons = reasons
    proposal.decision_message = message
    proposal.save(
        update_fields=[
            "stage",
            "status",
            "decided_at",
            "decided_by",
            "decision_reasons",
            "decision_message",
            "updated_at",
        ]
    )
    if decision == "approve":
        grant_award(proposal=proposal, amount=award, actor=actor, now=now)
    status_change(
        actor=actor,
        obj=proposal,
        community=call.community,
        before=before,
        after=proposal.status,
        summary=f"Decision on '{proposal.title}': {decision}" + (f" £{award:,}" if decision == "approve" else ""),
    )
    return proposal
