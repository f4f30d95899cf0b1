"""Forms of the VPP pages (validation of shape only; the services judge the rest)."""

from __future__ import annotations

from django import forms

from community.models import NetworkNode
from vpp.models import Requirement


class EnrolForm(forms.Form):
    target = forms.ChoiceField(label="What to enrol")
    max_events_per_week = forms.IntegerField(min_value=1, max_value=14, initial=3, label="At most, events per week")
    never_touch = forms.CharField(
        required=False, label="Never touch between", help_text="Local time, e.g. 07:00-08:30, 21:00-23:00"
    )
    reserve_pct = forms.FloatField(required=False, min_value=0, max_value=100, label="Battery: keep at least (%)")
    ready_by = forms.CharField(required=False, label="EV: ready by (HH:MM)")
    target_pct = forms.FloatField(required=False, min_value=0, max_value=100, label="EV: minimum charge by then (%)")
    comfort_min_c = forms.FloatField(required=False, label="Heat pump: coolest (°C)")
    comfort_max_c = forms.FloatField(required=False, label="Heat pump: warmest (°C)")
    agree = forms.BooleanField(label="I agree to the consent text above")

    def __init__(self, *args, choices=(), **kw):
        super().__init__(*args, **kw)
        self.fields["target"].choices = choices

    def limits(self, kind: str) -> dict:
        d = self.cleaned_data
        out: dict = {}
        if d.get("never_touch"):
            out["never_touch"] = d["never_touch"]
        if kind == "battery" and d.get("reserve_pct") is not None:
            out["reserve_pct"] = d["reserve_pct"]
        if kind == "ev_charger":
            if d.get("ready_by"):
                out["ready_by"] = d["ready_by"]
            if d.get("target_pct") is not None:
                out["target_pct"] = d["target_pct"]
        if kind == "heat_pump" and d.get("comfort_min_c") is not None and d.get("comfort_max_c") is not None:
            out["comfort_min_c"], out["comfort_max_c"] = d["comfort_min_c"], d["comfort_max_c"]
        return out


class RequirementForm(forms.Form):
    reference = forms.CharField(max_length=80)
    buyer_name = forms.CharField(max_length=120, label="Buying organisation")
    node = forms.ModelChoiceField(queryset=NetworkNode.objects.none(), label="Network node")
    product = forms.ChoiceField(choices=Requirement.Product.choices)
    direction = forms.ChoiceField(choices=Requirement.Direction.choices)
    starts_at = forms.DateTimeField(
        label="Window starts (UK time)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Window ends (UK time)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    kw_wanted = forms.DecimalField(label="kW wanted", max_digits=10, decimal_places=1)
    notice_minutes = forms.IntegerField(initial=60, label="Notice to households (minutes)")
    utilisation_gbp_per_mwh = forms.DecimalField(
        label="Utilisation price (£/MWh)", initial=306, max_digits=10, decimal_places=2
    )
    availability_gbp_per_mw_h = forms.DecimalField(
        label="Availability price (£/MW/h)", initial=0, max_digits=10, decimal_places=2, required=False
    )
    baseline_method = forms.ChoiceField(choices=Requirement.Baseline.choices)

    def __init__(self, *args, community=None, **kw):
        super().__init__(*args, **kw)
        self.fields["node"].queryset = NetworkNode.objects.filter(community=community).order_by("kind", "name")


class BidForm(forms.Form):
    volume_kw = forms.DecimalField(max_digits=10, decimal_places=1, label="Volume (kW)")
    utilisation_gbp_per_mwh = forms.DecimalField(max_digits=10, decimal_places=2, label="Price (£/MWh)")


class SharingRuleForm(forms.Form):
    fee_pct = forms.DecimalField(label="Aggregator fee (%)", max_digits=5, decimal_places=2, initial=15)
    fund_pct = forms.DecimalField(label="Community fund (% after fee)", max_digits=5, decimal_places=2, initial=10)
    availability_credit_gbp_per_kw = forms.DecimalField(
        label="Availability credit (£ per kW enrolled, per event)", max_digits=8, decimal_places=4, initial="0.05"
    )
    floor_gbp = forms.DecimalField(
        label="Floor for homes without devices (£ per event)", max_digits=8, decimal_places=2, initial="0.25"
    )
    reason = forms.CharField(max_length=300, required=False)
