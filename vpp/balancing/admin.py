from django.contrib import admin

from vpp.balancing.models import Alarm, ControlAction, ControlStep, NodeOperator, Schedule, Segment


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "community",
        "node",
        "objective",
        "import_limit_w",
        "export_limit_w",
        "mode",
        "last_step_at",
    ]
    list_filter = ["mode", "objective"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["segment", "starts_at", "trigger", "created_at", "solve_seconds", "breach_wh", "cost_gbp"]
    list_filter = ["trigger"]


@admin.register(ControlStep)
class ControlStepAdmin(admin.ModelAdmin):
    list_display = ["segment", "at", "outcome", "measured_net_w", "target_net_w", "import_limit_w", "correction_w"]
    list_filter = ["outcome"]
    date_hierarchy = "at"


@admin.register(ControlAction)
class ControlActionAdmin(admin.ModelAdmin):
    list_display = ["device", "previous_w", "setpoint_w", "reason"]
    raw_id_fields = ["step", "device", "command"]


@admin.register(Alarm)
class AlarmAdmin(admin.ModelAdmin):
    list_display = ["segment", "kind", "device", "message", "raised_at", "cleared_at"]
    list_filter = ["kind"]


@admin.register(NodeOperator)
class NodeOperatorAdmin(admin.ModelAdmin):
    list_display = ["user", "node", "community"]
