from django.contrib import admin

from planning.models import Idea, Milestone, Plan, PlanBuilding, PlanVersion, Preference, Scenario, Workshop


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["title", "community", "created_at"]
    list_filter = ["community"]


@admin.register(PlanBuilding)
class PlanBuildingAdmin(admin.ModelAdmin):
    list_display = ["ref", "plan", "building_type", "floor_area_m2", "epc_band", "heating_fuel", "consumption_source"]
    list_filter = ["plan", "building_type", "heating_fuel"]
    search_fields = ["ref", "address", "postcode"]


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "start_year", "end_year", "status", "computed_at"]
    readonly_fields = ["result", "inputs_digest"]


@admin.register(Workshop)
class WorkshopAdmin(admin.ModelAdmin):
    list_display = ["title", "plan", "starts_at", "held"]


admin.site.register(Idea)
admin.site.register(Milestone)
admin.site.register(Preference)


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    list_display = ["plan", "number", "published_at", "pdf_sha256"]
    exclude = ["pdf"]

    def has_change_permission(self, request, obj=None):
        return False  # published versions never change
