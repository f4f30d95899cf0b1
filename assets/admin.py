from django.contrib import admin

from assets.models import Device, DeviceCommand, IntervalReading, Meter, RejectedMessage, Telemetry
from community.admin import ReadOnlyAdmin


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "uid", "kind", "ownership", "site", "rated_power_w", "online", "last_seen_at"]
    list_filter = ["community", "kind", "ownership", "online"]
    search_fields = ["name", "uid", "site__name"]
    exclude = ["mqtt_password_hash"]


@admin.register(Meter)
class MeterAdmin(admin.ModelAdmin):
    list_display = ["serial", "kind", "site", "device"]
    list_filter = ["kind"]
    search_fields = ["serial", "site__name"]


@admin.register(IntervalReading)
class IntervalReadingAdmin(ReadOnlyAdmin):  # settles money: corrections go through meter_reading_correct
    list_display = ["meter", "period_start", "import_wh", "export_wh", "source", "received_at"]
    list_filter = ["source"]
    date_hierarchy = "period_start"
    raw_id_fields = ["meter"]


@admin.register(Telemetry)
class TelemetryAdmin(admin.ModelAdmin):
    list_display = ["device", "ts", "power_w", "soc_pct", "received_at"]
    date_hierarchy = "ts"
    raw_id_fields = ["device"]


@admin.register(DeviceCommand)
class DeviceCommandAdmin(admin.ModelAdmin):
    list_display = ["id", "device", "action", "status", "source", "created_at", "sent_at", "acked_at"]
    list_filter = ["status", "source"]
    search_fields = ["id", "device__uid"]
    raw_id_fields = ["device", "created_by"]


@admin.register(RejectedMessage)
class RejectedMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "topic", "code", "reason"]
    list_filter = ["code"]
    search_fields = ["topic", "reason"]
    raw_id_fields = ["device"]
