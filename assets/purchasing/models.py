"""Collective purchasing (a Solar Together-style group buy): campaigns and their
technology packages, installers and their sealed bids, household registrations,
personal offers, refundable deposits held in escrow, installations, yield
checks and complaints.

Money is Decimal GBP; sizes are in the package's unit (kWp, kWh, kW, charger);
energy is integer Wh where it is metered, kWh a year where it is an estimate.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from community.models import Community, Site

KIND_CHOICES = [
    ("pv", "Solar PV"),
    ("battery", "Home battery"),
    ("heat_pump", "Air-source heat pump"),
    ("ev_charger", "EV charger"),
]
SHADING_CHOICES = [
    ("none", "None"),
    ("light", "Light (a chimney, a small tree)"),
    ("moderate", "Moderate (part of the day)"),
    ("heavy", "Heavy (most of the day)"),
]


class Campaign(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Registration and bidding open"
        AWARDED = "awarded", "Auction evaluated, offers out"
        CLOSED = "closed", "Closed"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="purchasing_campaigns")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    registration_closes = models.DateTimeField()
    bid_deadline = models.DateTimeField(help_text="Sealed bids open only after this moment.")
    decision_days = models.PositiveSmallIntegerField(default=42, help_text="Decision window after an offer.")
    install_weeks = models.PositiveSmallIntegerField(default=16, help_text="Installation window for capacity checks.")
    deposit_gbp = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("150.00"))
    convenor_fee_gbp = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.00"), help_text="Included in every accepted offer."
    )
    price_weight = models.PositiveSmallIntegerField(default=70)
    quality_weight = models.PositiveSmallIntegerField(default=30)
    finance_options = models.JSONField(
        default=list, blank=True, help_text='[{"partner": "...", "apr_pct": 4.9, "years": 10}, ...]'
    )
    import_p_per_kwh = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("24.50"))
    export_p_per_kwh = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("15.00"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    awarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(deposit_gbp__gte=0), name="purch_campaign_deposit_nonneg"),
            models.CheckConstraint(
                condition=Q(price_weight__gt=0) | Q(quality_weight__gt=0), name="purch_campaign_weights"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Package(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="packages")
    kind = models.CharField(max_length=12, choices=KIND_CHOICES)
    name = models.CharField(max_length=120)
    spec = models.TextField(help_text="What is installed: modules, inverter, warranties, standards.")
    min_size = models.DecimalField(max_digits=6, decimal_places=2)
    max_size = models.DecimalField(max_digits=6, decimal_places=2)
    market_price_per_unit_gbp = models.DecimalField(
        max_digits=9, decimal_places=2, help_text="What a household pays buying alone (benchmark) per unit."
    )
    grant_gbp = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal("0.00"))
    min_roof_area_m2 = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("0"))
    min_fuse_a = models.PositiveSmallIntegerField(default=0)
    max_shading = models.CharField(max_length=10, choices=SHADING_CHOICES, default="heavy")
    timeline = models.CharField(max_length=200, blank=True)
    winner = models.ForeignKey("Installer", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reserve = models.ForeignKey("Installer", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    evaluation = models.JSONField(default=list, blank=True, help_text="The ranked bids as evaluated.")

    class Meta:
        ordering = ["campaign", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind"], name="purch_package_one_per_kind"),
            models.CheckConstraint(
                condition=Q(min_size__gt=0) & Q(max_size__gte=models.F("min_size")), name="purch_package_sizes"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def unit(self) -> str:
        from .domain.offers import UNITS

        return UNITS[self.kind]


class Installer(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        QUALIFIED = "qualified", "Qualified"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended (lost certification)"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="installers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="installer_profiles")
    company = models.CharField(max_length=200)
    certification = models.CharField(max_length=40, default="MCS")
    certificate_number = models.CharField(max_length=40)
    certificate_expires = models.DateField()
    insurance_cover_gbp = models.DecimalField(max_digits=12, decimal_places=2)
    insurance_expires = models.DateField()
    financial_health = models.PositiveSmallIntegerField(help_text="Credit score 0-100 (e.g. a credit agency's).")
    capacity_per_week = models.PositiveSmallIntegerField()
    kinds = models.JSONField(default=list, help_text="Package kinds the installer is certified for.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.APPLIED)
    status_reason = models.CharField(max_length=300, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["company"]
        constraints = [
            models.UniqueConstraint(fields=["community", "user"], name="purch_installer_one_per_user"),
            models.CheckConstraint(condition=Q(financial_health__lte=100), name="purch_installer_health_range"),
        ]

    def __str__(self) -> str:
        return self.company


class Bid(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="bids")
    installer = models.ForeignKey(Installer, on_delete=models.PROTECT, related_name="bids")
    tiers = models.JSONField(help_text='[{"up_to": 4.0, "price_per_unit": "1100.00"}, ...] ascending')
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["package", "submitted_at"]
        constraints = [models.UniqueConstraint(fields=["package", "installer"], name="purch_bid_one_per_installer")]


class Registration(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        OFFERED = "offered", "Offer made"
        CLOSED = "closed", "Closed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchasing_registrations"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    packages = models.ManyToManyField(Package, related_name="registrations")
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    roof_area_m2 = models.DecimalField(max_digits=6, decimal_places=1)
    azimuth_deg = models.PositiveSmallIntegerField(help_text="Orientation, degrees from north (180 = south).")
    tilt_deg = models.PositiveSmallIntegerField(help_text="Roof pitch in degrees.")
    shading = models.CharField(max_length=10, choices=SHADING_CHOICES, default="none")
    fuse_a = models.PositiveSmallIntegerField(default=60)
    annual_use_kwh = models.PositiveIntegerField()
    use_from_meter = models.BooleanField(default=False)
    floor_area_m2 = models.PositiveSmallIntegerField(default=94)
    ev_miles = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REGISTERED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="purch_registration_one_per_household"),
            models.CheckConstraint(condition=Q(roof_area_m2__gte=0), name="purch_registration_roof_nonneg"),
            models.CheckConstraint(condition=Q(tilt_deg__lte=90) & Q(azimuth_deg__lte=360), name="purch_reg_angles"),
        ]


class Offer(models.Model):
    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted (deposit held)"
        ADJUSTED = "adjusted", "Price adjusted: accept again"
        CONFIRMED = "confirmed", "Survey confirmed"
        INSTALLED = "installed", "Installed"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="offers")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="offers")
    installer = models.ForeignKey(Installer, on_delete=models.PROTECT, related_name="offers")
    size = models.DecimalField(max_digits=6, decimal_places=2)
    price_gbp = models.DecimalField(max_digits=10, decimal_places=2)
    market_price_gbp = models.DecimalField(max_digits=10, decimal_places=2)
    annual_yield_kwh = models.PositiveIntegerField(default=0)
    annual_savings_gbp = models.DecimalField(max_digits=8, decimal_places=2)
    payback_years = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    notes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OFFERED)
    status_reason = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["registration", "package"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "package"], name="purch_offer_one_per_package"),
            models.CheckConstraint(condition=Q(price_gbp__gte=0), name="purch_offer_price_nonneg"),
        ]

    @property
    def saving_vs_alone_gbp(self) -> Decimal:
        return self.market_price_gbp - self.price_gbp


class Deposit(models.Model):
    """The refundable deposit, held in the campaign's escrow account until applied to the invoice or refunded."""

    class Status(models.TextChoices):
        HELD = "held", "Held in escrow"
        APPLIED = "applied", "Applied to the invoice"
        REFUNDED = "refunded", "Refunded"

    offer = models.OneToOneField(Offer, on_delete=models.PROTECT, related_name="deposit")
    amount_gbp = models.DecimalField(max_digits=8, decimal_places=2)
    refunded_gbp = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_gbp__gte=0) & Q(refunded_gbp__lte=models.F("amount_gbp")),
                name="purch_deposit_refund_within_amount",
            )
        ]

    @property
    def held_gbp(self) -> Decimal:
        return Decimal("0.00") if self.status == self.Status.APPLIED else self.amount_gbp - self.refunded_gbp


class Installation(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        INSTALLED = "installed", "Installed"
        COMMISSIONED = "commissioned", "Commissioned"

    offer = models.OneToOneField(Offer, on_delete=models.PROTECT, related_name="installation")
    installer = models.ForeignKey(Installer, on_delete=models.PROTECT, related_name="installations")
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.SCHEDULED)
    survey_on = models.DateField(null=True, blank=True)
    install_by = models.DateField(null=True, blank=True)
    installed_on = models.DateField(null=True, blank=True)
    commissioned_at = models.DateTimeField(null=True, blank=True)
    devices = models.ManyToManyField("assets.Device", blank=True, related_name="+")
    yield_check_due = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def late(self) -> bool:
        return bool(self.install_by and self.installed_on and self.installed_on > self.install_by)


class Milestone(models.Model):
    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=80)
    done_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["done_at", "id"]


class Document(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", "Photo"
        CERTIFICATE = "certificate", "MCS / commissioning certificate"
        OTHER = "other", "Other"

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    file = models.FileField(upload_to="purchasing/%Y/%m/")
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)


class YieldCheck(models.Model):
    installation = models.OneToOneField(Installation, on_delete=models.CASCADE, related_name="yield_check")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    expected_wh = models.PositiveBigIntegerField()
    metered_wh = models.PositiveBigIntegerField()
    coverage = models.FloatField(help_text="Share of the period's half-hours with a reading.")
    shortfall = models.BooleanField()
    checked_at = models.DateTimeField()

    @property
    def metered_kwh(self) -> int:
        return round(self.metered_wh / 1000)

    @property
    def expected_kwh(self) -> int:
        return round(self.expected_wh / 1000)

    @property
    def ratio(self) -> float:
        return self.metered_wh / self.expected_wh if self.expected_wh else 0.0


class Complaint(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISPUTED = "disputed", "In dispute"
        UPHELD = "upheld", "Resolved: upheld"
        REJECTED = "rejected", "Resolved: not upheld"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="complaints")
    installer = models.ForeignKey(Installer, on_delete=models.PROTECT, related_name="complaints")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="complaints")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=200)
    detail = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
