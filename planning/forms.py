"""Forms only collect input; planning.services validates and writes."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from community.uploads import MB, CappedFileField
from planning.domain.preferences import CRITERIA, CRITERIA_LABELS
from planning.models import EPC_CHOICES, OPTION_CHOICES, Milestone

BLANK = [("", "—")]


class PlanForm(forms.Form):
    title = forms.CharField(max_length=200, initial="Our local energy plan")
    area_description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="The area and why we are planning"
    )


class ImportForm(forms.Form):
    file = CappedFileField(required=False, help_text="CSV, UTF-8, with a header row.", max_bytes=20 * MB)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, label="…or paste CSV")
    source = forms.CharField(
        max_length=200,
        required=False,
        label="Where the data comes from",
        help_text="e.g. the DNO's open data portal, with the date",
    )

    def csv_text(self) -> str:
        f = self.cleaned_data.get("file")
        if f:
            raw = f.read(5_000_000)
            try:
                return raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
        return self.cleaned_data.get("text") or ""


class ScenarioForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    start_year = forms.IntegerField(initial=lambda: timezone.now().year)
    end_year = forms.IntegerField(initial=2040)
    pathway = forms.ChoiceField(required=False, label="Start from an illustrative pathway")
    copy_from = forms.ChoiceField(required=False, label="…or from a copy of")

    def __init__(self, *args, scenarios=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["copy_from"].choices = BLANK + [(str(s.pk), s.name) for s in scenarios]
        from planning.domain.pathways import PATHWAYS

        self.fields["pathway"].choices = BLANK + [(p.key, p.label) for p in PATHWAYS]


class OptionForm(forms.Form):
    kind = forms.ChoiceField(choices=OPTION_CHOICES, label="Option")
    label = forms.CharField(max_length=120, required=False, help_text="Optional name, e.g. 'Solar on south roofs'")
    take_up = forms.CharField(
        max_length=300,
        label="Take-up (% by year)",
        help_text="Share of eligible buildings (or of the asset built) by each year.",
    )
    kwp = forms.DecimalField(required=False, min_value=0, label="Array size (kWp)", help_text="Community solar only")
    rated_kw = forms.DecimalField(required=False, min_value=0, label="Turbine rating (kW)", help_text="Wind only")
    mean_speed_ms = forms.DecimalField(
        required=False,
        min_value=0,
        label="Mean wind speed (m/s)",
        help_text="Wind only; blank uses the plan's assumption",
    )
    node = forms.CharField(
        required=False, max_length=40, label="Connects at node (DNO code)", help_text="Community solar / wind"
    )
    target_band = forms.ChoiceField(choices=BLANK + EPC_CHOICES, required=False, label="Retrofit to EPC band")
    smart = forms.BooleanField(required=False, label="Smart (overnight) EV charging")
    key = forms.CharField(required=False, widget=forms.HiddenInput)

    PARAMS = {
        "community_solar": ("kwp", "node"),
        "wind_turbine": ("rated_kw", "mean_speed_ms", "node"),
        "retrofit": ("target_band",),
        "ev_charger": ("smart",),
    }

    def params(self) -> dict:
        kind = self.cleaned_data["kind"]
        out = {}
        for name in self.PARAMS.get(kind, ()):
            v = self.cleaned_data.get(name)
            if name == "smart":
                out[name] = 1.0 if v else 0.0
            elif v not in (None, ""):
                out[name] = str(v)
        return out


class WorkshopForm(forms.Form):
    title = forms.CharField(max_length=200)
    starts_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
    location = forms.CharField(max_length=200, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class NotesForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    held = forms.BooleanField(required=False, label="The workshop took place")


class IdeaForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Idea")
    raised_by = forms.CharField(max_length=120, required=False, label="Raised by")
    option_kind = forms.ChoiceField(choices=BLANK + OPTION_CHOICES, required=False, label="Links to option")


class PaperPreferenceForm(forms.Form):
    participant = forms.CharField(max_length=120, label="Participant (name or sheet no.)")
    option_kind = forms.ChoiceField(choices=OPTION_CHOICES, label="Option")
    criterion = forms.ChoiceField(choices=[(c, CRITERIA_LABELS[c]) for c in CRITERIA])
    score = forms.IntegerField(min_value=1, max_value=5)


class MilestoneForm(forms.Form):
    year = forms.IntegerField()
    title = forms.CharField(max_length=200)
    building_block = forms.ChoiceField(choices=Milestone.Block.choices, label="Delivered through")
    option_kind = forms.ChoiceField(choices=BLANK + OPTION_CHOICES, required=False, label="Option")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class TargetForm(forms.Form):
    scenario = forms.ChoiceField(required=False, label="Chosen scenario")
    statement = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Agreed target")

    def __init__(self, *args, scenarios=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].choices = BLANK + [(str(s.pk), s.name) for s in scenarios]
