"""Tables of the local energy market (LEM / peer-to-peer).

Units (ARCHITECTURE.md): energy integer Wh, prices Decimal p/kWh (3 dp, the
clearing engine's tick), money Decimal GBP, time tz-aware UTC; a delivery
period is identified by its start.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from community.models import Community, NetworkNode, Site

PRICE = dict(max_digits=9, decimal_places=3)  # p/kWh
MONEY = dict(max_digits=14, decimal_places=2)  # GBP
PCT = dict(max_digits=5, decimal_places=2)  # percent


class Mechanism(models.TextChoices):
    UNIFORM = "uniform", "Uniform-price double auction"
    PAY_AS_BID = "pay_as_bid", "Pay-as-bid"
    CLUB = "club", "Club matching at the match tariff (Energy Local)"


class Market(models.Model):
    """One market per community, run by its market operator (who may not trade)."""

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="market")
    name = models.CharField(max_length=200)
    gate_closure_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="Orders for a period freeze this many minutes before it starts."
    )
    price_floor = models.DecimalField(**PRICE, default=Decimal("0"), help_text="Lowest limit price, p/kWh.")
    price_cap = models.DecimalField(**PRICE, default=Decimal("100"), help_text="Highest limit price, p/kWh.")
    rules_need_vote = models.BooleanField(
        default=True, help_text="Rule changes apply only after the members approve them (one member, one vote)."
    )
    vote_quorum_pct = models.DecimalField(**PCT, default=Decimal("20"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(price_floor__lte=models.F("price_cap")), name="market_floor_below_cap"),
            models.CheckConstraint(
                condition=Q(gate_closure_minutes__lte=1440), name="market_gate_closure_within_a_day"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RuleVersion(models.Model):
    """The rules in force from ``effective_from`` until the next approved version."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed (members voting)"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="rule_versions")
    number = models.PositiveIntegerField()
    effective_from = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    mechanism = models.CharField(max_length=16, choices=Mechanism.choices, default=Mechanism.UNIFORM)
    match_tariff = models.DecimalField(**PRICE, default=Decimal("18"), help_text="Club matching price, p/kWh.")
    import_price = models.DecimalField(**PRICE, help_text="Supplier's import tariff (backstop), p/kWh.")
    peak_import_price = models.DecimalField(
        **PRICE,
        null=True,
        blank=True,
        help_text="Import tariff 16:00-19:00 local time, if the supplier has a peak rate.",
    )
    export_price = models.DecimalField(**PRICE, help_text="Supplier's export (SEG) price, p/kWh.")
    fee_per_trade_pence = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"))
    fee_pct = models.DecimalField(**PCT, default=Decimal("0"), help_text="% of trade value, charged to each side.")
    membership_fee = models.DecimalField(**MONEY, default=Decimal("0"), help_text="Monthly, GBP.")
    membership_fee_cap_pct = models.DecimalField(
        **PCT,
        null=True,
        blank=True,
        help_text="Shared savings: the membership fee is never more than this % of what trading saved the "
        "household that month against the supplier alone (blank: no cap).",
    )
    social_discount_pct = models.DecimalField(**PCT, default=Decimal("0"))
    fund_share_pct = models.DecimalField(**PCT, default=Decimal("0"), help_text="% of fees to the community fund.")
    tolerance_band_pct = models.DecimalField(
        **PCT,
        default=Decimal("0"),
        help_text="Seed 001 §3.5.1: deviations from the traded volume within this % settle at the period's "
        "local price, the rest at the supplier's backstop (0 = every deviation at the backstop).",
    )
    reason = models.CharField(max_length=300, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["market", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["market", "number"], name="ruleversion_unique_number"),
            models.CheckConstraint(
                condition=Q(export_price__lte=models.F("import_price")), name="rule_export_below_import"
            ),
            models.CheckConstraint(
                condition=Q(
                    fee_pct__gte=0,
                    fee_pct__lte=100,
                    social_discount_pct__gte=0,
                    social_discount_pct__lte=100,
                    fund_share_pct__gte=0,
                    fund_share_pct__lte=100,
                    fee_per_trade_pence__gte=0,
                    membership_fee__gte=0,
                ),
                name="rule_percentages_in_range",
            ),
            models.CheckConstraint(
                condition=Q(membership_fee_cap_pct__isnull=True)
                | Q(membership_fee_cap_pct__gte=0, membership_fee_cap_pct__lte=100),
                name="rule_fee_cap_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"rules v{self.number}"


class RuleVote(models.Model):
    class Choice(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"

    rule = models.ForeignKey(RuleVersion, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(max_length=3, choices=Choice.choices)
    cast_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "voter"], name="rulevote_one_member_one_vote")]


class Participant(models.Model):
    """A site trading in the market, on behalf of its household."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="participants")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lem_participations")
    pseudonym = models.CharField(max_length=24, help_text="Shown in the public order book instead of a name.")
    fuel_poor = models.BooleanField(default=False, help_text="Gets the social tariff discount.")
    credit_limit = models.DecimalField(**MONEY, default=Decimal("50.00"), help_text="Most a member may owe, GBP.")
    active = models.BooleanField(default=True)
    # trading agent settings (the household's limits)
    agent_enabled = models.BooleanField(default=True)
    min_sell_price = models.DecimalField(**PRICE, default=Decimal("8"))
    max_buy_price = models.DecimalField(**PRICE, default=Decimal("28"))
    battery_reserve_pct = models.PositiveSmallIntegerField(default=30, help_text="Battery kept for the evening, %.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["market", "pseudonym"]
        constraints = [
            models.UniqueConstraint(fields=["market", "site"], name="participant_one_per_site"),
            models.UniqueConstraint(fields=["market", "pseudonym"], name="participant_unique_pseudonym"),
            models.CheckConstraint(condition=Q(battery_reserve_pct__lte=100), name="participant_reserve_pct"),
            models.CheckConstraint(condition=Q(min_sell_price__gte=0), name="participant_min_sell_nonneg"),
        ]

    def __str__(self) -> str:
        return self.pseudonym


class Order(models.Model):
    class Side(models.TextChoices):
        BID = "bid", "Buy"
        OFFER = "offer", "Sell"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CANCELLED = "cancelled", "Cancelled"
        CLEARED = "cleared", "Cleared"  # frozen and cleared (filled_wh says how much)

    class Source(models.TextChoices):
        BROWSER = "browser", "Browser"
        API = "api", "API"
        AGENT = "agent", "Trading agent"

    class EnergySource(models.TextChoices):
        SOLAR = "solar", "Solar"
        WIND = "wind", "Wind"
        BATTERY = "battery", "Battery"
        GRID = "grid", "Grid"

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="orders")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="orders")
    period_start = models.DateTimeField()
    side = models.CharField(max_length=5, choices=Side.choices)
    quantity_wh = models.PositiveIntegerField()
    price = models.DecimalField(**PRICE, help_text="Limit price, p/kWh.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.BROWSER)
    submitted_at = models.DateTimeField(help_text="Ties on price go to the earliest submission.")
    # preferences
    nominees = models.JSONField(default=list, blank=True, help_text="Up to three participant ids to trade with first.")
    max_co2_g_per_kwh = models.PositiveIntegerField(null=True, blank=True)
    renewable_only = models.BooleanField(default=False)
    # provenance (offers)
    energy_source = models.CharField(max_length=8, choices=EnergySource.choices, default=EnergySource.SOLAR)
    co2_g_per_kwh = models.PositiveIntegerField(default=0)
    filled_wh = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["period_start", "submitted_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_wh__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(filled_wh__lte=models.F("quantity_wh")), name="order_fill_within_quantity"
            ),
            models.CheckConstraint(condition=Q(side__in=["bid", "offer"]), name="order_side_valid"),
        ]
        indexes = [models.Index(fields=["market", "period_start", "status"])]

    def __str__(self) -> str:
        return f"{self.get_side_display()} {self.quantity_wh} Wh @ {self.price}"


class ClearingRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Cleared"
        FAILED = "failed", "Failed"

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="clearing_runs")
    period_start = models.DateTimeField()
    rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+")
    mechanism = models.CharField(max_length=16, choices=Mechanism.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    clearing_price = models.DecimalField(**PRICE, null=True, blank=True)
    area_prices = models.JSONField(
        default=dict, blank=True, help_text="Network node name -> p/kWh where the market split."
    )
    binding = models.JSONField(default=list, blank=True)
    volume_wh = models.PositiveBigIntegerField(default=0)
    orders_count = models.PositiveIntegerField(default=0)
    book_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the frozen book (replay check).")
    message = models.CharField(max_length=500, blank=True)
    solver = models.CharField(max_length=12, blank=True)
    constraint_statement_ids = models.JSONField(
        default=list, blank=True, help_text="Network operators' constraint statements this run obeyed (ids)."
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["market", "-period_start"]
        constraints = [models.UniqueConstraint(fields=["market", "period_start"], name="clearingrun_one_per_period")]


class Trade(models.Model):
    run = models.ForeignKey(ClearingRun, on_delete=models.CASCADE, related_name="trades")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="trades")
    period_start = models.DateTimeField()
    bid = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    offer = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="purchases")
    seller = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="sales")
    quantity_wh = models.PositiveIntegerField()
    buyer_price = models.DecimalField(**PRICE)
    seller_price = models.DecimalField(**PRICE)
    preference_round = models.BooleanField(default=False, help_text="Matched by a nomination, gift or CO2 preference.")
    energy_source = models.CharField(max_length=8, choices=Order.EnergySource.choices)
    co2_g_per_kwh = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["period_start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_wh__gt=0), name="trade_quantity_positive"),
            models.CheckConstraint(condition=~Q(buyer=models.F("seller")), name="trade_not_with_self"),
        ]
        indexes = [
            models.Index(fields=["market", "period_start"]),
            models.Index(fields=["buyer", "period_start"]),
            models.Index(fields=["seller", "period_start"]),
        ]


class SettlementRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for meter data"
        SETTLED = "settled", "Settled"

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="settlement_runs")
    period_start = models.DateTimeField()
    rule = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+", null=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    revision = models.PositiveIntegerField(default=0, help_text="Bumped when late data changes the result.")
    readings_hash = models.CharField(max_length=64, blank=True)
    missing = models.JSONField(default=list, blank=True, help_text="Participant ids without readings.")
    message = models.CharField(max_length=300, blank=True)
    posted_revision = models.IntegerField(default=-1, help_text="Revision whose money is in the ledger.")
    ledger_key = models.CharField(
        max_length=200,
        blank=True,
        help_text="Idempotency key of the ledger entry holding this period's money (its own, or a batch day's).",
    )
    account_nets = models.JSONField(
        default=dict, blank=True, help_text="Pence posted (debit +) to supplier, operator and fund for this period."
    )
    settled_at = models.DateTimeField(null=True, blank=True)
    inputs = models.BinaryField(
        default=b"",
        blank=True,
        help_text="The settled inputs (members, meter data, trades, rule figures), packed: "
        "lem.domain.settlement.PeriodInputs. The period's lines are settled again from them on demand.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["market", "-period_start"]
        constraints = [models.UniqueConstraint(fields=["market", "period_start"], name="settlementrun_one_per_period")]


class SettlementLine(models.Model):
    """One member's settled periods of one local day, summed (the sub-ledger
    behind statements).

    Money is signed from the member's side: positive = the member pays.
    ``period_start`` is the start of the member's market's local day (as a UTC
    instant); ``periods`` counts the settled periods summed in; ``run`` is the
    first settled run of the day. A day's half-hourly detail is settled again
    on demand from each run's stored inputs (``SettlementRun.inputs``,
    ``lem.selectors.statement_periods``), penny for penny what was settled.

    Why a day and not a half-hour (issue 14 item 10): a month of 1,000 homes is
    30,000 rows instead of 1.44 M, and writing the 1.44 M rows alone took
    13-23 s on PostgreSQL (COPY into a bare table), more than the goal of 10 s
    for the whole month. One index besides the key, unique (participant,
    period_start); no database-level foreign keys.
    """

    run = models.ForeignKey(
        SettlementRun, on_delete=models.CASCADE, related_name="lines", db_index=False, db_constraint=False
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="settlement_lines", db_index=False, db_constraint=False
    )
    period_start = models.DateTimeField()
    bought_wh = models.PositiveIntegerField(default=0)
    sold_wh = models.PositiveIntegerField(default=0)
    import_wh = models.PositiveIntegerField(default=0)
    export_wh = models.PositiveIntegerField(default=0)
    from_supplier_wh = models.PositiveIntegerField(default=0, help_text="import beyond trades + sold but not delivered")
    to_supplier_wh = models.PositiveIntegerField(default=0, help_text="export beyond trades + bought but not used")
    local_cost = models.DecimalField(**MONEY, default=Decimal("0"))
    local_income = models.DecimalField(**MONEY, default=Decimal("0"))
    supplier_cost = models.DecimalField(**MONEY, default=Decimal("0"))
    supplier_income = models.DecimalField(**MONEY, default=Decimal("0"))
    fees = models.DecimalField(**MONEY, default=Decimal("0"))
    discount = models.DecimalField(**MONEY, default=Decimal("0"))
    supplier_only = models.DecimalField(
        **MONEY, default=Decimal("0"), help_text="The same meter data with the supplier alone."
    )
    band_wh = models.PositiveIntegerField(
        default=0, help_text="Of from/to supplier: the deviation inside the tolerance band (at the local price)."
    )
    band_cost = models.DecimalField(
        **MONEY,
        default=Decimal("0"),
        help_text="Net cost (+) / credit (-) of the deviation inside the tolerance band; part of the supplier figures.",
    )
    periods = models.PositiveIntegerField(default=1, help_text="Settled periods summed in this line.")

    class Meta:
        ordering = ["period_start", "participant"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "period_start"], name="settlementline_one_per_member_period")
        ]

    @property
    def total(self) -> Decimal:
        return (
            self.local_cost - self.local_income + self.supplier_cost - self.supplier_income + self.fees - self.discount
        )


class MonthlyCharge(models.Model):
    """The monthly membership fee, posted once per member and month."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="monthly_charges")
    month = models.DateField(help_text="First day of the month.")
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["participant", "month"], name="monthlycharge_once")]


class Payment(models.Model):
    """Money a member paid in (or was paid out), recorded by the operator."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY, help_text="Positive: the member paid in.")
    reference = models.CharField(max_length=120)
    received_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payment_not_zero"),
            models.UniqueConstraint(fields=["participant", "reference"], name="payment_unique_reference"),
        ]


def node_network_limits(node: NetworkNode) -> tuple[int, int]:
    """Import/export limits of a node in Wh per period-hour (kW x 1000)."""
    return int(node.import_capacity_kw * 1000), int(node.export_capacity_kw * 1000)


class ValueReport(models.Model):
    """A replay of a simulated year through the market's clearing, agents and
    settlement (issue 17): what the market is worth to each household against
    the supplier alone, under the rules in force or a proposed change."""

    class Kind(models.TextChoices):
        YEAR = "year", "The year under the rules in force"
        PROPOSAL = "proposal", "A proposed rules change against the rules in force"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="value_reports")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.YEAR)
    rule = models.ForeignKey(
        RuleVersion,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="value_reports",
        help_text="The proposed rules modelled (proposal reports).",
    )
    inputs_key = models.CharField(max_length=64, help_text="Hash of the sites, rules and year replayed.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress_pct = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=120, blank=True)
    message = models.CharField(max_length=300, blank=True)
    year_start = models.DateTimeField()
    days = models.PositiveSmallIntegerField(default=365)
    result = models.JSONField(default=dict, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress_pct__lte=100), name="valuereport_progress_pct"),
        ]
        indexes = [models.Index(fields=["market", "kind", "inputs_key"])]

    def __str__(self) -> str:
        return f"value report {self.pk} ({self.get_kind_display()})"
