"""Forms only collect input; the services validate and write. ``apply_domain_error``
puts a service's message next to the field it is about."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.forms.utils import ErrorDict

from community.errors import DomainError
from community.models import Community, NetworkNode, Role, Site


def apply_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show ``error`` on ``form`` (next to its field when the form has it).

    Works on an unbound form too (a post that named no known action, a vote on a
    closed ballot): the page shows the message instead of failing with a 500."""
    if not form.is_bound or not hasattr(form, "cleaned_data"):
        if form._errors is None:
            form._errors = ErrorDict()
        form.cleaned_data = {}
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class SiteForm(forms.Form):
    kind = forms.ChoiceField(choices=Site.Kind.choices)
    name = forms.CharField(max_length=200)
    address = forms.CharField(max_length=300)
    postcode = forms.CharField(max_length=10)
    latitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180)
    meter_point_id = forms.CharField(max_length=25, required=False, label="Meter point id (MPAN)")
    network_node = forms.ModelChoiceField(queryset=NetworkNode.objects.none(), label="Feeder")
    annual_consumption_kwh = forms.IntegerField(required=False, min_value=0, label="Annual electricity use (kWh)")
    occupants = forms.ModelMultipleChoiceField(queryset=get_user_model().objects.none(), required=False)

    def __init__(self, *args, community: Community, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["network_node"].queryset = NetworkNode.objects.filter(
            community=community, kind=NetworkNode.Kind.FEEDER
        )
        self.fields["occupants"].queryset = (
            get_user_model().objects.filter(memberships__community=community).distinct().order_by("last_name")
        )
        self.fields["occupants"].widget.attrs["size"] = 6


class NetworkNodeForm(forms.Form):
    kind = forms.ChoiceField(choices=NetworkNode.Kind.choices)
    name = forms.CharField(max_length=120)
    code = forms.CharField(max_length=40, label="DNO code")
    parent = forms.ModelChoiceField(queryset=NetworkNode.objects.none(), required=False)
    import_capacity_kw = forms.DecimalField(max_digits=10, decimal_places=1, label="Import capacity (kW)")
    export_capacity_kw = forms.DecimalField(max_digits=10, decimal_places=1, label="Export capacity (kW)")

    def __init__(self, *args, community: Community, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = NetworkNode.objects.filter(community=community).exclude(
            kind=NetworkNode.Kind.FEEDER
        )


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class CommunityForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=80, required=False, label="Short name (for links)")
    settlement_period_minutes = forms.TypedChoiceField(
        choices=[(30, "30 minutes"), (15, "15 minutes"), (5, "5 minutes")], coerce=int, initial=30
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    creation_code = forms.CharField(
        max_length=200,
        required=False,
        label="Creation code",
        help_text="Given by the platform's administrators to the people who may start a community.",
    )

    def __init__(self, *args, ask_code: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not ask_code:
            del self.fields["creation_code"]
