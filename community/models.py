"""What every building block shares: communities, people and roles, sites,
the network tree, invitations, the audit trail and the ledger."""

from __future__ import annotations

import secrets
from decimal import Decimal
from zoneinfo import available_timezones

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    MEMBER = "member", "Member / household"
    CONVENOR = "convenor", "Convenor"
    TREASURER = "treasurer", "Treasurer"
    MARKET_OPERATOR = "market_operator", "Market operator"
    ASSET_OPERATOR = "asset_operator", "Asset operator"
    REVIEWER = "reviewer", "Reviewer"
    FUNDER = "funder", "Funder"
    SUPPLIER = "supplier", "Supplier"
    FLEX_BUYER = "flex_buyer", "Flexibility buyer"
    NETWORK_OPERATOR = "network_operator", "Network operator (DSO)"
    AUDITOR = "auditor", "Auditor"


PERIOD_CHOICES = [(5, "5 minutes"), (15, "15 minutes"), (30, "30 minutes")]
TIMEZONE_CHOICES = sorted(available_timezones())


class Community(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, default="Europe/London")
    settlement_period_minutes = models.PositiveSmallIntegerField(choices=PERIOD_CHOICES, default=30)
    # The public page (/p/<slug>/): off until the community turns it on, and it shows only
    # the sections the community chose (keys of community.public.SECTIONS).
    public_page = models.BooleanField(default=False)
    public_sections = models.JSONField(default=list, blank=True)
    join_text = models.TextField(blank=True, help_text="How to join, shown on the public page.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "communities"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(settlement_period_minutes__in=[5, 15, 30]),
                name="community_period_is_5_15_or_30",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """One row per (person, community, role): a person may hold several roles."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["community", "user__last_name", "user__first_name", "role"]
        constraints = [
            models.UniqueConstraint(fields=["community", "user", "role"], name="membership_unique_role"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_is_known"),
        ]
        indexes = [models.Index(fields=["user", "community"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} in {self.community}"


class NetworkNode(models.Model):
    """Grid supply point → primary substation → secondary substation / feeder."""

    class Kind(models.TextChoices):
        GSP = "gsp", "Grid supply point"
        PRIMARY = "primary", "Primary substation"
        FEEDER = "feeder", "Secondary substation / feeder"

    # parent kind each kind hangs off (None = root)
    PARENT_KIND = {Kind.GSP: None, Kind.PRIMARY: Kind.GSP, Kind.FEEDER: Kind.PRIMARY}

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="network_nodes")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=120)
    code = models.CharField(max_length=40, help_text="The DNO's identifier for the node.")
    import_capacity_kw = models.DecimalField(max_digits=10, decimal_places=1)
    export_capacity_kw = models.DecimalField(max_digits=10, decimal_places=1)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "code"], name="networknode_unique_code"),
            models.CheckConstraint(condition=Q(import_capacity_kw__gte=0), name="networknode_import_nonneg"),
            models.CheckConstraint(condition=Q(export_capacity_kw__gte=0), name="networknode_export_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Site(models.Model):
    class Kind(models.TextChoices):
        HOME = "home", "Home"
        BUSINESS = "business", "Business"
        SCHOOL = "school", "School"
        COMMUNITY_BUILDING = "community_building", "Community building"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="sites")
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.HOME)
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    postcode = models.CharField(max_length=10)
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    meter_point_id = models.CharField(
        max_length=21, null=True, blank=True, unique=True, help_text="MPAN (13 digits) of the site's import meter."
    )
    network_node = models.ForeignKey(NetworkNode, on_delete=models.PROTECT, related_name="sites")
    occupants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="sites")
    annual_consumption_kwh = models.PositiveIntegerField(
        null=True, blank=True, help_text="Known annual electricity use; Ofgem's typical value is 2,700 kWh."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="site_latitude_range"),
            models.CheckConstraint(condition=Q(longitude__gte=-180, longitude__lte=180), name="site_longitude_range"),
        ]
        indexes = [models.Index(fields=["community", "kind"])]

    def __str__(self) -> str:
        return self.name


class ConstraintStatement(models.Model):
    """A network operator's time-bound limit on one node (seed 003's look-ahead zone).

    Versioned: a statement is identified by its ``reference``; a revision is a new
    row with the same reference and the next ``version``, and the highest version
    in force is the one that applies. Limits are in kW at the node (import = power
    flowing down into the node's sites, export = flowing up). The market's clearing
    and the VPP's and the controller's dispatch read the statements in force through
    ``community.selectors`` and record the ids they obeyed.
    """

    class Horizon(models.TextChoices):
        DAY_AHEAD = "day_ahead", "Day-ahead"
        INTRADAY = "intraday", "Intraday"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="constraint_statements")
    node = models.ForeignKey(NetworkNode, on_delete=models.CASCADE, related_name="constraint_statements")
    reference = models.CharField(max_length=80, help_text="The network operator's identifier for the statement.")
    version = models.PositiveIntegerField(default=1)
    horizon = models.CharField(max_length=16, choices=Horizon.choices, default=Horizon.DAY_AHEAD)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    import_limit_kw = models.DecimalField(max_digits=10, decimal_places=1)
    export_limit_kw = models.DecimalField(max_digits=10, decimal_places=1)
    reason = models.CharField(max_length=300, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "node_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["community", "reference", "version"], name="constraint_unique_version"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="constraint_window_positive"),
            models.CheckConstraint(condition=Q(import_limit_kw__gte=0), name="constraint_import_nonneg"),
            models.CheckConstraint(condition=Q(export_limit_kw__gte=0), name="constraint_export_nonneg"),
        ]
        indexes = [models.Index(fields=["community", "node", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.reference} v{self.version}: {self.node} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"


class ConsentRecord(models.Model):
    """What a person agreed to, word for word, and until when (GDPR; seed 001).

    ``scope`` narrows the purpose (e.g. ``device:42`` for one device in the VPP,
    ``site:7`` for a home's data); empty means the whole purpose. A consent is in
    force from ``granted_at`` until ``expires_at`` (if set) or its withdrawal.
    """

    class Purpose(models.TextChoices):
        MARKET = "market", "Local energy market"
        VPP = "vpp", "Flexibility (VPP)"
        BALANCING = "balancing", "Self-balancing network control"
        DATA_SHARING = "data_sharing", "Data sharing"
        PURCHASING = "purchasing", "Collective purchasing"
        MARKETPLACE = "marketplace", "Project marketplace"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="consents")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    scope = models.CharField(max_length=80, blank=True)
    text = models.TextField(help_text="The exact wording the person agreed to.")
    text_version = models.CharField(max_length=40, blank=True)
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "community", "purpose"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_purpose_display()} {self.scope}".strip()

    def in_force(self, at) -> bool:
        return (
            self.granted_at <= at
            and (self.expires_at is None or at < self.expires_at)
            and (self.withdrawn_at is None or at < self.withdrawn_at)
        )


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.MEMBER)
    token = models.CharField(max_length=64, unique=True, default=_new_token)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.community}"


class AuditEvent(models.Model):
    """Who changed what, when: written by every service an operator may later ask about."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}: {self.summary}"


# --- the ledger -------------------------------------------------------------------


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        ASSET = "asset", "Asset"
        LIABILITY = "liability", "Liability"
        EQUITY = "equity", "Equity"
        INCOME = "income", "Income"
        EXPENSE = "expense", "Expense"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="ledger_accounts")
    code = models.CharField(
        max_length=120, help_text="Stable machine name, e.g. 'lem:member:42' or 'coop:share-capital'."
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="ledgeraccount_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class JournalEntry(models.Model):
    """Append-only, hash-chained per community: entry n stores the hash of entry n-1."""

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="journal_entries")
    seq = models.PositiveBigIntegerField()
    effective_at = models.DateTimeField(help_text="When the movement happened (e.g. the delivery period).")
    created_at = models.DateTimeField()
    source = models.CharField(max_length=60, help_text="Which service posted it, e.g. 'lem.settlement'.")
    reference = models.CharField(max_length=120, blank=True)
    memo = models.CharField(max_length=300)
    idempotency_key = models.CharField(max_length=200)
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["community", "seq"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(fields=["community", "seq"], name="journalentry_unique_seq"),
            models.UniqueConstraint(fields=["community", "idempotency_key"], name="journalentry_unique_key"),
        ]
        indexes = [models.Index(fields=["community", "source", "reference"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.memo}"


class JournalLine(models.Model):
    """Debit positive, credit negative; the lines of an entry sum to zero."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="lines")
    amount = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["entry", "id"]
        indexes = [models.Index(fields=["account", "entry"])]

    def __str__(self) -> str:
        return f"{self.account.code} {self.amount:+}"


class LedgerCheck(models.Model):
    """The result of one walk of a community's chain (the nightly task, or an operator's click)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="ledger_checks")
    checked_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    entries = models.PositiveBigIntegerField()
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-checked_at"]
        get_latest_by = "checked_at"

    def __str__(self) -> str:
        return f"{self.community} {'OK' if self.ok else 'FAILED'} at {self.checked_at:%Y-%m-%d %H:%M}"


ZERO = Decimal("0.00")
