from django.contrib import admin

from assets.models import Device, IntervalReading, Meter, Telemetry


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
class IntervalReadingAdmin(admin.ModelAdmin):
    list_display = ["meter", "period_start", "import_wh", "export_wh", "source", "received_at"]
    list_filter = ["source"]
    date_hierarchy = "period_start"
    raw_id_fields = ["meter"]


@admin.register(Telemetry)
class TelemetryAdmin(admin.ModelAdmin):
    list_display = ["device", "ts", "power_w", "soc_pct", "received_at"]
    date_hierarchy = "ts"
    raw_id_fields = ["device"]
