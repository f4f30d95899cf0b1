"""Read paths the views, API, tasks and benchmark share (a constant number of queries each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Avg, Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from community.models import AuditEvent, Community, Role

from .domain.giving360 import GrantRow
from .models import (
    Call,
    Campaign,
    CommunityVote,
    Grant,
    GrantMilestone,
    MonitoringReport,
    PaymentRequest,
    Proposal,
    Review,
    ReviewAssignment,
)

MANAGERS = (Role.FUNDER, Role.MARKET_OPERATOR)
APPROVERS = (Role.FUNDER, Role.MARKET_OPERATOR, Role.TREASURER)
ZERO = Decimal("0.00")


def open_calls(community: Community, now: datetime | None = None) -> QuerySet[Call]:
    now = now or timezone.now()
    return (
        Call.objects.filter(community=community, status=Call.Status.OPEN, opens_at__lte=now)
        .filter(Q(deadline__gte=now) | Q(full_deadline__gte=now))
        .select_related("fund")
        .order_by("deadline")
    )


def calls(community: Community) -> QuerySet[Call]:
    return Call.objects.filter(community=community).select_related("fund", "funder")


def my_proposals(community: Community, user: Any) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(call__community=community)
        .filter(Q(applicant=user) | Q(team_users=user))
        .distinct()
        .select_related("call", "grant")
    )


def _paid_sq():
    return Coalesce(
        Subquery(
            PaymentRequest.objects.filter(grant=OuterRef("pk"), status=PaymentRequest.Status.PAID)
            .values("grant")
            .annotate(s=Sum("amount"))
            .values("s")
        ),
        ZERO,
    )


def funded_projects(community: Community) -> QuerySet[Grant]:
    return (
        Grant.objects.filter(call__community=community)
        .select_related("proposal__applicant", "call__fund", "proposal__plan_action")
        .annotate(
            paid=_paid_sq(),
            milestones_total=Count("milestone_rows", distinct=True),
            milestones_met=Count("milestone_rows", filter=Q(milestone_rows__completed_at__isnull=False), distinct=True),
        )
        .order_by("-awarded_at")
    )


@dataclass
class Pipeline:
    call: Call
    counts: dict[str, int]
    page: Any
    rows: list
    scores: list[float]
    reviews_total: int
    reviews_outstanding: int
    committed: Decimal


PIPELINE_SORTS = {"score": "-avg_score", "requested": "-requested", "submitted": "-submitted_at", "title": "title"}


def call_pipeline(call: Call, *, page: int = 1, sort: str = "score", per_page: int = 100) -> Pipeline:
    """Everything the funder's pipeline page shows, in 6 queries whatever the call's size."""
    base = Proposal.objects.filter(call=call).exclude(status=Proposal.Status.DRAFT)
    counts = dict(base.values_list("status").annotate(n=Count("id")).order_by())  # 1
    review_stats = ReviewAssignment.objects.filter(proposal__call=call).aggregate(  # 2
        total=Count("id"), outstanding=Count("id", filter=Q(status=ReviewAssignment.Status.PENDING))
    )
    review_avg = (
        Review.objects.filter(proposal=OuterRef("pk")).values("proposal").annotate(a=Avg("weighted_total")).values("a")
    )
    review_n = Review.objects.filter(proposal=OuterRef("pk")).values("proposal").annotate(n=Count("id")).values("n")
    pending_n = (
        ReviewAssignment.objects.filter(proposal=OuterRef("pk"), status=ReviewAssignment.Status.PENDING)
        .values("proposal")
        .annotate(n=Count("id"))
        .values("n")
    )
    votes_for = (
        CommunityVote.objects.filter(proposal=OuterRef("pk"), support=True)
        .values("proposal")
        .annotate(n=Count("id"))
        .values("n")
    )
    votes_against = (
        CommunityVote.objects.filter(proposal=OuterRef("pk"), support=False)
        .values("proposal")
        .annotate(n=Count("id"))
        .values("n")
    )
    table = base.annotate(
        avg_score=Subquery(review_avg),
        n_reviews=Coalesce(Subquery(review_n), 0),
        n_pending=Coalesce(Subquery(pending_n), 0),
        votes_for=Coalesce(Subquery(votes_for), 0),
        votes_against=Coalesce(Subquery(votes_against), 0),
    ).select_related("applicant")
    order = PIPELINE_SORTS.get(sort, "-avg_score")
    table = table.order_by(
        F(order.lstrip("-")).desc(nulls_last=True) if order.startswith("-") else F(order).asc(), "id"
    )
    paginator = Paginator(table, per_page)  # 3 (count) + 4 (the page)
    page_obj = paginator.get_page(page)
    scores = [  # 5: every proposal's average, for the distribution chart
        float(a)
        for a in Review.objects.filter(proposal__call=call)
        .values("proposal")
        .annotate(a=Avg("weighted_total"))
        .values_list("a", flat=True)
    ]
    committed = Grant.objects.filter(call=call).aggregate(s=Sum("amount"))["s"] or ZERO  # 6
    return Pipeline(
        call=call,
        counts=counts,
        page=page_obj,
        rows=list(page_obj.object_list),
        scores=scores,
        reviews_total=review_stats["total"],
        reviews_outstanding=review_stats["outstanding"],
        committed=committed,
    )


def reviewer_queue(community: Community, user: Any) -> QuerySet[ReviewAssignment]:
    return (
        ReviewAssignment.objects.filter(proposal__call__community=community, reviewer=user)
        .select_related("proposal__call", "review")
        .order_by("status", "proposal__call__deadline", "id")
    )


def outstanding_reviews(community: Community) -> QuerySet:
    """Per reviewer: reviews still to do (the funder's "reviews needed" dashboard, Hypha #357)."""
    return (
        ReviewAssignment.objects.filter(proposal__call__community=community, status=ReviewAssignment.Status.PENDING)
        .values("reviewer__id", "reviewer__first_name", "reviewer__last_name", "reviewer__username")
        .annotate(n=Count("id"))
        .order_by("-n")
    )


def call_money(community: Community) -> list[dict]:
    """Per call: budget, awarded and paid (the funder's spend against budget)."""
    paid = dict(
        PaymentRequest.objects.filter(grant__call__community=community, status=PaymentRequest.Status.PAID)
        .values_list("grant__call")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    awarded = dict(
        Grant.objects.filter(call__community=community).values_list("call").annotate(s=Sum("amount")).order_by()
    )
    return [
        {"call": c, "budget": c.budget, "awarded": awarded.get(c.pk, ZERO), "paid": paid.get(c.pk, ZERO)}
        for c in calls(community).order_by("opens_at")
    ]


def grant_budget_vs_spend(grant: Grant) -> list[dict]:
    """The proposal's budget by category against the spend the grantee last reported (pro rata)."""
    by_cat: dict[str, Decimal] = {}
    for line in grant.proposal.budget_lines:
        by_cat[line["category"]] = by_cat.get(line["category"], ZERO) + Decimal(line["amount"])
    return [{"category": k, "budget": v} for k, v in by_cat.items()]


def latest_spend(grant: Grant) -> Decimal | None:
    r = grant.reports.filter(submitted_at__isnull=False).order_by("-submitted_at").first()
    return r.spend_to_date if r else None


def history(obj) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk))
        .select_related("actor")
        .order_by("created_at", "id")
    )


def proposal_history(proposal: Proposal) -> QuerySet[AuditEvent]:
    """The proposal's own events and those of its review assignments, grant and payments."""
    keys = Q(object_type=Proposal._meta.label, object_id=str(proposal.pk))
    a_ids = [str(i) for i in proposal.assignments.values_list("pk", flat=True)]
    if a_ids:
        keys |= Q(object_type=ReviewAssignment._meta.label, object_id__in=a_ids)
    grant = Grant.objects.filter(proposal=proposal).first()
    if grant:
        keys |= Q(object_type=Grant._meta.label, object_id=str(grant.pk))
        p_ids = [str(i) for i in grant.payment_requests.values_list("pk", flat=True)]
        if p_ids:
            keys |= Q(object_type=PaymentRequest._meta.label, object_id__in=p_ids)
    return AuditEvent.objects.filter(keys).select_related("actor").order_by("created_at", "id")


def grant_detail(grant_id: int, community: Community) -> Grant:
    return (
        Grant.objects.select_related("proposal__applicant", "call__fund", "proposal__plan_action")
        .prefetch_related(
            Prefetch("milestone_rows", queryset=GrantMilestone.objects.order_by("due_on", "id")),
            Prefetch(
                "payment_requests",
                queryset=PaymentRequest.objects.select_related(
                    "requested_by", "first_approver", "second_approver", "milestone"
                ),
            ),
            Prefetch("reports", queryset=MonitoringReport.objects.order_by("due_on", "id")),
        )
        .get(pk=grant_id, call__community=community)
    )


def live_campaigns(community: Community) -> QuerySet[Campaign]:
    return (
        Campaign.objects.filter(community=community)
        .select_related("match_fund", "owner")
        .order_by("-status", "deadline")
    )


def approvals_waiting(community: Community, user: Any) -> QuerySet[PaymentRequest]:
    return (
        PaymentRequest.objects.filter(
            grant__call__community=community,
            status__in=[PaymentRequest.Status.PENDING, PaymentRequest.Status.PARTLY],
        )
        .exclude(requested_by=user)
        .exclude(first_approver=user)
        .select_related("grant__proposal", "grant__call")
    )


def assigned_reviewer(proposal: Proposal, user: Any) -> bool:
    return ReviewAssignment.objects.filter(
        proposal=proposal,
        reviewer=user,
        status__in=[ReviewAssignment.Status.PENDING, ReviewAssignment.Status.SUBMITTED],
    ).exists()


def giving360_rows(community: Community) -> list[GrantRow]:
    """Awarded grants as plain rows for the 360Giving export (one query)."""
    rows = []
    qs = (
        Grant.objects.filter(call__community=community)
        .values(
            "pk",
            "amount",
            "awarded_at",
            "completed_at",
            "accepted_at",
            "proposal__title",
            "proposal__summary",
            "proposal__organisation",
            "proposal__milestones",
            "proposal__applicant__first_name",
            "proposal__applicant__last_name",
            "proposal__applicant__username",
            "proposal__updated_at",
            "call__pk",
            "call__title",
            "call__fund__pk",
            "call__fund__name",
            "call__fund__company_name",
        )
        .order_by("pk")
    )
    name = community.name
    for g in qs.iterator(chunk_size=2000):
        applicant = (
            f"{g['proposal__applicant__first_name']} {g['proposal__applicant__last_name']}".strip()
            or g["proposal__applicant__username"]
        )
        recipient = g["proposal__organisation"] or applicant
        dues = sorted(m["due_on"] for m in g["proposal__milestones"] or [])
        start = g["accepted_at"].date() if g["accepted_at"] else g["awarded_at"].date()
        end = datetime.fromisoformat(dues[-1]).date() if dues else None
        rows.append(
            GrantRow(
                grant_id=g["pk"],
                title=g["proposal__title"],
                description=g["proposal__summary"],
                amount=g["amount"],
                awarded_at=g["awarded_at"],
                start=start,
                end=end if end and end >= start else None,
                recipient_key=f"{community.slug}-{recipient}",
                recipient_name=recipient,
                funder_key=f"{community.slug}-fund-{g['call__fund__pk']}",
                funder_name=g["call__fund__company_name"] or g["call__fund__name"],
                programme_code=f"call-{g['call__pk']}",
                programme_title=g["call__title"],
                location=name,
                modified_at=max(filter(None, [g["proposal__updated_at"], g["completed_at"], g["awarded_at"]])),
            )
        )
    return rows
