"""Forms check types; the services check the rules (their DomainError lands on the form)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from community.uploads import MB, CappedFileField

from .models import AccountEntry, Member, Resolution, ShareOffer, Society, Vote

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0")}


class PercentField(forms.DecimalField):
    """Shown and typed as a percentage; cleaned to a fraction (4.5 → 0.045)."""

    def __init__(self, **kw):
        kw.setdefault("max_digits", 6)
        kw.setdefault("decimal_places", 2)
        kw.setdefault("min_value", Decimal("0"))
        super().__init__(**kw)

    def clean(self, value):
        v = super().clean(value)
        return None if v is None else (v / 100).quantize(Decimal("0.0001"))


class SocietyForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Society.Kind.choices, label="Kind of society")
    registration_number = forms.CharField(max_length=20, required=False, label="FCA registration number")
    share_price = forms.DecimalField(**MONEY, initial=Decimal("1.00"), label="Share price (£)")
    min_holding = forms.DecimalField(**MONEY, initial=Decimal("100"), label="Minimum holding (£)")
    max_holding = forms.DecimalField(
        **MONEY,
        initial=Decimal("100000"),
        label="Maximum holding (£)",
        help_text="The law caps withdrawable shares at £100,000 per member.",
    )
    target_interest_rate = PercentField(initial=Decimal("3"), label="Target interest rate (% a year)")
    max_interest_rate = PercentField(initial=Decimal("5"), label="Maximum interest rate (% a year)")
    withdrawable = forms.BooleanField(required=False, initial=True)
    transferable = forms.BooleanField(required=False, initial=False)
    min_holding_period_years = forms.IntegerField(
        min_value=0,
        max_value=50,
        initial=3,
        label="Minimum holding period before withdrawal (calendar years, from the earliest shares still held)",
    )
    interest_day_count = forms.ChoiceField(
        choices=[
            ("actact", "Actual/actual (a full year pays the rate, leap year or not)"),
            ("act365f", "Actual/365 fixed (every day is 1/365 of a year)"),
        ],
        initial="actact",
        label="Interest day count",
    )
    notice_period_days = forms.IntegerField(min_value=0, initial=90, label="Withdrawal notice period (days)")
    board_may_suspend_withdrawals = forms.BooleanField(required=False, initial=True)
    withdrawals_suspended = forms.BooleanField(required=False, initial=False)
    quorum_min = forms.IntegerField(min_value=0, initial=10, label="Quorum: at least this many members")
    quorum_fraction = PercentField(initial=Decimal("10"), label="…or this % of members")
    bank_account_name = forms.CharField(
        max_length=100,
        required=False,
        label="Society's bank account: name",
        help_text="Applicants pay for their shares into this account, with their application's reference.",
    )
    bank_sort_code = forms.CharField(max_length=8, required=False, label="Sort code")
    bank_account_number = forms.CharField(max_length=8, required=False, label="Account number")


class OfferForm(forms.Form):
    title = forms.CharField(max_length=200)
    code = forms.CharField(max_length=10, label="Reference code", help_text="Starts every application reference.")
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    document = forms.FileField(required=False, label="Offer document (PDF)")
    opens_on = forms.DateField(widget=DATE)
    closes_on = forms.DateField(widget=DATE)
    min_raise = forms.DecimalField(**MONEY, label="Minimum raise (£)")
    target_raise = forms.DecimalField(**MONEY, label="Target (£)")
    max_raise = forms.DecimalField(**MONEY, label="Maximum raise (£)")
    min_application = forms.DecimalField(**MONEY, label="Minimum application (£)")
    max_application = forms.DecimalField(**MONEY, label="Maximum application (£)")
    scale_back = forms.ChoiceField(choices=ShareOffer.Method.choices, label="If oversubscribed, scale back")


class ApplicationForm(forms.Form):
    amount = forms.DecimalField(**MONEY, label="Amount (£)")
    full_name = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)
    address = forms.CharField(max_length=300, required=False)
    postcode = forms.CharField(max_length=10, required=False)
    date_of_birth = forms.DateField(widget=DATE, required=False)
    sort_code = forms.CharField(max_length=8, required=False, help_text="For interest payments and any refund.")
    account_number = forms.CharField(max_length=8, required=False)

    def __init__(self, *args, existing_member: bool = False, **kw):
        super().__init__(*args, **kw)
        if existing_member:
            for name in ("full_name", "email", "address", "postcode", "date_of_birth", "sort_code", "account_number"):
                del self.fields[name]


class PaymentForm(forms.Form):
    amount = forms.DecimalField(**MONEY, label="Amount received (£)")
    received_on = forms.DateField(widget=DATE)


STATEMENT_MAX_BYTES = 20 * MB  # a society's whole year of bank lines fits many times over


class StatementForm(forms.Form):
    statement = CappedFileField(required=False, label="Bank statement (CSV)", max_bytes=STATEMENT_MAX_BYTES)
    # the uploaded statement is kept server-side between preview and confirm (community.uploads)
    stash = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class BudgetForm(forms.Form):
    budget = forms.DecimalField(**MONEY, label="Cash the board approves for withdrawals (£)")


class TransferForm(forms.Form):
    to_member = forms.ModelChoiceField(queryset=Member.objects.none(), label="To member")
    amount = forms.DecimalField(**MONEY, label="Amount (£)")
    day = forms.DateField(widget=DATE)

    def __init__(self, *args, society=None, exclude=None, **kw):
        super().__init__(*args, **kw)
        qs = Member.objects.filter(society=society, status=Member.Status.ACTIVE)
        if exclude is not None:
            qs = qs.exclude(pk=exclude.pk)
        self.fields["to_member"].queryset = qs


class CloseMemberForm(forms.Form):
    reason = forms.ChoiceField(choices=[("death", "Death (repay the estate)"), ("closure", "Membership closed")])
    day = forms.DateField(widget=DATE)


class WithdrawForm(forms.Form):
    amount = forms.DecimalField(**MONEY, label="Amount to withdraw (£)")


class ChoiceForm(forms.Form):
    distribution_choice = forms.ChoiceField(
        choices=Member.Choice.choices, widget=forms.RadioSelect, label="What should happen to my interest"
    )
    sort_code = forms.CharField(max_length=8, required=False)
    account_number = forms.CharField(max_length=8, required=False)


class DistributionForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, label="Financial year ending in")
    interest_rate = PercentField(label="Interest rate (% a year)")
    fund_contribution = forms.DecimalField(
        **MONEY, initial=Decimal("0"), label="Contribution to the community fund (£)"
    )
    dividend_total = forms.DecimalField(
        **MONEY, initial=Decimal("0"), required=False, label="Dividend (£, co-operative societies only)"
    )
    dividend_basis = forms.ChoiceField(
        choices=[("holding", "Pro rata to shareholding over the year"), ("patronage", "Pro rata to patronage")],
        initial="holding",
        required=False,
        label="Share the dividend",
    )
    patronage = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Patronage (one line per member: membership number, kWh bought from the society)",
        help_text="e.g. 12, 3400",
    )

    def clean_patronage(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for n, raw in enumerate((self.cleaned_data.get("patronage") or "").splitlines(), start=1):
            if not raw.strip():
                continue
            parts = [p.strip() for p in raw.replace(";", ",").split(",")]
            if len(parts) != 2 or not parts[0].isdigit():
                raise forms.ValidationError(f"Line {n}: write 'membership number, kWh', e.g. '12, 3400'.")
            try:
                value = Decimal(parts[1])
            except ArithmeticError:
                raise forms.ValidationError(f"Line {n}: '{parts[1]}' is not a number of kWh.") from None
            if not value.is_finite() or value < 0 or value != value.to_integral_value():
                raise forms.ValidationError(f"Line {n}: patronage must be a whole number of kWh, 0 or more.")
            out[int(parts[0])] = out.get(int(parts[0]), 0) + int(value)
        return out


class AccountEntryForm(forms.Form):
    month = forms.DateField(widget=DATE, help_text="Any day in the month.")
    kind = forms.ChoiceField(choices=AccountEntry.Kind.choices)
    amount = forms.DecimalField(**MONEY, label="Amount (£)")
    description = forms.CharField(max_length=200)


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(choices=[("agm", "Annual general meeting"), ("gm", "General meeting")])
    title = forms.CharField(max_length=200)
    held_at = forms.DateTimeField(widget=DATETIME, label="Meeting held at (UK time)")
    place = forms.CharField(max_length=200, required=False)
    notice_given_on = forms.DateField(widget=DATE)
    vote_opens = forms.DateTimeField(widget=DATETIME, label="Online voting opens")
    vote_closes = forms.DateTimeField(widget=DATETIME, label="Online voting closes")
    resolutions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One resolution a line; start a line with 'special:' for a special resolution.",
    )

    def clean_resolutions(self) -> list[tuple[str, str]]:
        """The lines as (text, kind): 'special:' opens a special resolution, any other an ordinary one."""
        out = []
        for line in self.cleaned_data["resolutions"].splitlines():
            kind = "special" if line.lower().startswith("special:") else "ordinary"
            out.append((line.split(":", 1)[1] if kind == "special" else line, kind))
        return out


class VoteForm(forms.Form):
    resolution = forms.ModelChoiceField(queryset=Resolution.objects.none(), widget=forms.HiddenInput)
    choice = forms.ChoiceField(choices=Vote.Choice.choices)


class EnterVoteForm(forms.Form):
    resolution = forms.ModelChoiceField(queryset=Resolution.objects.none())
    member = forms.ModelChoiceField(queryset=Member.objects.none())
    choice = forms.ChoiceField(choices=Vote.Choice.choices)
    channel = forms.ChoiceField(choices=[("in_person", "In person"), ("proxy", "By proxy")])


class BoardForm(forms.Form):
    member = forms.ModelChoiceField(queryset=Member.objects.none())
    role = forms.CharField(max_length=40, initial="Director")
    elected_on = forms.DateField(widget=DATE)
    term_ends_on = forms.DateField(widget=DATE)


class FundPaymentForm(forms.Form):
    amount = forms.DecimalField(**MONEY, label="Amount (£)")
    received_on = forms.DateField(widget=DATE)
    description = forms.CharField(max_length=200)


class GrantForm(forms.Form):
    project = forms.CharField(max_length=200)
    recipient = forms.CharField(max_length=200)
    amount = forms.DecimalField(**MONEY, label="Amount (£)")
    decided_on = forms.DateField(widget=DATE, label="Panel decided on")
    panel_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CorporateFundForm(forms.Form):
    name = forms.CharField(max_length=200, label="Fund name")
    company_name = forms.CharField(max_length=200, label="Company that pays in")
    asset_name = forms.CharField(max_length=200, label="The company's asset", required=False)
    capacity_kw = forms.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal(0), label="Installed capacity (kW)"
    )
    pounds_per_mw_year = forms.DecimalField(**MONEY, initial=Decimal("5000"), label="£ per MW installed per year")
    profit_share = PercentField(required=False, initial=Decimal("0"), label="…and/or % of the asset's profit")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CloseOfferForm(forms.Form):
    close_early = forms.BooleanField(
        required=False,
        label="Close it early: I know the offer is advertised as open until its closing date",
    )


class BallotForm(forms.Form):
    """A vote on the meeting page: its fields (resolution, choice, member, channel) are checked
    by the service; this form only carries the service's refusal back to the page."""
