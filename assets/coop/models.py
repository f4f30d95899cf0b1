"""The community co-op (a registered society), its share offers, member register,
asset accounts, distributions and governance; and benefit funds (the co-op's own
community fund and a corporate anchor's fund).

Money is Decimal GBP with 2 places; rates are fractions a year (0.0400 = 4%);
prices p/kWh. Every change to the register and every movement of money is also
a journal entry in the community ledger (``community.services.ledger``); the
rows here are the register's working view of those entries.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from community.models import Community, JournalEntry

from .domain.rules import CBS, COOP, SocietyRules

MONEY = {"max_digits": 14, "decimal_places": 2}
RATE = {"max_digits": 6, "decimal_places": 4}
PRICE = {"max_digits": 8, "decimal_places": 3}


class Society(models.Model):
    class Kind(models.TextChoices):
        CBS = CBS, "Community benefit society"
        COOP = COOP, "Co-operative society"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="societies")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CBS)
    registration_number = models.CharField(max_length=20, blank=True, help_text="FCA Mutuals Public Register number.")
    share_price = models.DecimalField(**MONEY, default=Decimal("1.00"))
    min_holding = models.DecimalField(**MONEY, default=Decimal("100.00"))
    max_holding = models.DecimalField(**MONEY, default=Decimal("100000.00"))
    target_interest_rate = models.DecimalField(**RATE, default=Decimal("0.0300"))
    max_interest_rate = models.DecimalField(**RATE, default=Decimal("0.0500"))
    withdrawable = models.BooleanField(default=True)
    transferable = models.BooleanField(default=False)
    min_holding_period_years = models.PositiveSmallIntegerField(
        default=3,
        help_text="Calendar years a member must hold shares (from the earliest allotment still held) before a "
        "withdrawal is paid: three years from 31 Jan 2024 is 31 Jan 2027.",
    )
    notice_period_days = models.PositiveIntegerField(default=90)
    board_may_suspend_withdrawals = models.BooleanField(default=True)
    withdrawals_suspended = models.BooleanField(default=False)
    quorum_min = models.PositiveIntegerField(default=10, help_text="Members who must take part in a general meeting.")
    quorum_fraction = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.100"),
        help_text="…or this share of the membership, whichever is greater.",
    )
    year_end_month = models.PositiveSmallIntegerField(default=12, help_text="Month the financial year ends.")
    interest_day_count = models.CharField(
        max_length=8,
        choices=[
            ("act365f", "Actual/365 fixed (every day 1/365 of a year)"),
            ("actact", "Actual/actual (a day in a leap year is 1/366)"),
        ],
        default="actact",
        help_text="Day-count convention for interest on shares: a society rule.",
    )
    # where applicants pay for their shares (shown with their payment reference)
    bank_account_name = models.CharField(max_length=100, blank=True)
    bank_sort_code = models.CharField(max_length=8, blank=True)
    bank_account_number = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "societies"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="society_unique_name"),
            models.CheckConstraint(condition=Q(share_price__gt=0), name="society_share_price_pos"),
            models.CheckConstraint(condition=Q(min_holding__lte=models.F("max_holding")), name="society_min_le_max"),
            models.CheckConstraint(
                condition=Q(target_interest_rate__lte=models.F("max_interest_rate")), name="society_target_le_max_rate"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def rules(self) -> SocietyRules:
        return SocietyRules(
            kind=self.kind,
            share_price=self.share_price,
            min_holding=self.min_holding,
            max_holding=self.max_holding,
            target_interest_rate=self.target_interest_rate,
            max_interest_rate=self.max_interest_rate,
            withdrawable=self.withdrawable,
            transferable=self.transferable,
            min_holding_period_years=self.min_holding_period_years,
            interest_day_count=self.interest_day_count,
            notice_period_days=self.notice_period_days,
            board_may_suspend_withdrawals=self.board_may_suspend_withdrawals,
            withdrawals_suspended=self.withdrawals_suspended,
        )

    def ledger_code(self, suffix: str) -> str:
        return f"coop:{self.pk}:{suffix}"

    @property
    def has_bank_details(self) -> bool:
        """Members can be told where to pay for their shares."""
        return bool(self.bank_sort_code and self.bank_account_number)


class Member(models.Model):
    """A line of the register of members (Co-operative and Community Benefit Societies Act 2014 s.30)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Member"
        CEASED = "ceased", "Ceased"
        DECEASED = "deceased", "Deceased"

    class Choice(models.TextChoices):
        PAY = "pay", "Pay to my bank account"
        REINVEST = "reinvest", "Reinvest in new shares"
        DONATE = "donate", "Donate to the community fund"

    society = models.ForeignKey(Society, on_delete=models.CASCADE, related_name="members")
    number = models.PositiveIntegerField(help_text="Membership number, in order of admission.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="coop_memberships"
    )
    full_name = models.CharField(max_length=200)
    email = models.EmailField()
    address = models.CharField(max_length=300)
    postcode = models.CharField(max_length=10)
    date_of_birth = models.DateField(null=True, blank=True)
    sort_code = models.CharField(max_length=8, blank=True)
    account_number = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    distribution_choice = models.CharField(max_length=10, choices=Choice.choices, default=Choice.PAY)
    admitted_on = models.DateField()
    ceased_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["society", "number"]
        constraints = [
            models.UniqueConstraint(fields=["society", "number"], name="member_unique_number"),
            models.UniqueConstraint(
                fields=["society", "user"], condition=Q(user__isnull=False), name="member_unique_user"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.full_name}"

    @property
    def ledger_suffix(self) -> str:
        return f"member:{self.pk}:shares"


class ShareOffer(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        ALLOTTED = "allotted", "Closed: shares allotted"
        FAILED = "failed", "Closed: minimum not met, money returned"

    class Method(models.TextChoices):
        PRO_RATA = "pro_rata", "Pro rata"
        LEVEL = "level", "Largest applications first"

    society = models.ForeignKey(Society, on_delete=models.CASCADE, related_name="offers")
    title = models.CharField(max_length=200)
    code = models.SlugField(max_length=10, help_text="Prefix of application references, e.g. SOL.")
    summary = models.TextField(blank=True)
    document = models.FileField(upload_to="coop/offers/", blank=True)
    opens_on = models.DateField()
    closes_on = models.DateField()
    min_raise = models.DecimalField(**MONEY)
    target_raise = models.DecimalField(**MONEY)
    max_raise = models.DecimalField(**MONEY)
    min_application = models.DecimalField(**MONEY)
    max_application = models.DecimalField(**MONEY)
    scale_back = models.CharField(max_length=10, choices=Method.choices, default=Method.PRO_RATA)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    allotted_on = models.DateField(null=True, blank=True)
    result_message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-opens_on"]
        constraints = [
            models.UniqueConstraint(fields=["society", "code"], name="offer_unique_code"),
            models.CheckConstraint(condition=Q(closes_on__gte=models.F("opens_on")), name="offer_closes_after_opening"),
            models.CheckConstraint(
                condition=Q(min_raise__lte=models.F("target_raise")) & Q(target_raise__lte=models.F("max_raise")),
                name="offer_raise_order",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Application(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Open until the offer closes"
        ALLOTTED = "allotted", "Shares allotted"
        REFUNDED = "refunded", "Money returned"
        LAPSED = "lapsed", "Not paid: lapsed"
        WITHDRAWN = "withdrawn", "Withdrawn by applicant"

    offer = models.ForeignKey(ShareOffer, on_delete=models.CASCADE, related_name="applications")
    reference = models.CharField(max_length=20)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, null=True, blank=True, related_name="applications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # register details for a new member (copied from the member when they already are one)
    full_name = models.CharField(max_length=200)
    email = models.EmailField()
    address = models.CharField(max_length=300)
    postcode = models.CharField(max_length=10)
    date_of_birth = models.DateField(null=True, blank=True)
    sort_code = models.CharField(max_length=8, blank=True)
    account_number = models.CharField(max_length=8, blank=True)
    amount = models.DecimalField(**MONEY)
    paid = models.DecimalField(**MONEY, default=Decimal("0.00"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    shares_allotted = models.PositiveIntegerField(default=0)
    refund = models.DecimalField(**MONEY, default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "reference"], name="application_unique_reference"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="application_amount_pos"),
            models.CheckConstraint(condition=Q(paid__gte=0), name="application_paid_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.full_name} £{self.amount}"

    @property
    def owed(self) -> Decimal:
        """What the applicant still has to pay (never negative)."""
        return max(self.amount - self.paid, Decimal("0.00"))

    @property
    def state(self) -> str:
        """Where the application really stands: a pending one is unpaid, part paid or paid in full."""
        if self.status != self.Status.PENDING:
            return self.get_status_display()
        if self.paid <= 0:
            return "Awaiting payment"
        if self.paid < self.amount:
            return f"Part paid: £{self.owed:,} still to pay"
        if self.paid == self.amount:
            return "Paid in full: shares allotted when the offer closes"
        return f"Paid £{self.paid - self.amount:,} more than applied for: refunded when the offer closes"


class Payment(models.Model):
    class Method(models.TextChoices):
        MANUAL = "manual", "Entered by the treasurer"
        STATEMENT = "statement", "Bank statement import"

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY)
    received_on = models.DateField()
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.MANUAL)
    bank_fingerprint = models.CharField(max_length=200, blank=True)
    bank_text = models.CharField(max_length=300, blank=True)
    journal_entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_pos"),
        ]


class ShareTransaction(models.Model):
    """A movement on the register: positive in, negative out (whole shares)."""

    class Kind(models.TextChoices):
        ALLOT = "allot", "Allotted"
        REINVEST = "reinvest", "Interest reinvested"
        TRANSFER_IN = "transfer_in", "Transfer in"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        WITHDRAW = "withdraw", "Withdrawn"
        CANCEL = "cancel", "Cancelled (death/closure)"

    society = models.ForeignKey(Society, on_delete=models.CASCADE, related_name="transactions")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="transactions")
    day = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    shares = models.IntegerField()
    amount = models.DecimalField(**MONEY)
    offer = models.ForeignKey(ShareOffer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    distribution = models.ForeignKey("Distribution", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    journal_entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "id"]
        indexes = [models.Index(fields=["society", "member", "day"])]
        constraints = [models.CheckConstraint(condition=~Q(shares=0), name="sharetx_nonzero")]


class WithdrawalRequest(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    society = models.ForeignKey(Society, on_delete=models.CASCADE, related_name="withdrawals")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="withdrawals")
    amount = models.DecimalField(**MONEY)
    notice_date = models.DateField()
    on_death = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    paid_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["notice_date", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_pos")]


class CoopAsset(models.Model):
    """The society's anchor asset (seed 002 4.2.2) and the figures its accounts need."""

    society = models.ForeignKey(Society, on_delete=models.CASCADE, related_name="assets")
    name = models.CharField(max_length=200)
    device = models.ForeignKey("assets.Device", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    generation_meter = models.ForeignKey(
        "assets.Meter",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Meter whose export_wh is the asset's generation.",
    )
    export_meter = models.ForeignKey(
        "assets.Meter",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The host site's meter; its export_wh went to the grid.",
    )
    capacity_kw = models.DecimalField(max_digits=10, decimal_places=2)
    commissioned_on = models.DateField()
    capex = models.DecimalField(**MONEY)
    life_years = models.PositiveSmallIntegerField(default=25)
    om_pct_of_capex = models.DecimalField(**RATE, default=Decimal("0.0150"))
    insurance_per_year = models.DecimalField(**MONEY, default=Decimal("0"))
    admin_per_member_year = models.DecimalField(**MONEY, default=Decimal("12.00"))
    ppa_p_per_kwh = models.DecimalField(**PRICE, default=Decimal("8"))
    host_p_per_kwh = models.DecimalField(**PRICE, default=Decimal("15"))

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FundingSource(models.Model):
    class Kind(models.TextChoices):
        SHARES = "shares", "Share capital"
        GRANT = "grant", "Grant"
        LOAN = "loan", "Loan"

    asset = models.ForeignKey(CoopAsset, on_delete=models.CASCADE, related_name="funding")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)
    annual_rate = models.DecimalField(**RATE, default=Decimal("0"))
    term_months = models.PositiveIntegerField(default=0)
    first_payment = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="funding_amount_pos"),
            models.CheckConstraint(
                condition=~Q(kind="loan") | (Q(term_months__gt=0) & Q(first_payment__isnull=False)),
                name="funding_loan_has_schedule",
            ),
        ]


class AccountEntry(models.Model):
    """Costs and revenues entered by the treasurer for a month (beyond what the meter gives)."""

    class Kind(models.TextChoices):
        COST = "cost", "Other cost"
        FLEX = "flex", "Flexibility revenue"

    asset = models.ForeignKey(CoopAsset, on_delete=models.CASCADE, related_name="entries")
    month = models.DateField(help_text="First day of the month.")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    description = models.CharField(max_length=200)

    class Meta:
        ordering = ["month", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="accountentry_amount_pos")]


class Distribution(models.Model):
    class Status(models.TextChoices):
        COMMITTED = "committed", "Committed"
        PAID = "paid", "Payment file paid"

    society = models.ForeignKey(Society, on_delete=models.CASCADE, related_name="distributions")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive: the day after the year end.")
    surplus = models.DecimalField(**MONEY)
    interest_rate = models.DecimalField(**RATE)
    fund_contribution = models.DecimalField(**MONEY, default=Decimal("0"))
    dividend_total = models.DecimalField(**MONEY, default=Decimal("0"))
    interest_total = models.DecimalField(**MONEY)
    cash_total = models.DecimalField(**MONEY)
    reinvested_total = models.DecimalField(**MONEY)
    donated_total = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMMITTED)
    declared_on = models.DateField(null=True, help_text="The day the interest was declared and credited to members.")
    committed_at = models.DateTimeField()
    committed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    paid_on = models.DateField(null=True, blank=True)
    day_count = models.CharField(max_length=8, default="act365f", help_text="Day count used (the society's rule then).")
    dividend_basis = models.CharField(
        max_length=10,
        choices=[("holding", "Shareholding over the year"), ("patronage", "Patronage (trade with the society)")],
        default="holding",
    )

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            # one distribution per society and year: a second commit of the same year is refused
            models.UniqueConstraint(fields=["society", "period_start"], name="distribution_one_per_year"),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")), name="distribution_period"),
        ]

    def __str__(self) -> str:
        return f"{self.society} {self.period_start:%d %b %Y}–{self.last_day:%d %b %Y}"

    @property
    def last_day(self):
        """The year's last day (``period_end`` is exclusive)."""
        from datetime import timedelta

        return self.period_end - timedelta(days=1)


class DistributionLine(models.Model):
    distribution = models.ForeignKey(Distribution, on_delete=models.CASCADE, related_name="lines")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="distribution_lines")
    penny_days = models.BigIntegerField()
    interest = models.DecimalField(**MONEY)
    dividend = models.DecimalField(**MONEY)
    choice = models.CharField(max_length=10, choices=Member.Choice.choices)
    cash = models.DecimalField(**MONEY)
    reinvested = models.DecimalField(**MONEY)
    new_shares = models.PositiveIntegerField()
    donated = models.DecimalField(**MONEY)
    patronage = models.BigIntegerField(null=True, blank=True, help_text="The member's patronage weight, if used.")
    note = models.CharField(max_length=300, blank=True, help_text="Why part of a reinvestment was paid in cash.")

    class Meta:
        ordering = ["distribution", "member__number"]
        constraints = [
            models.UniqueConstraint(fields=["distribution", "member"], name="distline_unique_member"),
            models.CheckConstraint(
                condition=Q(interest__gte=0)
                & Q(dividend__gte=0)
                & Q(cash__gte=0)
                & Q(reinvested__gte=0)
                & Q(donated__gte=0),
                name="distline_nonneg",
            ),
        ]

    @property
    def gross(self) -> Decimal:
        return self.interest + self.dividend


# --- governance -------------------------------------------------------------------


class Meeting(models.Model):
    class Kind(models.TextChoices):
        AGM = "agm", "Annual general meeting"
        GM = "gm", "General meeting"

    society = models.ForeignKey(Society, on_delete=models.CASCADE, related_name="meetings")
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.AGM)
    title = models.CharField(max_length=200)
    held_at = models.DateTimeField()
    place = models.CharField(max_length=200, blank=True)
    notice_given_on = models.DateField()
    vote_opens = models.DateTimeField()
    vote_closes = models.DateTimeField()
    quorum = models.PositiveIntegerField(help_text="Members who must vote, fixed when notice is given.")

    class Meta:
        ordering = ["-held_at"]
        constraints = [
            models.CheckConstraint(condition=Q(vote_closes__gt=models.F("vote_opens")), name="meeting_window_order")
        ]

    def __str__(self) -> str:
        return self.title


class Resolution(models.Model):
    class Kind(models.TextChoices):
        ORDINARY = "ordinary", "Ordinary (simple majority)"
        SPECIAL = "special", "Special (three quarters)"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="resolutions")
    number = models.PositiveSmallIntegerField()
    text = models.TextField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ORDINARY)

    class Meta:
        ordering = ["meeting", "number"]
        constraints = [models.UniqueConstraint(fields=["meeting", "number"], name="resolution_unique_number")]

    def __str__(self) -> str:
        return f"{self.number}. {self.text[:60]}"


class Vote(models.Model):
    class Choice(models.TextChoices):
        FOR = "for", "For"
        AGAINST = "against", "Against"
        ABSTAIN = "abstain", "Abstain"

    class Channel(models.TextChoices):
        ONLINE = "online", "Online"
        IN_PERSON = "in_person", "In person"
        PROXY = "proxy", "By proxy"

    resolution = models.ForeignKey(Resolution, on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(max_length=8, choices=Choice.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    cast_at = models.DateTimeField()
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["resolution", "cast_at"]
        constraints = [
            # one member, one vote (the database refuses a second even if two requests race)
            models.UniqueConstraint(fields=["resolution", "member"], name="vote_one_per_member"),
        ]


class BoardMember(models.Model):
    society = models.ForeignKey(Society, on_delete=models.CASCADE, related_name="board")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="board_terms")
    role = models.CharField(max_length=40, default="Director")
    elected_on = models.DateField()
    term_ends_on = models.DateField()

    class Meta:
        ordering = ["term_ends_on"]
        constraints = [
            models.CheckConstraint(condition=Q(term_ends_on__gt=models.F("elected_on")), name="board_term_order")
        ]


# --- benefit funds ----------------------------------------------------------------


class BenefitFund(models.Model):
    """A community benefit fund: the co-op's own (fed by distributions and
    donations) or a corporate anchor's (seed 002 4.2.3: £ per MW per year or a
    share of profit paid in by the company)."""

    class Kind(models.TextChoices):
        COOP = "coop", "Co-op community fund"
        CORPORATE = "corporate", "Corporate benefit fund"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="benefit_funds")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200)
    society = models.ForeignKey(Society, on_delete=models.CASCADE, null=True, blank=True, related_name="funds")
    company_name = models.CharField(max_length=200, blank=True)
    asset_name = models.CharField(max_length=200, blank=True)
    capacity_kw = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    pounds_per_mw_year = models.DecimalField(**MONEY, default=Decimal("0"))
    profit_share = models.DecimalField(**RATE, default=Decimal("0"))
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="coop") | Q(society__isnull=False), name="fund_coop_has_society"),
        ]

    def __str__(self) -> str:
        return self.name


class FundPayment(models.Model):
    fund = models.ForeignKey(BenefitFund, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(**MONEY)
    received_on = models.DateField()
    description = models.CharField(max_length=200)
    distribution = models.ForeignKey(Distribution, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    journal_entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="fundpayment_amount_pos")]


class FundGrant(models.Model):
    fund = models.ForeignKey(BenefitFund, on_delete=models.CASCADE, related_name="grants")
    project = models.CharField(max_length=200)
    recipient = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)
    decided_on = models.DateField()
    panel_note = models.TextField(blank=True)
    journal_entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-decided_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="fundgrant_amount_pos")]
