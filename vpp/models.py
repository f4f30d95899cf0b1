"""The flexibility VPP (issue 10; seed 002 §4.3.1, B.6, C.6).

Households enrol devices (or, with no controllable device, their meter for
"turn down" requests) under a consent that expires after 12 months; a flex
buyer publishes a requirement; the platform bids; an accepted bid becomes an
event; dispatch runs turn the event into leased MQTT commands
(``assets.DeviceCommand``; the VPP's reason for each is a ``VppCommand``);
after the event each household's delivery is measured against several
baselines, and the buyer's payment is shared by the community's voted rule
through the ledger.

Units as everywhere: W, Wh, Decimal GBP, aware UTC.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from assets.models import Device, DeviceCommand
from community.models import Community, ConsentRecord, NetworkNode, Site

MONEY = {"max_digits": 12, "decimal_places": 2}
PRICE = {"max_digits": 10, "decimal_places": 2}
PCT = {"max_digits": 5, "decimal_places": 2}

CONSENT_TEXT_VERSION = "vpp-2026-1"
CONSENT_TEXT = (
    "I let {community} use my {what} for flexibility (VPP) events for 12 months. "
    "The platform may only act within the limits I set here; every command it sends "
    "is shown on my page; I can opt out of any event until it starts, and withdraw "
    "at any time. My meter readings are used to measure what I delivered."
)


class Enrolment(models.Model):
    """One household device (or a turn-down-only home) in the VPP."""

    class Kind(models.TextChoices):
        DEVICE = "device", "Controllable device"
        TURN_DOWN = "turn_down", "Turn-down requests (measured at the meter)"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="vpp_enrolments")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="vpp_enrolments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vpp_enrolments")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, null=True, blank=True, related_name="vpp_enrolments")
    consent = models.ForeignKey(ConsentRecord, on_delete=models.PROTECT, related_name="+")
    max_events_per_week = models.PositiveSmallIntegerField(default=3)
    # turn-down homes: the share of their usual use they expect to shed (%), for forecasts
    turn_down_pct = models.PositiveSmallIntegerField(default=15)
    enrolled_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["site__name", "kind", "device__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"], condition=Q(left_at=None, kind="device"), name="vpp_one_active_device_enrolment"
            ),
            models.UniqueConstraint(
                fields=["site"], condition=Q(left_at=None, kind="turn_down"), name="vpp_one_active_turn_down"
            ),
            models.CheckConstraint(
                condition=Q(kind="device", device__isnull=False) | Q(kind="turn_down", device__isnull=True),
                name="vpp_enrolment_device_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(max_events_per_week__gte=1, max_events_per_week__lte=14), name="vpp_events_per_week"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} — {self.device or 'turn-down'}"

    @property
    def label(self) -> str:
        return str(self.device.name) if self.device_id else "Turn-down (meter)"


class SharingRule(models.Model):
    """How the buyer's payment is shared: chosen by member vote, like the market's rules.

    Applied in order: the aggregator's fee, the community fund's share, an
    availability credit per kW enrolled in the event, a floor for participants
    without assets who delivered, and the rest in proportion to delivered kWh.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed (members voting)"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="vpp_sharing_rules")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    effective_from = models.DateTimeField()
    fee_pct = models.DecimalField(**PCT, default=Decimal("15"), help_text="Aggregator/platform fee, % of revenue.")
    fund_pct = models.DecimalField(**PCT, default=Decimal("10"), help_text="Community fund, % of revenue after fee.")
    availability_credit_gbp_per_kw = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal("0.05"), help_text="Per kW enrolled, per event, GBP."
    )
    floor_gbp = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.25"), help_text="Least a turn-down home that delivered gets."
    )
    quorum_pct = models.DecimalField(**PCT, default=Decimal("20"))
    reason = models.CharField(max_length=300, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["community", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["community", "number"], name="vpp_sharing_unique_number"),
            models.CheckConstraint(
                condition=Q(fee_pct__gte=0, fee_pct__lte=100, fund_pct__gte=0, fund_pct__lte=100),
                name="vpp_sharing_pct_range",
            ),
            models.CheckConstraint(
                condition=Q(availability_credit_gbp_per_kw__gte=0, floor_gbp__gte=0), name="vpp_sharing_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"sharing rule v{self.number}"


class SharingVote(models.Model):
    rule = models.ForeignKey(SharingRule, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(max_length=3, choices=[("yes", "Yes"), ("no", "No")])
    cast_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "voter"], name="vpp_one_member_one_vote")]


class Requirement(models.Model):
    """A flex buyer's request (DSO competition, DFS event, supplier)."""

    class Direction(models.TextChoices):
        DOWN = "down", "Turn down (less import)"
        UP = "up", "Turn up (more import)"

    class Product(models.TextChoices):
        PEAK_REDUCTION = "peak_reduction", "Peak Reduction"
        SCHEDULED = "scheduled_utilisation", "Scheduled Utilisation"
        OPERATIONAL = "operational_utilisation", "Operational Utilisation"
        DFS = "dfs", "Demand Flexibility Service"

    class Baseline(models.TextChoices):
        DFS = "dfs", "DFS: mean of 10 working days"
        DFS_ADJUSTED = "dfs_adjusted", "DFS with in-day adjustment"
        METER_BEFORE = "meter_before", "Meter before event"

    class Status(models.TextChoices):
        OPEN = "open", "Open for bids"
        AWARDED = "awarded", "Bid accepted"
        CANCELLED = "cancelled", "Cancelled"
        SETTLED = "settled", "Settled"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="flex_requirements")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flex_requirements")
    buyer_name = models.CharField(max_length=120, help_text="The organisation buying (DSO, NESO, supplier).")
    reference = models.CharField(max_length=80)
    node = models.ForeignKey(NetworkNode, on_delete=models.PROTECT, related_name="flex_requirements")
    product = models.CharField(max_length=32, choices=Product.choices, default=Product.PEAK_REDUCTION)
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.DOWN)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    kw_wanted = models.DecimalField(max_digits=10, decimal_places=1)
    notice_minutes = models.PositiveIntegerField(default=60)
    availability_gbp_per_mw_h = models.DecimalField(**PRICE, default=Decimal("0"))
    utilisation_gbp_per_mwh = models.DecimalField(**PRICE)
    baseline_method = models.CharField(max_length=16, choices=Baseline.choices, default=Baseline.DFS)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    openadr_event_id = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["community", "reference"], name="vpp_requirement_unique_ref"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="vpp_req_window"),
            models.CheckConstraint(condition=Q(kw_wanted__gt=0), name="vpp_req_kw_positive"),
            models.CheckConstraint(
                condition=Q(availability_gbp_per_mw_h__gte=0, utilisation_gbp_per_mwh__gte=0),
                name="vpp_req_prices_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.kw_wanted} kW {self.get_direction_display()}"


class Bid(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed by the platform"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="bids")
    volume_kw = models.DecimalField(max_digits=10, decimal_places=1)
    utilisation_gbp_per_mwh = models.DecimalField(**PRICE)
    availability_gbp_per_mw_h = models.DecimalField(**PRICE, default=Decimal("0"))
    forecast = models.JSONField(default=dict, blank=True, help_text="P10/P50/P90 W per period when bid.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(volume_kw__gt=0), name="vpp_bid_volume_positive"),
            models.CheckConstraint(condition=Q(utilisation_gbp_per_mwh__gte=0), name="vpp_bid_price_nonneg"),
        ]


class Event(models.Model):
    """An accepted bid to be delivered: what dispatch works towards."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        ACTIVE = "active", "Running"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled by the buyer"
        SETTLED = "settled", "Settled"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="flex_events")
    requirement = models.OneToOneField(Requirement, on_delete=models.CASCADE, related_name="event")
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="event")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    target_w = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["status", "starts_at"], name="vpp_event_status_idx")]

    def __str__(self) -> str:
        return f"Event {self.pk}: {self.requirement.reference}"


class OptOut(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="opt_outs")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="opt_outs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "enrolment"], name="vpp_one_opt_out")]


class DispatchRun(models.Model):
    """One solve: the event's plan, or a closed-loop correction of it."""

    class Kind(models.TextChoices):
        PLAN = "plan", "Plan"
        CORRECTION = "correction", "Closed-loop correction"
        CANCEL = "cancel", "Cancellation"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    period_start = models.DateTimeField(null=True, blank=True, help_text="The period a correction was for.")
    target_w = models.JSONField(default=list)
    planned_w = models.JSONField(
        default=list, help_text="enrolment id -> W per period (a correction: W for its period)"
    )
    max_w = models.JSONField(default=dict, blank=True, help_text="enrolment id -> most W it could give, per period")
    shortfall_w = models.JSONField(default=list)
    cost_p = models.FloatField(default=0)
    solve_ms = models.FloatField(default=0)
    units = models.PositiveIntegerField(default=0)
    notes = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["event", "number"]
        constraints = [models.UniqueConstraint(fields=["event", "number"], name="vpp_run_unique_number")]


class VppCommand(models.Model):
    """Why a command was sent: the event, the run and the rule that chose it.

    ``key`` is deterministic (event, period, enrolment, step), so a dispatch run
    twice finds its commands already made and sends nothing twice."""

    class Rule(models.TextChoices):
        PLAN = "plan", "Least cost and discomfort, fair rotation"
        REPLACEMENT = "replacement", "Replaces a device that went offline or fell short"
        CANCEL = "cancel", "Event cancelled: hand control back"
        RELEASE = "release", "Event over: hand control back"

    key = models.CharField(max_length=120, unique=True)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="commands")
    run = models.ForeignKey(DispatchRun, on_delete=models.CASCADE, related_name="commands")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="commands")
    command = models.OneToOneField(
        DeviceCommand, on_delete=models.SET_NULL, null=True, blank=True, related_name="vpp_reason"
    )
    period_start = models.DateTimeField()
    flex_w = models.IntegerField(help_text="Flexibility asked of the device, W.")
    rule = models.CharField(max_length=12, choices=Rule.choices)
    reason = models.CharField(max_length=400)
    refused = models.CharField(max_length=300, blank=True, help_text="The consent/limits gate's refusal, if any.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["event", "period_start"], name="vpp_cmd_event_period")]


class Delivery(models.Model):
    """M&V for one household in one event: baselines side by side, what was delivered."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="vpp_deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actual_wh = models.JSONField(default=list)
    baselines = models.JSONField(default=dict, help_text="method -> Wh per event period")
    settling_method = models.CharField(max_length=16)
    delivered_wh = models.PositiveIntegerField(default=0)
    enrolled_w = models.PositiveIntegerField(default=0)
    has_assets = models.BooleanField(default=True)
    flags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["event", "site__name"]
        constraints = [models.UniqueConstraint(fields=["event", "site"], name="vpp_delivery_unique")]


class Settlement(models.Model):
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="settlement")
    rule = models.ForeignKey(SharingRule, on_delete=models.PROTECT, related_name="+")
    delivered_wh = models.PositiveBigIntegerField()
    revenue = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY)
    fund = models.DecimalField(**MONEY)
    households = models.DecimalField(**MONEY)
    journal_entry_id = models.PositiveBigIntegerField(null=True)
    created_at = models.DateTimeField()


class Payout(models.Model):
    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="payouts")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vpp_payouts")
    delivered_wh = models.PositiveIntegerField()
    availability = models.DecimalField(**MONEY)
    floor_topup = models.DecimalField(**MONEY)
    share = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["settlement", "-amount"]
        constraints = [models.UniqueConstraint(fields=["settlement", "site"], name="vpp_payout_unique")]
