from django.urls import path

from planning import api

P = "communities/<slug:slug>/plans/<int:plan_id>/"

urlpatterns = [
    path("communities/<slug:slug>/plans/", api.PlanList.as_view(), name="plan-list"),
    path(P + "scenarios/", api.ScenarioList.as_view(), name="scenario-list"),
    path(P + "scenarios/<int:scenario_id>/", api.ScenarioDetail.as_view(), name="scenario-detail"),
    path(P + "scenarios/<int:scenario_id>/options/", api.ScenarioOptionSave.as_view(), name="scenario-option"),
    path(P + "scenarios/<int:scenario_id>/compute/", api.ScenarioCompute.as_view(), name="scenario-compute"),
    path(P + "preferences/", api.PreferenceRecord.as_view(), name="preference-record"),
    path(P + "versions/", api.VersionList.as_view(), name="version-list"),
    path(P + "buildings/import/", api.BuildingsImport.as_view(), name="buildings-import"),
    path(P + "current-state/", api.CurrentState.as_view(), name="current-state"),
]
