from django import forms

from assets.domain import kinds
from community.uploads import MB, CappedFileField


class ReadingsImportForm(forms.Form):
    file = CappedFileField(
        help_text="CSV with meter_id, period_start, import_wh, export_wh (or import_kwh/export_kwh).",
        max_bytes=50 * MB,  # a year of half-hourly readings for ~300 meters
    )
    dry_run = forms.BooleanField(required=False, initial=True, label="Dry run (check only, write nothing)")


class CommandForm(forms.Form):
    device = forms.ChoiceField()
    action = forms.ChoiceField(choices=sorted({(a, a) for acts in kinds.ACTIONS.values() for a in acts}))
    power_w = forms.IntegerField(required=False, label="power_w (W; batteries: > 0 charge, < 0 discharge)")
    limit_w = forms.IntegerField(required=False, label="limit_w (W, curtailment)")
    delta_c = forms.FloatField(required=False, label="delta_c (K, heat-pump setpoint shift)")
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60, initial=30, label="Valid for (minutes)")

    def __init__(self, *args, devices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["device"].choices = [(d.pk, f"{d.site.name} · {d.name} ({d.get_kind_display()})") for d in devices]

    def params(self) -> dict:
        action = self.cleaned_data["action"]
        out = {}
        for name in ("power_w", "limit_w", "delta_c"):
            if self.cleaned_data.get(name) is not None:
                out[name] = self.cleaned_data[name]
        # send only what the action takes; the service explains anything missing
        wanted = set()
        for acts in kinds.ACTIONS.values():
            wanted |= set(acts.get(action, {}))
        return {k: v for k, v in out.items() if k in wanted}
