"""Local Area Energy Plans: the area's buildings, scenarios, engagement, roadmap
and the published versions of the plan (seed 002 sections 4.1.1, B.1, C.1)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from planning.domain.modelling import OPTION_KINDS, OPTION_LABELS
from planning.domain.preferences import CRITERIA, CRITERIA_LABELS
from planning.domain.reference import BUILDING_TYPES, EPC_BANDS, HEATING_FUELS

OPTION_CHOICES = [(k, OPTION_LABELS[k]) for k in OPTION_KINDS]
BUILDING_TYPE_CHOICES = [(t, t.replace("_", " ").capitalize()) for t in BUILDING_TYPES]
FUEL_CHOICES = [(f, f.replace("_", " ").capitalize()) for f in HEATING_FUELS]
EPC_CHOICES = [(b, b) for b in EPC_BANDS]
CRITERIA_CHOICES = [(c, CRITERIA_LABELS[c]) for c in CRITERIA]


class Plan(models.Model):
    community = models.ForeignKey("community.Community", on_delete=models.CASCADE, related_name="plans")
    title = models.CharField(max_length=200)
    area_description = models.TextField(blank=True)
    # per-plan overrides of planning.domain.reference.DEFAULT_ASSUMPTIONS (key -> number)
    assumptions = models.JSONField(default=dict, blank=True)
    target_statement = models.TextField(blank=True, help_text="The target the community agreed, in its own words.")
    agreed_scenario = models.ForeignKey("Scenario", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class PlanBuilding(models.Model):
    class Source(models.TextChoices):
        ESTIMATE = "", "Estimated"
        IMPORT = "import", "Imported figure"
        SITE = "site", "Site record"
        METER = "meter", "Meter readings"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="buildings")
    site = models.ForeignKey("community.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    ref = models.CharField(max_length=80)
    address = models.CharField(max_length=300, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    building_type = models.CharField(max_length=16, choices=BUILDING_TYPE_CHOICES)
    floor_area_m2 = models.DecimalField(max_digits=10, decimal_places=1)
    floor_area_assumed = models.BooleanField(default=False)
    epc_band = models.CharField(max_length=1, choices=EPC_CHOICES, blank=True)
    heating_fuel = models.CharField(max_length=12, choices=FUEL_CHOICES, default="gas")
    annual_elec_kwh = models.PositiveIntegerField(null=True, blank=True)
    annual_heating_fuel_kwh = models.PositiveIntegerField(null=True, blank=True)
    consumption_source = models.CharField(max_length=8, choices=Source.choices, blank=True, default="")
    consumption_note = models.CharField(max_length=200, blank=True)
    roof_area_m2 = models.DecimalField(max_digits=8, decimal_places=1, null=True, blank=True)
    roof_tilt_deg = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    roof_azimuth_deg = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    existing_pv_kwp = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    network_node = models.ForeignKey(
        "community.NetworkNode", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["ref"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "ref"], name="planbuilding_unique_ref"),
            models.CheckConstraint(condition=Q(floor_area_m2__gt=0), name="planbuilding_area_positive"),
            models.CheckConstraint(
                condition=Q(roof_area_m2__isnull=True) | Q(roof_area_m2__gte=0), name="planbuilding_roof_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(roof_tilt_deg__isnull=True) | Q(roof_tilt_deg__gte=0, roof_tilt_deg__lte=90),
                name="planbuilding_tilt_0_90",
            ),
            models.CheckConstraint(
                condition=Q(roof_azimuth_deg__isnull=True) | Q(roof_azimuth_deg__gte=0, roof_azimuth_deg__lte=360),
                name="planbuilding_azimuth_0_360",
            ),
            models.CheckConstraint(condition=Q(existing_pv_kwp__gte=0), name="planbuilding_pv_nonneg"),
        ]

    def __str__(self) -> str:
        return self.address or self.ref


class NodeLoad(models.Model):
    """Measured peak load of a community network node (DNO open data)."""

    node = models.OneToOneField("community.NetworkNode", on_delete=models.CASCADE, related_name="planning_load")
    peak_kw = models.DecimalField(max_digits=10, decimal_places=1)
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(peak_kw__gte=0), name="nodeload_peak_nonneg")]


class Scenario(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Not computed"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Computing"
        DONE = "done", "Computed"
        FAILED = "failed", "Could not compute"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    start_year = models.PositiveSmallIntegerField()
    end_year = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    progress = models.FloatField(default=0.0)
    progress_message = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    inputs_digest = models.CharField(max_length=64, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_year__gte=models.F("start_year")), name="scenario_years_ordered"),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="scenario_progress_0_1"),
            models.UniqueConstraint(fields=["plan", "name"], name="scenario_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ScenarioOption(models.Model):
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="options")
    key = models.SlugField(max_length=40)
    kind = models.CharField(max_length=16, choices=OPTION_CHOICES)
    label = models.CharField(max_length=120, blank=True)
    params = models.JSONField(default=dict, blank=True)
    # {"2026": 10, "2030": 40}: cumulative take-up in percent by year
    take_up = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["scenario", "key"], name="scenariooption_unique_key")]

    def __str__(self) -> str:
        return self.label or self.get_kind_display()


class Workshop(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="workshops")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    held = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    """An invitation and/or attendance; ``user`` is empty for someone who came
    without an account (signed the paper sheet)."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=120, blank=True)
    invited = models.BooleanField(default=False)
    attended = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workshop", "user"], condition=Q(user__isnull=False), name="attendance_unique_user"
            ),
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(name=""), name="attendance_has_someone"),
        ]


class Idea(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="ideas")
    workshop = models.ForeignKey(Workshop, on_delete=models.SET_NULL, null=True, blank=True, related_name="ideas")
    text = models.TextField()
    raised_by = models.CharField(max_length=120, blank=True)
    option_kind = models.CharField(max_length=16, choices=OPTION_CHOICES, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class Preference(models.Model):
    class Source(models.TextChoices):
        ONLINE = "online", "Online"
        PAPER = "paper", "Paper session"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="preferences")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    participant = models.CharField(max_length=120, blank=True, help_text="Name or sheet number on paper.")
    workshop = models.ForeignKey(Workshop, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    option_kind = models.CharField(max_length=16, choices=OPTION_CHOICES)
    criterion = models.CharField(max_length=16, choices=CRITERIA_CHOICES, default="overall")
    score = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ONLINE)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="preference_score_1_5"),
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(participant=""), name="preference_has_someone"),
            models.UniqueConstraint(
                fields=["plan", "user", "option_kind", "criterion"],
                condition=Q(user__isnull=False),
                name="preference_one_per_person",
            ),
        ]


class Milestone(models.Model):
    class Block(models.TextChoices):
        MARKETPLACE = "marketplace", "Project marketplace"
        PURCHASING = "purchasing", "Collective purchase"
        ANCHOR = "anchor", "Community anchor asset"
        CORPORATE = "corporate", "Corporate anchor asset"
        VPP = "vpp", "Flexibility VPP"
        LEM = "lem", "Local energy market / P2P"
        BALANCING = "balancing", "Self-balancing network"
        PLAN = "plan", "Local area energy plan"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="milestones")
    year = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    option_kind = models.CharField(max_length=16, choices=OPTION_CHOICES, blank=True)
    building_block = models.CharField(max_length=12, choices=Block.choices)
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["year", "id"]
        constraints = [models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="milestone_year_range")]


class PlanVersion(models.Model):
    """A published version: the snapshot and its PDF never change once written."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    snapshot = models.JSONField()
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="planversion_unique_number")]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"

    def save(self, *args, **kwargs):
        # Immutability is the point of a published version (issue 5): refuse updates.
        if self.pk is not None and PlanVersion.objects.filter(pk=self.pk).exists():
            raise ValueError("A published plan version cannot be changed; publish a new version instead.")
        super().save(*args, **kwargs)
