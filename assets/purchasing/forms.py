"""Forms: shape and type checks only; the services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from .models import KIND_CHOICES, SHADING_CHOICES, Document


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    registration_closes = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    bid_deadline = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="Sealed bids open after this."
    )
    decision_days = forms.IntegerField(min_value=1, max_value=180, initial=42, label="Decision window (days)")
    install_weeks = forms.IntegerField(min_value=1, max_value=104, initial=16, label="Installation window (weeks)")
    deposit_gbp = forms.DecimalField(
        min_value=0, decimal_places=2, initial=Decimal("150"), label="Refundable deposit (£)"
    )
    convenor_fee_gbp = forms.DecimalField(
        min_value=0, decimal_places=2, initial=Decimal("150"), label="Convenor's fee per install (£)"
    )
    price_weight = forms.IntegerField(min_value=0, max_value=100, initial=70, label="Weight on price (%)")
    quality_weight = forms.IntegerField(min_value=0, max_value=100, initial=30, label="Weight on quality (%)")
    finance_partner = forms.CharField(max_length=120, required=False, label="Finance partner (optional)")
    finance_apr_pct = forms.DecimalField(
        required=False, min_value=0, max_value=50, decimal_places=2, label="Finance APR (%)"
    )
    finance_years = forms.IntegerField(required=False, min_value=1, max_value=25, label="Finance term (years)")


class PackageForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    name = forms.CharField(max_length=120)
    spec = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Specification")
    min_size = forms.DecimalField(min_value=Decimal("0.1"), decimal_places=2, help_text="kWp / kWh / kW / chargers")
    max_size = forms.DecimalField(min_value=Decimal("0.1"), decimal_places=2)
    market_price_per_unit_gbp = forms.DecimalField(
        min_value=Decimal("0.01"), decimal_places=2, label="Market price per unit, buying alone (£)"
    )
    grant_gbp = forms.DecimalField(
        min_value=0, decimal_places=2, initial=0, required=False, label="Grant per install (£)"
    )
    min_roof_area_m2 = forms.DecimalField(
        min_value=0, decimal_places=1, initial=0, required=False, label="Minimum roof area (m²)"
    )
    min_fuse_a = forms.IntegerField(min_value=0, initial=0, required=False, label="Minimum main fuse (A)")
    max_shading = forms.ChoiceField(choices=SHADING_CHOICES, initial="heavy", label="Most shading allowed")
    timeline = forms.CharField(max_length=200, required=False)


class HomeForm(forms.Form):
    packages = forms.ModelMultipleChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, label="I'm interested in"
    )
    site = forms.ModelChoiceField(
        queryset=None, required=False, label="My home on the platform", empty_label="(not registered)"
    )
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, widget=forms.NumberInput(attrs={"step": "0.000001"}))
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, widget=forms.NumberInput(attrs={"step": "0.000001"}))
    roof_area_m2 = forms.DecimalField(min_value=0, decimal_places=1, label="Roof area facing the sun (m²)")
    azimuth_deg = forms.IntegerField(
        min_value=0, max_value=360, initial=180, label="Orientation (degrees, 180 = south)"
    )
    tilt_deg = forms.IntegerField(min_value=0, max_value=90, initial=35, label="Roof pitch (degrees)")
    shading = forms.ChoiceField(choices=SHADING_CHOICES, initial="none")
    fuse_a = forms.IntegerField(min_value=0, max_value=400, initial=60, label="Main fuse (A)")
    annual_use_kwh = forms.IntegerField(
        min_value=0,
        required=False,
        label="Electricity use a year (kWh)",
        help_text="Left empty: taken from your smart meter when your home has one.",
    )
    floor_area_m2 = forms.IntegerField(
        min_value=10, max_value=2000, initial=94, required=False, label="Floor area (m²) for a heat pump"
    )
    ev_miles = forms.IntegerField(
        min_value=0, max_value=100000, required=False, label="EV miles a year (for a charger)"
    )

    def __init__(self, *args, campaign=None, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["packages"].queryset = campaign.packages.all()
        self.fields["site"].queryset = sites

    def home(self) -> dict:
        d = self.cleaned_data
        return {
            "lat": d["latitude"],
            "lon": d["longitude"],
            "roof_area_m2": d["roof_area_m2"],
            "azimuth_deg": d["azimuth_deg"],
            "tilt_deg": d["tilt_deg"],
            "shading": d["shading"],
            "fuse_a": d["fuse_a"],
            "annual_use_kwh": d.get("annual_use_kwh"),
            "floor_area_m2": d.get("floor_area_m2") or 94,
            "ev_miles": d.get("ev_miles") or 0,
        }


class InstallerForm(forms.Form):
    company = forms.CharField(max_length=200)
    certification = forms.ChoiceField(
        choices=[("MCS", "MCS"), ("RECC+MCS", "RECC + MCS"), ("NICEIC", "NICEIC (EV chargers)")]
    )
    certificate_number = forms.CharField(max_length=40)
    certificate_expires = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    insurance_cover_gbp = forms.DecimalField(min_value=0, decimal_places=2, label="Public liability cover (£)")
    insurance_expires = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    financial_health = forms.IntegerField(min_value=0, max_value=100, help_text="Credit agency score 0-100")
    capacity_per_week = forms.IntegerField(min_value=1, max_value=500, label="Installations per week")
    kinds = forms.MultipleChoiceField(choices=KIND_CHOICES, widget=forms.CheckboxSelectMultiple, label="Certified for")


class BidForm(forms.Form):
    """Up to four tiers: 'up to' size and price per unit."""

    def __init__(self, *args, package=None, **kwargs):
        super().__init__(*args, **kwargs)
        unit = package.unit
        for i in range(1, 5):
            self.fields[f"up_to_{i}"] = forms.DecimalField(
                required=(i == 1), min_value=0, decimal_places=2, label=f"Tier {i}: sizes up to ({unit})"
            )
            self.fields[f"price_{i}"] = forms.DecimalField(
                required=(i == 1), min_value=0, decimal_places=2, label=f"Tier {i}: price per {unit} (£)"
            )

    def tiers(self) -> list[dict]:
        d = self.cleaned_data
        return [
            {"up_to": d[f"up_to_{i}"], "price_per_unit": d.get(f"price_{i}")}
            for i in range(1, 5)
            if d.get(f"up_to_{i}") is not None
        ]


class SurveyForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("confirm", "Confirm the offer"), ("adjust", "Adjust the price"), ("cancel", "Cancel (full refund)")]
    )
    new_price_gbp = forms.DecimalField(required=False, min_value=0, decimal_places=2, label="New price (£)")
    reason = forms.CharField(required=False, max_length=300)


class MilestoneForm(forms.Form):
    name = forms.CharField(max_length=80)
    note = forms.CharField(max_length=300, required=False)


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=Document.Kind.choices)
    file = forms.FileField(help_text="JPEG or PNG photo, or PDF; at most 10 MB")


class RefundForm(forms.Form):
    amount = forms.DecimalField(decimal_places=2, label="Refund (£)")
    reason = forms.CharField(max_length=200)


class ComplaintForm(forms.Form):
    subject = forms.CharField(max_length=200)
    detail = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ComplaintUpdateForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("disputed", "In dispute"), ("upheld", "Resolved: upheld"), ("rejected", "Resolved: not upheld")]
    )
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class FailForm(forms.Form):
    reason = forms.CharField(max_length=200, initial="MCS certification withdrawn")
