from __future__ import annotations

from django import forms

from community.models import ConstraintStatement


class ConstraintForm(forms.Form):
    node = forms.ModelChoiceField(queryset=None, help_text="Only the nodes you operate.")
    reference = forms.CharField(max_length=80, help_text="Your identifier; reuse it to publish a revision.")
    horizon = forms.ChoiceField(choices=ConstraintStatement.Horizon.choices)
    starts_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="From (UK time)"
    )
    ends_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Until (UK time)")
    import_limit_kw = forms.DecimalField(label="Import limit (kW)", decimal_places=1, max_digits=10)
    export_limit_kw = forms.DecimalField(label="Export limit (kW)", decimal_places=1, max_digits=10)
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, nodes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes
