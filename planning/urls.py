from django.urls import path

from planning import views

P = "<int:plan_id>/"
S = P + "scenarios/<int:scenario_id>/"

urlpatterns = [
    path("", views.index, name="index"),
    path(P, views.plan_detail, name="plan"),
    path(P + "buildings/", views.buildings, name="buildings"),
    path(P + "buildings.csv", views.buildings_export, name="buildings_export"),
    path(P + "buildings/sync/", views.buildings_sync, name="buildings_sync"),
    path(P + "network/", views.network, name="network"),
    path(P + "options/", views.options, name="options"),
    path(P + "scenarios/", views.scenarios, name="scenarios"),
    path(S, views.scenario_detail, name="scenario"),
    path(S + "compute/", views.scenario_compute, name="scenario_compute"),
    path(S + "progress/", views.scenario_progress, name="scenario_progress"),
    path(S + "options/<int:option_id>/delete/", views.option_delete, name="option_delete"),
    path(P + "compare/", views.compare, name="compare"),
    path(P + "workshops/", views.workshops, name="workshops"),
    path(P + "workshops/<int:workshop_id>/", views.workshop_detail, name="workshop"),
    path(P + "ideas/", views.idea_add, name="idea_add"),
    path(P + "preferences/", views.preferences, name="preferences"),
    path(P + "roadmap/", views.roadmap, name="roadmap"),
    path(P + "roadmap/<int:milestone_id>/delete/", views.milestone_delete, name="milestone_delete"),
    path(P + "publish/", views.publish, name="publish"),
    path(P + "published/", views.published, name="published"),
    path(P + "versions/<int:number>/", views.version_detail, name="version"),
    path(P + "versions/<int:number>.pdf", views.version_pdf, name="version_pdf"),
]
