"""The self-balancing network: segments under control, their schedules, the
corrective steps and what they did to each device, alarms, and which network
nodes each network operator (DSO) speaks for.

Power in W (> 0 import / charging), energy in Wh, time aware UTC.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from assets.models import Device, DeviceCommand
from community.models import Community, NetworkNode


class Segment(models.Model):
    """A network node with import/export limits, the devices behind it and an objective."""

    class Objective(models.TextChoices):
        COST = "cost", "Least import cost"
        SELF_CONSUMPTION = "self_consumption", "Most self-consumption"
        PEAK = "peak", "Peak cap"

    class Mode(models.TextChoices):
        NORMAL = "normal", "Under control"
        SAFE = "safe", "Safe mode"
        OFF = "off", "Switched off"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="segments")
    node = models.OneToOneField(NetworkNode, on_delete=models.PROTECT, related_name="segment")
    name = models.CharField(max_length=120)
    objective = models.CharField(max_length=20, choices=Objective.choices, default=Objective.COST)
    # the segment's own (contractual) connection limits; a DSO statement in force can only tighten them
    import_limit_w = models.PositiveIntegerField()
    export_limit_w = models.PositiveIntegerField()
    margin_w = models.PositiveIntegerField(default=2_000, help_text="Headroom the controller keeps below a limit.")
    stale_after_s = models.PositiveIntegerField(
        default=180, help_text="A device whose last reading is older than this puts the segment in safe mode."
    )
    deviation_w = models.PositiveIntegerField(
        default=15_000, help_text="A measured net this far from the schedule triggers a re-solve."
    )
    horizon_hours = models.PositiveSmallIntegerField(default=24)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.NORMAL)
    mode_reason = models.CharField(max_length=300, blank=True)
    mode_since = models.DateTimeField(null=True, blank=True)
    last_step_at = models.DateTimeField(null=True, blank=True)
    last_telemetry_at = models.DateTimeField(null=True, blank=True, help_text="Newest telemetry the last step saw.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(horizon_hours__gte=1, horizon_hours__lte=48), name="segment_horizon_1_48h"
            ),
            models.CheckConstraint(condition=Q(stale_after_s__gte=10), name="segment_stale_after_10s"),
        ]

    def __str__(self) -> str:
        return self.name


class Schedule(models.Model):
    """One MPC solve: the plan for the segment's net position and each device."""

    class Trigger(models.TextChoices):
        PERIODIC = "periodic", "Every 15 minutes"
        DEVIATION = "deviation", "Large deviation"
        CONSTRAINT = "constraint", "New constraint statement"
        OPERATOR = "operator", "Operator"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="schedules")
    starts_at = models.DateTimeField(help_text="Start of the first step (a quarter-hour boundary).")
    step_minutes = models.PositiveSmallIntegerField(default=15)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.PERIODIC)
    created_at = models.DateTimeField()
    solve_seconds = models.FloatField(default=0)
    # per step (lists of ints): planned net W, forecast load / PV W, import / export limit W, import price p/kWh
    net_w = models.JSONField(default=list)
    load_w = models.JSONField(default=list)
    pv_w = models.JSONField(default=list)
    import_limit_w = models.JSONField(default=list)
    export_limit_w = models.JSONField(default=list)
    import_price_p = models.JSONField(default=list)
    # device id (str) -> list of planned W per step
    devices = models.JSONField(default=dict)
    statement_ids = models.JSONField(default=list, help_text="Constraint statements this schedule obeyed.")
    # heat pump device id (str) -> planned indoor °C at the end of each step (the setpoint the controller sends)
    indoor_c = models.JSONField(default=dict, blank=True)
    # what the plan kept to: {"market": {site id: [W or null per step]}, "vpp": {device id: [W or null per step]}}
    commitments = models.JSONField(default=dict, blank=True)
    commitment_miss_wh = models.PositiveIntegerField(
        default=0, help_text="Traded or VPP-committed energy the plan could not keep."
    )
    outdoor_c = models.JSONField(default=list, blank=True, help_text="Outdoor temperature forecast per step, °C.")
    breach_wh = models.PositiveIntegerField(default=0, help_text="Energy the plan could not keep inside a limit.")
    cost_gbp = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        indexes = [models.Index(fields=["segment", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.segment} schedule from {self.starts_at:%Y-%m-%d %H:%M}"

    def step_index(self, at) -> int | None:
        i = int((at - self.starts_at).total_seconds() // (self.step_minutes * 60))
        return i if 0 <= i < len(self.net_w) else None


class ControlStep(models.Model):
    """One run of the corrective loop (every telemetry batch, at least every minute)."""

    class Outcome(models.TextChoices):
        CORRECTED = "corrected", "Corrected"
        STEADY = "steady", "On schedule"
        SAFE = "safe", "Safe mode: holding"
        AT_LIMIT = "at_limit", "At a limit"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField()
    schedule = models.ForeignKey(Schedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    measured_net_w = models.IntegerField(null=True, blank=True)
    target_net_w = models.IntegerField(null=True, blank=True)
    predicted_net_w = models.IntegerField(null=True, blank=True)
    import_limit_w = models.IntegerField()
    export_limit_w = models.IntegerField()
    battery_w = models.IntegerField(default=0, help_text="Measured battery power in the segment.")
    pv_w = models.IntegerField(default=0, help_text="Measured generation in the segment (>= 0).")
    correction_w = models.IntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    statement_ids = models.JSONField(default=list)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
        get_latest_by = "at"
        indexes = [models.Index(fields=["segment", "-at"])]

    def __str__(self) -> str:
        return f"{self.segment} {self.at:%H:%M:%S} {self.outcome}"


class ControlAction(models.Model):
    """What a step asked of one device, and why (the household's view)."""

    step = models.ForeignKey(ControlStep, on_delete=models.CASCADE, related_name="actions")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="balancing_actions")
    command = models.ForeignKey(DeviceCommand, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    previous_w = models.IntegerField()
    setpoint_w = models.IntegerField()
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["-step__at", "device_id"]
        indexes = [models.Index(fields=["device", "step"])]

    def __str__(self) -> str:
        return f"{self.device.uid}: {self.previous_w} → {self.setpoint_w} W"


class Alarm(models.Model):
    """Something the operator must look at. One open alarm per (segment, kind, device)."""

    class Kind(models.TextChoices):
        STALE_TELEMETRY = "stale", "Telemetry stopped"
        DEVICE_UNREACHABLE = "unreachable", "Device unreachable"
        COMMAND_IGNORED = "ignored", "Command not applied"
        LIMIT = "limit", "Limit reached"
        SCHEDULE = "schedule", "No schedule"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="alarms")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    message = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "kind", "device"],
                condition=Q(cleared_at__isnull=True),
                name="alarm_one_open_per_kind_device",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"


class NodeOperator(models.Model):
    """The network nodes a network operator (DSO) user speaks for: it may publish
    constraint statements and read flows only for these."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operated_nodes")
    node = models.ForeignKey(NetworkNode, on_delete=models.CASCADE, related_name="operators")

    class Meta:
        ordering = ["node__name"]
        constraints = [models.UniqueConstraint(fields=["user", "node"], name="nodeoperator_unique")]

    def __str__(self) -> str:
        return f"{self.user} operates {self.node}"
