"""Forms only collect input; the services validate and write."""

from __future__ import annotations

from django import forms

from lem.models import Mechanism, Order, RuleVote


class OrderForm(forms.Form):
    side = forms.ChoiceField(choices=Order.Side.choices)
    quantity_wh = forms.IntegerField(label="Quantity (Wh)")
    price = forms.DecimalField(max_digits=9, decimal_places=3, label="Limit price (p/kWh)")
    period_start = forms.ChoiceField(label="Delivery period")
    periods = forms.IntegerField(initial=1, required=False, label="For how many consecutive periods (1-48)")
    energy_source = forms.ChoiceField(choices=Order.EnergySource.choices, required=False, label="Source (offers)")
    nominees = forms.CharField(required=False, label="Neighbours first (pseudonyms or ids, comma-separated, up to 3)")
    max_co2_g_per_kwh = forms.IntegerField(required=False, label="Only energy under g CO2/kWh (bids)")

    def __init__(self, *args, periods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period_start"].choices = periods


class AgentForm(forms.Form):
    agent_enabled = forms.BooleanField(required=False, label="Let my trading agent bid and offer for me")
    min_sell_price = forms.DecimalField(max_digits=9, decimal_places=3, label="Never sell below (p/kWh)")
    max_buy_price = forms.DecimalField(max_digits=9, decimal_places=3, label="Never buy above (p/kWh)")
    battery_reserve_pct = forms.IntegerField(label="Keep this % of my battery for the evening")


class MarketForm(forms.Form):
    gate_closure_minutes = forms.IntegerField(label="Gate closure (minutes before delivery)")
    price_floor = forms.DecimalField(max_digits=9, decimal_places=3, label="Price floor (p/kWh)")
    price_cap = forms.DecimalField(max_digits=9, decimal_places=3, label="Price cap (p/kWh)")
    rules_need_vote = forms.BooleanField(required=False, label="Rule changes need the members' vote")


class RulesForm(forms.Form):
    mechanism = forms.ChoiceField(choices=Mechanism.choices)
    import_price = forms.DecimalField(max_digits=9, decimal_places=3, label="Supplier import price (p/kWh)")
    peak_import_price = forms.DecimalField(
        max_digits=9, decimal_places=3, required=False, label="Peak import price 16-19h (p/kWh)"
    )
    export_price = forms.DecimalField(max_digits=9, decimal_places=3, label="Supplier export price (p/kWh)")
    match_tariff = forms.DecimalField(max_digits=9, decimal_places=3, label="Club match tariff (p/kWh)")
    fee_per_trade_pence = forms.DecimalField(max_digits=7, decimal_places=2, label="Fee per trade (p, each side)")
    fee_pct = forms.DecimalField(max_digits=5, decimal_places=2, label="Fee (% of value, each side)")
    membership_fee = forms.DecimalField(max_digits=14, decimal_places=2, label="Membership fee (£/month)")
    membership_fee_cap_pct = forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        label="Cap the membership fee at this % of what trading saved the household that month (blank: no cap)",
    )
    social_discount_pct = forms.DecimalField(max_digits=5, decimal_places=2, label="Social tariff discount (%)")
    tolerance_band_pct = forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        initial=0,
        label="Tolerance band (% of traded volume settled at the local price; 0 = none)",
    )
    fund_share_pct = forms.DecimalField(max_digits=5, decimal_places=2, label="Share of fees to the community fund (%)")
    effective_from = forms.DateTimeField(label="Applies from (UTC, YYYY-MM-DD HH:MM)")
    reason = forms.CharField(max_length=300, required=False)


class VoteForm(forms.Form):
    choice = forms.ChoiceField(choices=RuleVote.Choice.choices)


class PaymentForm(forms.Form):
    participant = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, label="Amount (£)")
    reference = forms.CharField(max_length=120, label="Bank reference")


class CreditForm(forms.Form):
    credit_limit = forms.DecimalField(max_digits=14, decimal_places=2, label="Credit limit (£)")
    fuel_poor = forms.BooleanField(required=False, label="Fuel poor (social tariff)")
