"""Device registry, meters and the energy data every building block reads.

Sizing: a community-year of 30-min readings for 1,000 sites is 17.5 M
IntervalReading rows. The table is narrow (ids, a timestamp and two integers)
and has exactly two indexes: the unique (meter, period_start) that makes
upserts idempotent and serves per-meter ranges, and (period_start, meter) for
"all meters in this period" (settlement, clearing, community charts).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from community.models import Community, Site


class Device(models.Model):
    class Kind(models.TextChoices):
        PV = "pv", "PV inverter"
        BATTERY = "battery", "Home battery"
        EV_CHARGER = "ev_charger", "EV charger"
        HEAT_PUMP = "heat_pump", "Heat pump"
        SMART_METER = "smart_meter", "Smart meter"
        LOAD = "load", "Controllable load"
        WIND = "wind", "Wind turbine"

    class Ownership(models.TextChoices):
        HOUSEHOLD = "household", "Household"
        COMMUNITY = "community", "Community-owned"
        CORPORATE = "corporate", "Corporate-owned"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="devices")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="devices")
    uid = models.SlugField(max_length=64, help_text="The device's name in MQTT topics: cem/<community>/<uid>/...")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    ownership = models.CharField(max_length=16, choices=Ownership.choices, default=Ownership.HOUSEHOLD)
    owner_name = models.CharField(max_length=200, blank=True, help_text="For community/corporate assets.")
    rated_power_w = models.PositiveIntegerField(help_text="Rated (peak) power in W.")
    capacity_wh = models.PositiveBigIntegerField(null=True, blank=True, help_text="Storage capacity in Wh.")
    # Limits the household sets: battery reserve_pct, EV ready_by (HH:MM) and
    # target_pct, heat-pump comfort_min_c / comfort_max_c.
    limits = models.JSONField(default=dict, blank=True)
    # Physical details forecasts and the simulator need (issue 3): PV tilt_deg,
    # azimuth_deg (180 = south), dc_w; battery round_trip_efficiency; heat-pump
    # r_k_per_w / c_j_per_k (1R1C house model); annual_kwh for a site's base load.
    specs = models.JSONField(default=dict, blank=True)
    mqtt_username = models.CharField(max_length=150, unique=True, null=True, blank=True)
    mqtt_password_hash = models.CharField(max_length=200, blank=True)
    mqtt_rotated_at = models.DateTimeField(null=True, blank=True)
    online = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["community", "uid"], name="device_unique_uid")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Meter(models.Model):
    """A settlement meter: the site's import/export meter, or a generation meter on an asset."""

    class Kind(models.TextChoices):
        SITE = "site", "Site import/export"
        GENERATION = "generation", "Generation"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="meters")
    device = models.ForeignKey(Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="meters")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SITE)
    serial = models.CharField(
        max_length=40, unique=True, help_text="Meter id as in supplier/DCC files (MPAN or serial)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site", "kind"]

    def __str__(self) -> str:
        return self.serial


class IntervalReading(models.Model):
    """Energy through one meter in one settlement period [period_start, +period_minutes)."""

    class Source(models.TextChoices):
        TELEMETRY = "telemetry", "Device telemetry"
        CSV = "csv", "Imported file"
        ESTIMATE = "estimate", "Estimate"

    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="readings")
    period_start = models.DateTimeField()
    period_minutes = models.PositiveSmallIntegerField(default=30)
    import_wh = models.PositiveIntegerField()
    export_wh = models.PositiveIntegerField()
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.TELEMETRY)
    received_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["meter", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["meter", "period_start"], name="reading_unique_period"),
            models.CheckConstraint(condition=Q(period_minutes__in=[5, 15, 30]), name="reading_period_5_15_30"),
        ]
        indexes = [models.Index(fields=["period_start", "meter"], name="reading_period_idx")]


class Telemetry(models.Model):
    """One validated telemetry message from a device (upserted on (device, ts))."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="telemetry")
    ts = models.DateTimeField()
    power_w = models.IntegerField(
        null=True, blank=True, help_text="Positive = import/consumption, negative = export/generation."
    )
    energy_import_wh = models.PositiveBigIntegerField(null=True, blank=True, help_text="Cumulative counter.")
    energy_export_wh = models.PositiveBigIntegerField(null=True, blank=True, help_text="Cumulative counter.")
    soc_pct = models.FloatField(null=True, blank=True)
    temperature_c = models.FloatField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["device", "ts"]
        constraints = [models.UniqueConstraint(fields=["device", "ts"], name="telemetry_unique_ts")]
        verbose_name_plural = "telemetry"


# --- issue 3: the MQTT bridge's records ----------------------------------------------


class DeviceCommand(models.Model):
    """A command sent to a device over MQTT and what became of it.

    Lifecycle: pending (recorded, not yet on the wire) -> sent -> received /
    applied / rejected (from the device's ack) or expired (the device says the
    lease had passed) or timed_out (no ack within the timeout)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        RECEIVED = "received", "Received"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        TIMED_OUT = "timed_out", "Timed out"

    OPEN = (Status.PENDING, Status.SENT, Status.RECEIVED)

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    action = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    valid_until = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    detail = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=40, default="operator", help_text="Who asked: operator, vpp, balancing, ...")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["device", "-created_at"], name="command_device_idx"),
            models.Index(fields=["status", "sent_at"], name="command_open_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "received", "applied", "rejected", "expired", "timed_out"]),
                name="command_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} -> {self.device.uid} ({self.status})"

    @property
    def latency_s(self) -> float | None:
        if self.sent_at and self.acked_at:
            return (self.acked_at - self.sent_at).total_seconds()
        return None


class RejectedMessage(models.Model):
    """An MQTT message the bridge refused, with the reason, for operators."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="rejections")

    class Format(models.TextChoices):
        TEXT = "text", "Text"
        HEX = "hex", "Hex (binary or unsafe bytes)"

    topic = models.CharField(max_length=255)
    payload = models.TextField(
        blank=True,
        help_text="Clean UTF-8 text: the first 2,000 characters. Anything else (NUL, binary, broken "
        "UTF-8): the first 512 bytes as hex.",
    )
    payload_format = models.CharField(max_length=4, choices=Format.choices, default=Format.TEXT)
    size = models.PositiveIntegerField(default=0, help_text="The payload's full size in bytes.")
    code = models.CharField(max_length=20)
    reason = models.CharField(max_length=500)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["community", "-received_at"], name="rejected_community_idx")]

    def __str__(self) -> str:
        return f"{self.topic}: {self.reason}"


class MeterCorrection(models.Model):
    """A hand correction of one interval reading (issue 9 §6): who, when, why and
    the value it replaced. Readings settle money, so they are never edited in the
    admin; ``assets.services.meter_reading_correct`` writes the reading and this
    row in one transaction and asks the market to re-settle the period (the
    reading's ``received_at`` moves, which lem's settlement treats as late data)."""

    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="corrections")
    period_start = models.DateTimeField()
    previous_import_wh = models.PositiveIntegerField(null=True, blank=True, help_text="None: no reading before.")
    previous_export_wh = models.PositiveIntegerField(null=True, blank=True)
    import_wh = models.PositiveIntegerField()
    export_wh = models.PositiveIntegerField()
    reason = models.TextField()
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    corrected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-corrected_at", "-id"]
        indexes = [models.Index(fields=["meter", "period_start"], name="correction_meter_period_idx")]

    def __str__(self) -> str:
        return f"{self.meter} {self.period_start:%Y-%m-%d %H:%M}: {self.previous_import_wh} → {self.import_wh} Wh"
