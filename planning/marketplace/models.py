"""The project marketplace (seed 002 sections 4.1.2, B.2, C.2; issue 12).

A call (from a benefit fund, set by its funder) → proposals (concept → full, or
single stage) → reviews against weighted criteria (+ community votes) → a
decision → a grant paid in milestone tranches, with monitoring reports,
outcomes and lessons. Crowdfunding campaigns raise money from members, with
match funding from a fund. Money is Decimal GBP; every movement of money is a
ledger entry (``community.services.ledger``) whose id is kept on the row.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

MONEY = {"max_digits": 14, "decimal_places": 2}


class Call(models.Model):
    class Stages(models.TextChoices):
        SINGLE = "single", "Single stage"
        TWO_STAGE = "two_stage", "Concept, then full proposal"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    community = models.ForeignKey("community.Community", on_delete=models.CASCADE, related_name="calls")
    fund = models.ForeignKey("coop.BenefitFund", on_delete=models.PROTECT, related_name="calls")
    funder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calls_funded")
    title = models.CharField(max_length=200)
    objectives = models.TextField()
    # [{"id": "q1", "text": "...", "must_be": true}]: the answer each question needs to be eligible
    eligibility = models.JSONField(default=list, blank=True)
    budget = models.DecimalField(**MONEY, help_text="Total the call may award (£).")
    max_award = models.DecimalField(**MONEY, help_text="Most one project may receive (£).")
    opens_at = models.DateTimeField()
    deadline = models.DateTimeField(help_text="Last moment to submit (the concept, in a two-stage call).")
    full_deadline = models.DateTimeField(null=True, blank=True, help_text="Two-stage calls: full proposals by.")
    stages = models.CharField(max_length=10, choices=Stages.choices, default=Stages.SINGLE)
    community_review = models.BooleanField(default=False, help_text="Members vote on proposals (one member, one vote).")
    # ["money", "mentoring", "expert time", "installer match"] in words the applicant reads
    support = models.JSONField(default=list, blank=True)
    second_approval_over = models.DecimalField(
        **MONEY, default=Decimal("5000"), help_text="Payments above this need two approvers."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-deadline", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gt=0), name="call_budget_pos"),
            models.CheckConstraint(condition=Q(max_award__gt=0, max_award__lte=F("budget")), name="call_max_award"),
            models.CheckConstraint(condition=Q(deadline__gt=F("opens_at")), name="call_deadline_after_open"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def two_stage(self) -> bool:
        return self.stages == self.Stages.TWO_STAGE


class Criterion(models.Model):
    """One line of the rubric: scored 0..scale_max, counted with ``weight``."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(max_length=120)
    guidance = models.TextField(blank=True)
    weight = models.PositiveSmallIntegerField()
    scale_max = models.PositiveSmallIntegerField(default=5)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["call", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_pos"),
            models.CheckConstraint(condition=Q(scale_max__gte=1, scale_max__lte=100), name="criterion_scale"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (×{self.weight}, 0–{self.scale_max})"


class Proposal(models.Model):
    class Stage(models.TextChoices):
        CONCEPT = "concept", "Concept"
        FULL = "full", "Full proposal"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="proposals")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals")
    team_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="proposal_teams")
    organisation = models.CharField(max_length=200, blank=True, help_text="The group the grant would go to.")
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    team = models.TextField(blank=True, help_text="Who does the work: one person a line, 'Name | role'.")
    requested = models.DecimalField(**MONEY, default=Decimal("0.00"))
    # as typed (drafts keep whatever the applicant wrote) ...
    budget_text = models.TextField(blank=True, help_text="One cost a line: 'Category | what for | amount'.")
    milestones_text = models.TextField(blank=True, help_text="One a line: 'Title | due date | payment'.")
    # ... and parsed on submit: [{"category", "description", "amount"}], [{"title", "due_on", "amount"}]
    budget_lines = models.JSONField(default=list, blank=True)
    milestones = models.JSONField(default=list, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    plan_action = models.ForeignKey(
        "planning.Milestone", on_delete=models.SET_NULL, null=True, blank=True, related_name="proposals"
    )
    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.FULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision_reasons = models.TextField(blank=True)
    decision_message = models.TextField(blank=True, help_text="What the applicant reads.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["call", "status"]), models.Index(fields=["applicant", "status"])]
        constraints = [models.CheckConstraint(condition=Q(requested__gte=0), name="proposal_requested_nonneg")]

    def __str__(self) -> str:
        return self.title


def _attachment_path(instance: Attachment, filename: str) -> str:
    return f"marketplace/proposal-{instance.proposal_id}/{filename}"


class Attachment(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path)
    name = models.CharField(max_length=200)
    size_bytes = models.PositiveIntegerField()
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]


class ReviewAssignment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "To do"
        CONFLICTED = "conflicted", "Conflict declared"
        SUBMITTED = "submitted", "Submitted"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_assignments")
    stage = models.CharField(max_length=8, choices=Proposal.Stage.choices, default=Proposal.Stage.FULL)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    conflict_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["assigned_at", "id"]
        constraints = [models.UniqueConstraint(fields=["proposal", "reviewer", "stage"], name="assignment_unique")]
        indexes = [models.Index(fields=["reviewer", "status"])]


class Review(models.Model):
    class Recommendation(models.TextChoices):
        FUND = "fund", "Fund"
        FUND_WITH_CHANGES = "changes", "Fund with changes"
        DO_NOT_FUND = "no", "Do not fund"

    assignment = models.OneToOneField(ReviewAssignment, on_delete=models.CASCADE, related_name="review")
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="reviews")
    scores = models.JSONField(help_text="criterion id → score")
    weighted_total = models.DecimalField(max_digits=5, decimal_places=1, help_text="0–100")
    recommendation = models.CharField(max_length=8, choices=Recommendation.choices)
    comment_panel = models.TextField(blank=True)
    comment_applicant = models.TextField(blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weighted_total__gte=0, weighted_total__lte=100), name="review_total_range"
            )
        ]


class CommunityVote(models.Model):
    """One member, one vote on a proposal (where the call allows community review)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    support = models.BooleanField()
    cast_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["proposal", "voter"], name="communityvote_one_each")]


class Grant(models.Model):
    class Status(models.TextChoices):
        OFFERED = "offered", "Agreement to sign"
        ACTIVE = "active", "In delivery"
        COMPLETED = "completed", "Completed"

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="grant")
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="grants")
    amount = models.DecimalField(**MONEY)
    agreement = models.TextField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFERED)
    fund_grant = models.ForeignKey("coop.FundGrant", on_delete=models.PROTECT, null=True, related_name="+")
    award_entry = models.ForeignKey("community.JournalEntry", on_delete=models.PROTECT, null=True, related_name="+")
    awarded_at = models.DateTimeField()
    outcomes = models.TextField(blank=True)
    lessons = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-awarded_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="grant_amount_pos")]

    def __str__(self) -> str:
        return f"{self.proposal.title}: £{self.amount:,}"


class GrantMilestone(models.Model):
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="milestone_rows")
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    amount = models.DecimalField(**MONEY)
    completed_at = models.DateTimeField(null=True, blank=True)
    evidence = models.TextField(blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="grantmilestone_amount_nonneg")]


class PaymentRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting approval"
        PARTLY = "partly", "Awaiting second approval"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="payment_requests")
    milestone = models.ForeignKey(GrantMilestone, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount = models.DecimalField(**MONEY)
    note = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    second_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    journal_entry = models.ForeignKey("community.JournalEntry", on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="paymentrequest_amount_pos"),
            models.CheckConstraint(
                condition=Q(second_approver__isnull=True) | ~Q(second_approver=F("first_approver")),
                name="paymentrequest_two_people",
            ),
        ]


class MonitoringReport(models.Model):
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="reports")
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    progress = models.TextField(blank=True)
    spend_to_date = models.DecimalField(**MONEY, null=True, blank=True)
    last_reminded_on = models.DateField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["submitted_at", "due_on"])]


class Campaign(models.Model):
    """A crowdfunding page (seed C.2: the platform takes 3–5 % of what is raised)."""

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "aon", "All or nothing"
        KEEP = "kwyr", "Keep what you raise"

    class MatchRule(models.TextChoices):
        PER_POUND = "pledge", "Matched as pledged, up to the cap"
        MEMBER_VOTE = "vote", "Released if members vote for it"

    class Status(models.TextChoices):
        LIVE = "live", "Live"
        SUCCEEDED = "succeeded", "Funded"
        FAILED = "failed", "Target missed: refunded"

    community = models.ForeignKey("community.Community", on_delete=models.CASCADE, related_name="campaigns")
    proposal = models.ForeignKey(Proposal, on_delete=models.SET_NULL, null=True, blank=True, related_name="campaigns")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaigns")
    title = models.CharField(max_length=200)
    story = models.TextField()
    target = models.DecimalField(**MONEY)
    deadline = models.DateTimeField()
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.ALL_OR_NOTHING)
    fee_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.0400"))
    match_fund = models.ForeignKey(
        "coop.BenefitFund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    match_ratio = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1.00"))
    match_cap = models.DecimalField(**MONEY, default=Decimal("0.00"))
    match_rule = models.CharField(max_length=6, choices=MatchRule.choices, default=MatchRule.PER_POUND)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    raised = models.DecimalField(**MONEY, default=Decimal("0.00"))
    fee = models.DecimalField(**MONEY, default=Decimal("0.00"))
    matched = models.DecimalField(**MONEY, default=Decimal("0.00"))
    match_grant = models.ForeignKey("coop.FundGrant", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["deadline", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(target__gt=0), name="campaign_target_pos"),
            models.CheckConstraint(
                condition=Q(fee_rate__gte=Decimal("0.03"), fee_rate__lte=Decimal("0.05")), name="campaign_fee_3_to_5"
            ),
            models.CheckConstraint(condition=Q(match_cap__gte=0, match_ratio__gte=0), name="campaign_match_nonneg"),
        ]

    def __str__(self) -> str:
        return self.title


class Pledge(models.Model):
    class Status(models.TextChoices):
        HELD = "held", "Held until the deadline"
        COLLECTED = "collected", "Passed to the project"
        REFUNDED = "refunded", "Refunded"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="pledges")
    backer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pledges")
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    token = models.CharField(max_length=64, help_text="The form's one-time token: a double click pledges once.")
    pledged_at = models.DateTimeField(auto_now_add=True)
    journal_entry = models.ForeignKey("community.JournalEntry", on_delete=models.PROTECT, null=True, related_name="+")
    refund_entry = models.ForeignKey(
        "community.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-pledged_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="pledge_amount_pos"),
            models.UniqueConstraint(fields=["campaign", "token"], name="pledge_unique_token"),
        ]


class MatchVote(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="match_votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    release = models.BooleanField()
    cast_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "voter"], name="matchvote_one_each")]
